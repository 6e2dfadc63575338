package conformance

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

type sessionKey struct{}

// session is the state of one server-suite script: its settings and the
// connections it has open, by name.
type session struct {
	target  string
	profile wire.Profile
	timeout time.Duration
	seed    int64
	variant string
	golden  GoldenFunc
	t       testscript.T // the script's, to skip from a command
	mu      sync.Mutex
	peers   map[string]*peer
	trace   *Trace // the wire trace: wrap a conn with trace.Conn where it is used
}

// peer is one connection of a script to the server under test.
type peer struct {
	name    string
	conn    *net.TCPConn
	profile wire.Profile  // the profile of the last request sent
	req     *wire.Request // the last request sent whole, for reply checks
	sent    int
	// unread: the script sent bytes after the request, which a server
	// that reads one request leaves unread; its close may then be a reset.
	unread bool
}

func (s *session) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.peers {
		p.conn.Close()
	}
}

func sess(ts *testscript.TestScript) *session {
	return ts.Value(sessionKey{}).(*session)
}

// dial opens a connection to the target within the step timeout.
func (s *session) dial(ctx context.Context) (*net.TCPConn, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", s.target)
	if err != nil {
		return nil, fmt.Errorf("cannot connect to %s: %v", s.target, err)
	}
	tc := c.(*net.TCPConn)
	tc.SetNoDelay(true)
	return tc, nil
}

// get returns the named peer, dialling it if asked to and not yet open.
func (s *session) get(ts *testscript.TestScript, name string, dial bool) *peer {
	s.mu.Lock()
	p := s.peers[name]
	s.mu.Unlock()
	if p != nil {
		return p
	}
	if !dial {
		fatalf(ts, "no connection %q: dial or send first", name)
	}
	c, err := s.dial(context.Background())
	if err != nil {
		fail(ts, connectFinding, "%v", err)
	}
	ts.Logf("dialled %s: %s -> %s", name, c.LocalAddr(), c.RemoteAddr())
	p = &peer{name: name, conn: c, profile: s.profile}
	s.mu.Lock()
	s.peers[name] = p
	s.mu.Unlock()
	return p
}

// ServerCommands documents the commands scenarios of the server suite can
// use.
func ServerCommands() []Command { return commandDocs(serverCommandList()) }

func serverCommands() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return commandMap(serverCommandList(), sess)
}

func str(fs *flag.FlagSet, name string) string { return fs.Lookup(name).Value.String() }
func boolFlag(fs *flag.FlagSet, name string) bool {
	return fs.Lookup(name).Value.(flag.Getter).Get().(bool)
}
func intFlag(fs *flag.FlagSet, name string) int {
	return fs.Lookup(name).Value.(flag.Getter).Get().(int)
}
func durFlag(fs *flag.FlagSet, name string, def time.Duration) time.Duration {
	d := fs.Lookup(name).Value.(flag.Getter).Get().(time.Duration)
	if d <= 0 {
		return def
	}
	return d
}

// buildRequest makes the request of a command's field arguments and its
// -profile flag, and encodes it, illegal or not.
func (s *session) buildRequest(ts *testscript.TestScript, fs *flag.FlagSet, args []string) (wire.Request, wire.Profile, []byte) {
	r := DefaultRequest()
	if err := ParseRequestFields(&r, args); err != nil {
		fatalf(ts, "%v\n%s", err, fieldsHelp)
	}
	p := s.profile
	if f := fs.Lookup("profile"); f != nil && f.Value.String() != "" {
		var err error
		if p, err = wire.ParseProfile(f.Value.String()); err != nil {
			fatalf(ts, "%v", err)
		}
	}
	e := wire.Encoder{Profile: p, AllowIllegalWrites: true}
	if f := fs.Lookup("size-delta"); f != nil {
		e.SizeDelta = intFlag(fs, "size-delta")
	}
	if f := fs.Lookup("trailing"); f != nil && f.Value.String() != "" {
		b, err := hex.DecodeString(f.Value.String())
		if err != nil {
			fatalf(ts, "-trailing: %v", err)
		}
		e.Trailing = b
	}
	b, err := e.AppendRequest(nil, &r)
	if err != nil {
		fatalf(ts, "cannot encode %v: %v", r.String(), err)
	}
	return r, p, b
}

