package pcap

import (
	"bytes"
	stdcmp "cmp"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// The base capture: packets 1-3 the handshake, 4-6 the request in three
// pieces, 7-10 the reply in four, 11-12 the server's FIN and its ACK, 13-14
// the client's.
func baseCapture(t testing.TB) (recs []rec, req, reply []byte, cuts []int) {
	req, reply = exchange(t)
	cuts = []int{10, 30, 60}
	down := [][]byte{reply[:cuts[0]], reply[cuts[0]:cuts[1]], reply[cuts[1]:cuts[2]], reply[cuts[2]:]}
	file := record(t, conv{client: client4, server: server4, up: [][]byte{req[:2], req[2:10], req[10:]}, down: down})
	return records(t, file), req, reply, cuts
}

func TestReassemblyNotes(t *testing.T) {
	base, req, reply, cuts := baseCapture(t)
	seqOf := func(i int) uint32 { return tcpOf(t, base[i]).Seq }
	tests := []struct {
		name   string
		mutate func([]rec) []rec
		notes  []string
		// up and down are the contiguous streams expected.
		up, down []byte
		gaps     []Gap // of the reply
		// packetAt maps reply offsets to packets.
		packetAt map[int64]int64
		end      EndReason // EndClosed if empty
	}{
		{
			name:     "in order",
			mutate:   func(r []rec) []rec { return r },
			up:       req,
			down:     reply,
			packetAt: map[int64]int64{0: 7, 10: 8, 30: 9, 60: 10},
		},
		{
			name: "reordered",
			mutate: func(r []rec) []rec {
				// The reply's third piece comes before its second.
				r[7], r[8] = r[8], r[7]
				return r
			},
			notes:    []string{"out-of-order@8"},
			up:       req,
			down:     reply,
			packetAt: map[int64]int64{0: 7, 10: 9, 30: 8, 60: 10},
		},
		{
			name: "retransmitted",
			mutate: func(r []rec) []rec {
				// The reply's second piece again after the third.
				return slices.Insert(r, 9, r[7])
			},
			notes:    []string{"retransmission@10"},
			up:       req,
			down:     reply,
			packetAt: map[int64]int64{0: 7, 10: 8, 30: 9, 60: 11},
		},
		{
			name: "retransmitted while out of order",
			mutate: func(r []rec) []rec {
				// The fourth piece twice before the second and third.
				return append(r[:7:7], append([]rec{r[9], r[9], r[7], r[8]}, r[10:]...)...)
			},
			notes:    []string{"out-of-order@8", "retransmission@9"},
			up:       req,
			down:     reply,
			packetAt: map[int64]int64{0: 7, 10: 10, 30: 11, 60: 8},
		},
		{
			name: "overlap that differs",
			mutate: func(r []rec) []rec {
				// Bytes 20-39 of the reply again, changed, after the third piece.
				bad := bytes.Clone(reply[20:40])
				bad[5] ^= 0xff
				return slices.Insert(r, 9, craft(t, r[7], seqOf(7)+10, bad))
			},
			notes:    []string{"overlap@10"},
			up:       req,
			down:     reply,
			packetAt: map[int64]int64{0: 7, 10: 8, 30: 9, 60: 11},
		},
		{
			name: "partial overlap, same bytes",
			mutate: func(r []rec) []rec {
				// Bytes 20-69: the old 20-59 and 10 new ones, before the fourth piece.
				return slices.Insert(r, 9, craft(t, r[7], seqOf(7)+10, reply[20:70]))
			},
			notes:    []string{"retransmission@10", "retransmission@11"},
			up:       req,
			down:     reply,
			packetAt: map[int64]int64{0: 7, 10: 8, 30: 9, 60: 10, 70: 11},
		},
		{
			name: "capture began mid-connection",
			mutate: func(r []rec) []rec {
				return r[3:]
			},
			notes:    []string{"missing-syn@1", "missing-syn@4"},
			up:       req,
			down:     reply,
			packetAt: map[int64]int64{0: 4, 10: 5, 30: 6, 60: 7},
		},
		{
			name: "lost segment",
			mutate: func(r []rec) []rec {
				return slices.Delete(r, 7, 8)
			},
			notes:    []string{"out-of-order@8", "gap@8"},
			end:      EndCaptureEnd,
			up:       req,
			down:     reply[:cuts[0]],
			gaps:     []Gap{{Offset: 10, Len: 20, Before: 7, After: 8}},
			packetAt: map[int64]int64{0: 7, 30: 8, 60: 9},
		},
		{
			name: "snap length",
			mutate: func(r []rec) []rec {
				// The third piece captured 5 bytes short.
				r[8].b = r[8].b[:len(r[8].b)-5]
				r[8].ci.CaptureLength = len(r[8].b)
				return r
			},
			notes:    []string{"snapped@9", "out-of-order@10", "gap@10"},
			end:      EndCaptureEnd,
			up:       req,
			down:     reply[:cuts[2]-5],
			gaps:     []Gap{{Offset: 55, Len: 5, Before: 9, After: 10}},
			packetAt: map[int64]int64{0: 7, 10: 8, 30: 9, 54: 9, 60: 10},
		},
		{
			name: "lost last segment before the FIN",
			mutate: func(r []rec) []rec {
				return slices.Delete(r, 9, 10)
			},
			notes:    []string{"gap@10"},
			end:      EndCaptureEnd,
			up:       req,
			down:     reply[:cuts[2]],
			gaps:     []Gap{{Offset: 60, Len: int64(len(reply) - 60), Before: 9, After: 10}},
			packetAt: map[int64]int64{0: 7, 59: 9},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs := tc.mutate(slices.Clone(base))
			ss, r := sessions(t, pcapFile(leOrder, true, recs[0].lt, recs), Options{})
			if len(ss) != 1 {
				t.Fatalf("%d sessions; file notes %v", len(ss), r.Notes())
			}
			s := ss[0]
			if diff := cmp.Diff(tc.notes, kinds(s.Notes)); diff != "" {
				t.Errorf("notes (-want +got):\n%s\n%v", diff, s.Notes)
			}
			if !bytes.Equal(s.Up.Contiguous(), tc.up) {
				t.Errorf("request %x, want %x", s.Up.Contiguous(), tc.up)
			}
			if !bytes.Equal(s.Down.Contiguous(), tc.down) {
				t.Errorf("reply\n%x, want\n%x", s.Down.Contiguous(), tc.down)
			}
			if diff := cmp.Diff(tc.gaps, s.Down.Gaps); diff != "" {
				t.Errorf("gaps (-want +got):\n%s", diff)
			}
			for off, want := range tc.packetAt {
				if seg, ok := s.Down.PacketAt(off); !ok || seg.Packet != want {
					t.Errorf("reply offset %d: packet %d, %v; want %d", off, seg.Packet, ok, want)
				}
			}
			if want := stdcmp.Or(tc.end, EndClosed); s.End != want {
				t.Errorf("end %s, want %s", s.End, want)
			}
		})
	}
}
