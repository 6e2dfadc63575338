package livefuzz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/contract"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// Bounds of what is read from a peer, per connection.
const (
	// MaxReplyBytes is the most read of a server's answer to one case or
	// probe; the rest is left unread and the connection closed.
	MaxReplyBytes = 1 << 20
	// MaxClientExtra is the most read of what a client sends after its
	// request (it must send nothing).
	MaxClientExtra = 64 << 10
	// maxDetail bounds a verdict's detail.
	maxDetail = 2048
)

// A Client is the client under test: it runs one search at a time.
type Client interface {
	// Start starts a search against the server at addr, in profile p.
	Start(ctx context.Context, addr string, search *wire.Request, p wire.Profile) (ClientRun, error)
}

// ClientRun is one search of a Client.
type ClientRun interface {
	// Accept accepts the client's connection on ln within d, and stops
	// waiting soon after the client has finished.
	Accept(ctx context.Context, ln net.Listener, d time.Duration) (*net.TCPConn, error)
	// Wait waits up to d for the client to finish and stops it otherwise:
	// it reports whether the client finished by itself.
	Wait(ctx context.Context, d time.Duration) bool
	// Kill stops the client, and waits for it.
	Kill()
	// Done is closed once the client has finished.
	Done() <-chan struct{}
	// ExitCode is the client's exit status, -1 if a signal ended it.
	ExitCode() int
	// Stdout is what it printed (bounded).
	Stdout() []byte
	// Describe says how it ended, with its output, for a report.
	Describe() string
}

// ExecClient runs a command under the client exec contract
// (conformance.ExecContract), with the client suite's runner.
type ExecClient struct {
	Template conformance.Template
}

// Start starts the command for one search.
func (e ExecClient) Start(ctx context.Context, addr string, search *wire.Request, p wire.Profile) (ClientRun, error) {
	r, argv, err := conformance.StartExec(e.Template, addr, search, p, "fuzz")
	if err != nil {
		return nil, fmt.Errorf("cannot start the client %s: %w", argv, err)
	}
	return &execRun{r, argv}, nil
}

type execRun struct {
	*conformance.ExecRun
	argv string
}

func (r *execRun) Describe() string { return "$ " + r.argv + "\n    " + r.ExecRun.Describe() }

// ClientFunc is a client in this process (for tests and benchmarks): it
// makes the search against addr and prints on stdout as the exec contract
// says, and returns its exit status. It must return soon after ctx ends.
type ClientFunc func(ctx context.Context, addr string, search *wire.Request, p wire.Profile, stdout io.Writer) int

// Start runs f in a goroutine.
func (f ClientFunc) Start(ctx context.Context, addr string, search *wire.Request, p wire.Profile) (ClientRun, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := &funcRun{cancel: cancel, done: make(chan struct{}), out: cappedBuffer{max: 4 << 20}}
	go func() {
		defer close(r.done)
		r.code = f(ctx, addr, search, p, &r.out)
	}()
	return r, nil
}

type funcRun struct {
	cancel context.CancelFunc
	done   chan struct{}
	code   int
	killed bool
	out    cappedBuffer
}

func (r *funcRun) Accept(ctx context.Context, ln net.Listener, d time.Duration) (*net.TCPConn, error) {
	tl := ln.(*net.TCPListener)
	tl.SetDeadline(time.Now().Add(d))
	stop := context.AfterFunc(ctx, func() { tl.SetDeadline(time.Now()) })
	defer stop()
	accepted := make(chan struct{})
	defer close(accepted)
	go func() {
		select {
		case <-r.done:
			tl.SetDeadline(time.Now().Add(100 * time.Millisecond))
		case <-accepted:
		}
	}()
	c, err := tl.Accept()
	if err != nil {
		return nil, err
	}
	return c.(*net.TCPConn), nil
}

func (r *funcRun) Wait(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.done:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	r.killed = true
	r.Kill()
	return false
}

func (r *funcRun) Kill() {
	r.cancel()
	<-r.done
}

