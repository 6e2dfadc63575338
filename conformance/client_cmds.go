package conformance

import (
	"github.com/tripcheck/tripcheck/internal/plural"

	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/internal/script"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// clientScript is the state of one client-suite script.
type clientScript struct {
	suite   *clientSuite
	sc      *Scenario
	seed    int64
	variant string
	mu      sync.Mutex
	runs    []*clientRun
	cur     *clientRun
	trace   *Trace // the wire trace: wrap a conn with trace.Conn where it is used
}

// clientRun is one search by the client under test: one connection.
type clientRun struct {
	values  wire.Request // the search it was given (exec) or made (listen)
	asked   wire.Request // the search the scenario asked for
	given   bool         // values were given to the client (exec mode)
	proc    *clientProc  // exec mode
	ln      net.Listener // exec mode: the run's own listener
	conn    *net.TCPConn
	profile wire.Profile
	request []byte // the request block, size included
	decoded wire.Request
	reqErr  error // the request does not decode cleanly in profile
	watch   *watcher
	reply   *servedReply
}

// servedReply is what tripcheck sent as the server.
type servedReply struct {
	profile  wire.Profile // the layout the trips were written in
	trips    []wire.Trip
	bytes    []byte // as sent (after truncation)
	tripAt   []int  // offset of each trip block
	complete bool   // all trips and the end marker went out: the answer is whole and valid
	whole    int    // the first whole trip blocks that went out entire
	ended    time.Time
	what     string
}

func (r *clientRun) close() {
	if r.proc != nil {
		r.proc.kill()
	}
	if r.conn != nil {
		r.conn.Close()
	}
	if r.ln != nil {
		r.ln.Close()
	}
}

func (s *clientScript) closeAll() {
	s.mu.Lock()
	runs := s.runs
	s.mu.Unlock()
	for _, r := range runs {
		r.close()
	}
}

// fatal is the error that ends a script; for a skip, the person at a
// listen-mode client is told first.
func (s *clientScript) fatal(err error) error {
	var se *script.SkipError
	if errors.As(err, &se) {
		s.tellSkip(se.Reason)
	}
	return err
}

// watcher reads what the client sends after its request, and how and when
// its side of the connection ends.
type watcher struct {
	mu      sync.Mutex
	extra   []byte // bytes after the request, at most 64 KiB kept
	nExtra  int
	ended   chan struct{}
	how     Ending
	err     error
	at      time.Time
	ourside bool // tripcheck closed the connection itself
}

func startWatch(c net.Conn, extra []byte, deadline time.Time) *watcher {
	w := &watcher{ended: make(chan struct{})}
	w.add(extra)
	go func() {
		buf := make([]byte, 4096)
		c.SetReadDeadline(deadline)
		for {
			n, err := c.Read(buf)
			w.add(buf[:n])
			if err != nil {
				w.mu.Lock()
				w.how, w.err, w.at = classify(err), err, time.Now()
				w.ourside = errors.Is(err, net.ErrClosed)
				w.mu.Unlock()
				close(w.ended)
				return
			}
		}
	}()
	return w
}

func (w *watcher) add(b []byte) {
	if len(b) == 0 {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.nExtra += len(b)
	if room := 64<<10 - len(w.extra); room > 0 {
		w.extra = append(w.extra, b[:min(room, len(b))]...)
	}
}

func (w *watcher) sent() ([]byte, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]byte(nil), w.extra...), w.nExtra
}

// ClientCommands documents the commands scenarios of the client suite can
// use.
func ClientCommands() []Command { return commandDocs(clientCommandList()) }

// current returns the run of the last search.
func (s *clientScript) current() (*clientRun, error) {
	if s.cur == nil {
		return nil, script.Usagef("no search yet: use search first")
	}
	return s.cur, nil
}

const tripFieldsHelp = `trip fields, each [I.]key=value, for every trip or for trip I only:
  date=2026-11-25 | date=@null      departure=09:00:00.000 | departure=@null
  duration=N      changes=N         train=TEXT | train=@null | train=@repeat(TEXT,N)
Trips default to the search's date and time, "InterCity", durations drawn from $SEED.`

