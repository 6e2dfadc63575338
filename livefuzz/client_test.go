package livefuzz_test

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/contract"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/livefuzz"
	"github.com/tripcheck/tripcheck/wire"
)

// referenceClient is fakes.Query under the exec contract, in this process.
func referenceClient(ctx context.Context, addr string, search *wire.Request, p wire.Profile, stdout io.Writer) int {
	trips, err := fakes.Query(ctx, addr, search, p, 10*time.Second)
	if err != nil {
		contract.WriteFailed(stdout, nil, err.Error())
		return 1
	}
	contract.WriteAnswer(stdout, trips)
	return 0
}

var (
	brokenOnce sync.Once
	brokenBin  string
	brokenErr  error
)

// brokenClient builds conformance/testdata/brokenclient once per test
// binary and returns its path.
func brokenClient(t *testing.T) string {
	t.Helper()
	brokenOnce.Do(func() {
		dir, err := os.MkdirTemp("", "livefuzz-brokenclient")
		if err != nil {
			brokenErr = err
			return
		}
		brokenBin = filepath.Join(dir, "brokenclient")
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "go", "build", "-o", brokenBin, "../conformance/testdata/brokenclient").CombinedOutput()
		if err != nil {
			brokenErr = fmt.Errorf("go build ../conformance/testdata/brokenclient: %v\n%s", err, out)
		}
	})
	if brokenErr != nil {
		t.Fatal(brokenErr)
	}
	return brokenBin
}

func TestMain(m *testing.M) {
	if len(os.Args) == 9 && strings.HasPrefix(os.Args[1], "-livefuzz-client=") {
		os.Exit(faultyClient(strings.TrimPrefix(os.Args[1], "-livefuzz-client="), os.Args[2:]))
	}
	code := m.Run()
	if brokenBin != "" {
		os.RemoveAll(filepath.Dir(brokenBin))
	}
	os.Exit(code)
}

// brokenExec is brokenclient in a mode under the exec contract, with its
// own timeout of 4s.
func brokenExec(t *testing.T, mode string) livefuzz.Client {
	t.Helper()
	tmpl, err := conformance.ParseTemplate("'" + brokenClient(t) + "' -mode " + mode + " -profile {profile} -timeout 4s -host {host} -port {port} {from} {to} {date} {time} {flag}")
	if err != nil {
		t.Fatal(err)
	}
	return livefuzz.ExecClient{Template: tmpl}
}