// variantShape is how a variant sends a request: whole, fragmented into
// seeded random pieces of 1 to 7 bytes, or coalesced with a second copy of
// itself in the same write.
func (s *session) variantShape(ts *testscript.TestScript, v string) (sh shape.Shape, repeat int) {
	switch v {
	case "", "whole":
		return shape.Shape{}, 1
	case "fragmented":
		ts.Logf("fragmented with seed %d", s.seed)
		return shape.Shape{Random: true, Seed: s.seed, RandomMin: 1, RandomMax: 7}, 1
	case "coalesced":
		return shape.Shape{}, 2
	}
	fatalf(ts, "unknown variant %q (want whole, fragmented or coalesced)", v)
	return
}

// write sends b on p in shape sh, logging it.
func (s *session) write(ts *testscript.TestScript, p *peer, b []byte, sh shape.Shape, what string) {
	w, err := shape.NewWriter(s.trace.Conn(p.name, p.conn), sh, shape.WithWriteTimeout(s.timeout))
	if err != nil {
		fatalf(ts, "shape %v: %v", sh, err)
	}
	pieces, _ := sh.Pieces(len(b))
	ts.Logf("> %s %d bytes at %d as %v %v: %x (%s)", p.name, len(b), p.sent, sh, pieces, b, what)
	_, err = w.Write(b)
	if err == nil {
		err = w.Flush()
	}
	if err != nil && !errors.Is(err, shape.ErrTruncated) {
		fail(ts, writeFinding(int64(p.sent)), "write to the server failed: %v", err)
	}
	p.sent += len(b)
	if sh.Truncate {
		if err := w.Close(); err != nil {
			ts.Logf("ending the stream: %v", err)
		}
	}
}

