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

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/internal/script"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// serverScript is the state of one server-suite script: its settings and the
// connections it has open, by name.
type serverScript struct {
	target  string
	profile wire.Profile
	timeout time.Duration
	seed    int64
	variant string
	level   Level // the scenario's: a SHOULD failure says "should"
	golden  GoldenFunc
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

func (s *serverScript) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.peers {
		p.conn.Close()
	}
}

// dial opens a connection to the target within the step timeout.
func (s *serverScript) dial(ctx context.Context) (*net.TCPConn, error) {
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
func (s *serverScript) get(ctx context.Context, st *script.State, name string, dial bool) (*peer, error) {
	s.mu.Lock()
	p := s.peers[name]
	s.mu.Unlock()
	if p != nil {
		return p, nil
	}
	if !dial {
		return nil, script.Usagef("no connection %q: dial or send first", name)
	}
	c, err := s.dial(ctx)
	if err != nil {
		return nil, fault(connectFinding, "%v", err)
	}
	st.Logf("dialled %s: %s -> %s", name, c.LocalAddr(), c.RemoteAddr())
	p = &peer{name: name, conn: c, profile: s.profile}
	s.mu.Lock()
	s.peers[name] = p
	s.mu.Unlock()
	return p, nil
}

// ServerCommands documents the commands scenarios of the server suite can
// use.
func ServerCommands() []Command { return commandDocs(serverCommandList()) }

// orDefault is d, or def where d is not set (not positive).
func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// encodeFlags say how a request is encoded: in which profile ("" is the
// session's), with how much added to its size, with which bytes inside its
// block after its fields.
type encodeFlags struct {
	profile   string
	sizeDelta int
	trailing  string
}

func (f *encodeFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.profile, "profile", "", "")
	fs.IntVar(&f.sizeDelta, "size-delta", 0, "")
	fs.StringVar(&f.trailing, "trailing", "", "")
}

// buildRequest makes the request of a command's field arguments and
// encodes it as e says, illegal or not.
func (s *serverScript) buildRequest(args []string, e encodeFlags) (wire.Request, wire.Profile, []byte, error) {
	r := DefaultRequest()
	if err := ParseRequestFields(&r, args); err != nil {
		return r, 0, nil, script.Usagef("%v\n%s", err, fieldsHelp)
	}
	p := s.profile
	if e.profile != "" {
		var err error
		if p, err = wire.ParseProfile(e.profile); err != nil {
			return r, 0, nil, script.Usagef("%v", err)
		}
	}
	enc := wire.Encoder{Profile: p, AllowIllegalWrites: true, SizeDelta: e.sizeDelta}
	if e.trailing != "" {
		b, err := hex.DecodeString(e.trailing)
		if err != nil {
			return r, 0, nil, script.Usagef("-trailing: %v", err)
		}
		enc.Trailing = b
	}
	b, err := enc.AppendRequest(nil, &r)
	if err != nil {
		return r, 0, nil, fmt.Errorf("cannot encode %v: %v", r.String(), err)
	}
	return r, p, b, nil
}

// variantShape is how a variant sends a request: whole, fragmented into
// seeded random pieces of 1 to 7 bytes, or coalesced with a second copy of
// itself in the same write.
func (s *serverScript) variantShape(st *script.State, v string) (sh shape.Shape, repeat int, err error) {
	switch v {
	case "", "whole":
		return shape.Shape{}, 1, nil
	case "fragmented":
		st.Logf("fragmented with seed %d", s.seed)
		return shape.Shape{Random: true, Seed: s.seed, RandomMin: 1, RandomMax: 7}, 1, nil
	case "coalesced":
		return shape.Shape{}, 2, nil
	}
	return shape.Shape{}, 0, script.Usagef("unknown variant %q (want whole, fragmented or coalesced)", v)
}

// sendShape is the shape of a send: the variant's, or -shape if given.
func (s *serverScript) sendShape(st *script.State, variant, sh string) (shape.Shape, int, error) {
	shp, repeat, err := s.variantShape(st, variant)
	if err != nil || sh == "" {
		return shp, repeat, err
	}
	if shp, err = shape.Parse(sh); err != nil {
		return shp, 0, script.Usagef("%v", err)
	}
	return shp, repeat, nil
}

