package conformance_test

import (
	"bufio"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/internal/proctest"
	"github.com/tripcheck/tripcheck/wire"
)

// buildBrokenClient builds testdata/brokenclient into a temporary directory
// and returns its path.
func buildBrokenClient(t *testing.T) string {
	t.Helper()
	return proctest.Build(t, "./testdata/brokenclient", "brokenclient")
}

// brokenTemplate is the exec template of brokenclient in a mode, with its
// own timeout of 4s.
func brokenTemplate(bin, mode string) string {
	return "'" + bin + "' -mode " + mode + " -profile {profile} -timeout 4s -host {host} -port {port} {from} {to} {date} {time} {flag}"
}

// loadedTimeout is the step timeout of these tests: well above the
// broken clients' own 4s, so that a loaded machine does not turn a client
// that gives up in time into one that did not.
const loadedTimeout = 10 * time.Second

// clientTestSeed is a fresh seed, logged so that a failure can be replayed.
func clientTestSeed(t *testing.T) int64 {
	seed := rand.Int64N(1 << 31)
	t.Logf("seed %d", seed)
	return seed
}

func clientByStatus(rep *conformance.Report, st conformance.Status) []string {
	var ids []string
	for _, r := range rep.Results {
		if r.Status == st {
			ids = append(ids, r.ID)
		}
	}
	sort.Strings(ids)
	return ids
}

// The reference client, fakes.Query, passes every scenario in both
// profiles, strict, the profile given or detected.
func TestClientSuiteReference(t *testing.T) {
	bin := buildBrokenClient(t)
	seed := clientTestSeed(t)
	for _, tc := range []struct {
		name    string
		exec    string
		profile wire.Profile
	}{
		{"qt4", brokenTemplate(bin, "ok"), wire.Qt4},
		{"qt5", brokenTemplate(bin, "ok"), wire.Qt5},
		{"auto-qt5", strings.Replace(brokenTemplate(bin, "ok"), "{profile}", "qt5", 1), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
				Exec: tc.exec, Profile: tc.profile, Timeout: loadedTimeout, Strict: true, Seed: seed,
			})
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rep.Results {
				if r.Status != conformance.Pass {
					t.Errorf("%s: %s: %s\n%s", r.ID, r.Status, r.Message, r.Log)
				}
			}
			if tc.profile == 0 && (rep.Profile != "qt5" || rep.ProfileNote != "detected from the client's first request") {
				t.Errorf("profile %q (%s), want qt5 detected", rep.Profile, rep.ProfileNote)
			}
			if len(rep.Results) < 30 {
				t.Errorf("only %d scenarios", len(rep.Results))
			}
			t.Logf("%+v in %v", rep.Summary, rep.Duration)
		})
	}
}

// clientManifestEntry is one broken client and what it must fail.
type clientManifestEntry struct {
	mode      string
	run, skip []string
	mustFail  []string
}

// selects reports whether the entry's run patterns select the scenario id.
func (e *clientManifestEntry) selects(id string) bool {
	ok := len(e.run) == 0
	for _, p := range e.run {
		ok = ok || conformance.Match(p, id)
	}
	for _, p := range e.skip {
		ok = ok && !conformance.Match(p, id)
	}
	return ok
}

