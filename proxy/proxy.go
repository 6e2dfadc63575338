// Package proxy is a fault-injecting TCP proxy for the Trip protocol that
// validates both directions as they pass and can record them.
//
// A [Proxy] accepts clients on a listener and connects each to the
// upstream server. Each direction goes through a [shape.Shape]: toxiproxy's
// slicer is bytes-N or random-seed-S, limit_data is truncate-N, latency is
// delay-D, reset is then-reset (after a truncation, or when the stream
// ends). The client's request and the server's reply are decoded with wire
// as they are read, before shaping: every fault (a size that lies, a bad
// field, bytes after the end marker, a stream cut inside a block) is
// reported as an [Event] at once, with the stream offset and the field.
//
// With [Options.Record] the proxy records each connection into a pcapng
// capture as one TCP connection between the client and the upstream server
// (its address and port, so the recording decodes with the server's port
// like a capture taken at the server): the client's bytes as the server was sent them (after the
// up shape), the server's bytes as the client was sent them (after the
// down shape), each piece one packet, and the FIN or RST each side ended
// with, as the proxy saw it. `tripcheck pcap check` reads it back.
//
// Every read and write has a deadline; Serve stops gracefully when its
// context ends.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// Defaults of Options.
const (
	DefaultTimeout = 30 * time.Second
	DefaultGrace   = 2 * time.Second
)

// Options configure a Proxy.
type Options struct {
	// Upstream is the server's address, host:port.
	Upstream string
	// Up shapes the client's bytes on their way to the server, Down the
	// server's on their way to the client. The zero Shape passes bytes
	// through as read.
	Up, Down shape.Shape
	// Record, if set, gets every connection as a TCP connection.
	Record *pcap.Writer
	// Profile is the profile to decode in; 0 detects it per connection
	// from the request.
	Profile wire.Profile
	// Timeout is how long a connection may stay idle (no byte either way)
	// and bounds every write and the dial (DefaultTimeout).
	Timeout time.Duration
	// Grace is how long Serve waits for open connections once its context
	// is done, before it cuts them (DefaultGrace).
	Grace time.Duration
	// Count stops Serve after this many connections have ended; 0 runs
	// until the context is done.
	Count int
	// Events, if set, is told what happens, as it happens: connections
	// opened and closed, and every fault found. It is called from the
	// connections' goroutines, one event at a time.
	Events func(Event)
}

// EventKind says what an Event is about.
type EventKind string

const (
	EventOpen    EventKind = "open"    // a client connected and the upstream answered
	EventFinding EventKind = "finding" // a fault in a stream
	EventClose   EventKind = "close"   // the connection is over: a summary
	EventError   EventKind = "error"   // the proxy could not do its part
)

// Event is something that happened on a proxied connection.
type Event struct {
	Time time.Time
	Conn int // connections are numbered from 1
	Kind EventKind
	// Dir is the stream of a finding.
	Dir pcap.Direction
	// Offset and Field locate a finding in its stream; Err is the fault
	// (a *wire.DecodeError for a decoding fault).
	Offset int64
	Field  string
	Err    error
	// Check is the ID of the finding's rule in package check's catalog
	// ("reply/no-end-marker").
	Check string
	// Text says it for people.
	Text string
}

func (e Event) String() string {
	s := "conn " + strconv.Itoa(e.Conn) + " " + string(e.Kind)
	if e.Kind == EventFinding {
		s += " " + e.Dir.String() + " offset " + strconv.FormatInt(e.Offset, 10)
		if e.Field != "" {
			s += " (" + e.Field + ")"
		}
	}
	return s + ": " + e.Text
}

// Proxy is a fault-injecting, validating, recording TCP proxy.
type Proxy struct {
	o     Options
	evMu  sync.Mutex
	n     atomic.Int64 // connections accepted
	mu    sync.Mutex
	conns map[*pconn]bool
	wg    sync.WaitGroup
}

