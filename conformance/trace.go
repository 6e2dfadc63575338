package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/tripcheck/tripcheck/pcap"
)

// Dir is the direction of a wire event, seen from tripcheck: to the peer
// under test or from it. In a capture (pcap check) tripcheck is neither
// side; there ToPeer is client to server.
type Dir uint8

const (
	ToPeer Dir = iota + 1
	FromPeer
)

func (d Dir) String() string {
	switch d {
	case ToPeer:
		return "to-peer"
	case FromPeer:
		return "from-peer"
	}
	return "Dir(" + strconv.Itoa(int(d)) + ")"
}

// MarshalText writes to-peer or from-peer.
func (d Dir) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads to-peer or from-peer, so that JSON reports read back.
func (d *Dir) UnmarshalText(b []byte) error {
	switch string(b) {
	case "to-peer":
		*d = ToPeer
	case "from-peer":
		*d = FromPeer
	case "":
		*d = 0 // a gap event has no direction
	default:
		return fmt.Errorf("direction %q: want to-peer or from-peer", b)
	}
	return nil
}

// WireKind is what a wire event is.
type WireKind string

const (
	WireWrite   WireKind = "write"   // bytes written (one write call, one shaped piece)
	WireRead    WireKind = "read"    // bytes read (one read call)
	WireFIN     WireKind = "fin"     // the sender ended its side: a half-close, or EOF seen
	WireReset   WireKind = "reset"   // an RST, sent or seen
	WireClose   WireKind = "close"   // tripcheck closed the connection
	WireSilence WireKind = "silence" // a read deadline passed with nothing read
	// WireDiverge marks where a stream first differs from the one
	// expected: Offset in the stream of Dir, Bytes the actual bytes from
	// there, Expected the expected ones, Note the field.
	WireDiverge WireKind = "diverge"
	// WireGap stands for Len events not kept between the head and the
	// tail of a long trace.
	WireGap WireKind = "gap"
)

// WireEvent is one thing that happened on the wire of a scenario, in order.
type WireEvent struct {
	// At is the time since the scenario (or the captured session) began.
	At   time.Duration `json:"at_ns"`
	Dir  Dir           `json:"dir,omitempty"` // none for a gap
	Conn string        `json:"conn"`
	Kind WireKind      `json:"kind"`
	// Offset is the stream offset (in Dir) of the first byte of a write or
	// read, or of the divergence; the stream's length for an ending.
	Offset int64 `json:"offset"`
	// Len is the length of the write or read; Bytes its first bytes, at
	// most TraceEventBytes, fewer once the trace's byte budget is spent.
	Len   int    `json:"len"`
	Bytes []byte `json:"bytes,omitempty"`
	// Expected is, for a divergence, the bytes expected at Offset.
	Expected []byte `json:"expected,omitempty"`
	// Packet is the capture's packet number of the event (pcap only).
	Packet int64  `json:"packet,omitempty"`
	Note   string `json:"note,omitempty"`
}

// The bounds of a trace: the first TraceHead and the last TraceTail events
// are kept, with a gap event counting those between; each event keeps at
// most TraceEventBytes bytes, and the head at most TraceBytes in all.
const (
	TraceHead       = 192
	TraceTail       = 64
	TraceEventBytes = 256
	TraceBytes      = 32 << 10
)

// Trace records the wire events of one scenario, bounded in events and
// bytes whatever the peer sends. It is safe for concurrent use; a nil
// *Trace records nothing.
type Trace struct {
	mu      sync.Mutex
	start   time.Time
	head    []WireEvent
	tail    []WireEvent // a ring of TraceTail once head is full
	next    int         // the ring's oldest event
	dropped int
	budget  int
	conns   map[net.Conn]*connState
	names   map[string]int
}

type connState struct {
	name    string
	off     [3]int64 // by Dir
	ended   [3]bool  // an ending recorded, by Dir
	silent  bool     // a silence recorded since the last bytes
	lingers bool     // SetLinger(0): the close will be a reset
}

// NewTrace returns a trace whose clock starts now, for front-ends outside
// the suites (capture replay) that record their own connections.
func NewTrace() *Trace { return new(Trace).begin() }

// begin starts the trace's clock and returns it.
func (t *Trace) begin() *Trace {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.start = time.Now()
	t.budget = TraceBytes
	return t
}

type traceCtxKey struct{}

// context returns ctx carrying t, for code that dials its own connections
// (exchange); a nil t leaves ctx as it is.
func (t *Trace) context(ctx context.Context) context.Context {
	if t == nil {
		return ctx
	}
	return context.WithValue(ctx, traceCtxKey{}, t)
}