func readClientManifest(t *testing.T, path string) []clientManifestEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []clientManifestEntry
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "#") || strings.TrimSpace(line) == "" {
			continue
		}
		fields := strings.Fields(line)
		if line[0] == ' ' || line[0] == '\t' {
			if len(out) == 0 {
				t.Fatalf("%s:%d: a continuation line before any entry", path, n)
			}
			out[len(out)-1].mustFail = append(out[len(out)-1].mustFail, fields...)
			continue
		}
		if len(fields) < 2 {
			t.Fatalf("%s:%d: want <mode> <run-patterns> <IDs...>", path, n)
		}
		e := clientManifestEntry{mode: fields[0], mustFail: fields[2:]}
		if len(e.mustFail) == 1 && e.mustFail[0] == "-" {
			e.mustFail = nil
		}
		for _, p := range strings.Split(fields[1], ",") {
			switch {
			case strings.HasPrefix(p, "!"):
				e.skip = append(e.skip, p[1:])
			case p != "*":
				e.run = append(e.run, p)
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// Every broken client fails exactly the scenarios the manifest names, in
// both profiles, and every scenario of the suite is named for some broken
// client: every check can fail.
func TestBrokenClients(t *testing.T) {
	entries := readClientManifest(t, filepath.Join("testdata", "broken-clients.manifest"))
	all, err := conformance.ClientScenarios(&conformance.ClientOptions{})
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, s := range all {
		known[s.ID] = true
	}
	covered := map[string]bool{}
	for _, e := range entries {
		for _, id := range e.mustFail {
			if !known[id] {
				t.Errorf("manifest: %s must fail %q, which is no scenario", e.mode, id)
			}
			if !e.selects(id) {
				t.Errorf("manifest: %s must fail %s, which its run patterns leave out", e.mode, id)
			}
			covered[id] = true
		}
	}
	for _, s := range all {
		if !covered[s.ID] {
			t.Errorf("no broken client fails %s: nothing proves that check can fail", s.ID)
		}
	}
	bin := buildBrokenClient(t)
	seed := clientTestSeed(t)
	// At most a few entries at once: each runs two profiles of 8
	// scenarios, and a broken client's own 4s would run out on a machine
	// loaded with all of them.
	slots := make(chan struct{}, 4)
	for _, e := range entries {
		t.Run(e.mode, func(t *testing.T) {
			t.Parallel()
			slots <- struct{}{}
			defer func() { <-slots }()
			want := append([]string(nil), e.mustFail...)
			sort.Strings(want)
			// The two profiles at once: the runs wait far more than
			// they compute.
			var wg sync.WaitGroup
			for _, p := range wire.Profiles() {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
						Exec: brokenTemplate(bin, e.mode), Profile: p, Timeout: loadedTimeout,
						Strict: true, Seed: seed, Run: e.run, Skip: e.skip,
					})
					if err != nil {
						t.Errorf("%v: %v", p, err)
						return
					}
					got := clientByStatus(rep, conformance.Fail)
					// Every failure has a cause: a check that fails says
					// what it found.
					for _, r := range rep.Results {
						if r.Status == conformance.Fail && len(r.Findings) == 0 {
							t.Errorf("%v %s failed without a finding: %s", p, r.ID, r.Message)
						}
					}
					if !reflect.DeepEqual(got, want) && !(len(got) == 0 && len(want) == 0) {
						for _, r := range rep.Results {
							if r.Status == conformance.Fail != clientListHas(want, r.ID) {
								t.Logf("%v %s: %s: %s\n%s", p, r.ID, r.Status, r.Message, r.Log)
							}
						}
						t.Errorf("%v: failed\n  %v\nwant\n  %v", p, got, want)
					}
				}()
			}
			wg.Wait()
		})
	}
}

