// Command gen is the helper of regen.sh: it converts captures to other
// link types and formats, mangles their packets (reorder, duplicate, drop)
// and plays a raw Trip client. It is not part of tripcheck.
//
//	gen convert -in F -out F -link NAME [-format pcap|pcapng] [-order le|be] [-nanos]
//	gen mixed   -in F -out F              (pcapng, packets spread over Ethernet, SLL2 and NULL interfaces)
//	gen mangle  -in F -out F [-swap I,J] [-dup K@L] [-drop A-B]   (packet numbers from 1)
//	gen send    ADDR [-extra HEX] [-cut N] [-half-close] [field=value ...]
//	gen synth   -out F -sessions N [-open K]   (a large capture of Trip sessions, for the figures)
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

func main() {
	if len(os.Args) < 2 {
		fail(fmt.Errorf("usage: gen convert|mixed|mangle|send ..."))
	}
	var err error
	switch os.Args[1] {
	case "convert":
		err = convert(os.Args[2:])
	case "mixed":
		err = mixed(os.Args[2:])
	case "mangle":
		err = mangle(os.Args[2:])
	case "send":
		err = send(os.Args[2:])
	case "synth":
		err = synth(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "gen:", err)
	os.Exit(1)
}

type record struct {
	ci gopacket.CaptureInfo
	lt layers.LinkType
	b  []byte
}

func readAll(path string) ([]record, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pr, err := pcap.NewPacketReader(f)
	if err != nil {
		return nil, err
	}
	var out []record
	for {
		p, err := pr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		out = append(out, record{ci: p.Info, lt: p.LinkType, b: append([]byte(nil), p.Data...)})
	}
}

func relink(r record, lt layers.LinkType) (record, error) {
	ip, err := pcap.NetworkLayer(r.lt, r.b)
	if err != nil {
		return r, err
	}
	b, err := pcap.Encapsulate(lt, ip)
	if err != nil {
		return r, err
	}
	r.b, r.lt = b, lt
	r.ci.CaptureLength, r.ci.Length = len(b), len(b)+(r.ci.Length-r.ci.CaptureLength)
	return r, nil
}

// writePcap writes a classic pcap in either byte order and resolution.
func writePcap(path string, recs []record, lt layers.LinkType, order binary.AppendByteOrder, nanos bool) error {
	magic := uint32(0xa1b2c3d4)
	if nanos {
		magic = 0xa1b23c4d
	}
	b := order.AppendUint32(nil, magic)
	b = order.AppendUint16(b, 2)
	b = order.AppendUint16(b, 4)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 0)
	b = order.AppendUint32(b, 262144)
	b = order.AppendUint32(b, uint32(lt))
	for _, r := range recs {
		frac := r.ci.Timestamp.Nanosecond()
		if !nanos {
			frac /= 1000
		}
		b = order.AppendUint32(b, uint32(r.ci.Timestamp.Unix()))
		b = order.AppendUint32(b, uint32(frac))
		b = order.AppendUint32(b, uint32(len(r.b)))
		b = order.AppendUint32(b, uint32(r.ci.Length))
		b = append(b, r.b...)
	}
	return os.WriteFile(path, b, 0o644)
}

// writePcapng writes records over one interface per link type.
func writePcapng(path string, recs []record) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var w *pcapgo.NgWriter
	ifaces := map[layers.LinkType]int{}
	for _, r := range recs {
		id, ok := ifaces[r.lt]
		if !ok {
			intf := pcapgo.NgInterface{Name: "if" + strconv.Itoa(len(ifaces)), LinkType: r.lt, SnapLength: 262144, TimestampResolution: 9}
			if w == nil {
				w, err = pcapgo.NewNgWriterInterface(f, intf, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "tripcheck regen"}})
				id = 0
			} else {
				id, err = w.AddInterface(intf)
			}
			if err != nil {
				return err
			}
			ifaces[r.lt] = id
		}
		ci := r.ci
		ci.InterfaceIndex = id
		if err := w.WritePacket(ci, r.b); err != nil {
			return err
		}
	}
	if w != nil {
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return f.Close()
}