// New checks o and returns a Proxy.
func New(o Options) (*Proxy, error) {
	if _, _, err := net.SplitHostPort(o.Upstream); err != nil {
		return nil, fmt.Errorf("proxy: upstream %q: %v", o.Upstream, err)
	}
	for _, s := range []shape.Shape{o.Up, o.Down} {
		if err := s.Validate(); err != nil {
			return nil, err
		}
	}
	if o.Profile != 0 && !o.Profile.Valid() {
		return nil, fmt.Errorf("proxy: %w %v", wire.ErrUnknownProfile, o.Profile)
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Grace <= 0 {
		o.Grace = DefaultGrace
	}
	return &Proxy{o: o, conns: make(map[*pconn]bool)}, nil
}

func (p *Proxy) event(e Event) {
	if p.o.Events == nil {
		return
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	p.evMu.Lock()
	defer p.evMu.Unlock()
	p.o.Events(e)
}

// Serve proxies the connections accepted on ln until ctx is done (or,
// with Count, until Count connections were accepted and have ended). When
// ctx is done it stops accepting, gives the open connections Options.Grace
// to finish, cuts the rest, and returns. It closes ln. The error is nil for
// such a stop, else the accept error.
func (p *Proxy) Serve(ctx context.Context, ln net.Listener) error {
	var stopping atomic.Bool
	stopAccept := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stopAccept:
		}
		stopping.Store(true)
		ln.Close()
	}()
	var err error
	for {
		var c net.Conn
		c, err = ln.Accept()
		if err != nil {
			if stopping.Load() {
				err = nil
			}
			break
		}
		n := int(p.n.Add(1))
		pc := &pconn{p: p, id: n, client: c}
		p.mu.Lock()
		p.conns[pc] = true
		p.mu.Unlock()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			pc.run(ctx)
			p.mu.Lock()
			delete(p.conns, pc)
			p.mu.Unlock()
		}()
		if p.o.Count > 0 && n >= p.o.Count {
			break
		}
	}
	close(stopAccept)
	done := make(chan struct{})
	go func() { p.wg.Wait(); close(done) }()
	select {
	case <-done:
		return err
	case <-ctx.Done():
	}
	timer := time.NewTimer(p.o.Grace)
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		p.mu.Lock()
		for pc := range p.conns {
			pc.cut()
		}
		p.mu.Unlock()
		<-done
	}
	return err
}

// pconn is one proxied connection.
type pconn struct {
	p        *Proxy
	id       int
	client   net.Conn
	upstream net.Conn
	rec      *pcap.ConnWriter
	recMu    sync.Mutex
	last     atomic.Int64 // unix nanoseconds of the last byte read either way
	cutOnce  sync.Once
	cutting  atomic.Bool
	val      validation
}