func clientCommandList() []command[*clientScript] {
	return append([]command[*clientScript]{
		{
			name:  "search",
			usage: "[field=value ...]",
			doc: "search has the client search once. With --exec it runs the client with the placeholders filled from the\n" +
				"default search changed by the fields; with --listen it asks the person at the client to search now (the\n" +
				"fields are only a suggestion). It waits for the connection and reads the request block, within the step\n" +
				"timeout (--wait for a person). A client that exits 89 skips the scenario.\n" + fieldsHelp,
			run: flagged(cmdSearch),
		},
		{
			name:  "request",
			usage: "",
			doc: "request checks the request block of the last search. With --exec it must equal, byte for byte, the\n" +
				"encoding of the search the client was given, in the profile; with --listen, where the values are the\n" +
				"person's, it must be a well-formed request in the profile: sizes, type 'S', even string lengths, a valid\n" +
				"time, flag D or A, no byte left over.",
			run: flagged(cmdRequest),
		},
		{
			name: "serve",
			usage: "[-trips N] [-variant V | -shape SHAPE | -every N|Xblocks | -split-at POINT,...] [-per-block] [-delay D]\n" +
				"      [-other-profile] [-garbage HEX] [-no-end] [-truncate POINT] [-then close|reset|keep-open] [-stall] [trip fields]",
			doc: "serve answers the last search as the server: N trips (default 3) and the end marker, in the profile.\n" +
				"-variant is whole (one block per write, as the book's server), fragmented (seeded random pieces) or\n" +
				"coalesced (all blocks in one write); by default each block is one write. -shape cuts the reply, given as\n" +
				"one write, as package shape says; -every cuts every N bytes or every X blocks (1.5blocks); -split-at cuts\n" +
				"at points; -delay waits between pieces. -other-profile writes the trips in the other profile's layout;\n" +
				"-garbage adds raw bytes after the trips; -no-end leaves the end marker out; -truncate sends only the\n" +
				"bytes before POINT. The stream then ends as -then says: close (a FIN, the default), reset (an RST) or\n" +
				"keep-open. -stall sends nothing and keeps the connection open.\n" +
				"A POINT is a byte offset or a place in the reply, optionally +N or -N: trip[2] (its first byte), end\n" +
				"(the end marker), trip[1].date, trip[0].trainType (the middle of that field).\n" + tripFieldsHelp,
			run: flagged(cmdServe),
		},
		{
			name:  "output",
			usage: "-ok | -fails | -either [-exec-only]",
			doc: "output waits, within the step timeout, for the client to exit (and kills it then) and checks what it\n" +
				"printed under the exec contract. -ok: exit 0, one line per trip served, exactly, then \"END n\".\n" +
				"-fails: a non-zero exit and the line \"ERROR <reason>\" last; before it none or all of the trips of the\n" +
				"blocks sent whole, in order, never a trip of a block cut short.\n" +
				"-either: one of the two, the trips being those served, read in the layout they were written in.\n" +
				"Exit 89 skips the scenario. With --listen the output cannot be seen, so the scenario skips (\"needs\n" +
				"--exec\"), or with -exec-only the check is left out and the scenario goes on.",
			run: flagged(cmdOutput),
		},
		{
			name:  "closes",
			usage: "[-within D]",
			doc: "closes requires the client to close its side of the connection (a FIN or an RST) within D (default the\n" +
				"step timeout), and to have sent nothing after its request. With --exec a client that exits closes.",
			run: flagged(cmdCloses),
		},
		{
			name:  "sweep",
			usage: "-mode split|random|truncate [-n N] [-trips N]",
			doc: "sweep runs the client several times, each a whole search, and checks every output (so it needs --exec):\n" +
				"split: a reply of N trips (default 7) cut once inside every block, at a different offset each run, until\n" +
				"every offset inside a block has been a cut; the answer must be exact.\n" +
				"random: -n runs (default 4), the reply cut into random pieces of 1 to 7 bytes from seeds $SEED, $SEED+1, …;\n" +
				"the answer must be exact.\n" +
				"truncate: the reply closed inside trip[0].size, trip[1].date, trip[2].departure, trip[3].trainType and the\n" +
				"end marker, one run each; the client must fail and print no trip.",
			run: flagged(cmdSweep),
		},
	}, moreClientCommands()...)
}

func cmdSearch(ctx context.Context, st *script.State, s *clientScript, f *noFlags, args []string) error {
	values := DefaultRequest()
	if err := ParseRequestFields(&values, args); err != nil {
		return script.Usagef("%v\n%s", err, fieldsHelp)
	}
	_, err := s.search(st.Logf, values)
	return s.fatal(err)
}