// write sends b on p in shape sh, logging it.
func (s *serverScript) write(st *script.State, p *peer, b []byte, sh shape.Shape, what string) error {
	w, err := shape.NewWriter(s.trace.Conn(p.name, p.conn), sh, shape.WithWriteTimeout(s.timeout))
	if err != nil {
		return script.Usagef("shape %v: %v", sh, err)
	}
	pieces, _ := sh.Pieces(len(b))
	st.Logf("> %s %d bytes at %d as %v %v: %x (%s)", p.name, len(b), p.sent, sh, pieces, b, what)
	_, err = w.Write(b)
	if err == nil {
		err = w.Flush()
	}
	if err != nil && !errors.Is(err, shape.ErrTruncated) {
		return fault(writeFinding(int64(p.sent)), "write to the server failed: %v", err)
	}
	p.sent += len(b)
	if sh.Truncate {
		if err := w.Close(); err != nil {
			st.Logf("ending the stream: %v", err)
		}
	}
	return nil
}

// connFlags name the connection a command acts on (-c, default c).
type connFlags struct{ c string }

func (f *connFlags) define(fs *flag.FlagSet) { fs.StringVar(&f.c, "c", "c", "connection name") }

// withinFlags bound a wait (-within; 0 is the command's default).
type withinFlags struct{ within time.Duration }

func (f *withinFlags) define(fs *flag.FlagSet) { fs.DurationVar(&f.within, "within", 0, "") }

// countFlags say how many (-n) of something a command makes.
type countFlags struct{ n int }

func (f *countFlags) define(fs *flag.FlagSet) { fs.IntVar(&f.n, "n", 10, "") }

func serverCommandList() []command[*serverScript] {
	return append([]command[*serverScript]{
		{
			name:  "dial",
			usage: "[-c NAME]",
			doc:   "dial opens connection NAME (default c) to $TARGET within the step timeout.",
			run:   flagged(cmdDial),
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
			run: flagged(cmdSend),
		},
		{
			name:  "sendhex",
			usage: "[-c NAME] [-shape SHAPE] HEX...",
			doc:   "sendhex writes raw bytes, given in hex (spaces allowed between arguments), on connection NAME.",
			run:   flagged(cmdSendHex),
		},
		{
			name:  "halfclose",
			usage: "[-c NAME]",
			doc:   "halfclose ends the client's side of connection NAME with a FIN and keeps reading.",
			run:   flagged(cmdHalfClose),
		},
		{
			name:  "close",
			usage: "[-c NAME] [-reset]",
			doc:   "close closes connection NAME, with an RST if -reset.",
			run:   flagged(cmdClose),
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
			run: flagged(cmdReply),
		},
		{
			name:  "noreply",
			usage: "[-c NAME] [-within D] [-accept close,reset,silence]",
			doc: "noreply requires that no byte comes on connection NAME, and that the stream ends in one of the\n" +
				"accepted ways within D (default the step timeout): close (FIN), reset (RST), or silence until D.\n" +
				"A timeout is silence, never a close.",
			run: flagged(cmdNoReply),
		},
		{
			name:  "drain",
			usage: "[-c NAME] [-within D]",
			doc:   "drain reads and drops whatever comes on connection NAME until the stream ends or D passes (default 500ms), then closes it: it waits for the server to act on what was sent.",
			run:   flagged(cmdDrain),
		},
		{
			name:  "alive",
			usage: "[-within D]",
			doc:   "alive probes that the server still serves: a new connection, the default request, a whole reply with its end marker within D.",
			run:   flagged(cmdAlive),
		},
		{
			name:  "clients",
			usage: "-n N [field=value ...]",
			doc:   "clients makes N whole exchanges at once, each on its own connection; every one must get a valid reply with its end marker within the step timeout.",
			run:   flagged(cmdClients),
		},
		{
			name:  "latency",
			usage: "-max D [field=value ...]",
			doc:   "latency makes one whole exchange, which must end with the end marker within D.",
			run:   flagged(cmdLatency),
		},
		{
			name:  "each-offset",
			usage: "-mode split|close|halfclose [-from N] [field=value ...]",
			doc: "each-offset runs one connection per offset k of the request (1 to len-1, or from -from):\n" +
				"split: the request in two writes cut at k, and a valid reply must come;\n" +
				"close: the first k bytes then a close, after which the server must still serve (alive);\n" +
				"halfclose: the first k bytes then a FIN, and no reply may come (close, reset or 300ms of silence).",
			run: flagged(cmdEachOffset),
		},
		{
			name:  "random-splits",
			usage: "-n N [field=value ...]",
			doc:   "random-splits makes N exchanges, the request cut into random pieces of 1 to 7 bytes from seeds $SEED, $SEED+1, ...; every reply must be valid.",
			run:   flagged(cmdRandomSplits),
		},
		{
			name:  "detect-profile",
			usage: "",
			doc:   "detect-profile asks the book's example in each profile and fails if the server reads a request in one profile and answers in the other, or if no reply decodes in either profile.",
			run:   flagged(cmdDetectProfile),
		},
	}, moreServerCommands()...)
}