func serverCommandList() []command[*session] {
	return append([]command[*session]{
		{
			name:  "dial",
			usage: "[-c NAME]",
			doc:   "dial opens connection NAME (default c) to $TARGET within the step timeout.",
			flags: func(fs *flag.FlagSet) { fs.String("c", "c", "connection name") },
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				if len(args) != 0 {
					fatalf(ts, "usage: dial [-c NAME]")
				}
				s.mu.Lock()
				_, open := s.peers[str(fs, "c")]
				s.mu.Unlock()
				if open {
					fatalf(ts, "connection %q is already open", str(fs, "c"))
				}
				s.get(ts, str(fs, "c"), true)
			},
		},
		{
			name:  "send",
			usage: "[-c NAME] [-variant V | -shape SHAPE] [-profile P] [-size-delta N] [-trailing HEX] [-after HEX] [-prefix N] [-repeat N] [field=value ...]",
			doc: "send writes a request on connection NAME (dialled if not open): the default request changed by the fields,\n" +
				"encoded in $PROFILE or -profile, with -size-delta added to its size and -trailing bytes inside its block.\n" +
				"-variant is whole, fragmented (seeded random pieces) or coalesced (the request twice in one write);\n" +
				"-shape is any shape of package shape (bytes-1, split-at-2, random-seed-7, ...); -prefix sends only the\n" +
				"first N bytes; -repeat sends the request N times in one write; -after adds bytes after the block in the\n" +
				"same write.\n" + fieldsHelp,
			flags: func(fs *flag.FlagSet) {
				fs.String("c", "c", "")
				fs.String("variant", "", "")
				fs.String("shape", "", "")
				fs.String("profile", "", "")
				fs.Int("size-delta", 0, "")
				fs.String("trailing", "", "")
				fs.Int("prefix", -1, "")
				fs.Int("repeat", 1, "")
				fs.String("after", "", "")
			},
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				r, prof, b := s.buildRequest(ts, fs, args)
				p := s.get(ts, str(fs, "c"), true)
				sh, repeat := s.variantShape(ts, str(fs, "variant"))
				if v := str(fs, "shape"); v != "" {
					var err error
					if sh, err = shape.Parse(v); err != nil {
						fatalf(ts, "%v", err)
					}
				}
				if n := intFlag(fs, "repeat"); n > 1 {
					repeat = n
				}
				one := b
				for i := 1; i < repeat; i++ {
					b = append(b, one...)
				}
				what := r.String()
				if v := str(fs, "after"); v != "" {
					after, err := hex.DecodeString(v)
					if err != nil {
						fatalf(ts, "-after: %v", err)
					}
					b = append(b, after...)
					what += fmt.Sprintf(" and %d more bytes", len(after))
					p.unread = true
				}
				if repeat > 1 {
					what = fmt.Sprintf("%d times %s", repeat, what)
					p.unread = true
				}
				if n := intFlag(fs, "prefix"); n >= 0 {
					if n > len(b) {
						fatalf(ts, "-prefix %d: the request has only %d bytes", n, len(b))
					}
					b = b[:n]
					what = fmt.Sprintf("the first %d of %d bytes of %s", n, len(one), r.String())
				} else {
					p.req = &r
				}
				p.profile = prof
				s.write(ts, p, b, sh, what)
			},
		},
		{
			name:  "sendhex",
			usage: "[-c NAME] [-shape SHAPE] HEX...",
			doc:   "sendhex writes raw bytes, given in hex (spaces allowed between arguments), on connection NAME.",
			flags: func(fs *flag.FlagSet) {
				fs.String("c", "c", "")
				fs.String("shape", "", "")
			},
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				b, err := hex.DecodeString(strings.Join(args, ""))
				if err != nil || len(args) == 0 {
					fatalf(ts, "usage: sendhex [-c NAME] [-shape SHAPE] HEX...: %v", err)
				}
				sh := shape.Shape{}
				if v := str(fs, "shape"); v != "" {
					if sh, err = shape.Parse(v); err != nil {
						fatalf(ts, "%v", err)
					}
				}
				p := s.get(ts, str(fs, "c"), true)
				s.write(ts, p, b, sh, "raw bytes")
			},
		},
		{
			name:  "halfclose",
			usage: "[-c NAME]",
			doc:   "halfclose ends the client's side of connection NAME with a FIN and keeps reading.",
			flags: func(fs *flag.FlagSet) { fs.String("c", "c", "") },
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				p := s.get(ts, str(fs, "c"), false)
				if err := s.trace.Conn(p.name, p.conn).CloseWrite(); err != nil {
					fatalf(ts, "half-close: %v", err)
				}
				ts.Logf("> %s FIN", p.name)
			},
		},
		{
			name:  "close",
			usage: "[-c NAME] [-reset]",
			doc:   "close closes connection NAME, with an RST if -reset.",
			flags: func(fs *flag.FlagSet) {
				fs.String("c", "c", "")
				fs.Bool("reset", false, "")
			},
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				p := s.get(ts, str(fs, "c"), false)
				if boolFlag(fs, "reset") {
					shape.Reset(s.trace.Conn(p.name, p.conn))
					ts.Logf("> %s RST", p.name)
				} else {
					s.trace.Conn(p.name, p.conn).Close()
					ts.Logf("> %s close", p.name)
				}
				s.mu.Lock()
				delete(s.peers, p.name)
				s.mu.Unlock()
			},
		},
		{
			name:  "reply",
			usage: "[-c NAME] [-trips N] [-closes] [-golden] [-consistent] [-no-null] [-linger D]",
			doc: "reply reads the reply on connection NAME and checks its framing: every block's size equals its fields\n" +
				"in the request's profile, the field encodings are valid, the end marker comes, and nothing follows it\n" +
				"(watched for -linger, default 100ms, after the end marker). -closes also requires the server to close\n" +
				"within the step timeout after the end marker (a reset counts when the script left bytes unread).\n" +
				"-trips N requires N trips; -golden compares the bytes with the reference reply (--golden);\n" +
				"-consistent requires trip dates on the request's date or the day after; -no-null forbids null\n" +
				"dates and times in trips.",
			flags: func(fs *flag.FlagSet) {
				fs.String("c", "c", "")
				fs.Int("trips", -1, "")
				fs.Bool("closes", false, "")
				fs.Bool("golden", false, "")
				fs.Bool("consistent", false, "")
				fs.Bool("no-null", false, "")
				fs.Duration("linger", 0, "")
			},
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				p := s.get(ts, str(fs, "c"), false)
				linger := durFlag(fs, "linger", 100*time.Millisecond)
				if boolFlag(fs, "closes") {
					linger = s.timeout
				}
				obs := ObserveReply(s.trace.Conn(p.name, p.conn), p.profile, time.Now().Add(s.timeout), linger, ts.Logf)
				ts.Logf("reply: %s", obs.Summary())
				checkReply(ts, s, p, obs, fs)
			},
		},
		{
			name:  "noreply",
			usage: "[-c NAME] [-within D] [-accept close,reset,silence]",
			doc: "noreply requires that no byte comes on connection NAME, and that the stream ends in one of the\n" +
				"accepted ways within D (default the step timeout): close (FIN), reset (RST), or silence until D.\n" +
				"A timeout is silence, never a close.",
			flags: func(fs *flag.FlagSet) {
				fs.String("c", "c", "")
				fs.Duration("within", 0, "")
				fs.String("accept", "close,reset,silence", "")
			},
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				p := s.get(ts, str(fs, "c"), false)
				within := durFlag(fs, "within", s.timeout)
				how, got, err := watchSilence(s.trace.Conn(p.name, p.conn), time.Now().Add(within))
				if len(got) > 0 {
					fail(ts, Finding{Check: "reply/unwanted", Summary: "the server replies where no reply is allowed", Offset: 0},
						"the server sent %d bytes where it %s not reply:\n%s", len(got), must(ts), HexWindow(got, 0))
				}
				ts.Logf("no reply; the stream ended by %s (%v)", how, err)
				for _, a := range strings.Split(str(fs, "accept"), ",") {
					if Ending(a) == how {
						return
					}
				}
				fail(ts, peerFinding("conn/ending-"+string(how), "the connection ends by "+string(how)+" where that is not allowed"),
					"no reply, but the stream ended by %s within %v; want %s", how, within, str(fs, "accept"))
			},
		},
		{
			name:  "drain",
			usage: "[-c NAME] [-within D]",
			doc:   "drain reads and drops whatever comes on connection NAME until the stream ends or D passes (default 500ms), then closes it: it waits for the server to act on what was sent.",
			flags: func(fs *flag.FlagSet) {
				fs.String("c", "c", "")
				fs.Duration("within", 0, "")
			},
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				p := s.get(ts, str(fs, "c"), false)
				how, got, _ := watchSilence(s.trace.Conn(p.name, p.conn), time.Now().Add(durFlag(fs, "within", 500*time.Millisecond)))
				ts.Logf("drained %d bytes; the stream ended by %s", len(got), how)
				s.trace.Conn(p.name, p.conn).Close()
				s.mu.Lock()
				delete(s.peers, p.name)
				s.mu.Unlock()
			},
		},
		{
			name:  "alive",
			usage: "[-within D]",
			doc:   "alive probes that the server still serves: a new connection, the default request, a whole reply with its end marker within D.",
			flags: func(fs *flag.FlagSet) { fs.Duration("within", 0, "") },
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				within := durFlag(fs, "within", s.timeout)
				r := DefaultRequest()
				start := time.Now()
				obs, err := exchange(s.trace.context(context.Background()), s.target, s.profile, &r, within)
				if err != nil {
					fail(ts, exchangeFinding(obs, err, "conn/not-serving", "the server no longer serves"), "the server no longer serves: %s", userText(err))
				}
				ts.Logf("alive: %s in %v", obs.Summary(), time.Since(start).Round(time.Millisecond))
			},
		},
		{
			name:  "clients",
			usage: "-n N [field=value ...]",
			doc:   "clients makes N whole exchanges at once, each on its own connection; every one must get a valid reply with its end marker within the step timeout.",
			flags: func(fs *flag.FlagSet) { fs.Int("n", 10, "") },
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				r, prof, _ := s.buildRequest(ts, fs, args)
				n := intFlag(fs, "n")
				errs := make([]error, n)
				finds := make([]Finding, n)
				var wg sync.WaitGroup
				for i := 0; i < n; i++ {
					wg.Add(1)
					go func(i int) {
						defer wg.Done()
						obs, err := exchange(context.Background(), s.target, prof, &r, s.timeout)
						if err == nil {
							err = replyFault(obs)
						}
						errs[i] = err
						if err != nil {
							finds[i] = exchangeFinding(obs, err, "conn/concurrent", "the server does not serve clients at once")
						}
					}(i)
				}
				wg.Wait()
				failed := 0
				var first []string
				var found Finding
				for i, err := range errs {
					if err != nil {
						if failed == 0 {
							found = finds[i]
						}
						failed++
						if len(first) < 3 {
							first = append(first, fmt.Sprintf("client %d: %s", i, userText(err)))
						}
					}
				}
				if failed > 0 {
					fail(ts, found, "%d of %d clients were not served:\n%s", failed, n, strings.Join(first, "\n"))
				}
				ts.Logf("%d clients served", n)
			},
		},
		{
			name:  "latency",
			usage: "-max D [field=value ...]",
			doc:   "latency makes one whole exchange, which must end with the end marker within D.",
			flags: func(fs *flag.FlagSet) { fs.Duration("max", time.Second, "") },
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				r, prof, _ := s.buildRequest(ts, fs, args)
				max := durFlag(fs, "max", time.Second)
				start := time.Now()
				obs, err := exchange(context.Background(), s.target, prof, &r, max)
				took := time.Since(start)
				if err != nil {
					fail(ts, exchangeFinding(obs, err, "reply/slow", "the reply is slower than allowed"), "no whole reply within %v: %s", max, userText(err))
				}
				ts.Logf("reply with end marker in %v (%s)", took.Round(time.Millisecond), obs.Summary())
			},
		},
		{
			name:  "each-offset",
			usage: "-mode split|close|halfclose [-from N] [field=value ...]",
			doc: "each-offset runs one connection per offset k of the request (1 to len-1, or from -from):\n" +
				"split: the request in two writes cut at k, and a valid reply must come;\n" +
				"close: the first k bytes then a close, after which the server must still serve (alive);\n" +
				"halfclose: the first k bytes then a FIN, and no reply may come (close, reset or 300ms of silence).",
			flags: func(fs *flag.FlagSet) {
				fs.String("mode", "split", "")
				fs.Int("from", 1, "")
			},
			run: runEachOffset,
		},
		{
			name:  "random-splits",
			usage: "-n N [field=value ...]",
			doc:   "random-splits makes N exchanges, the request cut into random pieces of 1 to 7 bytes from seeds $SEED, $SEED+1, ...; every reply must be valid.",
			flags: func(fs *flag.FlagSet) { fs.Int("n", 10, "") },
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				_, prof, b := s.buildRequest(ts, fs, args)
				n := intFlag(fs, "n")
				err := forEach(n, 8, func(i int) error {
					sh := shape.Shape{Random: true, Seed: s.seed + int64(i), RandomMin: 1, RandomMax: 7}
					return s.shapedExchange(prof, b, sh)
				})
				if err != nil {
					failErr(ts, err)
				}
				ts.Logf("%d random splits from seed %d answered", n, s.seed)
			},
		},
		{
			name:  "detect-profile",
			usage: "",
			doc:   "detect-profile asks the book's example in each profile and fails if the server reads a request in one profile and answers in the other, or if no reply decodes in either profile.",
			run: func(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
				det := DetectServerProfile(context.Background(), s.target, s.timeout)
				ts.Logf("profile: %v (%s)", det.Profile, det.Note)
				if !det.Decoded {
					f := Finding{Check: "profile/no-decodable-reply", Summary: "no reply decodes in either profile", Offset: -1}
					if det.Fault != nil {
						f = *det.Fault // the reply's own fault is the cause
					}
					fail(ts, f,
						"no reply to the book's example decodes in qt4 or qt5, so the profile the server speaks cannot be told: %s", det.Note)
				}
				if det.Inconsistent {
					fail(ts, peerFinding("profile/inconsistent", "the server reads a request in one profile and answers in the other"), "%s", det.Note)
				}
			},
		},
	}, moreServerCommands()...)
}