func (r *funcRun) Done() <-chan struct{} { return r.done }
func (r *funcRun) ExitCode() int         { return r.code }
func (r *funcRun) Stdout() []byte        { return r.out.Bytes() }
func (r *funcRun) Describe() string {
	if r.killed {
		return "stopped by tripcheck"
	}
	return fmt.Sprintf("exit status %d", r.code)
}

// cappedBuffer keeps the first max bytes written to it.
type cappedBuffer struct {
	mu  sync.Mutex
	b   bytes.Buffer
	max int
}

func (w *cappedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if room := w.max - w.b.Len(); room > 0 {
		w.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (w *cappedBuffer) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.b.Bytes())
}

// ClientOutcome is what a client did with one reply case.
type ClientOutcome struct {
	Verdict Verdict // Survived, Crash, Hang or Wrong
	// Skipped: the client said, by exit status 89, that it does not
	// implement the search.
	Skipped bool
	Sent    int    // reply bytes written
	Extra   int    // bytes the client sent after its request (at most MaxClientExtra read)
	Detail  string // what went wrong, with the client's output
}

// ErrClientSetup is matched by the errors of TryClient and RunClient that
// are not the client's fault: no listener, a command that does not start.
var ErrClientSetup = errors.New("livefuzz: cannot run the client")

// TryClient runs the client once against case c: it listens on
// 127.0.0.1:0, starts the client with c's search, reads its request, which
// must be the exact encoding of the search, writes the reply in c's shape,
// half-closes, and waits up to timeout for the client to exit, reading (at
// most MaxClientExtra bytes of) anything more it sends. Then it checks
// what the client printed against Expect of the reply. Every wait has a
// deadline of timeout.
func TryClient(ctx context.Context, cl Client, c *ReplyCase, timeout time.Duration) (ClientOutcome, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return ClientOutcome{}, fmt.Errorf("%w: %v", ErrClientSetup, err)
	}
	defer ln.Close()
	run, err := cl.Start(ctx, ln.Addr().String(), &c.Search, c.Profile)
	if err != nil {
		return ClientOutcome{}, fmt.Errorf("%w: %v", ErrClientSetup, err)
	}
	defer run.Kill()
	o := tryClient(ctx, run, ln, c, timeout)
	if ctx.Err() != nil {
		return o, ctx.Err()
	}
	if o.Verdict != Survived && !o.Skipped {
		// The connection is closed: let the client end (or kill it) before
		// saying how it ended.
		run.Wait(ctx, timeout)
		o.Detail = clip(o.Detail + "\n    client: " + run.Describe())
	}
	return o, nil
}