func cmdRequest(ctx context.Context, st *script.State, s *clientScript, f *noFlags, args []string) error {
	r, err := s.current()
	if err != nil {
		return err
	}
	return s.fatal(s.checkRequest(st.Logf, r))
}

// serveFlags are serve's flags.
type serveFlags struct {
	trips                                             int
	variant, shape, every, splitAt, garbage, truncate string
	then                                              string
	perBlock, otherProfile, noEnd, stall              bool
	delay                                             time.Duration
}

func (f *serveFlags) define(fs *flag.FlagSet) {
	fs.IntVar(&f.trips, "trips", 3, "")
	fs.StringVar(&f.variant, "variant", "", "")
	fs.StringVar(&f.shape, "shape", "", "")
	fs.StringVar(&f.every, "every", "", "")
	fs.StringVar(&f.splitAt, "split-at", "", "")
	fs.BoolVar(&f.perBlock, "per-block", false, "")
	fs.DurationVar(&f.delay, "delay", 0, "")
	fs.BoolVar(&f.otherProfile, "other-profile", false, "")
	fs.StringVar(&f.garbage, "garbage", "", "")
	fs.BoolVar(&f.noEnd, "no-end", false, "")
	fs.StringVar(&f.truncate, "truncate", "", "")
	fs.StringVar(&f.then, "then", "close", "")
	fs.BoolVar(&f.stall, "stall", false, "")
}

func cmdServe(ctx context.Context, st *script.State, s *clientScript, f *serveFlags, args []string) error {
	spec := serveSpec{
		trips:        f.trips,
		fields:       args,
		variant:      f.variant,
		shape:        f.shape,
		every:        f.every,
		splitAt:      f.splitAt,
		perBlock:     f.perBlock,
		delay:        max(f.delay, 0),
		otherProfile: f.otherProfile,
		noEnd:        f.noEnd,
		truncate:     f.truncate,
		then:         f.then,
		stall:        f.stall,
	}
	if f.garbage != "" {
		b, err := hex.DecodeString(f.garbage)
		if err != nil {
			return script.Usagef("-garbage: %v", err)
		}
		spec.garbage = b
	}
	r, err := s.current()
	if err != nil {
		return err
	}
	return s.fatal(s.serve(st.Logf, r, spec))
}

// outputFlags are output's flags.
type outputFlags struct{ ok, fails, either, execOnly bool }

func (f *outputFlags) define(fs *flag.FlagSet) {
	fs.BoolVar(&f.ok, "ok", false, "")
	fs.BoolVar(&f.fails, "fails", false, "")
	fs.BoolVar(&f.either, "either", false, "")
	fs.BoolVar(&f.execOnly, "exec-only", false, "")
}

func cmdOutput(ctx context.Context, st *script.State, s *clientScript, f *outputFlags, args []string) error {
	want := ""
	for _, w := range []struct {
		set  bool
		name string
	}{{f.ok, "ok"}, {f.fails, "fails"}, {f.either, "either"}} {
		if w.set {
			if want != "" {
				return script.Usagef("give one of -ok, -fails, -either")
			}
			want = w.name
		}
	}
	if want == "" {
		return script.Usagef("give one of -ok, -fails, -either")
	}
	r, err := s.current()
	if err != nil {
		return err
	}
	if s.suite.listen() {
		msg := "needs --exec: the check of what the client prints"
		if r.reply != nil && r.reply.complete && want == "ok" {
			msg += fmt.Sprintf(" (it should show %d trips)", len(r.reply.trips))
		} else if want == "fails" {
			msg += " (it should show an error and no trip)"
		}
		if f.execOnly {
			st.Logf("left out: %s", msg)
			return nil
		}
		return script.Skip(msg)
	}
	return s.fatal(s.checkOutput(st.Logf, r, want))
}

func cmdCloses(ctx context.Context, st *script.State, s *clientScript, f *withinFlags, args []string) error {
	r, err := s.current()
	if err != nil {
		return err
	}
	return s.fatal(s.checkCloses(st.Logf, r, orDefault(f.within, s.suite.timeout)))
}

// search starts one search: the client connects and sends its request.
func (s *clientScript) search(logf func(string, ...any), values wire.Request) (*clientRun, error) {
	r := &clientRun{values: values, asked: values}
	s.mu.Lock()
	s.runs = append(s.runs, r)
	s.cur = r
	s.mu.Unlock()
	var err error
	if s.suite.listen() {
		err = s.acceptListen(logf, r)
	} else {
		err = s.startExec(logf, r)
	}
	if err != nil {
		return r, err
	}
	r.conn.SetNoDelay(true)
	return r, s.readRequest(logf, r)
}

