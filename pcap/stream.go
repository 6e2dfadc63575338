package pcap

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"time"
)

// Direction is one side of a session.
type Direction uint8

const (
	// ClientToServer is the client's stream: the request.
	ClientToServer Direction = iota + 1
	// ServerToClient is the server's stream: the reply.
	ServerToClient
)

func (d Direction) String() string {
	switch d {
	case ClientToServer:
		return "client→server"
	case ServerToClient:
		return "server→client"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Mark is where a TCP flag was seen. The zero Mark is a flag not seen.
type Mark struct {
	// Packet is the number of the first packet with the flag; 0 if none.
	Packet int64
	Time   time.Time
	// Offset is the stream offset of the flag: for a FIN, the offset after
	// the last byte of the stream; for a RST, the offset it was sent at;
	// for a SYN, 0.
	Offset int64
}

// Seen reports whether the flag was seen.
func (m Mark) Seen() bool { return m.Packet > 0 }

// Segment says which packet first carried a run of a stream's bytes.
type Segment struct {
	Offset int64 // stream offset of the run's first byte
	Len    int
	Packet int64
	Time   time.Time
}

// End is the offset after the run.
func (s Segment) End() int64 { return s.Offset + int64(s.Len) }

// Gap is a run of a stream's bytes that the capture does not hold.
type Gap struct {
	Offset, Len int64
	// Before and After are the packets around the gap: the last one
	// before it, and the one that carried the bytes after it (0 if none).
	Before, After int64
}

// Stream is one direction of a session: the bytes one side sent, as
// reassembled from the capture.
type Stream struct {
	// Data holds the stream from offset 0 (the first byte after the SYN, or
	// the first byte captured when the SYN was not), up to the cap
	// (Options.MaxStreamBytes). The bytes of a gap read as zeros: see Gaps.
	Data []byte
	// Len is the stream's length as captured, beyond the cap too.
	Len int64
	// Truncated says that Data stops at the cap, short of Len.
	Truncated bool
	// StartKnown says the SYN was seen, so offset 0 is the stream's first
	// byte. Without it the capture began in the middle of the connection.
	StartKnown bool
	// The flags each side sent: where the SYN, the first FIN and the first
	// RST were seen.
	SYN, FIN, RST Mark
	// Gaps are the bytes the capture lost, in offset order.
	Gaps []Gap
	// Segments map offsets to packets: each run of bytes, in offset order,
	// with the packet that first carried it. They cover Data but gaps.
	Segments []Segment
}

// Contiguous is the stream up to its first gap or the cap: the bytes a
// decoder can read without a hole.
func (s *Stream) Contiguous() []byte {
	if len(s.Gaps) > 0 && s.Gaps[0].Offset < int64(len(s.Data)) {
		return s.Data[:s.Gaps[0].Offset]
	}
	return s.Data
}

// Complete reports whether Data holds the whole stream as sent: no gap, no
// cap, and the stream's start seen.
func (s *Stream) Complete() bool {
	return s.StartKnown && len(s.Gaps) == 0 && !s.Truncated
}

// Closed reports whether the side ended its stream: a FIN or a RST.
func (s *Stream) Closed() bool { return s.FIN.Seen() || s.RST.Seen() }

// PacketAt returns the run of bytes holding stream offset off: its packet
// and time. It returns false for an offset in a gap or past the bytes kept.
func (s *Stream) PacketAt(off int64) (Segment, bool) {
	i := sort.Search(len(s.Segments), func(i int) bool { return s.Segments[i].End() > off })
	if i == len(s.Segments) || s.Segments[i].Offset > off {
		return Segment{}, false
	}
	return s.Segments[i], true
}

// Cuts returns the offsets, after 0 and inside Contiguous, where a new
// packet began: the captured segmentation, as shape's split-at takes it.
func (s *Stream) Cuts() []int {
	n := int64(len(s.Contiguous()))
	var cuts []int
	for _, seg := range s.Segments {
		if seg.Offset > 0 && seg.Offset < n {
			if len(cuts) == 0 || cuts[len(cuts)-1] < int(seg.Offset) {
				cuts = append(cuts, int(seg.Offset))
			}
		}
	}
	return cuts
}

// Where names a stream offset for people: "packet 7 (+0.004s)", or "no
// packet" for bytes the capture lacks.
func (s *Stream) Where(off int64) string {
	seg, ok := s.PacketAt(off)
	if !ok {
		return "no packet"
	}
	return "packet " + strconv.FormatInt(seg.Packet, 10)
}

// held is an out-of-order run waiting for the bytes before it.
type held struct {
	off  int64
	data []byte // owned
	pkt  int64
	t    time.Time
}

// half reassembles one direction of a connection into a Stream.
type half struct {
	st      Stream
	dir     Direction
	limit   int // bytes of Data at most
	maxSegs int // Segments at most
	notes   *notes
	init    bool   // base is known
	base    uint32 // the sequence number of offset 0
	next    int64  // the offset of the next in-order byte
	finOff  int64  // the offset of the FIN; valid if st.FIN.Seen()
	held    []held
	heldN   int // bytes held
	capped  bool
	packets int // packets with payload
}

func (h *half) reset(dir Direction, limit int, n *notes) {
	*h = half{dir: dir, limit: limit, maxSegs: max(1024, limit/16), notes: n}
}

// offset maps a sequence number to a stream offset, near next.
func (h *half) offset(seq uint32) int64 {
	return h.next + int64(int32(seq-(h.base+uint32(h.next))))
}

// add takes one segment of this direction.
func (h *half) add(seg *segment, pkt int64, t time.Time) {
	if seg.has(flagSYN) {
		if !h.init {
			h.init, h.base = true, seg.seq+1
			h.st.StartKnown = true
			h.st.SYN = Mark{Packet: pkt, Time: t}
		}
		// A SYN again (a retransmission) adds nothing.
		if h.offset(seg.seq) < 0 && len(seg.payload) == 0 {
			return
		}
	}
	if !h.init {
		h.init, h.base = true, seg.seq
		h.note(NoteMissingSYN, pkt, 0, "no SYN: the capture began in the middle of the connection; the stream starts at the first byte captured")
	}
	off := h.offset(seg.seq)
	if seg.has(flagSYN) {
		off = 0
	}
	if seg.has(flagRST) {
		if !h.st.RST.Seen() {
			h.st.RST = Mark{Packet: pkt, Time: t, Offset: off}
		}
		return
	}
	if n := len(seg.payload); n > 0 {
		h.packets++
		if seg.missing > 0 {
			h.note(NoteSnapped, pkt, off+int64(n), "the capture holds %d of the packet's %d payload bytes (snap length)", n, n+seg.missing)
		}
		h.insert(off, seg.payload, pkt, t)
	}
	if seg.has(flagFIN) && !h.st.FIN.Seen() {
		h.finOff = off + int64(len(seg.payload)) + int64(seg.missing)
		h.st.FIN = Mark{Packet: pkt, Time: t, Offset: h.finOff}
	}
}

// insert places payload b at stream offset off.
func (h *half) insert(off int64, b []byte, pkt int64, t time.Time) {
	end := off + int64(len(b))
	if off < 0 {
		if end <= 0 {
			h.note(NoteBeforeStart, pkt, off, "%d bytes from before the first byte captured: dropped", len(b))
			return
		}
		b, off = b[-off:], 0
	}
	if off < h.next {
		h.repeat(off, b[:min(int64(len(b)), h.next-off)], pkt)
		if end <= h.next {
			return
		}
		b, off = b[h.next-off:], h.next
	}
	if off > h.next {
		if off-h.next > maxWindow {
			h.note(NoteOutOfWindow, pkt, off, "%d bytes %d bytes ahead of the stream, beyond any TCP window: dropped", len(b), off-h.next)
			return
		}
		h.hold(off, b, pkt, t)
		return
	}
	h.append(b, pkt, t)
	h.drain()
}

// maxWindow is the largest TCP window (a 65535-byte window scaled by 2^14):
// no segment can be further ahead of the bytes acknowledged.
const maxWindow = 1 << 30

// repeat notes bytes at off that came before: a retransmission, or an
// overlap whose bytes differ from the first copy.
func (h *half) repeat(off int64, b []byte, pkt int64) {
	first := "an earlier packet"
	if seg, ok := h.st.PacketAt(off); ok {
		first = "packet " + strconv.FormatInt(seg.Packet, 10)
	}
	end := off + int64(len(b))
	if off < int64(len(h.st.Data)) {
		have := h.st.Data[off:min(end, int64(len(h.st.Data)))]
		if i := firstDiff(have, b); i >= 0 {
			h.note(NoteOverlap, pkt, off+int64(i), "bytes %d–%d again, differing from %s at offset %d: the first copy is kept", off, end-1, first, off+int64(i))
			return
		}
	}
	h.note(NoteRetransmission, pkt, off, "retransmission of bytes %d–%d (first in %s)", off, end-1, first)
}

func firstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	if bytes.Equal(a[:n], b[:n]) {
		return -1
	}
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// hold keeps an out-of-order run until the bytes before it come.
func (h *half) hold(off int64, b []byte, pkt int64, t time.Time) {
	i := sort.Search(len(h.held), func(i int) bool { return h.held[i].off >= off })
	if i < len(h.held) && h.held[i].off == off && len(h.held[i].data) >= len(b) {
		h.repeatHeld(h.held[i], off, b, pkt)
		return
	}
	// One note per hole: the runs after the first one wait for the same
	// bytes.
	if len(h.held) == 0 {
		h.note(NoteOutOfOrder, pkt, off, "bytes %d–%d arrived ahead of byte %d (out of order)", off, off+int64(len(b))-1, h.next)
	}
	h.held = append(h.held, held{})
	copy(h.held[i+1:], h.held[i:])
	h.held[i] = held{off: off, data: append([]byte(nil), b...), pkt: pkt, t: t}
	h.heldN += len(b)
	// Held bytes count against the cap: past it, give up waiting and call
	// the hole a gap.
	if h.heldN > h.limit {
		h.skipTo(h.held[0].off, h.held[0].pkt)
		h.drain()
	}
}

func (h *half) repeatHeld(first held, off int64, b []byte, pkt int64) {
	end := off + int64(len(b))
	if i := firstDiff(first.data, b); i >= 0 {
		h.note(NoteOverlap, pkt, off+int64(i), "bytes %d–%d again, differing from packet %d at offset %d: the first copy is kept", off, end-1, first.pkt, off+int64(i))
		return
	}
	h.note(NoteRetransmission, pkt, off, "retransmission of bytes %d–%d (first in packet %d, held out of order)", off, end-1, first.pkt)
}

// drain appends the held runs that the stream has reached.
func (h *half) drain() {
	for len(h.held) > 0 && h.held[0].off <= h.next {
		r := h.held[0]
		h.held[0] = held{}
		h.held = h.held[1:]
		h.heldN -= len(r.data)
		end := r.off + int64(len(r.data))
		if r.off < h.next {
			h.repeat(r.off, r.data[:min(int64(len(r.data)), h.next-r.off)], r.pkt)
			if end <= h.next {
				continue
			}
			r.data = r.data[h.next-r.off:]
		}
		h.append(r.data, r.pkt, r.t)
	}
	if len(h.held) == 0 {
		h.held = nil
	}
}

// append adds in-order bytes at h.next.
func (h *half) append(b []byte, pkt int64, t time.Time) {
	if !h.capped {
		k := len(b)
		if room := h.limit - len(h.st.Data); k > room || len(h.st.Segments) >= h.maxSegs {
			k = max(0, min(k, room))
			if len(h.st.Segments) >= h.maxSegs {
				k = 0
			}
			h.capped = true
			h.st.Truncated = true
			h.note(NoteCapped, pkt, h.next+int64(k), "the stream is kept up to %d bytes (%d segments); later bytes are counted, not kept", h.next+int64(k), len(h.st.Segments))
		}
		if k > 0 {
			if h.st.Data == nil {
				// Most streams are a request or a short reply: one
				// allocation holds them.
				h.st.Data = make([]byte, 0, min(h.limit, max(k, 256)))
				h.st.Segments = make([]Segment, 0, 4)
			}
			h.st.Data = append(h.st.Data, b[:k]...)
			if n := len(h.st.Segments); n > 0 && h.st.Segments[n-1].Packet == pkt && h.st.Segments[n-1].End() == h.next {
				h.st.Segments[n-1].Len += k
			} else {
				h.st.Segments = append(h.st.Segments, Segment{Offset: h.next, Len: k, Packet: pkt, Time: t})
			}
		}
	}
	h.next += int64(len(b))
}

// skipTo declares the bytes from h.next to off a gap: the capture lost
// them. after is the packet that carried the byte at off.
func (h *half) skipTo(off int64, after int64) {
	if off <= h.next {
		return
	}
	var before int64
	if n := len(h.st.Segments); n > 0 {
		before = h.st.Segments[n-1].Packet
	}
	h.st.Gaps = append(h.st.Gaps, Gap{Offset: h.next, Len: off - h.next, Before: before, After: after})
	text := fmt.Sprintf("bytes %d–%d are not in the capture", h.next, off-1)
	if before > 0 {
		text += fmt.Sprintf(" (lost between packet %d and packet %d)", before, after)
	}
	h.note(NoteGap, after, h.next, "%s", text)
	// Zeros keep the offsets of the bytes after the gap (Contiguous stops
	// before them). A gap that runs past the cap is kept as zeros up to the
	// cap, and nothing after it: Data then stops at the cap, as Truncated
	// says. (Stopping Data at the gap's start instead left a stream marked
	// truncated short of its cap: FuzzCapture, TestGapPastCapFillsToCap.)
	if !h.capped {
		if room := int64(h.limit - len(h.st.Data)); off-h.next <= room {
			h.st.Data = append(h.st.Data, make([]byte, off-h.next)...)
		} else {
			h.st.Data = append(h.st.Data, make([]byte, room)...)
			h.capped = true
			h.st.Truncated = true
			h.note(NoteCapped, after, h.next+room, "the stream is kept up to %d bytes; later bytes are counted, not kept", h.next+room)
		}
	}
	h.next = off
}

// closed reports whether the direction has ended with all its bytes: a
// FIN reached in order, or a RST.
func (h *half) closed() bool {
	return h.st.RST.Seen() || (h.st.FIN.Seen() && h.next >= h.finOff && len(h.held) == 0)
}

// finish resolves what is still held when the session ends: the holes
// before held runs, and before the FIN, are gaps.
func (h *half) finish() *Stream {
	for len(h.held) > 0 {
		h.skipTo(h.held[0].off, h.held[0].pkt)
		h.drain()
	}
	if h.st.FIN.Seen() && h.finOff > h.next {
		var before int64
		if n := len(h.st.Segments); n > 0 {
			before = h.st.Segments[n-1].Packet
		}
		h.st.Gaps = append(h.st.Gaps, Gap{Offset: h.next, Len: h.finOff - h.next, Before: before, After: h.st.FIN.Packet})
		h.note(NoteGap, h.st.FIN.Packet, h.next, "bytes %d–%d before the FIN are not in the capture", h.next, h.finOff-1)
		h.next = h.finOff
	}
	h.st.Len = h.next
	return &h.st
}
