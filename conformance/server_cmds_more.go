package conformance

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tripcheck/tripcheck/internal/script"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// moreServerCommands are the server suite's commands for lifecycle, edge
// values and generated golden sets.
func moreServerCommands() []command[*serverScript] {
	return []command[*serverScript]{
		{
			name:  "send-edge",
			usage: "[-c NAME] [-variant V | -shape SHAPE] [field=value ...]",
			doc: "send-edge is send with values that depend on the profile: from=@fill (or to=@fill) makes the request\n" +
				"block the largest legal one, a payload of 65 534 bytes; date=@min and date=@max are the\n" +
				"profile's extreme Julian Days (qt4: 1 and 4 294 967 295; qt5: the int64 extremes, which QDate cannot\n" +
				"show).\n" + fieldsHelp,
			run: flagged(cmdSendEdge),
		},
		{
			name:  "sequential",
			usage: "-n N [-empty]",
			doc: "sequential makes N whole exchanges of the default request, one after another, each on a new\n" +
				"connection closed after its end marker; every one must end with the end marker within the step\n" +
				"timeout, the bound on any slowdown. It logs the slowest and the mean of the first and last tenth.\n" +
				"-empty opens and closes the N connections without a byte instead, then probes as still-serves.",
			run: flagged(cmdSequential),
		},
		{
			name:  "still-serves",
			usage: "[-after D]",
			doc: "still-serves probes twice that the server still serves (as alive): at once, and again after D\n" +
				"(default 300ms), in which a server that crashes on what the script sent before has done so.",
			run: flagged(cmdStillServes),
		},
		{
			name:  "hold",
			usage: "-n N [-dials K] [-within D]",
			doc: "hold connects N clients, at most K (default 40) dialling at a time so that no listen backlog\n" +
				"overflows, keeps them all open, then has every one send the default request at once; every one must\n" +
				"get a valid reply with its end marker within D (default the step timeout).",
			run: flagged(cmdHold),
		},
		{
			name:  "golden-set",
			usage: "-n N [-variant V] [-within D]",
			doc: "golden-set sends N requests generated from $SEED (cities empty, null, long or outside the BMP; dates\n" +
				"from Julian Day 0 to 9999-12-31 and null; times from 00:00 to 23:59:59.999 and null; both flags), each on\n" +
				"its own connection, 8 at once (24 fragmented), shaped as the variant (fragmented: seeded random pieces\n" +
				"of 1 to max(7, length/8) bytes, about 16 a request), and compares every reply byte for byte with the\n" +
				"golden reference (--golden); without one the scenario skips. Each reply must end within D (default the\n" +
				"step timeout); after the first that fails, the rest are not sent.",
			run: flagged(cmdGoldenSet),
		},
	}
}

// profileJD is the profile's extreme Julian Day: the least (min) or the
// greatest that its date field holds, null aside.
func profileJD(p wire.Profile, max bool) int64 {
	switch {
	case p == wire.Qt4 && max:
		return math.MaxUint32
	case p == wire.Qt4:
		return 1 // 0 reads back null
	case max:
		return math.MaxInt64
	}
	return math.MinInt64 + 1 // MinInt64 is null
}

// largestPayload is the largest payload a block can have: 0xFFFF is the end
// marker.
const largestPayload = wire.EndMarker - 1

// stillServesFlags are still-serves' flags.
type stillServesFlags struct{ after time.Duration }

func (f *stillServesFlags) define(fs *flag.FlagSet) { fs.DurationVar(&f.after, "after", 0, "") }

func cmdStillServes(ctx context.Context, st *script.State, s *serverScript, f *stillServesFlags, args []string) error {
	r := DefaultRequest()
	for i, wait := range []time.Duration{0, orDefault(f.after, 300*time.Millisecond)} {
		if err := sleep(ctx, wait); err != nil {
			return err
		}
		if obs, err := exchange(s.trace.context(ctx), s.target, s.profile, &r, s.timeout); err != nil {
			return fault(exchangeFinding(obs, err, connectFinding.Check),
				"the server no longer serves (probe %d, %v after the script's last step): %v", i+1, wait, err)
		}
	}
	st.Logf("the server still serves")
	return nil
}

// sleep waits for d, or until ctx ends (its error then).
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// sendEdgeFlags are send-edge's flags.
type sendEdgeFlags struct {
	connShapeFlags
	variant string
}

func (f *sendEdgeFlags) define(fs *flag.FlagSet) {
	f.connShapeFlags.define(fs)
	fs.StringVar(&f.variant, "variant", "", "")
}