// watchSilence reads until the deadline and says how the stream ended and
// what bytes came.
func watchSilence(c net.Conn, deadline time.Time) (Ending, []byte, error) {
	var got []byte
	buf := make([]byte, 4096)
	for {
		c.SetReadDeadline(deadline)
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			return classify(err), got, err
		}
		if len(got) > 1<<16 {
			return EndError, got, errors.New("too many bytes")
		}
	}
}

// forEach runs f(0..n-1) with at most par at once and returns the errors of
// the first few that failed, joined.
func forEach(n, par int, f func(i int) error) error {
	errs := make([]error, n)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer func() { <-sem; wg.Done() }()
			errs[i] = f(i)
		}(i)
	}
	wg.Wait()
	var failed []error
	count := 0
	for _, err := range errs {
		if err != nil {
			count++
			if len(failed) < 4 {
				failed = append(failed, err)
			}
		}
	}
	if count == 0 {
		return nil
	}
	msg := fmt.Sprintf("%d of %d failed: %v", count, n, errors.Join(failed...))
	if f, ok := findingOf(failed[0]); ok {
		return fault(f, "%s", msg)
	}
	return errors.New(msg)
}

// shapedExchange sends b in shape sh on a new connection and requires a
// valid reply with its end marker.
func (s *session) shapedExchange(p wire.Profile, b []byte, sh shape.Shape) error {
	c, err := s.dial(context.Background())
	if err != nil {
		return fault(connectFinding, "%v", err)
	}
	defer c.Close()
	w, err := shape.NewWriter(s.trace.Conn("", c), sh, shape.WithWriteTimeout(s.timeout))
	if err != nil {
		return err
	}
	if _, err := w.Write(b); err != nil {
		// The server closed before the request was whole: what it sent
		// before (nothing, or a reply without its end marker) is the
		// fault, whichever of its close and the write came first.
		obs := observe(s.trace.Conn("", c), p, time.Now().Add(s.timeout), 0, nil, false)
		if ferr := replyFault(obs); ferr != nil {
			f, _ := findingOf(ferr)
			return fault(f, "%v: write: %v; %v", sh, err, ferr)
		}
		return fault(writeFinding(0), "%v: write: %v", sh, err)
	}
	obs := observe(s.trace.Conn("", c), p, time.Now().Add(s.timeout), 0, nil, false)
	if err := replyFault(obs); err != nil {
		f, _ := findingOf(err)
		return fault(f, "sent as %v: %v", sh, err)
	}
	return nil
}