// startExec runs the client against a listener of the run's own.
func (s *clientScript) startExec(logf func(string, ...any), r *clientRun) error {
	r.given = true
	ln, err := s.suite.execListener()
	if err != nil {
		return fmt.Errorf("cannot listen for the client: %v", err)
	}
	if ln != s.suite.ln {
		r.ln = ln
	}
	p := s.suite.fixedProfile()
	argv, err := s.suite.tmpl.Fill(searchVars(ln.Addr().String(), &r.values, p))
	if err != nil {
		return err
	}
	if ln == s.suite.ln {
		// At a fixed address a connection left from an earlier scenario
		// (a client that reconnected, one still in the listen queue)
		// would be taken for this scenario's: close what waits first.
		if n := drainWaiting(ln); n > 0 {
			logf("closed %s left waiting at %s from before this scenario", plural.Count(n, "connection", "connections"), ln.Addr())
		}
	}
	logf("$ %s", quoteArgv(argv))
	r.proc, err = startProc(argv, []string{"TRIPCHECK_SCENARIO=" + s.sc.ID})
	if err != nil {
		return fmt.Errorf("cannot start the client: %v", err)
	}
	conn, err := acceptOne(s.suite.ctx, ln, s.suite.timeout, r.proc)
	if r.ln != nil {
		ln.Close()
	}
	if err != nil {
		exited := r.proc.exited()
		r.proc.kill()
		if exited && r.proc.exitCode() == ExitNotImplemented {
			return script.Skip("the client does not implement this search (exit 89)")
		}
		return fault(peerFinding("client/no-connection"), "%v\n    client: %s", err, r.proc.describe())
	}
	r.conn = conn
	logf("client connected from %s", conn.RemoteAddr())
	return nil
}

// drainWaiting accepts and closes the connections already waiting at ln,
// without waiting for more, and says how many there were.
func drainWaiting(ln net.Listener) int {
	tl := ln.(*net.TCPListener)
	n := 0
	for n < 1000 {
		tl.SetDeadline(time.Now().Add(time.Millisecond))
		c, err := tl.Accept()
		if err != nil {
			break
		}
		c.Close()
		n++
	}
	tl.SetDeadline(time.Time{})
	return n
}

// acceptOne accepts one connection within d; with a process, it stops
// waiting soon after the process exits.
func acceptOne(ctx context.Context, ln net.Listener, d time.Duration, proc *clientProc) (*net.TCPConn, error) {
	tl := ln.(*net.TCPListener)
	tl.SetDeadline(time.Now().Add(d))
	stop := context.AfterFunc(ctx, func() { tl.SetDeadline(time.Now()) })
	defer stop()
	type result struct {
		c   net.Conn
		err error
	}
	ch := make(chan result, 1)
	go func() {
		c, err := tl.Accept()
		ch <- result{c, err}
	}()
	var exited <-chan struct{}
	if proc != nil {
		exited = proc.done
	}
	for {
		select {
		case res := <-ch:
			if res.err != nil {
				if proc != nil && proc.exited() {
					return nil, errors.New("the client exited without connecting")
				}
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				return nil, fmt.Errorf("no client connected within %v", d)
			}
			return res.c.(*net.TCPConn), nil
		case <-exited:
			// A connection it made before exiting is in the queue already.
			tl.SetDeadline(time.Now().Add(100 * time.Millisecond))
			exited = nil
		}
	}
}

// acceptListen waits for the person's client on the shared listener.
func (s *clientScript) acceptListen(logf func(string, ...any), r *clientRun) error {
	su := s.suite
	if why := su.stopped(); why != "" {
		return script.Skip(why)
	}
	if su.prompt != nil {
		su.prompt(Prompt{
			ID: s.sc.ID, N: su.index[s.sc.ID] + 1, Total: len(su.index),
			Addr: su.ln.Addr().String(), Suggest: shortSearch(&r.values), Search: r.values,
		})
	}
	logf("waiting for a client at %s (at most %v)", su.ln.Addr(), su.wait)
	conn, err := acceptOne(su.ctx, su.ln, su.wait, nil)
	if err != nil {
		// Nobody searched: not the client's failure.
		why := fmt.Sprintf("no search reached %s within --wait %v: stopped waiting", su.ln.Addr(), su.wait)
		su.stop(why)
		return script.Skip(why)
	}
	r.conn = conn
	logf("client connected from %s", conn.RemoteAddr())
	return nil
}

