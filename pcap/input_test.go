package pcap

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// readAll reads every session of a file and returns the error that ended
// the reading (nil at io.EOF) and the sessions.
func readAll(file []byte, o Options) ([]*Session, *Reader, error) {
	r, err := NewReader(bytes.NewReader(file), o)
	if err != nil {
		return nil, nil, err
	}
	var ss []*Session
	for {
		s, err := r.Next()
		if err == io.EOF {
			return ss, r, nil
		}
		if err != nil {
			return ss, r, err
		}
		ss = append(ss, s)
	}
}

func TestBadFiles(t *testing.T) {
	base, _, _, _ := baseCapture(t)
	good := pcapFile(leOrder, false, layers.LinkTypeEthernet, base)
	goodNG := pcapngFile(leOrder, base)
	hugeRecord := pcapFile(leOrder, false, layers.LinkTypeEthernet, nil)
	hugeRecord = binary.LittleEndian.AppendUint32(hugeRecord, 0)
	hugeRecord = binary.LittleEndian.AppendUint32(hugeRecord, 0)
	hugeRecord = binary.LittleEndian.AppendUint32(hugeRecord, 0x7fffffff) // caplen
	hugeRecord = binary.LittleEndian.AppendUint32(hugeRecord, 0x7fffffff)
	hugeRecord = append(hugeRecord, make([]byte, 1000)...)
	capOverLen := pcapFile(leOrder, false, layers.LinkTypeEthernet, base[:1])
	binary.LittleEndian.PutUint32(capOverLen[24+12:], 10) // len < caplen
	// A pcapng file whose second block claims 1 GiB, and one whose block
	// length is impossible.
	hugeBlock := bytes.Clone(goodNG)
	shbLen := binary.LittleEndian.Uint32(hugeBlock[4:])
	binary.LittleEndian.PutUint32(hugeBlock[shbLen+4:], 1<<30)
	shortBlock := bytes.Clone(goodNG)
	binary.LittleEndian.PutUint32(shortBlock[shbLen+4:], 5)
	// A pcapng packet block that claims more packet bytes than it holds.
	epbOver := bytes.Clone(goodNG)
	idbLen := binary.LittleEndian.Uint32(epbOver[shbLen+4:])
	binary.LittleEndian.PutUint32(epbOver[shbLen+idbLen+20:], 200000)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(good)
	zw.Close()

	tests := []struct {
		name     string
		file     []byte
		openErr  error // from NewReader
		readErr  error // from Next, after the sessions
		sessions int
		notes    []string // file notes
	}{
		{name: "empty", file: nil, openErr: ErrFormat},
		{name: "three bytes", file: []byte("abc"), openErr: ErrFormat},
		{name: "wrong magic", file: bytes.Repeat([]byte("garbage!"), 20), openErr: ErrFormat},
		{name: "pcap header cut", file: good[:10], openErr: ErrTruncatedFile},
		{name: "pcapng header cut", file: goodNG[:10], openErr: ErrTruncatedFile},
		{name: "header only", file: good[:24]},
		{name: "gzip", file: gz.Bytes(), sessions: 1},
		{name: "gzip garbage", file: []byte{0x1f, 0x8b, 1, 2, 3}, openErr: ErrFormat},
		{name: "cut inside a record", file: good[:len(good)-20], sessions: 1, notes: []string{"file-truncated@14"}},
		{name: "cut inside a pcapng block", file: goodNG[:len(goodNG)-20], sessions: 1, notes: []string{"file-truncated@14"}},
		{name: "huge record", file: hugeRecord, readErr: ErrRecordTooLarge},
		{name: "capture length over packet length", file: capOverLen, readErr: ErrCorrupt},
		{name: "huge pcapng block", file: hugeBlock, readErr: ErrRecordTooLarge},
		{name: "impossible pcapng block length", file: shortBlock, readErr: ErrCorrupt},
		{name: "pcapng packet over its block", file: epbOver, readErr: ErrCorrupt},
		{name: "garbage after records", file: append(bytes.Clone(good), bytes.Repeat([]byte{0xee}, 64)...), sessions: 1, readErr: ErrRecordTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var (
				ss      []*Session
				r       *Reader
				err     error
				openErr error
			)
			n := allocated(func() {
				r, openErr = NewReader(bytes.NewReader(tc.file), Options{})
				if openErr == nil {
					ss, r, err = readAll(tc.file, Options{})
				}
			})
			if !errors.Is(openErr, tc.openErr) {
				t.Fatalf("NewReader: %v, want %v", openErr, tc.openErr)
			}
			if openErr != nil {
				var fe *FileError
				if !errors.As(openErr, &fe) {
					t.Errorf("NewReader error %T, want *FileError", openErr)
				}
				t.Logf("NewReader: %v", openErr)
			}
			if n > 4<<20 {
				t.Errorf("allocated %d bytes reading a %d-byte file", n, len(tc.file))
			}
			if openErr != nil {
				return
			}
			if !errors.Is(err, tc.readErr) {
				t.Errorf("Next: %v, want %v", err, tc.readErr)
			}
			if err != nil {
				t.Logf("Next: %v", err)
			}
			if len(ss) != tc.sessions {
				t.Errorf("%d sessions, want %d", len(ss), tc.sessions)
			}
			if diff := cmp.Diff(tc.notes, kinds(r.Notes())); diff != "" {
				t.Errorf("file notes (-want +got):\n%s", diff)
			}
		})
	}
}