func runEachOffset(ts *testscript.TestScript, s *session, fs *flag.FlagSet, args []string) {
	_, prof, b := s.buildRequest(ts, fs, args)
	mode := str(fs, "mode")
	from := intFlag(fs, "from")
	if from < 1 {
		from = 1
	}
	n := len(b) - from
	if n <= 0 {
		fatalf(ts, "-from %d: the request has %d bytes", from, len(b))
	}
	var err error
	switch mode {
	case "split":
		err = forEach(n, 8, func(i int) error {
			return s.shapedExchange(prof, b, shape.Shape{At: []int{from + i}})
		})
	case "close", "halfclose":
		err = forEach(n, 8, func(i int) error {
			k := from + i
			c, err := s.dial(context.Background())
			if err != nil {
				return fault(connectFinding, "%v", err)
			}
			defer c.Close()
			c.SetWriteDeadline(time.Now().Add(s.timeout))
			if _, err := s.trace.Conn("", c).Write(b[:k]); err != nil {
				// Only a server gone stops a short write.
				return fault(connectFinding, "offset %d: write: %v", k, err)
			}
			if mode == "close" {
				return s.trace.Conn("", c).Close()
			}
			s.trace.Conn("", c).CloseWrite()
			how, got, _ := watchSilence(s.trace.Conn("", c), time.Now().Add(300*time.Millisecond))
			if len(got) > 0 {
				return fault(Finding{Check: "reply/to-cut-request", Summary: "the server answers a request cut short by a FIN", Offset: 0},
					"the first %d of %d bytes, then a FIN: the server replied %d bytes:\n%s", k, len(b), len(got), HexWindow(got, 0))
			}
			_ = how
			return nil
		})
		if err == nil && mode == "close" {
			// Probe twice: at once, and after a moment in which a server
			// that crashes on the closes has done so.
			r := DefaultRequest()
			for i, wait := range []time.Duration{0, 100 * time.Millisecond} {
				time.Sleep(wait)
				if obs, aerr := exchange(s.trace.context(context.Background()), s.target, s.profile, &r, s.timeout); aerr != nil {
					err = fault(exchangeFinding(obs, aerr, "conn/not-serving", "the server no longer serves"),
						"after %d truncated requests the server no longer serves (probe %d): %s", n, i+1, userText(aerr))
					break
				}
			}
		}
	default:
		fatalf(ts, "each-offset: -mode %q: want split, close or halfclose", mode)
	}
	if err != nil {
		failErr(ts, err)
	}
	ts.Logf("%d offsets (%s) of a %d-byte request: all as required", n, mode, len(b))
}