// traceFrom is the trace ctx carries, or nil.
func traceFrom(ctx context.Context) *Trace {
	t, _ := ctx.Value(traceCtxKey{}).(*Trace)
	return t
}

// Events returns the events kept, in order, with a gap event where some
// were dropped; nil for a nil trace.
func (t *Trace) Events() []WireEvent {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.head) == 0 {
		return nil
	}
	out := append([]WireEvent(nil), t.head...)
	if t.dropped > 0 {
		at := t.tail[t.next].At
		out = append(out, WireEvent{At: at, Kind: WireGap, Len: t.dropped, Note: fmt.Sprintf("%d events not shown", t.dropped)})
	}
	for _, e := range append(t.tail[t.next:len(t.tail):len(t.tail)], t.tail[:t.next]...) {
		e.Bytes = append([]byte(nil), e.Bytes...) // the ring reuses its own
		out = append(out, e)
	}
	return out
}

// add records e, keeping its bytes within the bounds.
func (t *Trace) add(e WireEvent, b []byte) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.start.IsZero() {
		t.start, t.budget = time.Now(), TraceBytes
	}
	e.At = time.Since(t.start)
	t.put(e, b)
}

// put keeps e, timed already, within the bounds; t.mu is held.
func (t *Trace) put(e WireEvent, b []byte) {
	n := min(len(b), TraceEventBytes)
	if len(t.head) < TraceHead {
		n = min(n, t.budget)
		t.budget -= n
		e.Bytes = append([]byte(nil), b[:n]...)
		t.head = append(t.head, e)
		return
	}
	if len(t.tail) < TraceTail {
		e.Bytes = append([]byte(nil), b[:n]...)
		t.tail = append(t.tail, e)
		return
	}
	// The ring reuses the bytes of the event it drops.
	e.Bytes = append(t.tail[t.next].Bytes[:0], b[:n]...)
	t.tail[t.next] = e
	t.next = (t.next + 1) % TraceTail
	t.dropped++
}

// state returns the connection's state, naming it at its first event: name,
// or "conn N" for "", with "#2" and on for a name used before.
func (t *Trace) state(c net.Conn, name string) *connState {
	t.mu.Lock()
	defer t.mu.Unlock()
	if st := t.conns[c]; st != nil {
		return st
	}
	if t.conns == nil {
		t.conns, t.names = map[net.Conn]*connState{}, map[string]int{}
	}
	if name == "" {
		name = "conn " + strconv.Itoa(len(t.conns)+1)
	}
	t.names[name]++
	if k := t.names[name]; k > 1 {
		name += "#" + strconv.Itoa(k)
	}
	st := &connState{name: name}
	t.conns[c] = st
	return st
}

// Conn returns c with its reads, writes and endings recorded in t under
// the connection name name ("" numbers it). Every call for the same c
// shares its offsets, so the suites wrap a connection where they use it.
// With a nil t it only passes the calls on.
func (t *Trace) Conn(name string, c net.Conn) *TracedConn {
	tc := &TracedConn{Conn: c, t: t}
	if t != nil {
		tc.st = t.state(c, name)
	}
	return tc
}

// TracedConn is a connection whose traffic goes to a Trace.
type TracedConn struct {
	net.Conn
	t  *Trace
	st *connState
}

func (c *TracedConn) record(dir Dir, kind WireKind, b []byte, note string) {
	if c.t == nil {
		return
	}
	c.t.mu.Lock()
	st := c.st
	off := st.off[dir]
	switch kind {
	case WireRead, WireWrite:
		st.off[dir] += int64(len(b))
		st.silent = false
	case WireSilence:
		if st.silent {
			c.t.mu.Unlock()
			return
		}
		st.silent = true
	default:
		if st.ended[dir] {
			c.t.mu.Unlock()
			return
		}
		st.ended[dir] = true
	}
	c.t.mu.Unlock()
	c.t.add(WireEvent{Dir: dir, Conn: st.name, Kind: kind, Offset: off, Len: len(b), Note: note}, b)
}

// Read reads from the peer and records what came, and how the stream
// ended: a FIN, a reset, or silence until the deadline.
func (c *TracedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.record(FromPeer, WireRead, b[:n], "")
	}
	if err != nil {
		switch classify(err) {
		case EndClose:
			c.record(FromPeer, WireFIN, nil, "")
		case EndReset:
			c.record(FromPeer, WireReset, nil, "")
		case EndSilence:
			c.record(FromPeer, WireSilence, nil, "")
		}
	}
	return n, err
}