func tryClient(ctx context.Context, run ClientRun, ln net.Listener, c *ReplyCase, timeout time.Duration) ClientOutcome {
	ended := func(exited bool) (ClientOutcome, bool) {
		switch code := run.ExitCode(); {
		case !exited:
			return ClientOutcome{Verdict: Hang}, true
		case code == -1:
			return ClientOutcome{Verdict: Crash, Detail: "the client was killed by a signal"}, true
		case code == conformance.ExitNotImplemented:
			return ClientOutcome{Skipped: true}, true
		}
		return ClientOutcome{}, false
	}
	conn, err := run.Accept(ctx, ln, timeout)
	ln.Close()
	if err != nil {
		exited := false
		select {
		case <-run.Done():
			exited = true
		default:
			run.Kill()
		}
		if o, ok := ended(exited); ok {
			if o.Verdict == Hang {
				o.Detail = fmt.Sprintf("the client did not connect within %v", timeout)
			}
			return o
		}
		return ClientOutcome{Verdict: Wrong, Detail: fmt.Sprintf("the client exited without making the search: %v", err)}
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	want, err := wire.Encoder{Profile: c.Profile}.AppendRequest(nil, &c.Search)
	if err != nil {
		return ClientOutcome{Verdict: Wrong, Detail: fmt.Sprintf("cannot encode the search: %v", err)}
	}
	// The request: one block, at most 64 KiB, read by package wire.
	rd := wire.NewReader(conn, c.Profile, wire.Requests)
	var m wire.Message
	if err := rd.Next(&m); err != nil && m.Block.Bytes == nil {
		exited := run.Wait(ctx, timeout)
		if o, ok := ended(exited); ok {
			o.Detail = "no whole request: " + err.Error()
			return o
		}
		return ClientOutcome{Verdict: Wrong, Detail: fmt.Sprintf("no whole request: %v", err)}
	}
	if err := conformance.Compare(want, m.Block.Bytes, c.Profile, wire.Requests); err != nil {
		return ClientOutcome{Verdict: Wrong, Detail: fmt.Sprintf("the request is not the %v encoding of the search %s: %v", c.Profile, searchText(&c.Search), err)}
	}
	o := ClientOutcome{Extra: rd.Decoder().Buffered()}
	var more <-chan drained
	o.Sent, more = serveReply(conn, &c.Case, timeout)
	exited := run.Wait(ctx, timeout)
	if r, ok := ended(exited); ok {
		r.Sent = o.Sent
		if r.Verdict == Hang {
			r.Detail = fmt.Sprintf("the client did not finish within %v after the reply (%d of %d bytes written)", timeout, o.Sent, len(c.Bytes))
		}
		return r
	}
	o.Extra += (<-more).n
	if o.Extra > 0 {
		o.Verdict, o.Detail = Wrong, fmt.Sprintf("the client sent %d bytes after its request; it must send nothing more", o.Extra)
		return o
	}
	if err := Judge(Expect(c.Profile, c.Bytes), run.Stdout(), run.ExitCode()); err != nil {
		o.Verdict, o.Detail = Wrong, err.Error()
	}
	return o
}

// drained is what drain read: n bytes, then err.
type drained struct {
	n   int
	err error
}

// serveReply writes the case's bytes on conn in its shape and half-closes
// (a write the client refuses ends it early), then reads in the background
// what the client sends more, up to its close, the deadline timeout or
// MaxClientExtra bytes.
func serveReply(conn *net.TCPConn, c *Case, timeout time.Duration) (int, <-chan drained) {
	var sent Outcome
	if sc, err := shape.NewConn(conn, c.Shape, shape.WithPause(0), shape.WithWriteTimeout(timeout)); err == nil {
		if writeCase(sc, c, &sent) == nil {
			sc.CloseWrite()
		}
	}
	more := make(chan drained, 1)
	conn.SetReadDeadline(time.Now().Add(timeout))
	go func() { more <- drain(conn, MaxClientExtra) }()
	return sent.Sent, more
}

// drain reads c until it ends, its deadline passes or max bytes came.
func drain(c net.Conn, max int) drained {
	buf := make([]byte, 4096)
	var d drained
	for d.n < max {
		k, err := c.Read(buf)
		d.n += k
		if err != nil {
			d.err = err
			break
		}
	}
	return d
}

// Judge checks what a client printed (its stdout and exit status) for a
// reply the reference decoder made e of, by the exec contract (package
// contract). Where e is complete, the client must print exactly e's trips
// and "END n" and exit 0 (contract.CheckAnswer). Where it is not, the
// client must exit non-zero and print one ERROR line, last; before it,
// either none or all of e's trips (those of the blocks received whole and
// valid before the fault), in order (contract.CheckFailed).
func Judge(e Expectation, stdout []byte, code int) error {
	lines := contract.Lines(stdout)
	if e.Complete {
		if v := contract.CheckAnswer(lines, code, e.Trips); v != nil {
			return fmt.Errorf("on a complete reply of %d trips: %w", len(e.Trips), v)
		}
		return nil
	}
	if v := contract.CheckFailed(lines, code, "a reply that is no answer ("+e.Err.Error()+")", e.Trips); v != nil {
		return v
	}
	return nil
}

// clip bounds a detail.
func clip(s string) string {
	if len(s) <= maxDetail {
		return s
	}
	return s[:maxDetail] + fmt.Sprintf("… (%d bytes)", len(s))
}

// searchText shows a search as the exec contract's arguments.
func searchText(r *wire.Request) string {
	str := func(s wire.String) string {
		if s.IsNull() {
			return "@null"
		}
		return strconv.Quote(s.String())
	}
	return fmt.Sprintf("%s %s %v %v %c", str(r.From), str(r.To), r.Date, r.Time, r.Flag)
}

// ClientConfig says which client to fuzz and for how long.
type ClientConfig struct {
	Client  Client
	Profile wire.Profile // 0: wire.Qt4
	Seed    int64
	Cases   int // 0: DefaultCases
	// Parallel is how many cases run at once (0: 1). The verdict does not
	// depend on it: a run reports the first failing case by number.
	Parallel int
	// Timeout bounds the client's connection, its request, and its exit
	// after the reply. 0: conformance.DefaultClientTimeout.
	Timeout time.Duration
	// Progress, if set, is called with the cases done so far, from one
	// goroutine at a time.
	Progress func(done int)
}

// ClientFailure is the first case a client failed.
type ClientFailure struct {
	Case    ReplyCase
	Outcome ClientOutcome
}

// ClientResult is what a client run did.
type ClientResult struct {
	Seed    int64
	Profile wire.Profile
	Cases   int // cases run
	Skipped int // cases the client did not implement (exit 89)
	Failure *ClientFailure
	// Stopped says why a listen run stopped before its count of cases.
	Stopped string
	Elapsed time.Duration
}

// RunClient fuzzes a client: cases 0 … Cases-1 of cfg.Seed, each a run of
// the client (TryClient), until the first failure. With Parallel > 1 the
// cases in flight when a failure is seen finish, and the failure of the
// lowest case number is reported: the same as without Parallel.
func RunClient(ctx context.Context, cfg ClientConfig) (*ClientResult, error) {
	if cfg.Profile == 0 {
		cfg.Profile = wire.Qt4
	}
	if cfg.Cases == 0 {
		cfg.Cases = DefaultCases
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = conformance.DefaultClientTimeout
	}
	switch {
	case cfg.Client == nil:
		return nil, fmt.Errorf("%w: no client", ErrConfig)
	case !cfg.Profile.Valid():
		return nil, fmt.Errorf("%w: %w %v", ErrConfig, wire.ErrUnknownProfile, cfg.Profile)
	case cfg.Cases < 0 || cfg.Parallel < 0 || cfg.Timeout < 0:
		return nil, fmt.Errorf("%w: negative cases, parallel or timeout", ErrConfig)
	}
	start := time.Now()
	res := &ClientResult{Seed: cfg.Seed, Profile: cfg.Profile}
	var (
		mu      sync.Mutex
		next    int
		stopped bool
		runErr  error
		wg      sync.WaitGroup
	)
	worker := func() {
		defer wg.Done()
		for {
			mu.Lock()
			if stopped || next >= cfg.Cases {
				mu.Unlock()
				return
			}
			n := next
			next++
			mu.Unlock()
			c := NewReplyCase(cfg.Seed, n, cfg.Profile)
			o, err := TryClient(ctx, cfg.Client, &c, cfg.Timeout)
			mu.Lock()
			switch {
			case err != nil:
				if runErr == nil {
					runErr = err
				}
				stopped = true
			default:
				res.Cases++
				if o.Skipped {
					res.Skipped++
				}
				if o.Verdict != Survived {
					stopped = true
					if res.Failure == nil || n < res.Failure.Case.N {
						res.Failure = &ClientFailure{Case: c, Outcome: o}
					}
				}
				if cfg.Progress != nil && !stopped {
					cfg.Progress(res.Cases)
				}
			}
			mu.Unlock()
		}
	}
	for i := 0; i < max(1, cfg.Parallel); i++ {
		wg.Add(1)
		go worker()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	return res, runErr
}

// ListenConfig says how to fuzz clients that a person starts: each
// connection to Listener gets the next case.
type ListenConfig struct {
	Listener net.Listener
	Profile  wire.Profile // 0: wire.Qt4
	Seed     int64
	Cases    int // 0: DefaultCases
	// Timeout bounds the request and the client's close after the reply.
	// 0: conformance.DefaultClientTimeout.
	Timeout time.Duration
	// Wait bounds the wait for each connection; after it the run stops.
	// 0: conformance.DefaultListenWait.
	Wait     time.Duration
	Progress func(done int)
}

// RunListen fuzzes the clients that connect to cfg.Listener, one
// connection per case, in order. Nothing shows what a client printed, so
// a case fails only by what the connection shows: a request that is not a
// well-formed one (Wrong), bytes after it (Wrong), or no close of the
// client's side within Timeout after the reply (Hang). A run that waited
// Wait for a connection in vain stops, and says so in Stopped: a client
// that crashed on the case before shows that way.
func RunListen(ctx context.Context, cfg ListenConfig) (*ClientResult, error) {
	if cfg.Profile == 0 {
		cfg.Profile = wire.Qt4
	}
	if cfg.Cases == 0 {
		cfg.Cases = DefaultCases
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = conformance.DefaultClientTimeout
	}
	if cfg.Wait == 0 {
		cfg.Wait = conformance.DefaultListenWait
	}
	switch {
	case cfg.Listener == nil:
		return nil, fmt.Errorf("%w: no listener", ErrConfig)
	case !cfg.Profile.Valid():
		return nil, fmt.Errorf("%w: %w %v", ErrConfig, wire.ErrUnknownProfile, cfg.Profile)
	case cfg.Cases < 0 || cfg.Timeout < 0 || cfg.Wait < 0:
		return nil, fmt.Errorf("%w: negative cases, timeout or wait", ErrConfig)
	}
	tl, ok := cfg.Listener.(*net.TCPListener)
	if !ok {
		return nil, fmt.Errorf("%w: not a TCP listener", ErrConfig)
	}
	start := time.Now()
	res := &ClientResult{Seed: cfg.Seed, Profile: cfg.Profile}
	stop := context.AfterFunc(ctx, func() { tl.SetDeadline(time.Now()) })
	defer stop()
	for n := 0; n < cfg.Cases; n++ {
		tl.SetDeadline(time.Now().Add(cfg.Wait))
		nc, err := tl.AcceptTCP()
		if ctx.Err() != nil {
			res.Elapsed = time.Since(start)
			return res, ctx.Err()
		}
		if err != nil {
			res.Stopped = fmt.Sprintf("no client connected within %v after %d cases: stopped waiting", cfg.Wait, n)
			break
		}
		c := NewReplyCase(cfg.Seed, n, cfg.Profile)
		o := listenCase(nc, &c, cfg.Timeout)
		nc.Close()
		res.Cases++
		if o.Verdict != Survived {
			res.Failure = &ClientFailure{Case: c, Outcome: o}
			break
		}
		if cfg.Progress != nil {
			cfg.Progress(res.Cases)
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// listenCase serves one case to a client that connected by itself.
func listenCase(conn *net.TCPConn, c *ReplyCase, timeout time.Duration) ClientOutcome {
	conn.SetDeadline(time.Now().Add(timeout))
	rd := wire.NewReader(conn, c.Profile, wire.Requests)
	var m wire.Message
	err := rd.Next(&m)
	if err == nil {
		err = m.Request.Validate()
	}
	if err != nil {
		return ClientOutcome{Verdict: Wrong, Detail: fmt.Sprintf("no well-formed %v request: %v", c.Profile, err)}
	}
	o := ClientOutcome{Extra: rd.Decoder().Buffered()}
	var more <-chan drained
	o.Sent, more = serveReply(conn, &c.Case, timeout)
	d := <-more
	o.Extra += d.n
	switch {
	case o.Extra > 0:
		o.Verdict, o.Detail = Wrong, fmt.Sprintf("the client sent %d bytes after its request; it must send nothing more", o.Extra)
	case endingOf(d.err) == EndSilence:
		o.Verdict, o.Detail = Hang, fmt.Sprintf("the client did not close the connection within %v after the reply (%d of %d bytes written)", timeout, o.Sent, len(c.Bytes))
	}
	return o
}
