package pcap

import (
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// MaxSegment is the most payload a Writer puts in one packet; longer
// writes go out as several.
const MaxSegment = 65000

// ErrConnClosed is returned for data or flags after a side ended.
var ErrConnClosed = errors.New("pcap: that side of the connection has ended")

// Writer writes a pcapng capture (one Ethernet interface, nanosecond
// timestamps) of TCP connections synthesized from the bytes each side
// sent. It is safe for concurrent use: connections may be recorded at once.
type Writer struct {
	mu    sync.Mutex
	ng    *pcapgo.NgWriter
	buf   gopacket.SerializeBuffer
	opts  gopacket.SerializeOptions
	conns uint32
	ipID  uint16
	err   error // sticky
}

// NewWriter writes the pcapng section and interface headers to w and
// returns a Writer. Call Flush before closing w.
func NewWriter(w io.Writer) (*Writer, error) {
	ng, err := pcapgo.NewNgWriterInterface(w, pcapgo.NgInterface{
		Name:                "tripcheck",
		Description:         "TCP connections synthesized by tripcheck",
		LinkType:            layers.LinkTypeEthernet,
		SnapLength:          MaxRecord,
		TimestampResolution: 9,
	}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "tripcheck"}})
	if err != nil {
		return nil, err
	}
	return &Writer{
		ng:   ng,
		buf:  gopacket.NewSerializeBuffer(),
		opts: gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
	}, nil
}

// Flush writes out what the Writer buffers.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	return w.ng.Flush()
}

// ConnWriter records one TCP connection. Its methods take the time of the
// event: time.Now() for a live connection.
type ConnWriter struct {
	w              *Writer
	client, server netip.AddrPort
	side           [2]sideState // [0]: client, [1]: server
}

type sideState struct {
	next  uint32 // the next sequence number
	ended bool
	mac   net.HardwareAddr
}

func side(d Direction) int {
	if d == ServerToClient {
		return 1
	}
	return 0
}

// Conn starts recording a connection between client and server, which
// must be of the same family: it writes the three-way handshake at time t.
// Initial sequence numbers are drawn from the addresses and the count of
// connections, so that a capture written twice is the same.
func (w *Writer) Conn(client, server netip.AddrPort, t time.Time) (*ConnWriter, error) {
	if client.Addr().Unmap().Is4() != server.Addr().Unmap().Is4() {
		return nil, fmt.Errorf("pcap: client %v and server %v are not of one address family", client, server)
	}
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	server = netip.AddrPortFrom(server.Addr().Unmap(), server.Port())
	w.mu.Lock()
	w.conns++
	n := w.conns
	w.mu.Unlock()
	c := &ConnWriter{w: w, client: client, server: server}
	h := fnv.New32a()
	fmt.Fprintf(h, "%v %v %d", client, server, n)
	isn := h.Sum32()
	c.side[0] = sideState{next: isn, mac: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x01}}
	c.side[1] = sideState{next: isn*2654435761 + 12345, mac: net.HardwareAddr{0x02, 0, 0, 0, 0, 0x02}}
	if err := c.packet(0, flagSYN, nil, t); err != nil {
		return nil, err
	}
	c.side[0].next++
	if err := c.packet(1, flagSYN|flagACK, nil, t); err != nil {
		return nil, err
	}
	c.side[1].next++
	if err := c.packet(0, flagACK, nil, t); err != nil {
		return nil, err
	}
	return c, nil
}

// Data records bytes sent by one side at time t, as one packet (several
// past MaxSegment bytes).
func (c *ConnWriter) Data(d Direction, b []byte, t time.Time) error {
	i := side(d)
	if c.side[i].ended {
		return ErrConnClosed
	}
	for len(b) > 0 {
		n := min(len(b), MaxSegment)
		if err := c.packet(i, flagACK|flagPSH, b[:n], t); err != nil {
			return err
		}
		c.side[i].next += uint32(n)
		b = b[n:]
	}
	return nil
}

// Close records a FIN from one side at time t, and the other side's ACK.
func (c *ConnWriter) Close(d Direction, t time.Time) error {
	i := side(d)
	if c.side[i].ended {
		return ErrConnClosed
	}
	c.side[i].ended = true
	if err := c.packet(i, flagFIN|flagACK, nil, t); err != nil {
		return err
	}
	c.side[i].next++
	return c.packet(1-i, flagACK, nil, t)
}

// Reset records a RST from one side at time t. Both sides have ended then.
func (c *ConnWriter) Reset(d Direction, t time.Time) error {
	i := side(d)
	if c.side[i].ended && c.side[1-i].ended {
		return ErrConnClosed
	}
	c.side[0].ended, c.side[1].ended = true, true
	return c.packet(i, flagRST|flagACK, nil, t)
}

// Ended reports whether side d has closed or the connection was reset.
func (c *ConnWriter) Ended(d Direction) bool { return c.side[side(d)].ended }

// flagPSH is only written, never read.
const flagPSH = 1 << 7

// packet writes one segment from side i.
func (c *ConnWriter) packet(i int, flags uint8, payload []byte, t time.Time) error {
	src, dst := c.client, c.server
	if i == 1 {
		src, dst = dst, src
	}
	me, peer := &c.side[i], &c.side[1-i]
	tcp := &layers.TCP{
		SrcPort:    layers.TCPPort(src.Port()),
		DstPort:    layers.TCPPort(dst.Port()),
		Seq:        me.next,
		SYN:        flags&flagSYN != 0,
		FIN:        flags&flagFIN != 0,
		RST:        flags&flagRST != 0,
		ACK:        flags&flagACK != 0,
		PSH:        flags&flagPSH != 0,
		Window:     65535,
		DataOffset: 5,
	}
	if tcp.ACK {
		tcp.Ack = peer.next
	}
	eth := &layers.Ethernet{SrcMAC: me.mac, DstMAC: peer.mac}
	w := c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err != nil {
		return w.err
	}
	var ip gopacket.SerializableLayer
	if src.Addr().Is4() {
		eth.EthernetType = layers.EthernetTypeIPv4
		w.ipID++
		a, b := src.Addr().As4(), dst.Addr().As4()
		ip4 := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Id: w.ipID, Flags: layers.IPv4DontFragment,
			Protocol: layers.IPProtocolTCP, SrcIP: a[:], DstIP: b[:]}
		tcp.SetNetworkLayerForChecksum(ip4)
		ip = ip4
	} else {
		eth.EthernetType = layers.EthernetTypeIPv6
		a, b := src.Addr().As16(), dst.Addr().As16()
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolTCP, SrcIP: a[:], DstIP: b[:]}
		tcp.SetNetworkLayerForChecksum(ip6)
		ip = ip6
	}
	if err := gopacket.SerializeLayers(w.buf, w.opts, eth, ip, tcp, gopacket.Payload(payload)); err != nil {
		w.err = fmt.Errorf("pcap: build packet: %w", err)
		return w.err
	}
	data := w.buf.Bytes()
	ci := gopacket.CaptureInfo{Timestamp: t, CaptureLength: len(data), Length: len(data)}
	if err := w.ng.WritePacket(ci, data); err != nil {
		w.err = err
		return err
	}
	return nil
}
