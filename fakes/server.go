package fakes

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// Server defaults.
const (
	// DefaultAddr is where a Server listens unless told otherwise.
	DefaultAddr = "127.0.0.1:0"
	// DefaultTimeout bounds reading a request, each piece of a reply, and
	// how long a stalled or kept-open connection is held.
	DefaultTimeout = 30 * time.Second
	// DefaultGrace is how long Close waits for connections to finish.
	DefaultGrace = 5 * time.Second
)

// An Option configures a Server. Options are applied in order.
type Option func(*Server)

// WithAddr sets the address to listen on (default DefaultAddr).
func WithAddr(addr string) Option { return func(s *Server) { s.addr = addr } }

// WithListener makes the server accept on ln instead of listening itself.
// The server closes ln when it shuts down.
func WithListener(ln net.Listener) Option { return func(s *Server) { s.ln = ln } }

// WithProfile sets the profile requests are read in and replies written in
// (default wire.Qt4, the book's).
func WithProfile(p wire.Profile) Option { return func(s *Server) { s.profile = p } }

// WithGenerator sets what trips the server answers with (default Book).
func WithGenerator(g Generator) Option { return func(s *Server) { s.gen = g } }

// WithLogger sets the logger that gets one line per connection (default:
// none).
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithTimeout bounds reading the whole request, writing each piece of the
// reply, and holding a stalled or kept-open connection (default
// DefaultTimeout), so that no client can pin a connection for longer.
func WithTimeout(d time.Duration) Option { return func(s *Server) { s.timeout = d } }

// WithGrace sets how long Close waits for connections to finish before it
// closes them and names them in its error (default DefaultGrace).
func WithGrace(d time.Duration) Option { return func(s *Server) { s.grace = d } }

// WithMaxConns limits the connections served at once to n (0: no limit).
// Beyond it the server stops accepting: new connections wait in the
// kernel's listen queue (their connect succeeds, their request waits) until
// a connection ends. None is refused by the server; once the kernel's queue
// is full, the kernel drops new attempts and the client retries its SYN.
func WithMaxConns(n int) Option { return func(s *Server) { s.maxConns = n } }

// WithLenient makes the server answer what the book's server answers: it
// reads a request field by field as QDataStream does, going on after a
// field that is corrupt or runs past the block with the value QDataStream
// gives, and it checks neither the flag, nor the time's range, nor bytes
// left over in the block. Without it (the default, strict) such a request
// is closed without a reply. Both modes close a request whose type is not
// 'S', a size of 0xFFFF (where the book's server would wait for 65 535
// bytes), and a request cut short.
func WithLenient() Option { return func(s *Server) { s.lenient = true } }

// WithFault makes the server misbehave as f says.
func WithFault(f Fault) Option { return func(s *Server) { s.fault = f } }

// WithConnState sets a function called as each connection moves from phase
// to phase, from the connection's goroutine (like http.Server.ConnState).
// Tests use it to know, without sleeping, what the server is doing.
func WithConnState(fn func(ConnInfo)) Option { return func(s *Server) { s.connState = fn } }

// Phase is what the server is doing with a connection.
type Phase int32

const (
	PhaseReading Phase = iota + 1 // reading the request
	PhaseWriting                  // writing the reply
	PhaseHolding                  // holding the connection open (stall, keep-open, half-close)
	PhaseClosed                   // closed and logged
)

func (p Phase) String() string {
	switch p {
	case PhaseReading:
		return "reading the request"
	case PhaseWriting:
		return "writing the reply"
	case PhaseHolding:
		return "holding the connection"
	case PhaseClosed:
		return "closed"
	}
	return "Phase(" + strconv.Itoa(int(p)) + ")"
}

// ConnInfo describes a connection of the server.
type ConnInfo struct {
	ID    uint64 // 1 for the first connection accepted, and so on
	Peer  string // the client's address
	Phase Phase
	Age   time.Duration // since it was accepted
}

func (c ConnInfo) String() string {
	return fmt.Sprintf("conn %d from %s (%s, open %v)", c.ID, c.Peer, c.Phase, c.Age.Round(time.Millisecond))
}

// BlockedError is the error of Shutdown and Close when connections are
// still open as the context ends or the grace period runs out.
type BlockedError struct {
	Conns []ConnInfo // the connections still open
	Err   error      // why the wait ended: the context's error
}

func (e *BlockedError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "fakes: %d connection(s) still open: ", len(e.Conns))
	for i, c := range e.Conns {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(c.String())
	}
	return b.String()
}