func cmdDial(ctx context.Context, st *script.State, s *serverScript, f *connFlags, args []string) error {
	if len(args) != 0 {
		return script.Usagef("dial takes no arguments")
	}
	s.mu.Lock()
	_, open := s.peers[f.c]
	s.mu.Unlock()
	if open {
		return script.Usagef("connection %q is already open", f.c)
	}
	_, err := s.get(ctx, st, f.c, true)
	return err
}

// sendFlags are send's flags.
type sendFlags struct {
	connFlags
	encodeFlags
	variant, shape, after string
	prefix, repeat        int
}

func (f *sendFlags) define(fs *flag.FlagSet) {
	f.connFlags.define(fs)
	f.encodeFlags.define(fs)
	fs.StringVar(&f.variant, "variant", "", "")
	fs.StringVar(&f.shape, "shape", "", "")
	fs.IntVar(&f.prefix, "prefix", -1, "")
	fs.IntVar(&f.repeat, "repeat", 1, "")
	fs.StringVar(&f.after, "after", "", "")
}

func cmdSend(ctx context.Context, st *script.State, s *serverScript, f *sendFlags, args []string) error {
	r, prof, b, err := s.buildRequest(args, f.encodeFlags)
	if err != nil {
		return err
	}
	p, err := s.get(ctx, st, f.c, true)
	if err != nil {
		return err
	}
	sh, repeat, err := s.sendShape(st, f.variant, f.shape)
	if err != nil {
		return err
	}
	if f.repeat > 1 {
		repeat = f.repeat
	}
	one := b
	for i := 1; i < repeat; i++ {
		b = append(b, one...)
	}
	what := r.String()
	if f.after != "" {
		after, err := hex.DecodeString(f.after)
		if err != nil {
			return script.Usagef("-after: %v", err)
		}
		b = append(b, after...)
		what += fmt.Sprintf(" and %d more bytes", len(after))
		p.unread = true
	}
	if repeat > 1 {
		what = fmt.Sprintf("%d times %s", repeat, what)
		p.unread = true
	}
	if n := f.prefix; n >= 0 {
		if n > len(b) {
			return script.Usagef("-prefix %d: the request has only %d bytes", n, len(b))
		}
		b = b[:n]
		what = fmt.Sprintf("the first %d of %d bytes of %s", n, len(one), r.String())
	} else {
		p.req = &r
	}
	p.profile = prof
	return s.write(st, p, b, sh, what)
}

// connShapeFlags name a connection and a shape.
type connShapeFlags struct {
	connFlags
	shape string
}

func (f *connShapeFlags) define(fs *flag.FlagSet) {
	f.connFlags.define(fs)
	fs.StringVar(&f.shape, "shape", "", "")
}

func cmdSendHex(ctx context.Context, st *script.State, s *serverScript, f *connShapeFlags, args []string) error {
	b, err := hex.DecodeString(strings.Join(args, ""))
	if err != nil || len(args) == 0 {
		return script.Usagef("want bytes in hex: %v", err)
	}
	sh := shape.Shape{}
	if f.shape != "" {
		if sh, err = shape.Parse(f.shape); err != nil {
			return script.Usagef("%v", err)
		}
	}
	p, err := s.get(ctx, st, f.c, true)
	if err != nil {
		return err
	}
	return s.write(st, p, b, sh, "raw bytes")
}