// Write writes to the peer and records what went out.
func (c *TracedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.record(ToPeer, WireWrite, b[:n], "")
	}
	return n, err
}

// CloseWrite half-closes the connection (a FIN), as a *net.TCPConn does.
func (c *TracedConn) CloseWrite() error {
	cw, ok := c.Conn.(interface{ CloseWrite() error })
	if !ok {
		return fmt.Errorf("%T cannot half-close", c.Conn)
	}
	err := cw.CloseWrite()
	if err == nil {
		c.record(ToPeer, WireFIN, nil, "")
	}
	return err
}

// SetNoDelay passes on to the connection: shape's writer sets it so that
// each piece leaves as its own segment.
func (c *TracedConn) SetNoDelay(on bool) error {
	nd, ok := c.Conn.(interface{ SetNoDelay(bool) error })
	if !ok {
		return fmt.Errorf("%T cannot set no-delay", c.Conn)
	}
	return nd.SetNoDelay(on)
}

// SetLinger passes on to the connection; shape.Reset resets through it,
// and the Close after SetLinger(0) is recorded as a reset.
func (c *TracedConn) SetLinger(sec int) error {
	l, ok := c.Conn.(interface{ SetLinger(int) error })
	if !ok {
		return fmt.Errorf("%T cannot set linger", c.Conn)
	}
	err := l.SetLinger(sec)
	if err == nil && sec == 0 && c.t != nil {
		c.t.mu.Lock()
		c.st.lingers = true
		c.t.mu.Unlock()
	}
	return err
}

// Close closes the connection, recorded as a close (or a reset after
// SetLinger(0)).
func (c *TracedConn) Close() error {
	err := c.Conn.Close()
	kind := WireClose
	if c.t != nil {
		c.t.mu.Lock()
		if c.st.lingers {
			kind = WireReset
		}
		c.t.mu.Unlock()
	}
	c.record(ToPeer, kind, nil, "")
	return err
}

// Diverge records where the stream from the peer first differs from the
// one expected, when err is a *Mismatch; other errors record nothing.
func (c *TracedConn) Diverge(err error) {
	var m *Mismatch
	if c.t == nil || !errors.As(err, &m) {
		return
	}
	c.t.add(WireEvent{Dir: FromPeer, Conn: c.st.name, Kind: WireDiverge, Offset: int64(m.Offset),
		Len: max(0, len(m.Actual)-m.Offset), Expected: window(m.Expected, m.Offset), Note: m.Field}, window(m.Actual, m.Offset))
}

// window is up to 16 bytes of b from off.
func window(b []byte, off int) []byte {
	if off >= len(b) {
		return nil
	}
	return append([]byte(nil), b[off:min(len(b), off+16)]...)
}

// SessionWire is the wire trace of a captured session: each captured
// segment as a write of its sender (ToPeer: client to server), in capture
// order, and the FINs and RSTs, timed from the session's first packet and
// bounded like a live trace.
func SessionWire(s *pcap.Session) []WireEvent {
	type ev struct {
		e  WireEvent
		at time.Time
		b  []byte
	}
	var evs []ev
	for _, side := range []struct {
		st  *pcap.Stream
		dir Dir
	}{{s.Up, ToPeer}, {s.Down, FromPeer}} {
		if side.st == nil {
			continue
		}
		for _, seg := range side.st.Segments {
			var b []byte
			if seg.Offset < int64(len(side.st.Data)) {
				b = side.st.Data[seg.Offset:min(int64(len(side.st.Data)), seg.End())]
			}
			evs = append(evs, ev{WireEvent{Dir: side.dir, Conn: "session", Kind: WireWrite, Offset: seg.Offset, Len: seg.Len, Packet: seg.Packet}, seg.Time, b})
		}
		for _, m := range []struct {
			mk   pcap.Mark
			kind WireKind
		}{{side.st.FIN, WireFIN}, {side.st.RST, WireReset}} {
			if m.mk.Seen() {
				evs = append(evs, ev{WireEvent{Dir: side.dir, Conn: "session", Kind: m.kind, Offset: m.mk.Offset, Packet: m.mk.Packet}, m.mk.Time, nil})
			}
		}
	}
	sort.SliceStable(evs, func(i, j int) bool { return evs[i].e.Packet < evs[j].e.Packet })
	t := Trace{budget: TraceBytes}
	for _, e := range evs {
		e.e.At = e.at.Sub(evs[0].at)
		t.put(e.e, e.b)
	}
	return t.Events()
}