func clientListHas(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// A client that exits 89 on a search it does not implement skips the
// scenario, saying so.
func TestClientNotImplemented(t *testing.T) {
	bin := buildBrokenClient(t)
	rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
		Exec: brokenTemplate(bin, "no-nulls"), Profile: wire.Qt4, Run: []string{"request"}, Seed: clientTestSeed(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := clientByStatus(rep, conformance.Skip); !reflect.DeepEqual(got, []string{"request/null-values"}) {
		t.Errorf("skipped %v, want [request/null-values]", got)
	}
	for _, r := range rep.Results {
		if r.ID == "request/null-values" && !strings.Contains(r.Message, "exit 89") {
			t.Errorf("skip message %q does not say exit 89", r.Message)
		}
	}
}

// Listen mode: a client connects for every scenario that waits for one
// (here fakes.Query, making the search the prompt asks for); the checks on
// the wire give verdicts, those of the printed output skip with "needs
// --exec", and every reply is told at once with what a client shows.
func TestClientListen(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	prompts := make(chan conformance.Prompt, 100)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for p := range prompts {
			req := p.Search
			fakes.Query(context.Background(), p.Addr, &req, wire.Qt5, 3*time.Second)
		}
	}()
	var seen []string
	told := map[string]string{}
	rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
		Listener: ln, Timeout: loadedTimeout, Wait: 30 * time.Second, Strict: true, Seed: clientTestSeed(t),
		Feedback: func(f conformance.Feedback) { told[f.ID] = f.String() },
		Prompt: func(p conformance.Prompt) {
			seen = append(seen, p.ID)
			if !strings.Contains(p.String(), "run your client against "+ln.Addr().String()) {
				t.Errorf("prompt %q", p.String())
			}
			prompts <- p
		},
	})
	close(prompts)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Profile != "qt5" {
		t.Errorf("profile %q (%s), want qt5 detected", rep.Profile, rep.ProfileNote)
	}
	for _, r := range rep.Results {
		wire := strings.HasPrefix(r.ID, "request/") || r.ID == "stall/before-reply" || r.ID == "stall/mid-reply" || r.ID == "reply/closes-after-end"
		switch {
		case wire && r.Status != conformance.Pass:
			t.Errorf("%s: %s: %s\n%s", r.ID, r.Status, r.Message, r.Log)
		case !wire && (r.Status != conformance.Skip || !strings.HasPrefix(r.Message, "needs --exec")):
			t.Errorf("%s: %s: %q, want a skip that needs --exec", r.ID, r.Status, r.Message)
		}
	}
	// No prompt: the three sweeps and closed/nothing-listening need --exec.
	if len(seen) < len(rep.Results)-4 {
		t.Errorf("%d prompts for %d scenarios", len(seen), len(rep.Results))
	}
	if f := told["trips/seven/whole"]; !strings.Contains(f, "7 trips in qt5") || !strings.Contains(f, "should show a list of 7 trips and no error") {
		t.Errorf("feedback of trips/seven/whole: %q", f)
	}
	if f := told["closed/no-end-marker"]; !strings.Contains(f, "should show an error and no trip") {
		t.Errorf("feedback of closed/no-end-marker: %q", f)
	}
	t.Logf("%+v; prompts for %d scenarios", rep.Summary, len(seen))
}

// Listen mode stops waiting after one wait runs out: nobody searching is
// not the client's failure, so the scenario that waited and those left all
// skip.
func TestClientListenNobody(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
		Listener: ln, Wait: 200 * time.Millisecond, Run: []string{"request"}, Seed: clientTestSeed(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	fails, skips := clientByStatus(rep, conformance.Fail), clientByStatus(rep, conformance.Skip)
	if len(fails) != 0 || len(skips) != len(rep.Results) {
		t.Errorf("failed %v, skipped %v", fails, skips)
	}
	if rep.Profile != "" {
		t.Errorf("profile %q without a client", rep.Profile)
	}
}

// Listen mode checks a request for validity: a flag other than D or A fails
// request/default, with the field and its byte.
func TestClientListenBadRequest(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan struct{})
	rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
		Listener: ln, Timeout: loadedTimeout, Wait: 30 * time.Second, Run: []string{"request/default"}, Seed: clientTestSeed(t),
		Prompt: func(p conformance.Prompt) {
			go func() {
				defer close(done)
				req := conformance.DefaultRequest()
				req.Flag = 'X'
				b, err := wire.Encoder{Profile: wire.Qt4, AllowIllegalWrites: true}.AppendRequest(nil, &req)
				if err != nil {
					t.Error(err)
					return
				}
				c, err := net.DialTimeout("tcp", p.Addr, loadedTimeout)
				if err != nil {
					t.Error(err)
					return
				}
				defer c.Close()
				c.SetDeadline(time.Now().Add(loadedTimeout))
				c.Write(b)
				io.Copy(io.Discard, c)
			}()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(loadedTimeout):
		t.Fatal("the client was never asked to search")
	}
	r := rep.Results[0]
	if r.Status != conformance.Fail || !strings.Contains(r.Message, "flag is neither 'D' nor 'A'") || !strings.Contains(r.Log, "request[0].flag") {
		t.Errorf("%s: %s: %s\n%s", r.ID, r.Status, r.Message, r.Log)
	}
	t.Logf("%s\n%s", r.Message, r.Log)
}
