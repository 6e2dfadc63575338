package pcap

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
)

func TestRoundTrip(t *testing.T) {
	req, reply := exchange(t)
	for _, tc := range []struct {
		name           string
		client, server netip.AddrPort
	}{
		{name: "ipv4", client: client4, server: server4},
		{name: "ipv6", client: client6, server: server6},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := record(t, conv{client: tc.client, server: tc.server,
				up: [][]byte{req[:2], req[2:10], req[10:]}, down: [][]byte{reply}})
			ss, r := sessions(t, file, Options{})
			if len(ss) != 1 {
				t.Fatalf("%d sessions, want 1", len(ss))
			}
			s := ss[0]
			if s.Client != tc.client || s.Server != tc.server {
				t.Errorf("endpoints %v → %v, want %v → %v", s.Client, s.Server, tc.client, tc.server)
			}
			if !bytes.Equal(s.Up.Data, req) || !bytes.Equal(s.Down.Data, reply) {
				t.Errorf("streams differ:\nup   %x\ndown %x", s.Up.Data, s.Down.Data)
			}
			if diff := cmp.Diff([]int{2, 10}, s.Up.Cuts()); diff != "" {
				t.Errorf("cuts (-want +got):\n%s", diff)
			}
			// Packets: 1-3 handshake, 4-6 request, 7 reply, 8-9 server FIN
			// and ACK, 10-11 client FIN and ACK.
			for _, c := range []struct {
				st   *Stream
				off  int64
				want int64
			}{{s.Up, 0, 4}, {s.Up, 2, 5}, {s.Up, 9, 5}, {s.Up, 10, 6}, {s.Down, 0, 7}, {s.Down, int64(len(reply) - 1), 7}} {
				seg, ok := c.st.PacketAt(c.off)
				if !ok || seg.Packet != c.want {
					t.Errorf("PacketAt(%d) = %d, %v; want packet %d", c.off, seg.Packet, ok, c.want)
				}
			}
			if s.Up.SYN.Packet != 1 || s.Down.SYN.Packet != 2 || s.Down.FIN.Packet != 8 || s.Up.FIN.Packet != 10 {
				t.Errorf("flags: SYN %d/%d, FIN %d/%d", s.Up.SYN.Packet, s.Down.SYN.Packet, s.Up.FIN.Packet, s.Down.FIN.Packet)
			}
			if s.Down.FIN.Offset != int64(len(reply)) {
				t.Errorf("server FIN at offset %d, want %d", s.Down.FIN.Offset, len(reply))
			}
			if !s.Up.Complete() || !s.Down.Complete() || s.End != EndClosed {
				t.Errorf("complete %v/%v, end %s", s.Up.Complete(), s.Down.Complete(), s.End)
			}
			if len(s.Notes) != 0 || len(r.Notes()) != 0 {
				t.Errorf("notes: %v, file notes: %v", s.Notes, r.Notes())
			}
			if st := r.Stats(); st.Packets != 11 || st.TripSegments != 11 || st.Sessions != 1 {
				t.Errorf("stats %+v", st)
			}
		})
	}
}

// Every link type, in pcap (both byte orders, micro- and nanoseconds) and
// pcapng (both byte orders), decodes to the same session.
func TestLinkTypesAndFormats(t *testing.T) {
	req, reply := exchange(t)
	for _, ep := range []struct{ c, s netip.AddrPort }{{client4, server4}, {client6, server6}} {
		eth := records(t, record(t, conv{client: ep.c, server: ep.s, up: [][]byte{req}, down: [][]byte{reply[:7], reply[7:]}}))
		for name, lt := range linkTypes {
			if lt == layers.LinkTypeIPv4 && ep.c.Addr().Is6() || lt == layers.LinkTypeIPv6 && ep.c.Addr().Is4() {
				continue
			}
			recs := relink(t, eth, lt)
			files := map[string][]byte{
				"pcap-le-us": pcapFile(binary.LittleEndian, false, lt, recs),
				"pcap-be-us": pcapFile(binary.BigEndian, false, lt, recs),
				"pcap-le-ns": pcapFile(binary.LittleEndian, true, lt, recs),
				"pcap-be-ns": pcapFile(binary.BigEndian, true, lt, recs),
				"pcapng-le":  pcapngFile(binary.LittleEndian, recs),
				"pcapng-be":  pcapngFile(binary.BigEndian, recs),
			}
			for fname, file := range files {
				t.Run(ep.c.Addr().String()+"/"+name+"/"+fname, func(t *testing.T) {
					ss, r := sessions(t, file, Options{})
					if len(ss) != 1 {
						t.Fatalf("%d sessions; notes %v", len(ss), r.Notes())
					}
					if !bytes.Equal(ss[0].Up.Data, req) || !bytes.Equal(ss[0].Down.Data, reply) {
						t.Errorf("streams differ")
					}
					if ss[0].Client != ep.c || ss[0].Server != ep.s {
						t.Errorf("endpoints %v → %v", ss[0].Client, ss[0].Server)
					}
					if got, want := ss[0].First, eth[0].ci.Timestamp; !got.Equal(want) {
						t.Errorf("first packet at %v, want %v", got, want)
					}
				})
			}
		}
	}
}

// A pcapng file whose interfaces have different link types.
func TestPcapngMixedLinkTypes(t *testing.T) {
	req, reply := exchange(t)
	eth := records(t, record(t, conv{client: client4, server: server4, up: [][]byte{req}, down: [][]byte{reply}}))
	sll2 := relink(t, eth, layers.LinkTypeLinuxSLL2)
	null := relink(t, eth, layers.LinkTypeNull)
	mixed := make([]rec, len(eth))
	for i := range eth {
		mixed[i] = [...]rec{eth[i], sll2[i], null[i]}[i%3]
	}
	ss, r := sessions(t, pcapngFile(binary.LittleEndian, mixed), Options{})
	if len(ss) != 1 || !bytes.Equal(ss[0].Up.Data, req) || !bytes.Equal(ss[0].Down.Data, reply) {
		t.Fatalf("sessions %d, notes %v", len(ss), r.Notes())
	}
}