func cmdSendEdge(ctx context.Context, st *script.State, s *serverScript, f *sendEdgeFlags, args []string) error {
	var plain []string
	type edge struct{ key, val string }
	var edges []edge
	for _, a := range args {
		k, v, _ := strings.Cut(a, "=")
		if (k == "from" || k == "to") && v == "@fill" ||
			k == "date" && (v == "@min" || v == "@max") {
			edges = append(edges, edge{k, v})
			continue
		}
		plain = append(plain, a)
	}
	r, prof, _, err := s.buildRequest(plain, encodeFlags{})
	if err != nil {
		return err
	}
	fill := ""
	for _, e := range edges {
		if e.val == "@fill" {
			fill = e.key
		} else {
			r.Date = wire.DateJD(profileJD(prof, e.val == "@max"))
		}
	}
	enc := wire.Encoder{Profile: prof, AllowIllegalWrites: true}
	if fill != "" {
		*pick(&r, fill) = wire.Str("")
		b, err := enc.AppendRequest(nil, &r)
		if err != nil {
			return fmt.Errorf("cannot encode %v: %v", r.String(), err)
		}
		room := largestPayload - (len(b) - 2)
		if room < 0 || room%2 != 0 {
			return script.Usagef("%s=@fill: %d bytes of room, not an even number of bytes", fill, room)
		}
		*pick(&r, fill) = wire.Str(strings.Repeat("x", room/2))
	}
	b, err := enc.AppendRequest(nil, &r)
	if err != nil {
		return fmt.Errorf("cannot encode %v: %v", r.String(), err)
	}
	p, err := s.get(ctx, st, f.c, true)
	if err != nil {
		return err
	}
	sh, repeat, err := s.sendShape(st, f.variant, f.shape)
	if err != nil {
		return err
	}
	one := b
	for i := 1; i < repeat; i++ {
		b = append(b, one...)
	}
	what := fmt.Sprintf("a %d-byte request %s", len(one), clip(r.String(), 160))
	if repeat > 1 {
		what = fmt.Sprintf("%d times %s", repeat, what)
		p.unread = true
	}
	p.req, p.profile = &r, prof
	return s.write(st, p, b, sh, what)
}

func pick(r *wire.Request, key string) *wire.String {
	if key == "from" {
		return &r.From
	}
	return &r.To
}

// clip shortens s to at most n bytes for a log line.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + fmt.Sprintf("… (%d bytes)", len(s))
}

// sequentialFlags are sequential's flags.
type sequentialFlags struct {
	n     int
	empty bool
}

func (f *sequentialFlags) define(fs *flag.FlagSet) {
	fs.IntVar(&f.n, "n", 1000, "")
	fs.BoolVar(&f.empty, "empty", false, "")
}

func cmdSequential(ctx context.Context, st *script.State, s *serverScript, f *sequentialFlags, args []string) error {
	n := f.n
	if n < 1 || n > 5000 || len(args) != 0 {
		return script.Usagef("-n %d: want 1 to 5000, and no arguments", n)
	}
	r := DefaultRequest()
	if f.empty {
		for i := 0; i < n; i++ {
			c, err := s.dial(ctx)
			if err != nil {
				return fault(peerFinding("conn/refused"),
					"connection %d of %d, made after %d opened and closed without a byte: %v", i+1, n, i, err)
			}
			c.Close()
		}
		for i, wait := range []time.Duration{0, 300 * time.Millisecond} {
			if err := sleep(ctx, wait); err != nil {
				return err
			}
			if obs, err := exchange(s.trace.context(ctx), s.target, s.profile, &r, s.timeout); err != nil {
				return fault(exchangeFinding(obs, err, connectFinding.Check),
					"after %d connections opened and closed without a byte the server no longer serves (probe %d): %v", n, i+1, err)
			}
		}
		st.Logf("%d connections opened and closed without a byte; the server still serves", n)
		return nil
	}
	took := make([]time.Duration, 0, n)
	start := time.Now()
	for i := 0; i < n; i++ {
		t0 := time.Now()
		if obs, err := exchange(s.trace.context(ctx), s.target, s.profile, &r, s.timeout); err != nil {
			return fault(exchangeFinding(obs, err, connectFinding.Check),
				"connection %d of %d, made after %d served one after another, was not served within %v: %v", i+1, n, i, s.timeout, err)
		}
		took = append(took, time.Since(t0))
	}
	tenth := max(1, n/10)
	mean := func(d []time.Duration) time.Duration {
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		return sum / time.Duration(len(d))
	}
	slowest := time.Duration(0)
	for _, d := range took {
		slowest = max(slowest, d)
	}
	st.Logf("%d exchanges one after another in %v: slowest %v, mean of the first %d %v, of the last %d %v (bound: the step timeout %v each)",
		n, time.Since(start).Round(time.Millisecond), slowest.Round(time.Microsecond),
		tenth, mean(took[:tenth]).Round(time.Microsecond), tenth, mean(took[n-tenth:]).Round(time.Microsecond), s.timeout)
	return nil
}