// manifestModes reads the modes of broken-clients.manifest and whether
// each must fail some scenario.
func manifestModes(t *testing.T) map[string]bool {
	t.Helper()
	f, err := os.Open("../conformance/testdata/broken-clients.manifest")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	modes := map[string]bool{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || strings.HasPrefix(l, "#") || l[0] == ' ' || l[0] == '\t' {
			continue
		}
		fields := strings.Fields(l)
		modes[fields[0]] = !(len(fields) == 3 && fields[2] == "-")
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return modes
}

// timingOnly are the modes of the manifest whose fault is one of timing,
// which the fuzzer cannot see, with the reason.
var timingOnly = map[string]string{
	"no-timeout":      "the fuzzer always half-closes after the reply, so a client without a timeout of its own still ends; the client suite's stall scenarios catch it",
	"waits-for-close": "the fuzzer always half-closes after the reply, so a client that waits for the close still ends; reply/end-kept-open catches it",
	"deadline-1s":     "the fuzzer answers at once, so a client that gives the whole search a second still finishes; stall/drip catches it",
	// Not timing, but out of the fuzzer's reach all the same:
	"refused-is-empty": "the fuzzer always listens, so a client that takes a refused connection for an empty answer never meets one; closed/nothing-listening catches it",
	"max-1000-trips":   "the fuzzer's replies hold a few trips, never the 1 000 this client stops at; trips/two-thousand catches it",
}

// Client fuzzing finds every broken client of the client suite's manifest,
// in both profiles, within 100 cases of seed 1 (each is found within 35
// today); a mode that fails no scenario survives 100 cases.
func TestClientBrokenManifest(t *testing.T) {
	const seed, cases = 1, 100
	t.Logf("seed %d", seed)
	for mode, fails := range manifestModes(t) {
		t.Run(mode, func(t *testing.T) {
			if why, ok := timingOnly[mode]; ok {
				t.Skip(why)
			}
			for _, p := range []wire.Profile{wire.Qt4, wire.Qt5} {
				res, err := livefuzz.RunClient(context.Background(), livefuzz.ClientConfig{
					Client: brokenExec(t, mode), Profile: p, Seed: seed, Cases: cases, Parallel: 2, Timeout: 10 * time.Second,
				})
				if err != nil {
					t.Fatal(err)
				}
				switch f := res.Failure; {
				case f == nil && fails:
					t.Errorf("%v: no finding in %d cases of seed %d", p, res.Cases, seed)
				case f != nil && !fails:
					t.Errorf("%v: %v at %s, but this mode has no fault:\n%s", p, f.Outcome.Verdict, f.Case.String(), f.Outcome.Detail)
				case f != nil:
					t.Logf("%v: %v at %s: %s", p, f.Outcome.Verdict, f.Case.String(), strings.SplitN(f.Outcome.Detail, "\n", 2)[0])
				}
			}
		})
	}
}

// The reference client survives 10 000 cases: fakes.Query in this process
// (a ClientFunc, so that the run takes seconds, not an exec per case),
// and brokenclient -mode ok, which is fakes.Query under the exec contract,
// exec'ed for 200 cases of another seed.
func TestClientReferenceSurvives(t *testing.T) {
	for _, tc := range []struct {
		name   string
		client func(t *testing.T) livefuzz.Client
		seed   int64
		cases  int
	}{
		{"in-process", func(*testing.T) livefuzz.Client { return livefuzz.ClientFunc(referenceClient) }, 1, 10_000},
		{"exec", func(t *testing.T) livefuzz.Client { return brokenExec(t, "ok") }, 2, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cases := tc.cases
			if testing.Short() {
				cases /= 10
			}
			for _, p := range []wire.Profile{wire.Qt4, wire.Qt5} {
				res, err := livefuzz.RunClient(context.Background(), livefuzz.ClientConfig{
					Client: tc.client(t), Profile: p, Seed: tc.seed, Cases: cases / 2, Parallel: 4, Timeout: 20 * time.Second,
				})
				if err != nil {
					t.Fatal(err)
				}
				if f := res.Failure; f != nil {
					t.Fatalf("%v, seed %d: %v at %s:\n%s", p, tc.seed, f.Outcome.Verdict, f.Case.String(), f.Outcome.Detail)
				}
				if res.Cases != cases/2 {
					t.Fatalf("%v: %d cases run, want %d", p, res.Cases, cases/2)
				}
				t.Logf("%v, seed %d: %d cases in %v", p, tc.seed, res.Cases, res.Elapsed.Round(time.Millisecond))
			}
		})
	}
}