func cmdHalfClose(ctx context.Context, st *script.State, s *serverScript, f *connFlags, args []string) error {
	p, err := s.get(ctx, st, f.c, false)
	if err != nil {
		return err
	}
	if err := s.trace.Conn(p.name, p.conn).CloseWrite(); err != nil {
		return fmt.Errorf("half-close: %v", err)
	}
	st.Logf("> %s FIN", p.name)
	return nil
}

// closeFlags are close's flags.
type closeFlags struct {
	connFlags
	reset bool
}

func (f *closeFlags) define(fs *flag.FlagSet) {
	f.connFlags.define(fs)
	fs.BoolVar(&f.reset, "reset", false, "")
}

func cmdClose(ctx context.Context, st *script.State, s *serverScript, f *closeFlags, args []string) error {
	p, err := s.get(ctx, st, f.c, false)
	if err != nil {
		return err
	}
	if f.reset {
		shape.Reset(s.trace.Conn(p.name, p.conn))
		st.Logf("> %s RST", p.name)
	} else {
		s.trace.Conn(p.name, p.conn).Close()
		st.Logf("> %s close", p.name)
	}
	s.mu.Lock()
	delete(s.peers, p.name)
	s.mu.Unlock()
	return nil
}

// replyFlags are reply's flags.
type replyFlags struct {
	connFlags
	trips                              int
	closes, golden, consistent, noNull bool
	linger                             time.Duration
}

func (f *replyFlags) define(fs *flag.FlagSet) {
	f.connFlags.define(fs)
	fs.IntVar(&f.trips, "trips", -1, "")
	fs.BoolVar(&f.closes, "closes", false, "")
	fs.BoolVar(&f.golden, "golden", false, "")
	fs.BoolVar(&f.consistent, "consistent", false, "")
	fs.BoolVar(&f.noNull, "no-null", false, "")
	fs.DurationVar(&f.linger, "linger", 0, "")
}

func cmdReply(ctx context.Context, st *script.State, s *serverScript, f *replyFlags, args []string) error {
	p, err := s.get(ctx, st, f.c, false)
	if err != nil {
		return err
	}
	linger := orDefault(f.linger, 100*time.Millisecond)
	if f.closes {
		linger = s.timeout
	}
	obs := ObserveReply(s.trace.Conn(p.name, p.conn), p.profile, time.Now().Add(s.timeout), linger, st.Logf)
	st.Logf("reply: %s", obs.Summary())
	return checkReply(st, s, p, obs, f)
}

// noReplyFlags are noreply's flags.
type noReplyFlags struct {
	connFlags
	withinFlags
	accept string
}

func (f *noReplyFlags) define(fs *flag.FlagSet) {
	f.connFlags.define(fs)
	f.withinFlags.define(fs)
	fs.StringVar(&f.accept, "accept", "close,reset,silence", "")
}

func cmdNoReply(ctx context.Context, st *script.State, s *serverScript, f *noReplyFlags, args []string) error {
	p, err := s.get(ctx, st, f.c, false)
	if err != nil {
		return err
	}
	within := orDefault(f.within, s.timeout)
	how, got, err := watchSilence(s.trace.Conn(p.name, p.conn), time.Now().Add(within))
	if len(got) > 0 {
		return fault(check.At("reply/unwanted", 0, ""),
			"the server sent %d bytes where it %s not reply:\n%s", len(got), must(s.level), HexWindow(got, 0))
	}
	st.Logf("no reply; the stream ended by %s (%v)", how, err)
	for _, a := range strings.Split(f.accept, ",") {
		if Ending(a) == how {
			return nil
		}
	}
	return fault(peerFinding("conn/ending-"+string(how)),
		"no reply, but the stream ended by %s within %v; want %s", how, within, f.accept)
}

// drainFlags are drain's flags.
type drainFlags struct {
	connFlags
	withinFlags
}

func (f *drainFlags) define(fs *flag.FlagSet) {
	f.connFlags.define(fs)
	f.withinFlags.define(fs)
}

