package pcap

import (
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// TCP flags of a segment.
const (
	flagFIN = 1 << iota
	flagSYN
	flagRST
	flagACK
)

// segment is the TCP part of a packet.
type segment struct {
	src, dst netip.AddrPort
	seq, ack uint32
	flags    uint8
	payload  []byte // aliases the record
	// missing is the number of payload bytes the IP header counts beyond
	// those captured (a snap length shorter than the packet).
	missing int
}

func (s *segment) has(f uint8) bool { return s.flags&f != 0 }

// packetKind says what a record held, when it is not a TCP segment.
type packetKind uint8

const (
	kindTCP         packetKind = iota
	kindLinkType               // a link type the reader does not decode
	kindNotIP                  // a link-layer frame without IP (ARP, LLDP, ...)
	kindNotTCP                 // IP, but not TCP (UDP, ICMP, ...)
	kindFragment               // an IPv4 or IPv6 fragment
	kindUndecodable            // headers that do not parse
)

// truncFeedback records gopacket's truncation feedback.
type truncFeedback struct{ truncated bool }

func (f *truncFeedback) SetTruncated() { f.truncated = true }

// decoder decodes records to TCP segments with gopacket's layers, reusing
// its layer values.
type decoder struct {
	eth  layers.Ethernet
	vlan layers.Dot1Q
	sll  layers.LinuxSLL
	sll2 layers.LinuxSLL2
	loop layers.Loopback
	ip4  layers.IPv4
	ip6  layers.IPv6
	ext  layers.IPv6ExtensionSkipper
	tcp  layers.TCP
	fb   truncFeedback
}

// Link types of raw IP besides LinkTypeRaw (101): DLT_RAW is 12 on most
// systems and 14 on OpenBSD.
const (
	linkTypeRaw12 layers.LinkType = 12
	linkTypeRaw14 layers.LinkType = 14
)

// decode fills seg from a record of link type lt.
func (d *decoder) decode(lt layers.LinkType, data []byte, seg *segment) packetKind {
	et, payload, kind := d.link(lt, data)
	if kind != kindTCP {
		return kind
	}
	return d.ip(et, payload, seg)
}

// link strips the link-layer header of a record: it returns the network
// protocol and the packet, with kindTCP; or
// another kind for a record it cannot go through.
func (d *decoder) link(lt layers.LinkType, data []byte) (next layers.EthernetType, payload []byte, kind packetKind) {
	nf := gopacket.NilDecodeFeedback
	switch lt {
	case layers.LinkTypeEthernet:
		if d.eth.DecodeFromBytes(data, nf) != nil {
			return 0, nil, kindUndecodable
		}
		next, payload = d.eth.EthernetType, d.eth.Payload
		for i := 0; i < 4 && (next == layers.EthernetTypeDot1Q || next == layers.EthernetTypeQinQ); i++ {
			if d.vlan.DecodeFromBytes(payload, nf) != nil {
				return 0, nil, kindUndecodable
			}
			next, payload = d.vlan.Type, d.vlan.Payload
		}
	case layers.LinkTypeLinuxSLL:
		if d.sll.DecodeFromBytes(data, nf) != nil {
			return 0, nil, kindUndecodable
		}
		next, payload = d.sll.EthernetType, d.sll.Payload
	case layers.LinkTypeLinuxSLL2:
		if d.sll2.DecodeFromBytes(data, nf) != nil {
			return 0, nil, kindUndecodable
		}
		next, payload = d.sll2.ProtocolType, d.sll2.Payload
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if d.loop.DecodeFromBytes(data, nf) != nil {
			return 0, nil, kindUndecodable
		}
		payload = d.loop.Payload
		switch d.loop.Family {
		case layers.ProtocolFamilyIPv4:
			next = layers.EthernetTypeIPv4
		case layers.ProtocolFamilyIPv6BSD, layers.ProtocolFamilyIPv6FreeBSD, layers.ProtocolFamilyIPv6Darwin, layers.ProtocolFamilyIPv6Linux:
			next = layers.EthernetTypeIPv6
		default:
			return 0, nil, kindNotIP
		}
	case layers.LinkTypeRaw, linkTypeRaw12, linkTypeRaw14:
		if len(data) == 0 {
			return 0, nil, kindUndecodable
		}
		payload = data
		switch data[0] >> 4 {
		case 4:
			next = layers.EthernetTypeIPv4
		case 6:
			next = layers.EthernetTypeIPv6
		default:
			return 0, nil, kindUndecodable
		}
	case layers.LinkTypeIPv4:
		next, payload = layers.EthernetTypeIPv4, data
	case layers.LinkTypeIPv6:
		next, payload = layers.EthernetTypeIPv6, data
	default:
		return 0, nil, kindLinkType
	}
	return next, payload, kindTCP
}

// ip decodes an IPv4 or IPv6 packet and the TCP segment in it.
func (d *decoder) ip(et layers.EthernetType, b []byte, seg *segment) packetKind {
	d.fb.truncated = false
	var proto layers.IPProtocol
	want := 0 // IP payload length as the header says
	switch et {
	case layers.EthernetTypeIPv4:
		if d.ip4.DecodeFromBytes(b, &d.fb) != nil || d.ip4.Version != 4 {
			return kindUndecodable
		}
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			return kindFragment
		}
		proto, b = d.ip4.Protocol, d.ip4.Payload
		want = int(d.ip4.Length) - int(d.ip4.IHL)*4
		src, _ := netip.AddrFromSlice(d.ip4.SrcIP)
		dst, _ := netip.AddrFromSlice(d.ip4.DstIP)
		seg.src, seg.dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
	case layers.EthernetTypeIPv6:
		if d.ip6.DecodeFromBytes(b, &d.fb) != nil || d.ip6.Version != 6 {
			return kindUndecodable
		}
		proto, b = d.ip6.NextHeader, d.ip6.Payload
		want = int(d.ip6.Length)
		if d.ip6.HopByHop != nil {
			proto = d.ip6.HopByHop.NextHeader
			want -= d.ip6.HopByHop.ActualLength
		}
	ext:
		for i := 0; i < 8; i++ {
			switch proto {
			case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination:
				if d.ext.DecodeFromBytes(b, &d.fb) != nil {
					return kindUndecodable
				}
				want -= len(d.ext.Contents)
				proto, b = d.ext.NextHeader, d.ext.Payload
				continue
			case layers.IPProtocolIPv6Fragment:
				return kindFragment
			}
			break ext
		}
		src, _ := netip.AddrFromSlice(d.ip6.SrcIP)
		dst, _ := netip.AddrFromSlice(d.ip6.DstIP)
		seg.src, seg.dst = netip.AddrPortFrom(src, 0), netip.AddrPortFrom(dst, 0)
	default:
		return kindNotIP
	}
	if proto != layers.IPProtocolTCP {
		return kindNotTCP
	}
	if d.tcp.DecodeFromBytes(b, gopacket.NilDecodeFeedback) != nil {
		return kindUndecodable
	}
	seg.src = netip.AddrPortFrom(seg.src.Addr(), uint16(d.tcp.SrcPort))
	seg.dst = netip.AddrPortFrom(seg.dst.Addr(), uint16(d.tcp.DstPort))
	seg.seq, seg.ack = d.tcp.Seq, d.tcp.Ack
	seg.flags = 0
	if d.tcp.FIN {
		seg.flags |= flagFIN
	}
	if d.tcp.SYN {
		seg.flags |= flagSYN
	}
	if d.tcp.RST {
		seg.flags |= flagRST
	}
	if d.tcp.ACK {
		seg.flags |= flagACK
	}
	seg.payload = d.tcp.Payload
	seg.missing = 0
	if hdr := int(d.tcp.DataOffset) * 4; want-hdr > len(seg.payload) {
		seg.missing = want - hdr - len(seg.payload)
	}
	return kindTCP
}