// checkReply applies reply's checks to an observation.
func checkReply(ts *testscript.TestScript, s *session, p *peer, obs *Observation, fs *flag.FlagSet) {
	if err := replyFault(obs); err != nil {
		failErr(ts, err)
	}
	if err := afterEndFault(obs); err != nil {
		failErr(ts, err)
	}
	if n := intFlag(fs, "trips"); n >= 0 && len(obs.Trips) != n {
		fail(ts, check.At("reply/trip-count", int64(obs.EndOffset), "end"),
			"%d trips, want %d", len(obs.Trips), n)
	}
	if boolFlag(fs, "closes") {
		switch {
		case obs.How == EndClose:
		case obs.How == EndReset && p.unread:
			ts.Logf("reset after the end marker: the server closed with the script's extra bytes unread")
		case obs.How == EndReset:
			fail(ts, check.At(check.RuleResetAfterReply, noPlace, ""),
				"the server reset the connection after the end marker instead of closing it")
		default:
			fail(ts, check.At(check.RuleOpenAfterReply, noPlace, ""),
				"the server did not close the connection within %v of the end marker (%s)", s.timeout, obs.How)
		}
	}
	req := p.req
	if boolFlag(fs, "consistent") || boolFlag(fs, "golden") {
		if req == nil {
			fatalf(ts, "no whole request was sent on %s", p.name)
		}
	}
	if boolFlag(fs, "no-null") {
		for i, t := range obs.Trips {
			if t.Date.IsNull() || t.Departure.IsNull() {
				fail(ts, check.At("reply/null-trip", noPlace, fmt.Sprintf("trip[%d]", i)),
					"trip[%d] has a null date or time: %s", i, t.String())
			}
		}
	}
	if boolFlag(fs, "consistent") && !req.Date.IsNull() {
		for i, t := range obs.Trips {
			if d := t.Date.JD() - req.Date.JD(); t.Date.IsNull() || d < 0 || d > 1 {
				fail(ts, check.At("reply/wrong-date", noPlace, fmt.Sprintf("trip[%d].date", i)),
					"trip[%d] departs on %v, not on the requested %v or the day after", i, t.Date, req.Date)
			}
		}
	}
	if boolFlag(fs, "golden") {
		if s.golden == nil {
			ts.Logf("no golden reference: run with --golden book")
			s.t.Skip("no golden reference: run with --golden book")
		}
		want, err := s.golden(p.profile, req)
		if err != nil {
			fatalf(ts, "golden reference: %v", err)
		}
		if err := Compare(want, obs.Bytes, p.profile, wire.Replies); err != nil {
			s.trace.Conn(p.name, p.conn).Diverge(err)
			fail(ts, check.At("reply/not-golden", int64(FirstDiff(want, obs.Bytes)), Locate(obs.Bytes, p.profile, wire.Replies, FirstDiff(want, obs.Bytes))),
				"the reply is not the reference's: %v", err)
		}
		ts.Logf("reply equals the reference's %d bytes", len(want))
	}
}