func suggestion(r *wire.Request) string {
	return fmt.Sprintf("from %s to %s on %v at %v, flag %c", r.From.Quote(), r.To.Quote(), r.Date, r.Time, r.Flag)
}

// readRequest reads the request block within the step timeout and starts
// watching what the client sends after it.
func (s *clientScript) readRequest(logf func(string, ...any), r *clientRun) error {
	deadline := time.Now().Add(s.suite.timeout)
	r.conn.SetReadDeadline(deadline)
	var got []byte
	buf := make([]byte, 4096)
	for {
		if size, ok := wire.Announced(got); ok {
			n := wire.BlockLen(size)
			if size == wire.EndMarker {
				return fault(check.At(check.RuleSizeFFFF, 0, "request[0].size"),
					"the request's size field is 0xFFFF, the end marker, which a request cannot have\n%s", HexWindow(got, 0))
			}
			if len(got) >= n {
				r.request = got[:n:n]
				extra := got[n:]
				logf("< request %d bytes: %s", n, hexSnippet(r.request, s.suite.snip(512)))
				r.watch = startWatch(s.trace.Conn("", r.conn), extra, time.Now().Add(10*s.suite.timeout+s.suite.wait))
				s.decodeRequest(logf, r)
				return nil
			}
		}
		n, err := s.trace.Conn("", r.conn).Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			what := "closed"
			switch classify(err) {
			case EndReset:
				what = "reset the connection"
			case EndSilence:
				what = fmt.Sprintf("sent nothing more for %v", s.suite.timeout)
			}
			msg := fmt.Sprintf("no whole request: the client %s after %d bytes", what, len(got))
			if len(got) > 0 {
				msg += "\n" + HexWindow(got, len(got)-1)
			}
			if r.proc != nil {
				if r.proc.wait(s.suite.ctx, 100*time.Millisecond) && r.proc.exitCode() == ExitNotImplemented {
					return script.Skip("the client does not implement this search (exit 89)")
				}
				msg += "\n    client: " + r.proc.describe()
			}
			return fault(check.At(check.RuleRequestCut, int64(len(got)), ""), "%s", msg)
		}
	}
}

// decodeRequest settles the run's profile (detecting the suite's from this
// request if it has none yet) and decodes the request in it.
func (s *clientScript) decodeRequest(logf func(string, ...any), r *clientRun) {
	payload := r.request[2:]
	r.profile = s.suite.profileFor(payload)
	// The session checker decodes and validates it: its errors carry the
	// stream offset and field of the fault.
	sess := check.NewSession(check.Options{Profile: r.profile})
	sess.Feed(wire.Requests, r.request, 1)
	v := sess.Request()
	r.decoded, _ = sess.FirstRequest()
	r.reqErr = nil
	if v.Fault != nil {
		r.reqErr = v.Fault.Err
	} else if v.Illegal != nil {
		r.reqErr = v.Illegal.Err
	}
	if r.reqErr != nil {
		logf("request in %v: %v", r.profile, r.reqErr)
	} else {
		logf("request in %v: %s", r.profile, r.decoded.String())
	}
	if !r.given {
		if r.reqErr == nil {
			r.values = r.decoded
		} else {
			r.values = DefaultRequest()
		}
	}
}

// checkRequest applies the request command's checks.
func (s *clientScript) checkRequest(logf func(string, ...any), r *clientRun) error {
	p := r.profile
	if r.given {
		want, err := wire.Encoder{Profile: p}.AppendRequest(nil, &r.values)
		if err != nil {
			return fmt.Errorf("cannot encode the search %s: %v", r.values.String(), err)
		}
		if err := Compare(want, r.request, p, wire.Requests); err != nil {
			off := FirstDiff(want, r.request)
			return fault(check.At("request/not-exact", int64(off), Locate(r.request, p, wire.Requests, off)),
				"the request is not the %v encoding of the search the client was given, %s: %v", p, suggestion(&r.values), err)
		}
		logf("the request is the exact %v encoding of %s (%d bytes)", p, suggestion(&r.values), len(want))
		return nil
	}
	if r.reqErr != nil {
		var de *wire.DecodeError
		if errors.As(r.reqErr, &de) {
			off := int(de.Offset)
			detail := ""
			if de.Detail != "" {
				detail = " (" + de.Detail + ")"
			}
			where := Locate(r.request, p, wire.Requests, off)
			f := requestFinding(r.reqErr)
			f.Field = where
			return fault(f, "the request is not a well-formed %v request: byte %d, %s: %v%s\n%s", p, off, where, userText(de.Err), detail, HexWindow(r.request, off))
		}
		return fault(peerFinding("request/malformed"), "the request is not a well-formed %v request: %v", p, r.reqErr)
	}
	logf("the request is a well-formed %v request: %s", p, r.decoded.String())
	return sameSearch(logf, r)
}