// Judge is the contract's checks (tested with broken outputs in package
// contract) over the trips the reference decoder takes from the reply:
// here, which trips count as whole, and whether the reply is complete.
func TestJudge(t *testing.T) {
	p := wire.Qt4
	trips := []wire.Trip{
		{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeMS(3600_000), Duration: 60, Changes: 1, TrainType: wire.Str("ICE")},
		{Date: wire.NullDate(), Departure: wire.NullTime(), Duration: 7, Changes: 0, TrainType: wire.Str("")},
	}
	var whole []byte
	for i := range trips {
		whole, _ = p.AppendTrip(whole, &trips[i])
	}
	full := wire.AppendEnd(append([]byte(nil), whole...))
	l0, l1 := contract.TripLine(&trips[0]), contract.TripLine(&trips[1])
	cut := full[:len(whole)-3] // inside trip[1]
	for _, tc := range []struct {
		name   string
		reply  []byte
		stdout string
		code   int
		ok     bool
	}{
		{"complete", full, l0 + "\n" + l1 + "\nEND 2\n", 0, true},
		{"complete, a trip missing", full, l0 + "\nEND 1\n", 0, false},
		{"after the end marker", append(append([]byte(nil), full...), 0, 5, 1), l0 + "\n" + l1 + "\nEND 2\n", 0, true},
		{"cut, error", cut, "ERROR cut\n", 1, true},
		{"cut, whole trip first", cut, l0 + "\nERROR cut\n", 1, true},
		{"cut, the cut trip printed", cut, l0 + "\n" + l1 + "\nERROR cut\n", 1, false},
		{"no end marker", whole, l0 + "\n" + l1 + "\nERROR eof\n", 1, true},
		{"no end marker, success", whole, l0 + "\n" + l1 + "\nEND 2\n", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := livefuzz.Judge(livefuzz.Expect(p, tc.reply), []byte(tc.stdout), tc.code)
			if (err == nil) != tc.ok {
				t.Errorf("Judge: %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestClientReproRoundTrip(t *testing.T) {
	for n := 0; n < 300; n++ {
		c := livefuzz.NewReplyCase(-3, n, wire.Qt5)
		f := &livefuzz.ClientFailure{Case: c, Outcome: livefuzz.ClientOutcome{Verdict: livefuzz.Wrong, Detail: "line 1\n  is \"x\""}}
		var b strings.Builder
		if err := livefuzz.WriteClientRepro(&b, f); err != nil {
			t.Fatal(err)
		}
		rp, err := livefuzz.ReadRepro(strings.NewReader(b.String()))
		if err != nil {
			t.Fatalf("case %d: %v\n%s", n, err, b.String())
		}
		got := rp.ReplyCase()
		if rp.Search == nil || !got.Search.Equal(&c.Search) || got.Seed != c.Seed || got.N != c.N || got.Profile != c.Profile ||
			got.Mutation != c.Mutation || got.Shape.String() != c.Shape.String() || string(got.Bytes) != string(c.Bytes) ||
			rp.Verdict != livefuzz.Wrong || rp.Detail != `line 1 is "x"` {
			t.Fatalf("case %d: read back %+v, search %v", n, rp, rp.Search)
		}
	}
	for name, search := range map[string]string{
		"unquoted": `search Berlin @null 2026-11-25 12:00:00.000 D`,
		"bad flag": `search "a" "b" 2026-11-25 12:00:00.000 X`,
		"bad date": `search "a" "b" 2026-13-25 12:00:00.000 D`,
		"short":    `search "a" "b" 2026-11-25`,
	} {
		text := "tripcheck-fuzz-client-repro v1\nseed 1\ncase 2\nprofile qt4\n" + search + "\nmutation valid\nshape whole\nverdict wrong\ndetail x\nbytes ffff\n"
		if _, err := livefuzz.ReadRepro(strings.NewReader(text)); !errors.Is(err, livefuzz.ErrRepro) {
			t.Errorf("%s: %v, want ErrRepro", name, err)
		}
	}
}

// listenClients connects the client to ln again and again, with a search
// each time, until the test ends.
func listenClients(t *testing.T, ln net.Listener, client livefuzz.ClientFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { cancel(); <-done })
	go func() {
		defer close(done)
		for n := 0; ctx.Err() == nil; n++ {
			c := livefuzz.NewReplyCase(9, n, wire.Qt4)
			client(ctx, ln.Addr().String(), &c.Search, wire.Qt4, io.Discard)
		}
	}()
}

// In listen mode the reference client survives; a client that sends
// after the end marker is wrong, one that keeps the connection open hangs,
// and a run with nobody connecting stops after the wait.
func TestListen(t *testing.T) {
	listen := func(t *testing.T) net.Listener {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { ln.Close() })
		return ln
	}
	t.Run("reference", func(t *testing.T) {
		ln := listen(t)
		listenClients(t, ln, referenceClient)
		res, err := livefuzz.RunListen(context.Background(), livefuzz.ListenConfig{Listener: ln, Seed: 5, Cases: 300, Timeout: 10 * time.Second, Wait: 10 * time.Second})
		if err != nil || res.Failure != nil || res.Cases != 300 || res.Stopped != "" {
			t.Fatalf("%+v, %v", res, err)
		}
	})
	// A client that writes its request a second time after the answer, as
	// brokenclient -mode sends-after-end does.
	twice := func(ctx context.Context, addr string, search *wire.Request, p wire.Profile, stdout io.Writer) int {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return 1
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		req, _ := p.AppendRequest(nil, search)
		c.Write(req)
		io.Copy(io.Discard, c)
		c.Write(req)
		return 0
	}
	// A client that never closes: it reads the answer and waits.
	stays := func(ctx context.Context, addr string, search *wire.Request, p wire.Profile, stdout io.Writer) int {
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			return 1
		}
		defer c.Close()
		req, _ := p.AppendRequest(nil, search)
		c.Write(req)
		io.Copy(io.Discard, c)
		<-ctx.Done()
		return 0
	}
	for _, tc := range []struct {
		name   string
		client livefuzz.ClientFunc
		want   livefuzz.Verdict
	}{{"sends-after-end", twice, livefuzz.Wrong}, {"never-closes", stays, livefuzz.Hang}} {
		t.Run(tc.name, func(t *testing.T) {
			ln := listen(t)
			listenClients(t, ln, tc.client)
			res, err := livefuzz.RunListen(context.Background(), livefuzz.ListenConfig{Listener: ln, Seed: 5, Cases: 50, Timeout: time.Second, Wait: 10 * time.Second})
			if err != nil || res.Failure == nil || res.Failure.Outcome.Verdict != tc.want || res.Failure.Case.N != 0 {
				t.Fatalf("%+v, %v", res, err)
			}
			t.Logf("%v: %s", res.Failure.Outcome.Verdict, res.Failure.Outcome.Detail)
		})
	}
	t.Run("nobody", func(t *testing.T) {
		res, err := livefuzz.RunListen(context.Background(), livefuzz.ListenConfig{Listener: listen(t), Cases: 5, Wait: 100 * time.Millisecond})
		if err != nil || res.Cases != 0 || res.Stopped == "" {
			t.Fatalf("%+v, %v", res, err)
		}
	})
}

// Same seed, same reply cases; 2000 cases use every mutation, and the
// reference decoder finds both complete answers (empty ones too) and
// failed ones among them.
func TestNewReplyCase(t *testing.T) {
	names := []string{"valid", "size-lie", "odd-string", "huge-string", "field", "after-end", "cut-block", "bit-flip", "byte-set", "truncate", "extend", "splice", "double", "random"}
	seen := map[string]int{}
	complete, empty, failed := 0, 0, 0
	for n := 0; n < 2000; n++ {
		a, b := livefuzz.NewReplyCase(42, n, wire.Qt5), livefuzz.NewReplyCase(42, n, wire.Qt5)
		if string(a.Bytes) != string(b.Bytes) || a.Mutation != b.Mutation || a.Shape.String() != b.Shape.String() || !a.Search.Equal(&b.Search) {
			t.Fatalf("case %d twice: %v and %v", n, a.String(), b.String())
		}
		if err := a.Search.Validate(); err != nil {
			t.Fatalf("case %d: search %v: %v", n, a.Search.String(), err)
		}
		for _, m := range strings.Split(a.Mutation, "+") {
			seen[m]++
		}
		switch e := livefuzz.Expect(wire.Qt5, a.Bytes); {
		case e.Complete && len(e.Trips) == 0:
			empty++
			complete++
		case e.Complete:
			complete++
		default:
			failed++
		}
	}
	for _, m := range names {
		if seen[m] == 0 {
			t.Errorf("no case of mutation %s in 2000: %v", m, seen)
		}
	}
	if len(seen) != len(names) {
		t.Errorf("unknown mutations: %v", seen)
	}
	t.Logf("%d complete (%d empty), %d failed", complete, empty, failed)
	if complete < 200 || empty < 20 || failed < 1000 {
		t.Errorf("%d complete (%d empty), %d failed of 2000", complete, empty, failed)
	}
	var got []string
	for n := 0; n < 3; n++ {
		c := livefuzz.NewReplyCase(1, n, wire.Qt4)
		got = append(got, fmt.Sprintf("%s %v %d %x", c.Mutation, c.Shape, len(c.Bytes), sha256.Sum256(c.Bytes))[:72])
	}
	t.Logf("pinned:\n%s", strings.Join(got, "\n"))
	if strings.Join(got, "\n") != pinnedReplyCases {
		t.Errorf("the reply cases of seed 1 changed:\n%s\nwant\n%s", strings.Join(got, "\n"), pinnedReplyCases)
	}
}

// pinnedReplyCases are the first three reply cases of seed 1, so that a
// change of the generator, which breaks every client reproducer's "same
// seed, same case", is seen.
const pinnedReplyCases = "" +
	"bit-flip+truncate coalesced 474 4f9711e7be17bb5156b357cf87a8e015755e06c6\n" +
	"valid random-seed-5056954544038479471 83 6d42b2acd1a1c3a014de352e3ba8cda\n" +
	"bit-flip bytes-3 27 52410271ec109f0d483f0a58bc514f1fbf22f428df3c9549c0c8"

// faultyClient is this test binary run as a client under the exec
// contract (argv: MODE ADDR PROFILE FROM TO DATE TIME FLAG): the
// reference client, except on a reply that is no answer, where it kills
// itself with a signal (mode crash) or waits for an hour (mode hang).
func faultyClient(mode string, args []string) int {
	p, err := wire.ParseProfile(args[1])
	if err != nil {
		return 2
	}
	str := func(s string) wire.String {
		if s == "@null" {
			return wire.NullString()
		}
		return wire.Str(s)
	}
	req := wire.Request{Type: wire.TypeSearch, From: str(args[2]), To: str(args[3]), Flag: args[6][0]}
	if req.Date, err = wire.ParseDate(args[4]); err != nil {
		return 2
	}
	if req.Time, err = wire.ParseTime(args[5]); err != nil {
		return 2
	}
	trips, err := fakes.Query(context.Background(), args[0], &req, p, 10*time.Second)
	if err != nil {
		if mode == "crash" {
			// SIGKILL: the Go runtime would turn a SIGSEGV sent by kill
			// into an exit status.
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		time.Sleep(time.Hour)
	}
	contract.WriteAnswer(os.Stdout, trips)
	return 0
}

// A client killed by a signal is a crash, one that does not finish a hang,
// each blamed on a reply that is no answer (the only one they fail on).
func TestClientCrashAndHang(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		mode string
		want livefuzz.Verdict
	}{{"crash", livefuzz.Crash}, {"hang", livefuzz.Hang}} {
		tmpl, err := conformance.ParseTemplate("'" + self + "' -livefuzz-client=" + tc.mode + " {addr} {profile} {from} {to} {date} {time} {flag}")
		if err != nil {
			t.Fatal(err)
		}
		res, err := livefuzz.RunClient(context.Background(), livefuzz.ClientConfig{Client: livefuzz.ExecClient{Template: tmpl}, Seed: 1, Cases: 50, Timeout: 3 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		f := res.Failure
		if f == nil || f.Outcome.Verdict != tc.want {
			t.Fatalf("%s: %+v after %d cases", tc.mode, f, res.Cases)
		}
		if e := livefuzz.Expect(f.Case.Profile, f.Case.Bytes); e.Complete {
			t.Fatalf("%s: %v on %s, a complete reply", tc.mode, tc.want, f.Case.String())
		}
		t.Logf("%s: %v at %s: %s", tc.mode, f.Outcome.Verdict, f.Case.String(), strings.SplitN(f.Outcome.Detail, "\n", 2)[0])
	}
}
