package pcap

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"

	"github.com/tripcheck/tripcheck/wire"
)

var (
	leOrder = binary.LittleEndian

	client4 = netip.MustParseAddrPort("10.0.0.1:40000")
	server4 = netip.MustParseAddrPort("10.0.0.2:6178")
	client6 = netip.MustParseAddrPort("[fd00::1]:40000")
	server6 = netip.MustParseAddrPort("[fd00::2]:6178")
	t0      = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
)

// exchange returns a request and the reply of three trips, in qt4.
func exchange(t testing.TB) (req, reply []byte) {
	t.Helper()
	r := wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("München"),
		Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
	req, err := wire.Qt4.AppendRequest(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		trip := wire.Trip{Date: r.Date, Departure: r.Time, Duration: uint16(60 + i), Changes: 1, TrainType: wire.Str("InterCity")}
		if reply, err = wire.Qt4.AppendTrip(reply, &trip); err != nil {
			t.Fatal(err)
		}
	}
	return req, wire.AppendEnd(reply)
}

// conv is one connection to record: the client's pieces, then the
// server's, then FINs from the server and the client.
type conv struct {
	client, server netip.AddrPort
	up, down       [][]byte
	noClose        bool
}

// record writes convs one after the other into a pcapng capture; each
// event is a millisecond after the one before.
func record(t testing.TB, convs ...conv) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	tick := func() time.Time { now = now.Add(time.Millisecond); return now }
	for _, cv := range convs {
		c, err := w.Conn(cv.client, cv.server, tick())
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range cv.up {
			if err := c.Data(ClientToServer, p, tick()); err != nil {
				t.Fatal(err)
			}
		}
		for _, p := range cv.down {
			if err := c.Data(ServerToClient, p, tick()); err != nil {
				t.Fatal(err)
			}
		}
		if !cv.noClose {
			if err := c.Close(ServerToClient, tick()); err != nil {
				t.Fatal(err)
			}
			if err := c.Close(ClientToServer, tick()); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rec is a record held by a test: its own copy of the bytes.
type rec struct {
	ci gopacket.CaptureInfo
	lt layers.LinkType
	b  []byte
}

// records reads every record of a capture.
func records(t testing.TB, file []byte) []rec {
	t.Helper()
	pr, err := NewPacketReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var out []rec
	for {
		p, err := pr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rec{ci: p.Info, lt: p.LinkType, b: append([]byte(nil), p.Data...)})
	}
}

// pcapFile writes records as a classic pcap file in the given byte order
// and timestamp resolution, with link type lt.
func pcapFile(order binary.AppendByteOrder, nanos bool, lt layers.LinkType, recs []rec) []byte {
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 65535)
	b = order.AppendUint32(b, uint32(lt))
	for _, r := range recs {
		frac := r.ci.Timestamp.Nanosecond()
		if !nanos {
			frac /= 1000
		}
		b = order.AppendUint32(b, uint32(r.ci.Timestamp.Unix()))
		b = order.AppendUint32(b, uint32(frac))
		b = order.AppendUint32(b, uint32(len(r.b)))
		b = order.AppendUint32(b, uint32(max(r.ci.Length, len(r.b))))
		b = append(b, r.b...)
	}
	return b
}

// pcapngFile writes records as a pcapng file in the given byte order, one
// interface per link type in the order they first appear.
func pcapngFile(order binary.AppendByteOrder, recs []rec) []byte {
	block := func(b []byte, typ uint32, body []byte) []byte {
		for len(body)%4 != 0 {
			body = append(body, 0)
		}
		n := uint32(12 + len(body))
		b = order.AppendUint32(b, typ)
		b = order.AppendUint32(b, n)
		b = append(b, body...)
		return order.AppendUint32(b, n)
	}
	var shb []byte
	shb = order.AppendUint32(shb, 0x1a2b3c4d)
	shb = order.AppendUint16(shb, 1)
	shb = order.AppendUint16(shb, 0)
	shb = order.AppendUint64(shb, ^uint64(0))
	b := block(nil, 0x0a0d0d0a, shb)
	ifaces := map[layers.LinkType]uint32{}
	for _, r := range recs {
		id, ok := ifaces[r.lt]
		if !ok {
			id = uint32(len(ifaces))
			ifaces[r.lt] = id
			var idb []byte
			idb = order.AppendUint16(idb, uint16(r.lt))
			idb = order.AppendUint16(idb, 0)
			idb = order.AppendUint32(idb, 0)
			// if_tsresol = 9 (nanoseconds), then opt_endofopt.
			idb = order.AppendUint16(idb, 9)
			idb = order.AppendUint16(idb, 1)
			idb = append(idb, 9, 0, 0, 0)
			idb = order.AppendUint32(idb, 0)
			b = block(b, 1, idb)
		}
		ts := uint64(r.ci.Timestamp.UnixNano())
		var epb []byte
		epb = order.AppendUint32(epb, id)
		epb = order.AppendUint32(epb, uint32(ts>>32))
		epb = order.AppendUint32(epb, uint32(ts))
		epb = order.AppendUint32(epb, uint32(len(r.b)))
		epb = order.AppendUint32(epb, uint32(max(r.ci.Length, len(r.b))))
		epb = append(epb, r.b...)
		b = block(b, 6, epb)
	}
	return b
}

// relink moves Ethernet records to link type lt.
func relink(t testing.TB, recs []rec, lt layers.LinkType) []rec {
	t.Helper()
	out := make([]rec, len(recs))
	for i, r := range recs {
		ip, err := NetworkLayer(r.lt, r.b)
		if err != nil {
			t.Fatal(err)
		}
		b, err := Encapsulate(lt, ip)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = rec{ci: r.ci, lt: lt, b: b}
		out[i].ci.CaptureLength, out[i].ci.Length = len(b), len(b)
	}
	return out
}

// tcpOf decodes the TCP layer of an Ethernet record.
func tcpOf(t testing.TB, r rec) *layers.TCP {
	t.Helper()
	p := gopacket.NewPacket(r.b, layers.LayerTypeEthernet, gopacket.Default)
	tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	if tcp == nil {
		t.Fatalf("no TCP in %x", r.b)
	}
	return tcp
}

// craft rebuilds an Ethernet/IPv4 TCP record with a new sequence number and
// payload.
func craft(t testing.TB, r rec, seq uint32, payload []byte) rec {
	t.Helper()
	p := gopacket.NewPacket(r.b, layers.LayerTypeEthernet, gopacket.Default)
	eth := p.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
	ip := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4)
	tcp := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
	tcp.Seq = seq
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(payload))
	if err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), buf.Bytes()...)
	return rec{ci: gopacket.CaptureInfo{Timestamp: r.ci.Timestamp, CaptureLength: len(b), Length: len(b)}, lt: r.lt, b: b}
}

// sessions reads every session of a capture.
func sessions(t testing.TB, file []byte, o Options) ([]*Session, *Reader) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(file), o)
	if err != nil {
		t.Fatal(err)
	}
	var out []*Session
	for {
		s, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, r
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
}

// kinds lists the kinds and packets of notes: "out-of-order@5".
func kinds(ns []Note) []string {
	var out []string
	for _, n := range ns {
		out = append(out, string(n.Kind)+"@"+strconv.FormatInt(n.Packet, 10))
	}
	return out
}