func (e *BlockedError) Unwrap() error { return e.Err }

// ErrServerState is returned by Start on a server that was started or
// closed already.
var ErrServerState = errors.New("fakes: server already started or closed")

// Server is the reference Trip server: by default the book's server, byte
// for byte, but strict about malformed requests and bounded in time. One
// goroutine serves each connection: it reads exactly one request (in any
// split) under the timeout, answers it from the Generator (or not, if the
// request is malformed), misbehaves as the Fault says, logs one line and
// closes.
type Server struct {
	// Settings, fixed once the server is made.
	addr         string
	ln           net.Listener
	profile      wire.Profile
	gen          Generator
	log          *slog.Logger
	timeout      time.Duration
	grace        time.Duration
	maxConns     int
	lenient      bool
	fault        Fault
	connState    func(ConnInfo)
	replyProfile wire.Profile // the layout of the trip blocks
	shaped       bool         // replies go through a ReplyWriter

	mu       sync.Mutex
	started  bool
	stopping bool // Shutdown or Close has begun
	conns    map[*conn]struct{}
	nextID   uint64

	quit      chan struct{} // closed when shutdown begins
	drained   chan struct{} // closed once every goroutine of the server has returned
	slots     chan struct{} // one per connection served, with WithMaxConns
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// NewUnstartedServer returns a server configured by opts, not yet
// listening. Start starts it.
func NewUnstartedServer(opts ...Option) (*Server, error) {
	s := &Server{
		addr:    DefaultAddr,
		profile: wire.Qt4,
		gen:     Book{},
		timeout: DefaultTimeout,
		grace:   DefaultGrace,
		conns:   make(map[*conn]struct{}),
		quit:    make(chan struct{}),
		drained: make(chan struct{}),
	}
	for _, opt := range opts {
		opt(s)
	}
	if err := s.check(); err != nil {
		return nil, err
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	// The server writes what it is told to (Reply.Layout allows illegal
	// writes): a generator's out-of-range time, an echoed one in lenient
	// mode, a lying size field.
	s.replyProfile = s.profile
	if s.fault.ReplyProfile != 0 {
		s.replyProfile = s.fault.ReplyProfile
	}
	s.shaped = s.fault.shaped()
	if s.maxConns > 0 {
		s.slots = make(chan struct{}, s.maxConns)
	}
	return s, nil
}

func (s *Server) check() error {
	switch {
	case !s.profile.Valid():
		return fmt.Errorf("fakes: %w %v", wire.ErrUnknownProfile, s.profile)
	case s.gen == nil:
		return errors.New("fakes: nil generator")
	case s.timeout <= 0:
		return fmt.Errorf("fakes: timeout %v: must be positive", s.timeout)
	case s.grace < 0:
		return fmt.Errorf("fakes: grace %v: must not be negative", s.grace)
	case s.maxConns < 0:
		return fmt.Errorf("fakes: max conns %d: must not be negative", s.maxConns)
	}
	if err := s.fault.Validate(); err != nil {
		return err
	}
	if st, ok := s.gen.(Static); ok {
		p := s.profile
		if s.fault.ReplyProfile != 0 {
			p = s.fault.ReplyProfile
		}
		if err := checkTrips(st, p); err != nil {
			return fmt.Errorf("fakes: %w", err)
		}
	}
	return nil
}

// NewServer returns a server configured by opts, listening and serving.
func NewServer(opts ...Option) (*Server, error) {
	s, err := NewUnstartedServer(opts...)
	if err != nil {
		return nil, err
	}
	if err := s.Start(); err != nil {
		return nil, err
	}
	return s, nil
}

// Start listens (unless given a listener) and starts serving. It returns
// once the server is listening: a client may connect to Addr at once.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.stopping {
		return ErrServerState
	}
	if s.ln == nil {
		ln, err := net.Listen("tcp", s.addr)
		if err != nil {
			return fmt.Errorf("fakes: %w", err)
		}
		s.ln = ln
	}
	s.started = true
	s.wg.Add(1)
	go s.serve()
	go func() {
		s.wg.Wait()
		close(s.drained)
	}()
	return nil
}

// Addr is the address the server listens on, such as "127.0.0.1:41234"; ""
// before Start.
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return ""
	}
	return s.ln.Addr().String()
}

// Profile is the profile the server reads requests in.
func (s *Server) Profile() wire.Profile { return s.profile }

