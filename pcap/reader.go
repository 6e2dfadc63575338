package pcap

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"sort"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// DefaultPort is the Trip protocol's port.
const DefaultPort = 6178

// AnyPort makes the reader find Trip traffic by content (--port any).
const AnyPort = -1

// Defaults of Options.
const (
	DefaultMaxStreamBytes = 4 << 20
	DefaultIdleTimeout    = 5 * time.Minute
	DefaultMaxOpen        = 100000
	DefaultMaxBuffered    = 512 << 20
)

// Options say how a Reader finds and keeps sessions. The zero Options are
// the defaults.
type Options struct {
	// Port is the server's port: 0 is DefaultPort; AnyPort finds Trip
	// traffic by content, the side whose first bytes frame as a Trip
	// request being the client.
	Port int
	// MaxStreamBytes caps the bytes kept per direction of a session
	// (DefaultMaxStreamBytes); later bytes are counted, with a note.
	MaxStreamBytes int
	// IdleTimeout ends a session that has had no packet for this long, in
	// capture time (DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxOpen bounds the sessions open at once (DefaultMaxOpen), and
	// MaxBuffered the bytes they hold together (DefaultMaxBuffered): past
	// either, the session idle longest is ended early, with a note.
	MaxOpen     int
	MaxBuffered int
}

func (o *Options) fill() {
	if o.Port == 0 {
		o.Port = DefaultPort
	}
	if o.MaxStreamBytes <= 0 {
		o.MaxStreamBytes = DefaultMaxStreamBytes
	}
	if o.IdleTimeout <= 0 {
		o.IdleTimeout = DefaultIdleTimeout
	}
	if o.MaxOpen <= 0 {
		o.MaxOpen = DefaultMaxOpen
	}
	if o.MaxBuffered <= 0 {
		o.MaxBuffered = DefaultMaxBuffered
	}
}

// EndReason says why a session was handed out.
type EndReason string

const (
	EndClosed     EndReason = "closed"      // both sides closed (FIN), all bytes in
	EndReset      EndReason = "reset"       // a side reset the connection
	EndCaptureEnd EndReason = "capture-end" // the capture ended first
	EndIdle       EndReason = "idle"        // no packet for Options.IdleTimeout
	EndReused     EndReason = "reused"      // a new SYN on the same 4-tuple
	EndLimit      EndReason = "limit"       // ended early: Options.MaxOpen or MaxBuffered
)

// Session is one Trip connection found in a capture.
type Session struct {
	// Index numbers sessions from 1 in the order they are recognised as
	// Trip traffic: their first packet, or with AnyPort their first
	// request bytes.
	Index          int
	Client, Server netip.AddrPort
	// Up is the client's stream (the request), Down the server's (the
	// reply).
	Up, Down *Stream
	// First and Last are the times of the first and last packets, and
	// FirstPacket and LastPacket their numbers.
	First, Last             time.Time
	FirstPacket, LastPacket int64
	Packets                 int
	End                     EndReason
	// Notes are what the reader noticed, in packet order; NotesDropped
	// counts those beyond the limit per session.
	Notes        []Note
	NotesDropped int
}

// Stream returns Up or Down.
func (s *Session) Stream(d Direction) *Stream {
	if d == ClientToServer {
		return s.Up
	}
	return s.Down
}

// Stats count what a Reader read.
type Stats struct {
	Packets      int64 // records
	TCP          int64 // TCP segments
	TripSegments int64 // TCP segments of Trip sessions
	NotTrip      int64 // TCP segments of other connections
	Sessions     int   // Trip sessions handed out
}

// fileNote gathers one kind of file note: how many, and the first packet.
type fileNote struct {
	kind  NoteKind
	count int64
	first int64
	text  string
}

// flowKey identifies a connection whichever way a packet goes: its two
// endpoints in a fixed order.
type flowKey struct{ a, b netip.AddrPort }

func keyOf(src, dst netip.AddrPort) (flowKey, bool) {
	if c := src.Compare(dst); c <= 0 {
		return flowKey{src, dst}, true
	}
	return flowKey{dst, src}, false
}

// conn is a connection being followed.
type conn struct {
	key               flowKey
	client            netip.AddrPort // provisional until classified, with AnyPort
	h                 [2]*half       // [0]: from client, [1]: from server
	halves            [2]half        // what h points to, in one allocation
	notes             notes
	trip              bool // recognised as Trip traffic
	ignore            bool // recognised as not Trip: followed without data
	index             int
	first, last       time.Time
	firstPkt, lastPkt int64
	packets           int
	seq               uint64 // order of creation, for sorting at the end
	buffered          int    // bytes counted in Reader.buffered
	talker            int    // the side that sent bytes first; -1 before
}