// checkOutput waits for the client to exit and checks what it printed.
func (s *clientScript) checkOutput(logf func(string, ...any), r *clientRun, want string) error {
	if r.proc == nil {
		return errors.New("output: no client process")
	}
	if r.reply == nil {
		return errors.New("output: serve first")
	}
	waited := time.Now()
	if !r.proc.wait(s.suite.ctx, s.suite.timeout) {
		verb := "finish"
		if want == "fails" {
			verb = "give up"
		}
		if s.suite.ctx.Err() != nil {
			return s.suite.ctx.Err()
		}
		return fault(peerFinding("output/hangs"),
			"the client did not %s within %v after the reply (%s): killed\n    client: %s", verb, s.suite.timeout, r.reply.what, r.proc.describe())
	}
	code := r.proc.exitCode()
	logf("client exited %d after %v; stdout %d bytes, stderr %d bytes", code, time.Since(waited).Round(time.Millisecond), len(r.proc.stdout.Bytes()), len(r.proc.stderr.Bytes()))
	if e := r.proc.stderr.String(); e != "" {
		logf("client stderr:\n%s", indentBlock("stderr", e))
	}
	if code == ExitNotImplemented {
		return script.Skip("the client does not implement this search (exit 89)")
	}
	lines := printedLines(r.proc.stdout.Bytes())
	logf("client printed:\n%s", showLines(lines))
	rep := r.reply
	var err error
	switch want {
	case "ok":
		if !rep.complete {
			return errors.New("output -ok: the reply served was not a complete answer")
		}
		err = checkSuccess(lines, code, rep.trips, rep)
	case "fails":
		err = checkFailure(lines, code, "the reply ("+rep.what+")", rep.trips[:rep.whole])
	case "either":
		if code == 0 {
			err = checkSuccess(lines, code, rep.trips, rep)
			if err != nil {
				f, _ := findingOf(err)
				err = fault(f, "the client succeeded, but what it printed is not the trips sent (%s): %v", rep.what, err)
			}
		} else {
			err = checkFailure(lines, code, "the reply ("+rep.what+")", rep.trips[:rep.whole])
		}
	}
	if err != nil {
		f, _ := findingOf(err)
		return fault(f, "%v\n    served: %s", err, rep.what)
	}
	return nil
}

// checkCloses waits for the client to close its side.
func (s *clientScript) checkCloses(logf func(string, ...any), r *clientRun, within time.Duration) error {
	if r.watch == nil {
		return errors.New("closes: no request was read")
	}
	timer := time.NewTimer(within)
	defer timer.Stop()
	w := r.watch
	select {
	case <-w.ended:
	case <-timer.C:
	case <-s.suite.ctx.Done():
		return s.suite.ctx.Err()
	}
	extra, n := w.sent()
	if n > 0 {
		return fault(check.At("conn/client-sends-more", int64(len(r.request)), ""),
			"the client sent %d bytes after its request; it must send nothing more:\n%s", n, HexWindow(extra, 0))
	}
	select {
	case <-w.ended:
	default:
		since := "its request"
		if r.reply != nil {
			since = "tripcheck sent " + r.reply.what
		}
		return fault(peerFinding("conn/client-keeps-open"),
			"the client did not close the connection within %v after %s", within, since)
	}
	w.mu.Lock()
	how, err, at, ours := w.how, w.err, w.at, w.ourside
	w.mu.Unlock()
	if ours {
		return errors.New("closes: tripcheck closed the connection first (use serve -then keep-open)")
	}
	if how != EndClose && how != EndReset {
		return fault(peerFinding("conn/client-ending"),
			"the connection ended by %s (%v), not by the client's close", how, err)
	}
	after := ""
	if r.reply != nil && !r.reply.ended.IsZero() {
		// The client may close before tripcheck's last write returns.
		if d := at.Sub(r.reply.ended); d > 0 {
			after = fmt.Sprintf(" %v after the reply", d.Round(time.Millisecond))
		} else {
			after = " as the reply ended"
		}
	}
	logf("the client closed the connection (%s)%s and sent nothing after its request", how, after)
	return nil
}