func convert(args []string) error {
	fs := flag.NewFlagSet("convert", flag.ExitOnError)
	in := fs.String("in", "", "")
	out := fs.String("out", "", "")
	link := fs.String("link", "", "")
	format := fs.String("format", "pcap", "")
	order := fs.String("order", "le", "")
	nanos := fs.Bool("nanos", false, "")
	fs.Parse(args)
	recs, err := readAll(*in)
	if err != nil {
		return err
	}
	lt := recs[0].lt
	if *link != "" {
		var ok bool
		if lt, ok = pcap.LinkType(*link); !ok {
			return fmt.Errorf("link type %q", *link)
		}
		for i := range recs {
			if recs[i], err = relink(recs[i], lt); err != nil {
				return fmt.Errorf("packet %d: %v", i+1, err)
			}
		}
	}
	if *format == "pcapng" {
		return writePcapng(*out, recs)
	}
	var bo binary.AppendByteOrder = binary.LittleEndian
	if *order == "be" {
		bo = binary.BigEndian
	}
	return writePcap(*out, recs, lt, bo, *nanos)
}

func mixed(args []string) error {
	fs := flag.NewFlagSet("mixed", flag.ExitOnError)
	in := fs.String("in", "", "")
	out := fs.String("out", "", "")
	fs.Parse(args)
	recs, err := readAll(*in)
	if err != nil {
		return err
	}
	kinds := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeNull}
	for i := range recs {
		if recs[i], err = relink(recs[i], kinds[i%len(kinds)]); err != nil {
			return err
		}
	}
	return writePcapng(*out, recs)
}

// mangle reorders, duplicates and drops packets, by their numbers in the
// input, and writes a pcap of the input's link type.
func mangle(args []string) error {
	fs := flag.NewFlagSet("mangle", flag.ExitOnError)
	in := fs.String("in", "", "")
	out := fs.String("out", "", "")
	swap := fs.String("swap", "", "")
	dup := fs.String("dup", "", "")
	drop := fs.String("drop", "", "")
	fs.Parse(args)
	recs, err := readAll(*in)
	if err != nil {
		return err
	}
	order := make([]int, len(recs)) // indexes into recs
	for i := range order {
		order[i] = i
	}
	if *swap != "" {
		var i, j int
		if _, err := fmt.Sscanf(*swap, "%d,%d", &i, &j); err != nil {
			return fmt.Errorf("-swap %q", *swap)
		}
		order[i-1], order[j-1] = order[j-1], order[i-1]
	}
	if *dup != "" {
		var k, l int
		if _, err := fmt.Sscanf(*dup, "%d@%d", &k, &l); err != nil {
			return fmt.Errorf("-dup %q", *dup)
		}
		// Packet k again, right after position l.
		order = append(order[:l], append([]int{k - 1}, order[l:]...)...)
	}
	if *drop != "" {
		var a, b int
		if _, err := fmt.Sscanf(*drop, "%d-%d", &a, &b); err != nil {
			return fmt.Errorf("-drop %q", *drop)
		}
		order = append(order[:a-1:a-1], order[b:]...)
	}
	var outRecs []record
	for _, i := range order {
		outRecs = append(outRecs, recs[i])
	}
	return writePcap(*out, outRecs, recs[0].lt, binary.LittleEndian, false)
}