// Reader reads the Trip sessions of a capture, one at a time, in bounded
// memory.
type Reader struct {
	o         Options
	src       *PacketReader
	dec       decoder
	seg       segment
	conns     map[flowKey]*conn
	closed    map[flowKey]closedConn // connections over, to absorb their late packets
	closedOld map[flowKey]closedConn
	ready     []*Session
	done      bool
	err       error
	stats     Stats
	fnotes    []*fileNote
	byKind    map[NoteKind]*fileNote
	nextIdx   int
	seq       uint64
	now       time.Time // capture time of the last packet
	sweep     time.Time // when idle connections were last looked for
	buffered  int
}

// NewReader reads the header of a capture in r and returns a Reader of its
// Trip sessions.
func NewReader(r io.Reader, o Options) (*Reader, error) {
	o.fill()
	src, err := NewPacketReader(r)
	if err != nil {
		return nil, err
	}
	return &Reader{
		o:      o,
		src:    src,
		conns:  make(map[flowKey]*conn),
		closed: make(map[flowKey]closedConn),
		byKind: make(map[NoteKind]*fileNote),
	}, nil
}

// Format is the capture's container format.
func (r *Reader) Format() Format { return r.src.Format() }

// Stats count what was read so far.
func (r *Reader) Stats() Stats { return r.stats }

// Notes are the notes about the file rather than a session, one per kind
// with its count and first packet: "412 packets are not TCP (first:
// packet 3)". A file that ends inside a record gives a NoteTruncated.
func (r *Reader) Notes() []Note {
	var out []Note
	for _, fn := range r.fnotes {
		text := fn.text
		if fn.count > 1 {
			text = fmt.Sprintf("%s (%d packets, the first shown)", fn.text, fn.count)
		}
		out = append(out, Note{Kind: fn.kind, Packet: fn.first, Offset: -1, Text: text})
	}
	return out
}

func (r *Reader) fileNote(kind NoteKind, pkt int64, text string) {
	fn := r.byKind[kind]
	if fn == nil {
		fn = &fileNote{kind: kind, first: pkt, text: text}
		r.byKind[kind] = fn
		r.fnotes = append(r.fnotes, fn)
	}
	fn.count++
}

// Next returns the next session that is over. Sessions come as they end
// (see Session.End), so their Index need not increase. Next returns io.EOF
// after the last one, and a *FileError for a file that is corrupt past its
// header, after the sessions before the fault. A file that ends inside a
// record ends the capture there, with a NoteTruncated.
func (r *Reader) Next() (*Session, error) {
	for len(r.ready) == 0 {
		if r.done {
			if r.err != nil {
				return nil, r.err
			}
			return nil, io.EOF
		}
		p, err := r.src.Next()
		if err != nil {
			r.done = true
			if errors.Is(err, ErrTruncatedFile) {
				r.fileNote(NoteTruncated, r.stats.Packets+1, "the file ends inside a record: the capture was cut short")
			} else if err != io.EOF {
				r.err = err
			}
			r.endAll(EndCaptureEnd)
			continue
		}
		r.packet(p)
	}
	s := r.ready[0]
	r.ready[0] = nil
	r.ready = r.ready[1:]
	if len(r.ready) == 0 {
		r.ready = nil
	}
	return s, nil
}

// packet handles one record.
func (r *Reader) packet(p Packet) {
	r.stats.Packets++
	t := p.Info.Timestamp
	if t.After(r.now) {
		r.now = t
	}
	seg := &r.seg
	switch kind := r.dec.decode(p.LinkType, p.Data, seg); kind {
	case kindTCP:
	case kindLinkType:
		r.fileNote(NoteLinkType, p.Num, fmt.Sprintf("link type %v is not decoded: packet skipped", p.LinkType))
		return
	case kindNotIP:
		r.fileNote(NoteNotIP, p.Num, "a frame without IP: skipped")
		return
	case kindNotTCP:
		r.fileNote(NoteNotTCP, p.Num, "an IP packet that is not TCP: skipped")
		return
	case kindFragment:
		r.fileNote(NoteFragment, p.Num, "an IP fragment: fragments are not reassembled, skipped")
		return
	default:
		r.fileNote(NoteUndecodable, p.Num, "headers that do not parse: skipped")
		return
	}
	r.stats.TCP++
	if r.o.Port != AnyPort && int(seg.src.Port()) != r.o.Port && int(seg.dst.Port()) != r.o.Port {
		r.stats.NotTrip++
		return
	}
	key, _ := keyOf(seg.src, seg.dst)
	syn := seg.has(flagSYN) && !seg.has(flagACK)
	c := r.conns[key]
	if c != nil && syn && c.h[0].init && !(c.h[0].st.SYN.Seen() && seg.seq+1 == c.h[0].base) {
		// A new connection on the same 4-tuple.
		r.end(c, EndReused)
		c = nil
	}
	if c == nil {
		if cc, ok := r.wasClosed(key); ok && !syn {
			if cc.trip {
				r.stats.TripSegments++
			} else {
				r.stats.NotTrip++
			}
			if len(seg.payload) > 0 {
				r.fileNote(NoteLate, p.Num, "bytes of a connection already over: skipped")
			}
			return
		}
		c = r.open(key, seg, p)
	}
	r.follow(c, seg, p)
	if r.now.Sub(r.sweep) > r.o.IdleTimeout/8 {
		r.sweepIdle()
	}
}