// sweepFlags are sweep's flags.
type sweepFlags struct {
	mode     string
	n, trips int
}

func (f *sweepFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.mode, "mode", "", "")
	fs.IntVar(&f.n, "n", 4, "")
	fs.IntVar(&f.trips, "trips", 7, "")
}

func cmdSweep(ctx context.Context, st *script.State, s *clientScript, f *sweepFlags, args []string) error {
	mode, n, ntrips := f.mode, f.n, f.trips
	if len(args) != 0 {
		return script.Usagef("sweep takes no arguments")
	}
	var specs []serveSpec
	var want []string
	switch mode {
	case "split":
		p := s.suite.fixedProfile()
		if p == 0 {
			p = wire.Qt4
		}
		// One cut inside each block per run, a different offset each time,
		// until every offset inside a trip block has been a cut; the end
		// marker is cut between its two bytes every run.
		tripLen := 2 + p.TripSize(&wire.Trip{TrainType: wire.Str("InterCity")})
		offsets := tripLen - 1
		runs := (offsets + ntrips - 1) / max(ntrips, 1)
		for run := 0; run < runs; run++ {
			var at []int
			for b := 0; b < ntrips; b++ {
				at = append(at, b*tripLen+1+(run*ntrips+b)%offsets)
			}
			at = append(at, ntrips*tripLen+1)
			specs = append(specs, serveSpec{trips: ntrips, at: at, then: "close"})
			want = append(want, "ok")
		}
	case "random":
		for i := 0; i < n; i++ {
			sh := shape.Shape{Random: true, Seed: s.seed + int64(i), RandomMin: 1, RandomMax: 7}
			specs = append(specs, serveSpec{trips: ntrips, shape: sh.String(), then: "close"})
			want = append(want, "ok")
		}
	case "truncate":
		for _, pt := range []string{"trip[0].size+1", "trip[1].date", "trip[2].departure", "trip[3].trainType", "end+1"} {
			specs = append(specs, serveSpec{trips: max(ntrips, 4), truncate: pt, then: "close", variant: "whole"})
			want = append(want, "fails")
		}
	default:
		return script.Usagef("-mode %q: want split, random or truncate", mode)
	}
	if s.suite.listen() {
		return script.Skip(fmt.Sprintf("needs --exec: %d runs of the client, each with its output checked", len(specs)))
	}
	// The runs are independent (each its own client process and
	// listener): a few at once, so that a sweep takes about as long as
	// its longest runs rather than their sum. Results are read in order.
	errs := make([]error, len(specs))
	logs := make([]strings.Builder, len(specs))
	whats := make([]string, len(specs))
	var wg sync.WaitGroup
	at := sweepParallel
	if s.suite.ln != nil {
		// Exec mode at a fixed address: one listener, one client at a
		// time, or the runs would take each other's connections.
		at = 1
	}
	sem := make(chan struct{}, at)
	for i, spec := range specs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			var mu sync.Mutex
			logf := func(format string, args ...any) {
				mu.Lock()
				defer mu.Unlock()
				fmt.Fprintf(&logs[i], "    "+format+"\n", args...)
			}
			errs[i] = func() error {
				r, err := s.search(logf, DefaultRequest())
				if err != nil {
					return err
				}
				defer r.close()
				if err := s.serve(logf, r, spec); err != nil {
					return err
				}
				whats[i] = r.reply.what
				return s.checkOutput(logf, r, want[i])
			}()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			st.Logf("run %d of %d:\n%s", i+1, len(specs), strings.TrimRight(logs[i].String(), "\n"))
			var se *script.SkipError
			if errors.As(err, &se) {
				return s.fatal(err)
			}
			if f, ok := findingOf(err); ok {
				return fault(f, "run %d of %d: %v", i+1, len(specs), err)
			}
			return fmt.Errorf("run %d of %d: %v", i+1, len(specs), err)
		}
		st.Logf("run %d of %d: %s: as required", i+1, len(specs), whats[i])
	}
	return nil
}

// sweepParallel is how many runs of a sweep run at once.
const sweepParallel = 4