// cut ends the connection at once: deadlines in the past.
func (c *pconn) cut() {
	c.cutOnce.Do(func() {
		c.cutting.Store(true)
		now := time.Now()
		c.client.SetDeadline(now)
		if c.upstream != nil {
			c.upstream.SetDeadline(now)
		}
	})
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// recordedEnds are the endpoints a recording names: the client as it
// connected, and the upstream server's address and port, so that the
// recording reads as the client talking to the server (and decodes with the
// server's port, 6178 by default) rather than to the proxy. A client of
// another address family than the upstream is named by the proxy's own end
// of the upstream connection, since one TCP connection has one family.
func recordedEnds(client, up net.Conn) (netip.AddrPort, netip.AddrPort) {
	c, s := addrPort(client.RemoteAddr()), addrPort(up.RemoteAddr())
	if c.Addr().Unmap().Is4() != s.Addr().Unmap().Is4() {
		c = addrPort(up.LocalAddr())
	}
	return c, s
}

func (c *pconn) run(ctx context.Context) {
	p := c.p
	defer c.client.Close()
	d := net.Dialer{Timeout: p.o.Timeout}
	up, err := d.DialContext(ctx, "tcp", p.o.Upstream)
	if err != nil {
		p.event(Event{Conn: c.id, Kind: EventError, Text: fmt.Sprintf("cannot connect to the upstream %s: %v", p.o.Upstream, err)})
		if err := shape.Reset(c.client); err != nil {
			c.client.Close()
		}
		return
	}
	c.upstream = up
	defer up.Close()
	if c.cutting.Load() {
		return
	}
	c.val.init(c, p.o.Profile)
	p.event(Event{Conn: c.id, Kind: EventOpen, Text: fmt.Sprintf("%v → %v, upstream %v", c.client.RemoteAddr(), c.client.LocalAddr(), up.RemoteAddr())})
	if p.o.Record != nil {
		client, server := recordedEnds(c.client, up)
		cw, err := p.o.Record.Conn(client, server, time.Now())
		if err != nil {
			p.event(Event{Conn: c.id, Kind: EventError, Text: "recording: " + err.Error()})
		} else {
			c.rec = cw
		}
	}
	c.last.Store(time.Now().UnixNano())
	toServer := &legWriter{c: c, conn: up, dir: pcap.ClientToServer}
	toClient := &legWriter{c: c, conn: c.client, dir: pcap.ServerToClient}
	upW, err := shape.NewWriter(toServer, p.o.Up, shape.WithWriteTimeout(p.o.Timeout))
	if err != nil {
		p.event(Event{Conn: c.id, Kind: EventError, Text: err.Error()})
		return
	}
	downW, err := shape.NewWriter(toClient, p.o.Down, shape.WithWriteTimeout(p.o.Timeout))
	if err != nil {
		p.event(Event{Conn: c.id, Kind: EventError, Text: err.Error()})
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	var upEnd, downEnd string
	go func() {
		defer wg.Done()
		upEnd = c.pump(c.client, upW, toServer, pcap.ClientToServer)
	}()
	go func() {
		defer wg.Done()
		downEnd = c.pump(up, downW, toClient, pcap.ServerToClient)
	}()
	wg.Wait()
	// The proxy closes both legs now: record the FIN of a leg whose stream
	// it did not end yet (its peer went away while it was forwarding).
	toServer.closeWrite()
	toClient.closeWrite()
	c.val.finish()
	p.event(Event{Conn: c.id, Kind: EventClose, Text: fmt.Sprintf("client %s, server %s; %s", upEnd, downEnd, c.val.summary())})
}

// pump copies one direction: it reads from src, validates, and writes
// through the shaping writer w to the leg lw. It returns how the source
// ended.
func (c *pconn) pump(src net.Conn, w *shape.Writer, lw *legWriter, dir pcap.Direction) string {
	p := c.p
	buf := make([]byte, 32<<10)
	forward := true
	for {
		src.SetReadDeadline(time.Now().Add(p.o.Timeout))
		n, err := src.Read(buf)
		if n > 0 {
			c.last.Store(time.Now().UnixNano())
			c.val.feed(dir, buf[:n])
			if forward {
				if _, werr := w.Write(buf[:n]); werr != nil {
					forward = false
					// A truncation, or a peer that went away, is no error
					// of the proxy's: the close summary says how it ended.
					if !errors.Is(werr, shape.ErrTruncated) && ending.Of(werr) != ending.Reset {
						p.event(Event{Conn: c.id, Kind: EventError, Text: fmt.Sprintf("%v: writing: %v", dir, werr)})
					}
				}
			}
		}
		if err == nil {
			continue
		}
		switch how := ending.Of(err); {
		case how == ending.Close:
			c.val.closed(dir, how)
			if forward {
				// End the stream as the shape says: a FIN, or a reset.
				w.Close()
			}
			return "closed (FIN)"
		case how == ending.Reset:
			c.val.closed(dir, how)
			if forward {
				// Pass on what was read before the reset, then the reset.
				w.Flush()
			}
			lw.reset()
			return "reset (RST)"
		case how == ending.Silence && !c.cutting.Load():
			if time.Since(time.Unix(0, c.last.Load())) < p.o.Timeout {
				continue // the other direction is busy
			}
			lw.reset()
			return fmt.Sprintf("idle for %v: reset", p.o.Timeout)
		case c.cutting.Load():
			lw.reset()
			return "cut when the proxy stopped"
		default:
			// The leg was closed under us (a reset of the other side).
			lw.closeWrite()
			return "ended (" + err.Error() + ")"
		}
	}
}

// legWriter is the write side of one leg, as a shape.Writer sees it: each
// Write is a piece on the wire, recorded as one packet; CloseWrite and
// Close send (and record) a FIN; SetLinger(0) and Close send an RST.
type legWriter struct {
	c      *pconn
	conn   net.Conn
	dir    pcap.Direction
	mu     sync.Mutex
	linger bool // SetLinger(0) was called: Close resets
	ended  bool
}

// Write records the piece, then writes it: recorded first, a request is
// always in the capture before the reply it causes.
func (l *legWriter) Write(b []byte) (int, error) {
	l.c.record(func(cw *pcap.ConnWriter) error { return cw.Data(l.dir, b, time.Now()) })
	return l.conn.Write(b)
}

func (l *legWriter) SetWriteDeadline(t time.Time) error { return l.conn.SetWriteDeadline(t) }

func (l *legWriter) SetNoDelay(on bool) error {
	if tc, ok := l.conn.(*net.TCPConn); ok {
		return tc.SetNoDelay(on)
	}
	return nil
}

// CloseWrite half-closes the leg: a FIN.
func (l *legWriter) CloseWrite() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.closeWriteLocked()
}

func (l *legWriter) closeWriteLocked() error {
	if l.ended {
		return nil
	}
	l.ended = true
	l.c.record(func(cw *pcap.ConnWriter) error { return cw.Close(l.dir, time.Now()) })
	if cw, ok := l.conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

func (l *legWriter) closeWrite() { l.CloseWrite() }

// SetLinger(0) makes the next Close a reset.
func (l *legWriter) SetLinger(sec int) error {
	l.mu.Lock()
	l.linger = sec == 0
	l.mu.Unlock()
	return nil
}

// Close ends the leg's stream: a reset after SetLinger(0), else a FIN. The
// connection itself stays open for the other direction; run closes it.
func (l *legWriter) Close() error {
	l.mu.Lock()
	linger := l.linger
	l.mu.Unlock()
	if linger {
		l.reset()
		return nil
	}
	return l.CloseWrite()
}

// reset ends the whole connection on this leg with an RST.
func (l *legWriter) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.ended {
		l.c.record(func(cw *pcap.ConnWriter) error { return cw.Reset(l.dir, time.Now()) })
	}
	l.ended = true
	if tc, ok := l.conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	l.conn.Close()
}

// record writes to the capture, one event at a time; a side that already
// ended (after a reset) records nothing more.
func (c *pconn) record(f func(*pcap.ConnWriter) error) {
	if c.rec == nil {
		return
	}
	c.recMu.Lock()
	defer c.recMu.Unlock()
	if err := f(c.rec); err != nil && !errors.Is(err, pcap.ErrConnClosed) {
		c.p.event(Event{Conn: c.id, Kind: EventError, Text: "recording: " + err.Error()})
	}
}