// closedGeneration bounds the memory of connections over: two generations
// of at most this many are kept.
const closedGeneration = 1 << 16

// closedConn is a connection over.
type closedConn struct {
	t    time.Time // its last packet
	trip bool      // it was a Trip session
}

func (r *Reader) wasClosed(key flowKey) (closedConn, bool) {
	if cc, ok := r.closed[key]; ok {
		return cc, true
	}
	cc, ok := r.closedOld[key]
	return cc, ok
}

func (r *Reader) markClosed(key flowKey, t time.Time, trip bool) {
	if len(r.closed) >= closedGeneration {
		r.closedOld, r.closed = r.closed, make(map[flowKey]closedConn)
	}
	r.closed[key] = closedConn{t: t, trip: trip}
}

// open starts following a connection.
func (r *Reader) open(key flowKey, seg *segment, p Packet) *conn {
	// The side that sent the SYN (or, without one, the side not on the
	// server's port; or the first packet's sender) is the client, until
	// the content says otherwise with AnyPort.
	client := seg.src
	switch {
	case seg.has(flagSYN) && seg.has(flagACK):
		client = seg.dst
	case seg.has(flagSYN):
	case r.o.Port == AnyPort:
	case int(seg.src.Port()) == r.o.Port && int(seg.dst.Port()) != r.o.Port:
		client = seg.dst
	}
	if len(r.conns) >= r.o.MaxOpen {
		r.endOldest(EndLimit)
	}
	r.seq++
	c := &conn{key: key, client: client, first: p.Info.Timestamp, firstPkt: p.Num, seq: r.seq, talker: -1}
	c.halves[0].reset(ClientToServer, r.o.MaxStreamBytes, &c.notes)
	c.halves[1].reset(ServerToClient, r.o.MaxStreamBytes, &c.notes)
	c.h[0], c.h[1] = &c.halves[0], &c.halves[1]
	if r.o.Port != AnyPort {
		r.classify(c, true)
	}
	r.conns[key] = c
	return c
}

// classify marks c as Trip traffic and numbers it.
func (r *Reader) classify(c *conn, trip bool) {
	if !trip {
		c.ignore = true
		r.stats.NotTrip += int64(c.packets)
		r.release(c)
		return
	}
	r.stats.TripSegments += int64(c.packets)
	c.trip = true
	r.nextIdx++
	c.index = r.nextIdx
}

// follow adds a segment to its connection and ends the connection once it
// is over.
func (r *Reader) follow(c *conn, seg *segment, p Packet) {
	t := p.Info.Timestamp
	c.last, c.lastPkt = t, p.Num
	wasTrip := c.trip
	c.packets++
	i := 0
	if seg.src != c.client {
		i = 1
	}
	h := c.h[i]
	if c.ignore {
		// Follow the flags only, to know when it is over.
		r.stats.NotTrip++
		if seg.has(flagRST) || seg.has(flagFIN) {
			h.st.FIN = Mark{Packet: p.Num}
		}
		if seg.has(flagRST) || (c.h[0].st.FIN.Seen() && c.h[1].st.FIN.Seen()) {
			delete(r.conns, c.key)
			r.markClosed(c.key, t, false)
		}
		return
	}
	if c.talker < 0 && len(seg.payload) > 0 {
		c.talker = i
	}
	before := len(h.st.Data) + h.heldN
	h.add(seg, p.Num, t)
	grown := len(h.st.Data) + h.heldN - before
	c.buffered += grown
	r.buffered += grown
	if wasTrip {
		r.stats.TripSegments++
	} else {
		r.detect(c)
		if c.ignore {
			return
		}
	}
	switch {
	case c.h[0].st.RST.Seen() || c.h[1].st.RST.Seen():
		r.end(c, EndReset)
	case c.h[0].closed() && c.h[1].closed():
		r.end(c, EndClosed)
	case r.buffered > r.o.MaxBuffered:
		r.endOldest(EndLimit)
	}
}