// goldenCities are the names golden-set draws from: the book's, empty, null,
// long, and outside the BMP.
var goldenCities = []string{
	"Berlin", "München", "Hamburg", "Köln", "Frankfurt am Main", "Bonn", "Bremen", "Dresden",
	"Rostock", "Zürich🚆", "", "@null", "@repeat(x,300)", "@repeat(Bahnhof ,40)", "東京",
}

// goldenRequests are n requests drawn from seed.
func goldenRequests(seed int64, n int) ([]wire.Request, error) {
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7472697063686563))
	// Julian Day 0, BC dates, the Gregorian switch, the epoch, today, 9999-12-31.
	fixed := []int64{0, 1, 1721425, 2299160, 2299161, 2440588, 2461005, 5373484}
	out := make([]wire.Request, n)
	for i := range out {
		r := DefaultRequest()
		var err error
		if r.From, err = parseString(goldenCities[rng.IntN(len(goldenCities))]); err != nil {
			return nil, err
		}
		if r.To, err = parseString(goldenCities[rng.IntN(len(goldenCities))]); err != nil {
			return nil, err
		}
		switch k := rng.IntN(10); {
		case k == 0:
			r.Date = wire.NullDate()
		case k < 4:
			r.Date = wire.DateJD(fixed[rng.IntN(len(fixed))])
		default:
			r.Date = wire.DateJD(1721426 + rng.Int64N(5373484-1721426))
		}
		switch k := rng.IntN(10); {
		case k == 0:
			r.Time = wire.NullTime()
		case k == 1:
			r.Time = wire.TimeMS([]uint32{0, 86_399_999, 43_200_000}[rng.IntN(3)])
		default:
			r.Time = wire.TimeMS(rng.Uint32N(86_400_000))
		}
		if rng.IntN(2) == 1 {
			r.Flag = wire.FlagArrival
		}
		out[i] = r
	}
	return out, nil
}

// goldenLanes is how many of golden-set's requests in variant v are in
// flight at once: 8 whole or coalesced, 24 fragmented. A fragmented
// request spends most of its time in the pauses between its pieces, so 24
// of them dial no faster than 8 whole ones: the rate of new connections,
// not their number, is what fills a listen backlog (50 in Qt's QTcpServer)
// while a single-threaded server such as the book's waits for the CPU on
// a loaded machine. (40 lanes for every variant, beside lifecycle/clients-500,
// left the book's server with connections not accepted within 2 s under a
// load of 60.) The order in which the server takes the connections does
// not matter: the book's server calls srand with a seed computed from the
// request (BookSeed) before it draws that request's reply, in one call of
// its single-threaded event loop, so each reply depends on its request
// alone, and each connection's reply is compared with its own request's.
func goldenLanes(v string) int {
	if v == "fragmented" {
		return 24
	}
	return 8
}

// goldenFragments is golden-set's fragmented shape for request i, b bytes
// long: seeded random pieces of 1 to max(7, b/8) bytes. Short requests are
// cut every 1 to 7 bytes, the size field and every field included; long
// ones (long names, up to 1 300 bytes) still arrive in about 16 pieces, cut
// inside their names, not in 325 pieces each paced by the shape writer's
// pause: the pieces, not the bytes, are what cost time and CPU.
func goldenFragments(seed int64, i, b int) shape.Shape {
	return shape.Shape{Random: true, Seed: seed + int64(i), RandomMin: 1, RandomMax: max(7, b/8)}
}

// goldenSetFlags are golden-set's flags.
type goldenSetFlags struct {
	n       int
	variant string
	within  time.Duration
}

func (f *goldenSetFlags) define(fs *flag.FlagSet) {
	fs.IntVar(&f.n, "n", 200, "")
	fs.StringVar(&f.variant, "variant", "", "")
	fs.DurationVar(&f.within, "within", 0, "")
}

