package pcap

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/gopacket/gopacket/layers"
)

// ErrLinkType: a link type that Encapsulate cannot write or NetworkLayer
// cannot read.
var ErrLinkType = errors.New("pcap: unsupported link type")

// LinkType returns the link type the reader decodes by the name tcpdump and
// editcap give it (EN10MB, LINUX_SLL, RAW, ...).
func LinkType(name string) (layers.LinkType, bool) {
	lt, ok := linkTypes[name]
	return lt, ok
}

// linkTypes are the link types the reader decodes, by name.
var linkTypes = map[string]layers.LinkType{
	"EN10MB":     layers.LinkTypeEthernet,
	"LINUX_SLL":  layers.LinkTypeLinuxSLL,
	"LINUX_SLL2": layers.LinkTypeLinuxSLL2,
	"NULL":       layers.LinkTypeNull,
	"LOOP":       layers.LinkTypeLoop,
	"RAW":        layers.LinkTypeRaw,
	"IPV4":       layers.LinkTypeIPv4,
	"IPV6":       layers.LinkTypeIPv6,
}

// NetworkLayer returns the IP packet inside a record of link type lt: the
// record without its link-layer header. It aliases frame.
func NetworkLayer(lt layers.LinkType, frame []byte) ([]byte, error) {
	var d decoder
	et, p, kind := d.link(lt, frame)
	switch {
	case kind == kindLinkType:
		return nil, fmt.Errorf("%w %v", ErrLinkType, lt)
	case kind != kindTCP:
		return nil, errors.New("pcap: a frame without IP, or a short one")
	case et != layers.EthernetTypeIPv4 && et != layers.EthernetTypeIPv6:
		return nil, errors.New("pcap: a frame without IP")
	}
	return p, nil
}

// Encapsulate returns the IP packet ip in a record of link type lt, with a
// link-layer header as a capture on Linux (or, for NULL and LOOP, BSD)
// writes it: Ethernet with made-up addresses, SLL and SLL2 as tcpdump -i any
// (an outgoing packet on interface 1), NULL in little-endian order, LOOP
// in network order, or no header for RAW, IPV4 and IPV6.
func Encapsulate(lt layers.LinkType, ip []byte) ([]byte, error) {
	if len(ip) == 0 {
		return nil, errors.New("pcap: empty IP packet")
	}
	v6 := ip[0]>>4 == 6
	etype := layers.EthernetTypeIPv4
	family := uint32(layers.ProtocolFamilyIPv4)
	if v6 {
		etype = layers.EthernetTypeIPv6
		family = uint32(layers.ProtocolFamilyIPv6BSD)
	}
	var h []byte
	switch lt {
	case layers.LinkTypeEthernet:
		h = make([]byte, 14)
		copy(h, []byte{0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01})
		binary.BigEndian.PutUint16(h[12:], uint16(etype))
	case layers.LinkTypeLinuxSLL:
		h = make([]byte, 16)
		binary.BigEndian.PutUint16(h[0:], 4)   // outgoing
		binary.BigEndian.PutUint16(h[2:], 772) // ARPHRD_LOOPBACK
		binary.BigEndian.PutUint16(h[4:], 6)   // address length
		binary.BigEndian.PutUint16(h[14:], uint16(etype))
	case layers.LinkTypeLinuxSLL2:
		h = make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], uint16(etype))
		binary.BigEndian.PutUint32(h[4:], 1)   // interface index
		binary.BigEndian.PutUint16(h[8:], 772) // ARPHRD_LOOPBACK
		h[10] = 4                              // outgoing
		h[11] = 6                              // address length
	case layers.LinkTypeNull:
		h = binary.LittleEndian.AppendUint32(nil, family)
	case layers.LinkTypeLoop:
		h = binary.BigEndian.AppendUint32(nil, family)
	case layers.LinkTypeRaw, linkTypeRaw12, linkTypeRaw14:
	case layers.LinkTypeIPv4:
		if v6 {
			return nil, errors.New("pcap: an IPv6 packet in link type IPV4")
		}
	case layers.LinkTypeIPv6:
		if !v6 {
			return nil, errors.New("pcap: an IPv4 packet in link type IPV6")
		}
	default:
		return nil, fmt.Errorf("%w %v", ErrLinkType, lt)
	}
	return append(h, ip...), nil
}