// Random damage to valid files never panics, and never makes the reader
// allocate more than a few records' worth.
func TestDamagedFiles(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	base, _, _, _ := baseCapture(t)
	files := [][]byte{
		pcapFile(leOrder, false, layers.LinkTypeEthernet, base),
		pcapFile(binary.BigEndian, true, layers.LinkTypeLinuxSLL2, relink(t, base, layers.LinkTypeLinuxSLL2)),
		pcapngFile(leOrder, base),
		pcapngFile(binary.BigEndian, relink(t, base, layers.LinkTypeNull)),
	}
	for i := 0; i < 400; i++ {
		f := bytes.Clone(files[rng.IntN(len(files))])
		switch rng.IntN(3) {
		case 0: // flip bytes
			for k := 1 + rng.IntN(8); k > 0; k-- {
				f[rng.IntN(len(f))] = byte(rng.Uint32())
			}
		case 1: // cut
			f = f[:rng.IntN(len(f))]
		case 2: // overwrite a length-sized field with a large value
			at := rng.IntN(len(f) - 4)
			binary.LittleEndian.PutUint32(f[at:], rng.Uint32())
		}
		// A damaged sequence number can open a gap, which the stream keeps
		// as zeros up to its cap (MaxStreamBytes a direction, 4 MiB by
		// default): that is the bound, so a small cap here keeps the
		// check about everything else the reader allocates.
		n := allocated(func() { readAll(f, Options{Port: AnyPort, MaxStreamBytes: 64 << 10}) })
		if n > 8<<20 {
			t.Fatalf("case %d (seed %d): allocated %d bytes for a %d-byte file", i, seed, n, len(f))
		}
	}
}

func FuzzReader(f *testing.F) {
	base, _, _, _ := baseCapture(f)
	f.Add(pcapFile(leOrder, false, layers.LinkTypeEthernet, base))
	f.Add(pcapngFile(leOrder, base))
	f.Add(pcapFile(binary.BigEndian, true, layers.LinkTypeLinuxSLL, relink(f, base, layers.LinkTypeLinuxSLL)))
	f.Fuzz(func(t *testing.T, file []byte) {
		ss, _, _ := readAll(file, Options{Port: AnyPort})
		for _, s := range ss {
			// Every segment lies inside the data kept.
			for _, st := range []*Stream{s.Up, s.Down} {
				for _, seg := range st.Segments {
					if seg.Offset < 0 || seg.End() > int64(len(st.Data)) || seg.Packet < 1 {
						t.Fatalf("segment %+v outside %d bytes", seg, len(st.Data))
					}
				}
				if int64(len(st.Data)) > st.Len {
					t.Fatalf("%d bytes kept of a %d-byte stream", len(st.Data), st.Len)
				}
			}
		}
	})
}