// detect decides, with AnyPort, whether c is Trip traffic: in Trip the
// client speaks first, so c is Trip traffic if the first bytes of the side
// that spoke first frame as a request.
func (r *Reader) detect(c *conn) {
	if c.talker < 0 {
		if c.h[0].closed() && c.h[1].closed() {
			r.classify(c, false)
		}
		return
	}
	h := c.h[c.talker]
	looks, decided := wire.LooksLikeRequest(h.st.Data, h.closed())
	if !decided {
		return
	}
	if !looks {
		r.classify(c, false)
		return
	}
	if c.talker == 1 {
		c.h[0], c.h[1] = c.h[1], c.h[0]
		c.h[0].dir, c.h[1].dir = ClientToServer, ServerToClient
		for j := range c.notes.list {
			c.notes.list[j].Dir = 3 - c.notes.list[j].Dir
		}
		if c.client == c.key.a {
			c.client = c.key.b
		} else {
			c.client = c.key.a
		}
		c.talker = 0
	}
	r.classify(c, true)
}

// end hands out c as a session, or drops it if it is not Trip traffic.
func (r *Reader) end(c *conn, why EndReason) {
	delete(r.conns, c.key)
	r.markClosed(c.key, c.last, c.trip)
	r.release(c)
	if !c.trip {
		if !c.ignore {
			r.stats.NotTrip += int64(c.packets)
		}
		return
	}
	s := &Session{
		Index:       c.index,
		Client:      c.client,
		Up:          c.h[0].finish(),
		Down:        c.h[1].finish(),
		First:       c.first,
		Last:        c.last,
		FirstPacket: c.firstPkt,
		LastPacket:  c.lastPkt,
		Packets:     c.packets,
		End:         why,
	}
	if c.client == c.key.a {
		s.Server = c.key.b
	} else {
		s.Server = c.key.a
	}
	switch why {
	case EndIdle:
		c.notes.add(Note{Kind: NoteEnded, Packet: c.lastPkt, Offset: -1, Text: fmt.Sprintf("no packet for %v after this one: the session is taken as over", r.o.IdleTimeout)})
	case EndReused:
		c.notes.add(Note{Kind: NoteEnded, Packet: c.lastPkt, Offset: -1, Text: "a new SYN on the same addresses and ports after this packet: the session is taken as over"})
	case EndLimit:
		c.notes.add(Note{Kind: NoteEnded, Packet: c.lastPkt, Offset: -1, Text: "ended early to bound memory (too many open sessions or bytes held)"})
	case EndCaptureEnd:
		if !(s.Up.Closed() && s.Down.Closed()) {
			c.notes.add(Note{Kind: NoteEnded, Packet: c.lastPkt, Offset: -1, Text: "the capture ends before the connection closed"})
		}
	}
	sort.SliceStable(c.notes.list, func(i, j int) bool { return c.notes.list[i].Packet < c.notes.list[j].Packet })
	s.Notes, s.NotesDropped = c.notes.list, c.notes.dropped
	r.stats.Sessions++
	r.ready = append(r.ready, s)
}

// release takes c's bytes off the reader's count.
func (r *Reader) release(c *conn) {
	r.buffered -= c.buffered
	c.buffered = 0
	if c.ignore {
		for _, h := range c.h {
			h.st.Data, h.st.Segments, h.held = nil, nil, nil
		}
	}
}

// sweepIdle ends connections idle for longer than IdleTimeout, and forgets
// closed ones as old.
func (r *Reader) sweepIdle() {
	r.sweep = r.now
	for _, c := range r.sortedConns() {
		if r.now.Sub(c.last) > r.o.IdleTimeout {
			r.end(c, EndIdle)
		}
	}
	for _, m := range []map[flowKey]closedConn{r.closed, r.closedOld} {
		for k, cc := range m {
			if r.now.Sub(cc.t) > r.o.IdleTimeout {
				delete(m, k)
			}
		}
	}
}

// endOldest ends the eighth of the connections idle longest (at least
// one), so that a reader at its limits does not search for each new one.
func (r *Reader) endOldest(why EndReason) {
	cs := r.sortedConns()
	sort.SliceStable(cs, func(i, j int) bool { return cs[i].lastPkt < cs[j].lastPkt })
	for _, c := range cs[:min(len(cs), max(1, len(cs)/8))] {
		r.end(c, why)
	}
}

// endAll ends every open connection, in the order they began.
func (r *Reader) endAll(why EndReason) {
	for _, c := range r.sortedConns() {
		r.end(c, why)
	}
	sort.SliceStable(r.ready, func(i, j int) bool { return r.ready[i].Index < r.ready[j].Index })
}

func (r *Reader) sortedConns() []*conn {
	cs := make([]*conn, 0, len(r.conns))
	for _, c := range r.conns {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].seq < cs[j].seq })
	return cs
}