// Conns describes the connections open now.
func (s *Server) Conns() []ConnInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.connsLocked()
}

func (s *Server) connsLocked() []ConnInfo {
	out := make([]ConnInfo, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c.info())
	}
	// Oldest first, for stable messages.
	slices.SortFunc(out, func(a, b ConnInfo) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Shutdown stops the server gracefully: it stops accepting, ends the
// connections it holds open on purpose (stall, keep-open), and waits for
// the others to finish: a request being read is read (within the timeout)
// and answered, a reply being written is written. It returns nil once they
// have all finished, or, when ctx ends first, a *BlockedError naming those
// still open, which it leaves running (Close ends them).
func (s *Server) Shutdown(ctx context.Context) error {
	if !s.beginShutdown() {
		return nil // never started
	}
	select {
	case <-s.drained:
		return nil
	case <-ctx.Done():
	}
	select {
	case <-s.drained:
		return nil
	default:
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return &BlockedError{Conns: s.connsLocked(), Err: ctx.Err()}
}

// Close shuts the server down as Shutdown does, waiting up to the grace
// period (WithGrace) for connections to finish; then it closes those still
// open, waits for every goroutine of the server to return, and reports them
// in a *BlockedError. Calling Close again returns the first call's result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.grace)
		defer cancel()
		err := s.Shutdown(ctx)
		if err != nil {
			s.mu.Lock()
			for c := range s.conns {
				c.nc.Close()
			}
			s.mu.Unlock()
		}
		s.mu.Lock()
		started := s.started
		s.mu.Unlock()
		if started {
			<-s.drained
		}
		s.closeErr = err
	})
	return s.closeErr
}

// beginShutdown stops accepting and ends the held connections. It reports
// whether the server had been started.
func (s *Server) beginShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopping {
		s.stopping = true
		close(s.quit)
		if s.ln != nil {
			s.ln.Close()
		}
		for c := range s.conns {
			if c.phase.Load() == int32(PhaseHolding) {
				c.nc.Close()
			}
		}
	}
	return s.started
}

// serve is the accept loop.
func (s *Server) serve() {
	defer s.wg.Done()
	var backoff time.Duration
	for {
		if s.slots != nil {
			select {
			case s.slots <- struct{}{}:
			case <-s.quit:
				return
			}
		}
		nc, err := s.ln.Accept()
		if err != nil {
			s.release()
			select {
			case <-s.quit:
				return
			default:
			}
			if errors.Is(err, net.ErrClosed) {
				s.log.Error("accept", "err", err)
				return
			}
			// EMFILE, ECONNABORTED and the like: wait, then go on.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.log.Warn("accept", "err", err, "retry", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-t.C:
			case <-s.quit:
				t.Stop()
				return
			}
			continue
		}
		backoff = 0
		c := s.track(nc)
		if c == nil {
			nc.Close()
			s.release()
			continue
		}
		go s.handle(c)
	}
}

// release gives back a connection slot.
func (s *Server) release() {
	if s.slots != nil {
		<-s.slots
	}
}

// track registers a new connection, or returns nil when shutting down.
func (s *Server) track(nc net.Conn) *conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopping {
		return nil
	}
	s.nextID++
	c := &conn{id: s.nextID, nc: nc, peer: nc.RemoteAddr().String(), start: time.Now()}
	c.phase.Store(int32(PhaseReading))
	s.conns[c] = struct{}{}
	s.wg.Add(1)
	return c
}

func (s *Server) untrack(c *conn) {
	s.mu.Lock()
	delete(s.conns, c)
	s.mu.Unlock()
}

// setPhase moves c to phase p. It returns false when c may not hold the
// connection because the server is shutting down.
func (s *Server) setPhase(c *conn, p Phase) bool {
	if p == PhaseHolding {
		s.mu.Lock()
		stopping := s.stopping
		if !stopping {
			c.phase.Store(int32(p))
		}
		s.mu.Unlock()
		if stopping {
			return false
		}
	} else {
		c.phase.Store(int32(p))
	}
	if s.connState != nil {
		s.connState(c.info())
	}
	return true
}

// conn is one connection being served.
type conn struct {
	id    uint64
	nc    net.Conn
	peer  string
	start time.Time
	phase atomic.Int32
}

func (c *conn) info() ConnInfo {
	return ConnInfo{ID: c.id, Peer: c.peer, Phase: Phase(c.phase.Load()), Age: time.Since(c.start)}
}