// Frames that are not TCP are noted and skipped.
func TestNotTCP(t *testing.T) {
	base, req, reply, _ := baseCapture(t)
	build := func(ls ...gopacket.SerializableLayer) rec {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		b := bytes.Clone(buf.Bytes())
		return rec{ci: gopacket.CaptureInfo{Timestamp: t0, CaptureLength: len(b), Length: len(b)}, lt: layers.LinkTypeEthernet, b: b}
	}
	eth := &layers.Ethernet{SrcMAC: []byte{2, 0, 0, 0, 0, 1}, DstMAC: []byte{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: []byte{10, 0, 0, 1}, DstIP: []byte{10, 0, 0, 2}}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 6178}
	udp.SetNetworkLayerForChecksum(ip)
	udpRec := build(eth, ip, udp, gopacket.Payload("hello"))
	arp := build(&layers.Ethernet{SrcMAC: eth.SrcMAC, DstMAC: eth.DstMAC, EthernetType: layers.EthernetTypeARP},
		&layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4, HwAddressSize: 6, ProtAddressSize: 4,
			Operation: 1, SourceHwAddress: eth.SrcMAC, SourceProtAddress: []byte{10, 0, 0, 1}, DstHwAddress: make([]byte, 6), DstProtAddress: []byte{10, 0, 0, 2}})
	ipFrag := *ip
	ipFrag.Protocol, ipFrag.Flags = layers.IPProtocolTCP, layers.IPv4MoreFragments
	frag := build(eth, &ipFrag, gopacket.Payload(bytes.Repeat([]byte{1}, 30)))
	short := rec{ci: gopacket.CaptureInfo{Timestamp: t0, CaptureLength: 20, Length: 20}, lt: layers.LinkTypeEthernet, b: bytes.Clone(udpRec.b[:20])}
	other := rec{ci: udpRec.ci, lt: layers.LinkType(147), b: udpRec.b}
	recs := slices.Insert(slices.Clone(base), 4, udpRec, arp, frag, short)
	recs = append(recs, udpRec)
	ss, r := sessions(t, pcapngFile(leOrder, append(recs, other)), Options{})
	if len(ss) != 1 || !bytes.Equal(ss[0].Up.Data, req) || !bytes.Equal(ss[0].Down.Data, reply) {
		t.Fatalf("%d sessions", len(ss))
	}
	want := []string{"not-tcp@5", "not-ip@6", "fragment@7", "undecodable@8", "link-type@20"}
	if diff := cmp.Diff(want, kinds(r.Notes())); diff != "" {
		t.Errorf("file notes (-want +got):\n%s\n%v", diff, r.Notes())
	}
	for _, n := range r.Notes() {
		t.Log(n)
	}
}

