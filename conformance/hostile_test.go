//go:build linux

package conformance_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/internal/proctest"
	"github.com/tripcheck/tripcheck/wire"
)

// maxRSS is the memory bound of a run against any peer.
const maxRSS = 256 << 20

// tripcheckRun is one run of the tripcheck command as a child process.
type tripcheckRun struct {
	code    int
	output  string // stdout and stderr
	elapsed time.Duration
	maxRSS  int64 // bytes, from the child's rusage
	report  *conformance.Report
}

// runTripcheck runs `tripcheck server ADDR --timeout 1s --seed 1 --json F
// ARGS...` and reads its exit status, wall time, peak resident memory and
// JSON report.
func runTripcheck(t *testing.T, bin, addr string, args ...string) *tripcheckRun {
	t.Helper()
	jsonFile := filepath.Join(t.TempDir(), "report.json")
	args = append([]string{"server", addr, "--timeout", "1s", "--seed", "1", "--json", jsonFile}, args...)
	// The peak RSS is read by /usr/bin/time, which forks the command: a
	// child that os/exec starts itself shares this test process's memory
	// until it execs (vfork), and Linux counts that in its ru_maxrss, so
	// the rusage of a direct child reports this process's peak, not
	// tripcheck's (290 MiB under -race).
	timeBin, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("/usr/bin/time is needed to read the peak RSS (Debian: time): %v", err)
		}
		t.Skipf("no /usr/bin/time to read the peak RSS of a child (Debian: time)")
	}
	rssFile := filepath.Join(t.TempDir(), "rss")
	cmd := exec.Command(timeBin, append([]string{"-f", "%M", "-o", rssFile, bin}, args...)...)
	// One writer for both: os/exec then calls its Write from one
	// goroutine at a time.
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err = cmd.Run()
	r := &tripcheckRun{elapsed: time.Since(start), output: out.String()}
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.Exited():
		r.code = ee.ExitCode()
	default:
		t.Fatalf("tripcheck %s: %v\n%s", strings.Join(args, " "), err, r.output)
	}
	rss, err := os.ReadFile(rssFile)
	if err != nil {
		t.Fatalf("the peak RSS from /usr/bin/time: %v", err)
	}
	kib, err := strconv.ParseInt(strings.TrimSpace(lastLineOf(string(rss))), 10, 64)
	if err != nil {
		t.Fatalf("the peak RSS from /usr/bin/time: %q: %v", rss, err)
	}
	r.maxRSS = kib << 10
	if b, err := os.ReadFile(jsonFile); err == nil {
		r.report = new(conformance.Report)
		if err := json.Unmarshal(b, r.report); err != nil {
			t.Fatalf("the JSON report: %v", err)
		}
	}
	return r
}

// TestHostileServers runs the server suite, as a user runs it, against
// servers that are not working Trip servers at all (testdata/hostileserver)
// and requires for each the verdict, the exit status, an end within its
// time bound, and a peak resident memory under 256 MiB. The time bounds are
// loose (the machine may be loaded): they tell an end within the timeouts
// from a run that hangs, or that waits out every scenario of the catalog.
func TestHostileServers(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs two commands")
	}
	tripcheck := proctest.Build(t, "../cmd/tripcheck", "tripcheck")
	hostile := proctest.Build(t, "./testdata/hostileserver", "hostileserver")
	for _, c := range []struct {
		mode string
		args []string
		// preflight is the preflight's finding; "" when it passes.
		preflight string
		// verdict is in the output.
		verdict string
		// catalog: the scenarios ran, and every failure has the verdict.
		catalog bool
		bound   time.Duration
	}{
		{mode: "silent", preflight: "conn/silent", verdict: "sent nothing within 1s of a valid request", bound: 10 * time.Second},
		{mode: "reset", preflight: "conn/reset", verdict: "reset the connection", bound: 10 * time.Second},
		{mode: "http", preflight: "reply/not-trip", verdict: "answered with 'HTTP/1.1 400 Bad Request…': not the Trip protocol", bound: 10 * time.Second},
		{mode: "random", preflight: "reply/not-trip", verdict: "which are no trip in qt4 or qt5: not the Trip protocol", bound: 10 * time.Second},
		{mode: "slow-block", preflight: "reply/stalled", verdict: "the block at offset 0 announces 65534 bytes", bound: 10 * time.Second},
		// A stream of valid trips is a Trip reply: the preflight passes,
		// and every reply read stops at the budget.
		{mode: "endless-trips", verdict: "the reply runs past the byte budget", catalog: true, bound: 120 * time.Second},
		// Past the preflight, every reader of the catalog stays bounded.
		{mode: "random", args: []string{"--keep-going"}, preflight: "reply/not-trip", catalog: true, bound: 120 * time.Second},
	} {
		name := strings.Join(append([]string{c.mode}, c.args...), " ")
		t.Run(name, func(t *testing.T) {
			srv := startBrokenServer(t, hostile, c.mode, wire.Qt4)
			r := runTripcheck(t, tripcheck, srv.Addr, c.args...)
			t.Logf("tripcheck server %s: exit %d in %v, peak RSS %.1f MiB", name, r.code, r.elapsed.Round(time.Millisecond), float64(r.maxRSS)/(1<<20))
			if r.code != 1 {
				t.Errorf("exit status %d, want 1\n%s", r.code, tail(r.output))
			}
			if r.elapsed > c.bound {
				t.Errorf("took %v, more than its bound %v", r.elapsed, c.bound)
			}
			if r.maxRSS >= maxRSS {
				t.Errorf("peak RSS %d MiB, want under %d MiB", r.maxRSS>>20, maxRSS>>20)
			}
			if c.verdict != "" && !strings.Contains(r.output, c.verdict) {
				t.Errorf("the output does not say %q\n%s", c.verdict, tail(r.output))
			}
			if r.report == nil || r.report.Preflight == nil {
				t.Fatalf("no preflight in the JSON report\n%s", tail(r.output))
			}
			pf := r.report.Preflight
			switch {
			case c.preflight == "" && !pf.OK:
				t.Errorf("the preflight failed: %s", pf.Verdict)
			case c.preflight != "" && (pf.OK || pf.Finding == nil || pf.Finding.Check != c.preflight):
				t.Errorf("preflight %+v (finding %+v), want the finding %s", pf, pf.Finding, c.preflight)
			}
			ran := len(r.report.Results) > 1
			if ran != c.catalog {
				t.Errorf("%d results; want the catalog run: %v", len(r.report.Results), c.catalog)
			}
			if c.preflight != "" && (len(r.report.Results) == 0 || r.report.Results[0].ID != conformance.PreflightID) {
				t.Errorf("the report does not lead with the preflight's result")
			}
		})
	}
}

// TestRefusedIsUsageError: a refused connection stays the user's to fix,
// exit 2, not a server fault.
func TestRefusedIsUsageError(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs a command")
	}
	tripcheck := proctest.Build(t, "../cmd/tripcheck", "tripcheck")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	r := runTripcheck(t, tripcheck, addr)
	if r.code != 2 || !strings.Contains(r.output, "cannot connect") {
		t.Errorf("exit %d, want 2 and \"cannot connect\"\n%s", r.code, r.output)
	}
	if r.report != nil {
		t.Errorf("a report was written for a run that could not be made")
	}
}

// tail is the end of a command's output, for failure messages.
func tail(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > 30 {
		lines = append([]string{"…"}, lines[len(lines)-30:]...)
	}
	return strings.Join(lines, "\n")
}

// lastLineOf is the last non-empty line of s (/usr/bin/time writes a note
// before its figure when the command exits non-zero).
func lastLineOf(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