// send is a raw client: a request built from field=value arguments (as the
// conformance scripts take them), optionally cut or followed by extra
// bytes, then optionally a half-close; it reads until the server ends the
// stream and prints what came.
func send(args []string) error {
	fs := flag.NewFlagSet("send", flag.ExitOnError)
	extra := fs.String("extra", "", "")
	cut := fs.Int("cut", -1, "")
	half := fs.Bool("half-close", false, "")
	profile := fs.String("profile", "qt4", "")
	if len(args) < 1 {
		return fmt.Errorf("send ADDR")
	}
	addr := args[0]
	fs.Parse(args[1:])
	p, err := wire.ParseProfile(*profile)
	if err != nil {
		return err
	}
	r := conformance.DefaultRequest()
	if err := conformance.ParseRequestFields(&r, fs.Args()); err != nil {
		return err
	}
	b, err := wire.Encoder{Profile: p, AllowIllegalWrites: true}.AppendRequest(nil, &r)
	if err != nil {
		return err
	}
	if *extra != "" {
		x, err := hex.DecodeString(*extra)
		if err != nil {
			return err
		}
		b = append(b, x...)
	}
	if *cut >= 0 && *cut < len(b) {
		b = b[:*cut]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.Write(b); err != nil {
		return err
	}
	if *half {
		c.(*net.TCPConn).CloseWrite()
	}
	got, err := io.ReadAll(c)
	fmt.Printf("sent %d bytes, got %d bytes (%v)\n", len(b), len(got), strings.TrimSpace(fmt.Sprint(err)))
	return nil
}

// synth writes n Trip sessions as the book's server and client exchange
// them (the request in one packet, each trip block and the end marker in
// one packet each, FIN from the server, then from the client), k of them
// open at a time, their packets interleaved. Requests vary so that replies
// hold 0 to 7 trips.
func synth(args []string) error {
	fs := flag.NewFlagSet("synth", flag.ExitOnError)
	out := fs.String("out", "", "")
	n := fs.Int("sessions", 100000, "")
	k := fs.Int("open", 16, "")
	fs.Parse(args)
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := pcap.NewWriter(bw)
	if err != nil {
		return err
	}
	cities := []string{"Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main", "Stuttgart", "Düsseldorf", "Leipzig", "Dortmund", "Essen"}
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tick := func() time.Time { now = now.Add(10 * time.Microsecond); return now }
	server := netip.MustParseAddrPort("10.0.0.2:6178")
	type open struct {
		c     *pcap.ConnWriter
		steps [][]byte // data of the next steps; nil: a FIN
		dirs  []pcap.Direction
	}
	var active []*open
	started, packets := 0, 0
	startOne := func() error {
		i := started
		started++
		r := conformance.DefaultRequest()
		r.From, r.To = wire.Str(cities[i%len(cities)]), wire.Str(cities[(i/len(cities))%len(cities)])
		r.Time = wire.TimeOf(i%24, 0, 0, 0)
		req, err := wire.Qt4.AppendRequest(nil, &r)
		if err != nil {
			return err
		}
		client := netip.AddrPortFrom(netip.AddrFrom4([4]byte{10, 1, byte(i >> 16), byte(i >> 8)}), uint16(1024+i%60000))
		c, err := w.Conn(client, server, tick())
		if err != nil {
			return err
		}
		packets += 3
		o := &open{c: c, steps: [][]byte{req}, dirs: []pcap.Direction{pcap.ClientToServer}}
		for _, t := range (fakes.Book{}).Trips(&r) {
			b, err := wire.Qt4.AppendTrip(nil, &t)
			if err != nil {
				return err
			}
			o.steps, o.dirs = append(o.steps, b), append(o.dirs, pcap.ServerToClient)
		}
		o.steps, o.dirs = append(o.steps, wire.AppendEnd(nil), nil, nil), append(o.dirs, pcap.ServerToClient, pcap.ServerToClient, pcap.ClientToServer)
		active = append(active, o)
		return nil
	}
	for started < *n || len(active) > 0 {
		for len(active) < *k && started < *n {
			if err := startOne(); err != nil {
				return err
			}
		}
		next := active[:0]
		for _, o := range active {
			d, b := o.dirs[0], o.steps[0]
			o.dirs, o.steps = o.dirs[1:], o.steps[1:]
			if b == nil {
				err = o.c.Close(d, tick())
				packets += 2
			} else {
				err = o.c.Data(d, b, tick())
				packets++
			}
			if err != nil {
				return err
			}
			if len(o.steps) > 0 {
				next = append(next, o)
			}
		}
		active = next
	}
	if err := w.Flush(); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	fmt.Printf("%d sessions, %d packets\n", *n, packets)
	return f.Close()
}