func TestFindByContent(t *testing.T) {
	req, reply := exchange(t)
	trip7000 := conv{client: netip.MustParseAddrPort("10.0.0.1:40001"), server: netip.MustParseAddrPort("10.0.0.2:7000"),
		up: [][]byte{req}, down: [][]byte{reply}}
	http := conv{client: netip.MustParseAddrPort("10.0.0.1:40002"), server: netip.MustParseAddrPort("10.0.0.2:80"),
		up: [][]byte{[]byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")}, down: [][]byte{[]byte("HTTP/1.1 200 OK\r\n\r\n")}}
	banner := conv{client: netip.MustParseAddrPort("10.0.0.1:40003"), server: netip.MustParseAddrPort("10.0.0.2:22"),
		down: [][]byte{[]byte("SSH-2.0-OpenSSH_9.2\r\n")}, up: nil}
	trip6178 := conv{client: client4, server: server4, up: [][]byte{req[:1], req[1:]}, down: [][]byte{reply}}
	file := record(t, trip7000, http, banner, trip6178)
	for _, tc := range []struct {
		name  string
		port  int
		ports []uint16 // servers' ports, in order
	}{
		{"default port", 0, []uint16{6178}},
		{"port 7000", 7000, []uint16{7000}},
		{"port 80", 80, []uint16{80}},
		{"any", AnyPort, []uint16{7000, 6178}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ss, r := sessions(t, file, Options{Port: tc.port})
			var ports []uint16
			for i, s := range ss {
				ports = append(ports, s.Server.Port())
				if s.Index != i+1 {
					t.Errorf("session %d has index %d", i+1, s.Index)
				}
			}
			if diff := cmp.Diff(tc.ports, ports); diff != "" {
				t.Errorf("servers' ports (-want +got):\n%s", diff)
			}
			st := r.Stats()
			if st.TripSegments+st.NotTrip != st.TCP {
				t.Errorf("stats do not add up: %+v", st)
			}
		})
	}
}

// A capture that starts with the server's SYN-ACK, found by content: the
// client is still the side that spoke first.
func TestFindByContentFromSYNACK(t *testing.T) {
	base, req, reply, _ := baseCapture(t)
	ss, _ := sessions(t, pcapFile(leOrder, false, layers.LinkTypeEthernet, base[1:]), Options{Port: AnyPort})
	if len(ss) != 1 || ss[0].Client != client4 || !bytes.Equal(ss[0].Up.Data, req) || !bytes.Equal(ss[0].Down.Data, reply) {
		t.Fatalf("%d sessions", len(ss))
	}
}

func TestLimits(t *testing.T) {
	req, reply := exchange(t)
	t.Run("stream cap", func(t *testing.T) {
		file := record(t, conv{client: client4, server: server4, up: [][]byte{req}, down: [][]byte{reply[:30], reply[30:]}})
		ss, _ := sessions(t, file, Options{MaxStreamBytes: 50})
		s := ss[0]
		if !s.Down.Truncated || len(s.Down.Data) != 50 || s.Down.Len != int64(len(reply)) || !bytes.Equal(s.Down.Data, reply[:50]) {
			t.Errorf("truncated %v, %d bytes kept of %d", s.Down.Truncated, len(s.Down.Data), s.Down.Len)
		}
		if diff := cmp.Diff([]string{"capped@6"}, kinds(s.Notes)); diff != "" {
			t.Errorf("notes (-want +got):\n%s", diff)
		}
	})
	// Connections by hand, with times.
	var buf bytes.Buffer
	w, _ := NewWriter(&buf)
	at := func(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }
	open := func(client netip.AddrPort, min int) *ConnWriter {
		c, err := w.Conn(client, server4, at(min))
		if err != nil {
			t.Fatal(err)
		}
		c.Data(ClientToServer, req, at(min))
		return c
	}
	c1 := open(netip.MustParseAddrPort("10.0.0.1:1001"), 0)  // never closes
	open(netip.MustParseAddrPort("10.0.0.1:1002"), 1)        // never closes, then reused
	open(netip.MustParseAddrPort("10.0.0.1:1002"), 2)        // reuses 1002
	c3 := open(netip.MustParseAddrPort("10.0.0.1:1003"), 20) // comes after c1 is idle
	c3.Close(ServerToClient, at(20))
	c3.Close(ClientToServer, at(20))
	_ = c1
	w.Flush()
	t.Run("idle and reuse", func(t *testing.T) {
		ss, _ := sessions(t, buf.Bytes(), Options{})
		var got []string
		for _, s := range ss {
			got = append(got, s.Client.String()+" "+string(s.End))
		}
		want := []string{"10.0.0.1:1002 reused", "10.0.0.1:1001 idle", "10.0.0.1:1002 idle", "10.0.0.1:1003 closed"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("sessions (-want +got):\n%s", diff)
		}
	})
	t.Run("max open", func(t *testing.T) {
		ss, _ := sessions(t, buf.Bytes(), Options{MaxOpen: 1, IdleTimeout: time.Hour})
		var got []string
		for _, s := range ss {
			got = append(got, s.Client.String()+" "+string(s.End))
		}
		want := []string{"10.0.0.1:1001 limit", "10.0.0.1:1002 reused", "10.0.0.1:1002 limit", "10.0.0.1:1003 closed"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("sessions (-want +got):\n%s", diff)
		}
	})
}