func cmdGoldenSet(ctx context.Context, st *script.State, s *serverScript, f *goldenSetFlags, args []string) error {
	n := f.n
	if n < 1 || n > 5000 || len(args) != 0 {
		return script.Usagef("-n %d: want 1 to 5000, and no arguments", n)
	}
	if s.golden == nil {
		st.Logf("no golden reference: run with --golden book")
		return script.Skip("no golden reference: run with --golden book")
	}
	reqs, err := goldenRequests(s.seed, n)
	if err != nil {
		return script.Usagef("%v", err)
	}
	v := f.variant
	within := orDefault(f.within, s.timeout)
	var failed atomic.Bool
	st.Logf("%d requests generated from seed %d, sent %s", n, s.seed, v)
	p := s.profile
	err = forEach(n, goldenLanes(v), func(i int) (err error) {
		if failed.Load() {
			return nil
		}
		defer func() {
			if err != nil {
				failed.Store(true)
			}
		}()
		r := &reqs[i]
		want, err := s.golden(p, r)
		if err != nil {
			return fmt.Errorf("request %d: golden reference: %v", i, err)
		}
		b, err := wire.Encoder{Profile: p}.AppendRequest(nil, r)
		if err != nil {
			return fmt.Errorf("request %d: %v", i, err)
		}
		var sh shape.Shape
		switch v {
		case "fragmented":
			sh = goldenFragments(s.seed, i, len(b))
		case "coalesced":
			b = append(b, b...)
		}
		c, err := s.dial(ctx)
		if err != nil {
			return err
		}
		defer c.Close()
		w, err := shape.NewWriter(c, sh, shape.WithWriteTimeout(within))
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("request %d: write: %v", i, err)
		}
		obs := ObserveReply(c, p, time.Now().Add(within), 0, nil)
		if err := Compare(want, obs.Bytes, p, wire.Replies); err != nil {
			// A reply that is wrong in itself (its framing, its end) is
			// that cause, not a second one.
			ferr := replyFault(obs)
			if ferr == nil {
				ferr = afterEndFault(obs)
			}
			if ferr != nil {
				f, _ := findingOf(ferr)
				return fault(f, "request %d, %s: %v", i, clip(r.String(), 120), ferr)
			}
			return fmt.Errorf("request %d, %s: %v", i, clip(r.String(), 120), err)
		}
		return nil
	})
	if err != nil {
		f, ok := findingOf(err)
		if !ok {
			f = peerFinding("reply/not-golden")
		}
		return fault(f, "replies to the generated requests (seed %d) differ from the reference: %v", s.seed, err)
	}
	st.Logf("%d replies equal the reference's", n)
	return nil
}

// holdFlags are hold's flags.
type holdFlags struct {
	n, dials int
	within   time.Duration
}

func (f *holdFlags) define(fs *flag.FlagSet) {
	fs.IntVar(&f.n, "n", 500, "")
	fs.IntVar(&f.dials, "dials", 40, "")
	fs.DurationVar(&f.within, "within", 0, "")
}

func cmdHold(ctx context.Context, st *script.State, s *serverScript, f *holdFlags, args []string) error {
	n, k := f.n, f.dials
	within := orDefault(f.within, s.timeout)
	if n < 1 || n > 2000 || k < 1 || len(args) != 0 {
		return script.Usagef("-n %d -dials %d: want 1 to 2000 clients, at least 1 dialling, and no arguments", n, k)
	}
	conns := make([]*net.TCPConn, n)
	defer func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}()
	err := forEach(n, k, func(i int) error {
		c, err := s.dial(ctx)
		if err != nil {
			return fmt.Errorf("client %d: %v", i, err)
		}
		conns[i] = c
		return nil
	})
	if err != nil {
		return fault(peerFinding("conn/refused"),
			"connecting %d clients, at most %d dialling at a time: %v", n, k, err)
	}
	st.Logf("%d clients connected and held open", n)
	r := DefaultRequest()
	b, err := wire.Encoder{Profile: s.profile}.AppendRequest(nil, &r)
	if err != nil {
		return err
	}
	start := make(chan struct{})
	errs := make([]error, n)
	finds := make([]*Finding, n)
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			deadline := time.Now().Add(within)
			c.SetWriteDeadline(deadline)
			if _, err := c.Write(b); err != nil {
				errs[i] = fmt.Errorf("client %d: write: %v", i, err)
				return
			}
			obs := ObserveReply(c, s.profile, deadline, 0, nil)
			if err := obs.FramingError(); err != nil {
				errs[i] = fmt.Errorf("client %d: %v", i, err)
			} else if !obs.Ended {
				errs[i] = fmt.Errorf("client %d: no end marker (%s)", i, obs.Summary())
			}
			if errs[i] != nil && len(obs.Bytes) > 0 {
				f := replyFinding(obs)
				finds[i] = &f
			}
		}()
	}
	close(start)
	wg.Wait()
	var failed []string
	found := peerFinding("conn/concurrent")
	for i, err := range errs {
		if err != nil {
			// A client answered with a faulty reply fails for that
			// fault: the cause is the reply, not the concurrency.
			if len(failed) == 0 && finds[i] != nil {
				found = *finds[i]
			}
			failed = append(failed, err.Error())
		}
	}
	if len(failed) > 0 {
		return fault(found,
			"%d of %d clients connected at once were not served within %v:\n%s", len(failed), n, within, strings.Join(failed[:min(3, len(failed))], "\n"))
	}
	st.Logf("%d clients connected at once, all served", n)
	return nil
}