func cmdDrain(ctx context.Context, st *script.State, s *serverScript, f *drainFlags, args []string) error {
	p, err := s.get(ctx, st, f.c, false)
	if err != nil {
		return err
	}
	how, got, _ := watchSilence(s.trace.Conn(p.name, p.conn), time.Now().Add(orDefault(f.within, 500*time.Millisecond)))
	st.Logf("drained %d bytes; the stream ended by %s", len(got), how)
	s.trace.Conn(p.name, p.conn).Close()
	s.mu.Lock()
	delete(s.peers, p.name)
	s.mu.Unlock()
	return nil
}

func cmdAlive(ctx context.Context, st *script.State, s *serverScript, f *withinFlags, args []string) error {
	within := orDefault(f.within, s.timeout)
	r := DefaultRequest()
	start := time.Now()
	obs, err := exchange(s.trace.context(ctx), s.target, s.profile, &r, within)
	if err != nil {
		return fault(exchangeFinding(obs, err, "conn/not-serving"), "the server no longer serves: %s", userText(err))
	}
	st.Logf("alive: %s in %v", obs.Summary(), time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdClients(ctx context.Context, st *script.State, s *serverScript, f *countFlags, args []string) error {
	r, prof, _, err := s.buildRequest(args, encodeFlags{})
	if err != nil {
		return err
	}
	n := f.n
	errs := make([]error, n)
	finds := make([]Finding, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			obs, err := exchange(ctx, s.target, prof, &r, s.timeout)
			if err == nil {
				err = replyFault(obs)
			}
			errs[i] = err
			if err != nil {
				finds[i] = exchangeFinding(obs, err, "conn/concurrent")
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
		return fault(found, "%d of %d clients were not served:\n%s", failed, n, strings.Join(first, "\n"))
	}
	st.Logf("%d clients served", n)
	return nil
}

// latencyFlags are latency's flags.
type latencyFlags struct{ max time.Duration }

func (f *latencyFlags) define(fs *flag.FlagSet) { fs.DurationVar(&f.max, "max", time.Second, "") }

func cmdLatency(ctx context.Context, st *script.State, s *serverScript, f *latencyFlags, args []string) error {
	r, prof, _, err := s.buildRequest(args, encodeFlags{})
	if err != nil {
		return err
	}
	max := orDefault(f.max, time.Second)
	start := time.Now()
	obs, err := exchange(ctx, s.target, prof, &r, max)
	took := time.Since(start)
	if err != nil {
		return fault(exchangeFinding(obs, err, "reply/slow"), "no whole reply within %v: %s", max, userText(err))
	}
	st.Logf("reply with end marker in %v (%s)", took.Round(time.Millisecond), obs.Summary())
	return nil
}

func cmdRandomSplits(ctx context.Context, st *script.State, s *serverScript, f *countFlags, args []string) error {
	_, prof, b, err := s.buildRequest(args, encodeFlags{})
	if err != nil {
		return err
	}
	err = forEach(f.n, 8, func(i int) error {
		sh := shape.Shape{Random: true, Seed: s.seed + int64(i), RandomMin: 1, RandomMax: 7}
		return s.shapedExchange(ctx, prof, b, sh)
	})
	if err != nil {
		return err
	}
	st.Logf("%d random splits from seed %d answered", f.n, s.seed)
	return nil
}

func cmdDetectProfile(ctx context.Context, st *script.State, s *serverScript, f *noFlags, args []string) error {
	det := detectServerProfile(ctx, s.target, s.timeout)
	st.Logf("profile: %v (%s)", det.Profile, det.Note)
	if !det.Decoded {
		f := peerFinding("profile/no-decodable-reply")
		if det.Fault != nil {
			f = *det.Fault // the reply's own fault is the cause
		}
		return fault(f,
			"no reply to the book's example decodes in qt4 or qt5, so the profile the server speaks cannot be told: %s", det.Note)
	}
	if det.Inconsistent {
		return fault(peerFinding("profile/inconsistent"), "%s", det.Note)
	}
	return nil
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
func (s *serverScript) shapedExchange(ctx context.Context, p wire.Profile, b []byte, sh shape.Shape) error {
	c, err := s.dial(ctx)
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

// eachOffsetFlags are each-offset's flags.
type eachOffsetFlags struct {
	mode string
	from int
}

func (f *eachOffsetFlags) define(fs *flag.FlagSet) {
	fs.StringVar(&f.mode, "mode", "split", "")
	fs.IntVar(&f.from, "from", 1, "")
}

func cmdEachOffset(ctx context.Context, st *script.State, s *serverScript, f *eachOffsetFlags, args []string) error {
	_, prof, b, err := s.buildRequest(args, encodeFlags{})
	if err != nil {
		return err
	}
	mode := f.mode
	from := max(f.from, 1)
	n := len(b) - from
	if n <= 0 {
		return script.Usagef("-from %d: the request has %d bytes", from, len(b))
	}
	switch mode {
	case "split":
		err = forEach(n, 8, func(i int) error {
			return s.shapedExchange(ctx, prof, b, shape.Shape{At: []int{from + i}})
		})
	case "close", "halfclose":
		err = forEach(n, 8, func(i int) error {
			k := from + i
			c, err := s.dial(ctx)
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
				return fault(check.At(check.RuleToCutRequest, 0, ""),
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
				if err = sleep(ctx, wait); err != nil {
					break
				}
				if obs, aerr := exchange(s.trace.context(ctx), s.target, s.profile, &r, s.timeout); aerr != nil {
					err = fault(exchangeFinding(obs, aerr, "conn/not-serving"),
						"after %d truncated requests the server no longer serves (probe %d): %s", n, i+1, userText(aerr))
					break
				}
			}
		}
	default:
		return script.Usagef("-mode %q: want split, close or halfclose", mode)
	}
	if err != nil {
		return err
	}
	st.Logf("%d offsets (%s) of a %d-byte request: all as required", n, mode, len(b))
	return nil
}

// checkReply applies reply's checks to an observation.
func checkReply(st *script.State, s *serverScript, p *peer, obs *Observation, f *replyFlags) error {
	if err := replyFault(obs); err != nil {
		return err
	}
	if err := afterEndFault(obs); err != nil {
		return err
	}
	if n := f.trips; n >= 0 && len(obs.Trips) != n {
		return fault(check.At("reply/trip-count", int64(obs.EndOffset), "end"),
			"%d trips, want %d", len(obs.Trips), n)
	}
	if f.closes {
		switch {
		case obs.How == EndClose:
		case obs.How == EndReset && p.unread:
			st.Logf("reset after the end marker: the server closed with the script's extra bytes unread")
		case obs.How == EndReset:
			return fault(check.At(check.RuleResetAfterReply, noPlace, ""),
				"the server reset the connection after the end marker instead of closing it")
		default:
			return fault(check.At(check.RuleOpenAfterReply, noPlace, ""),
				"the server did not close the connection within %v of the end marker (%s)", s.timeout, obs.How)
		}
	}
	req := p.req
	if f.consistent || f.golden {
		if req == nil {
			return script.Usagef("no whole request was sent on %s", p.name)
		}
	}
	if f.noNull {
		for i, t := range obs.Trips {
			if t.Date.IsNull() || t.Departure.IsNull() {
				return fault(check.At("reply/null-trip", noPlace, fmt.Sprintf("trip[%d]", i)),
					"trip[%d] has a null date or time: %s", i, t.String())
			}
		}
	}
	if f.consistent && !req.Date.IsNull() {
		for i, t := range obs.Trips {
			if d := t.Date.JD() - req.Date.JD(); t.Date.IsNull() || d < 0 || d > 1 {
				return fault(check.At("reply/wrong-date", noPlace, fmt.Sprintf("trip[%d].date", i)),
					"trip[%d] departs on %v, not on the requested %v or the day after", i, t.Date, req.Date)
			}
		}
	}
	if f.golden {
		if s.golden == nil {
			st.Logf("no golden reference: run with --golden book")
			return script.Skip("no golden reference: run with --golden book")
		}
		want, err := s.golden(p.profile, req)
		if err != nil {
			return fmt.Errorf("golden reference: %v", err)
		}
		if err := Compare(want, obs.Bytes, p.profile, wire.Replies); err != nil {
			s.trace.Conn(p.name, p.conn).Diverge(err)
			return fault(check.At("reply/not-golden", int64(FirstDiff(want, obs.Bytes)), Locate(obs.Bytes, p.profile, wire.Replies, FirstDiff(want, obs.Bytes))),
				"the reply is not the reference's: %v", err)
		}
		st.Logf("reply equals the reference's %d bytes", len(want))
	}
	return nil
}
