package conformance_test

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/internal/proctest"
	"github.com/tripcheck/tripcheck/wire"
)

// The rule these tests serve: every check can fail. For every scenario of
// the server suite there is a deliberately broken server (a mode of
// testdata/brokenserver) that it catches, and testdata/broken.manifest says
// exactly which scenarios each mode fails.

const manifestFile = "testdata/broken.manifest"

// standInDurations are the trip durations brokenserver answers every request
// with: its deterministic stand-in for the book's glibc rand.
var standInDurations = []uint16{44, 8, 61}

// standInGolden is the golden reference of brokenserver in mode ok: three
// InterCity trips with one change, dated and timed as the request.
func standInGolden(p wire.Profile, r *wire.Request) ([]byte, error) {
	enc := wire.Encoder{Profile: p, AllowIllegalWrites: true}
	var b []byte
	for _, d := range standInDurations {
		t := wire.Trip{Date: r.Date, Departure: r.Time, Duration: d, Changes: 1, TrainType: wire.Str("InterCity")}
		var err error
		if b, err = enc.AppendTrip(b, &t); err != nil {
			return nil, err
		}
	}
	return wire.AppendEnd(b), nil
}

// manifestEntry is one entry of the manifest: a mode, the run glob, and the
// scenarios that must fail.
type manifestEntry struct {
	line int
	mode string
	glob string
	fail []string // sorted
}

func (e *manifestEntry) name() string { return e.mode + "/" + e.glob }

// patterns splits the run glob into the patterns of ServerOptions.Run and
// Skip: comma-separated, a skip pattern after a '!', and "*" for all.
func (e *manifestEntry) patterns() (run, skip []string) {
	for _, p := range strings.Split(e.glob, ",") {
		switch {
		case strings.HasPrefix(p, "!"):
			skip = append(skip, p[1:])
		case p != "*":
			run = append(run, p)
		}
	}
	return run, skip
}

// selects reports whether the entry's run glob selects the scenario id.
func (e *manifestEntry) selects(id string) bool {
	run, skip := e.patterns()
	ok := len(run) == 0
	for _, p := range run {
		ok = ok || conformance.Match(p, id)
	}
	for _, p := range skip {
		ok = ok && !conformance.Match(p, id)
	}
	return ok
}

// readManifest parses the manifest and checks it against the catalog: every
// ID exists and is selected by its entry's glob, and no entry repeats.
func readManifest(t *testing.T) []manifestEntry {
	t.Helper()
	b, err := os.ReadFile(manifestFile)
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, id := range catalogIDs(t) {
		known[id] = true
	}
	var out []manifestEntry
	seen := map[string]int{}
	for i, raw := range strings.Split(string(b), "\n") {
		line := i + 1
		if strings.HasPrefix(strings.TrimSpace(raw), "#") || strings.TrimSpace(raw) == "" {
			continue
		}
		fields := strings.Fields(raw)
		if raw[0] == ' ' || raw[0] == '\t' {
			// A continuation: more IDs for the entry above.
			if len(out) == 0 {
				t.Fatalf("%s:%d: a continuation line before any entry", manifestFile, line)
			}
			e := &out[len(out)-1]
			e.fail = append(e.fail, fields...)
			continue
		}
		if len(fields) < 2 {
			t.Fatalf("%s:%d: want <mode> <run-glob> <ID>... or <mode> <run-glob> -", manifestFile, line)
		}
		e := manifestEntry{line: line, mode: fields[0], glob: fields[1], fail: fields[2:]}
		if len(e.fail) == 1 && e.fail[0] == "-" {
			e.fail = nil
		}
		if prev, dup := seen[e.name()]; dup {
			t.Fatalf("%s:%d: %s %s is already the entry of line %d", manifestFile, line, e.mode, e.glob, prev)
		}
		seen[e.name()] = line
		out = append(out, e)
	}
	for i := range out {
		e := &out[i]
		slices.Sort(e.fail)
		if d := slices.Compact(slices.Clone(e.fail)); len(d) != len(e.fail) {
			t.Fatalf("%s:%d: %s lists a scenario twice", manifestFile, e.line, e.name())
		}
		for _, id := range e.fail {
			if !known[id] {
				t.Fatalf("%s:%d: %s: no scenario %q in the server catalog", manifestFile, e.line, e.name(), id)
			}
			if !e.selects(id) {
				t.Fatalf("%s:%d: %s: %s is not selected by the run glob %q", manifestFile, e.line, e.name(), id, e.glob)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("%s: no entries", manifestFile)
	}
	return out
}

// catalogIDs lists the IDs of the built-in server suite, variants expanded.
func catalogIDs(t *testing.T) []string {
	t.Helper()
	all, err := conformance.Catalog(conformance.SuiteServer)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, len(all))
	for i, s := range all {
		ids[i] = s.ID
	}
	return ids
}

// buildBrokenServer builds testdata/brokenserver into a temporary directory.
func buildBrokenServer(t *testing.T) string {
	t.Helper()
	return proctest.Build(t, "./testdata/brokenserver", "brokenserver")
}

// brokenServer is a running brokenserver process.
type brokenServer struct {
	*proctest.Proc
	mode string
}

// startBrokenServer starts bin in mode and profile, waits for the address it
// prints, and kills it when the test ends.
func startBrokenServer(t *testing.T, bin, mode string, p wire.Profile) *brokenServer {
	t.Helper()
	return &brokenServer{proctest.Start(t, exec.Command(bin, "-mode", mode, "-profile", p.String())), mode}
}

// crashed requires the server to have exited with code 3, as the crash
// modes do.
func (srv *brokenServer) crashed(t *testing.T) {
	t.Helper()
	if code := srv.ExitCode(t); code != 3 {
		t.Errorf("brokenserver -mode %s ended with exit code %d, not 3\n%s", srv.mode, code, srv.Stderr())
	}
}

// runSuite runs the server suite, strict and with the stand-in golden
// reference, against srv.
func runSuite(t *testing.T, srv *brokenServer, p wire.Profile, e *manifestEntry) *conformance.Report {
	t.Helper()
	o := conformance.ServerOptions{
		Target:     srv.Addr,
		Profile:    p,
		Strict:     true,
		Golden:     standInGolden,
		GoldenName: "stand-in",
		Seed:       1,
		Parallel:   8,
	}
	o.Run, o.Skip = e.patterns()
	rep, err := conformance.RunServer(t.Context(), o)
	if err != nil {
		t.Fatalf("RunServer: %v", err)
	}
	if len(rep.Results) == 0 {
		t.Fatalf("the run glob %q selects no scenario", e.glob)
	}
	return rep
}

// maxEntriesAtOnce bounds how many manifest entries run at once, whatever
// -parallel says: each runs 8 scenarios at once against its own server.
const maxEntriesAtOnce = 3

func TestBrokenServers(t *testing.T) {
	entries := readManifest(t)
	bin := buildBrokenServer(t)
	slots := make(chan struct{}, maxEntriesAtOnce)
	for _, e := range entries {
		t.Run(e.name(), func(t *testing.T) {
			t.Parallel()
			slots <- struct{}{}
			defer func() { <-slots }()
			srv := startBrokenServer(t, bin, e.mode, wire.Qt4)
			rep := runSuite(t, srv, wire.Qt4, &e)
			checkFailures(t, &e, srv, rep)
			checkCauses(t, &e, rep)
			if strings.HasPrefix(e.mode, "crash-") {
				srv.crashed(t)
			}
		})
	}
}

// failedIDs returns the sorted IDs of the failed scenarios of rep, and
// fails t for every skipped one: against a server every scenario runs.
func failedIDs(t *testing.T, rep *conformance.Report) []string {
	t.Helper()
	for _, r := range rep.Results {
		if r.Status == conformance.Skip {
			t.Errorf("%s skipped: %s", r.ID, r.Message)
		}
	}
	return clientByStatus(rep, conformance.Fail)
}

// checkFailures requires the failed scenarios of rep to be exactly those
// the manifest entry lists.
func checkFailures(t *testing.T, e *manifestEntry, srv *brokenServer, rep *conformance.Report) {
	t.Helper()
	failed := failedIDs(t, rep)
	byID := map[string]conformance.Result{}
	for _, r := range rep.Results {
		byID[r.ID] = r
	}
	if slices.Equal(failed, e.fail) {
		t.Logf("%d of %d scenarios failed, as listed (%v)", len(failed), len(rep.Results), rep.Duration.Round(time.Millisecond))
		return
	}
	var extra, missing []string
	for _, id := range failed {
		if !slices.Contains(e.fail, id) {
			extra = append(extra, id)
		}
	}
	for _, id := range e.fail {
		if !slices.Contains(failed, id) {
			missing = append(missing, id)
		}
	}
	var msg strings.Builder
	fmt.Fprintf(&msg, "%s:%d: brokenserver -mode %s, run %q: the failed scenarios are not the listed ones\n", manifestFile, e.line, e.mode, e.glob)
	fmt.Fprintf(&msg, "failed but not listed (%d): %s\n", len(extra), strings.Join(extra, " "))
	fmt.Fprintf(&msg, "listed but passed (%d): %s\n", len(missing), strings.Join(missing, " "))
	fmt.Fprintf(&msg, "failed (%d): %s\n", len(failed), strings.Join(failed, " "))
	fmt.Fprintf(&msg, "listed (%d): %s\n", len(e.fail), strings.Join(e.fail, " "))
	msg.WriteString("messages of the failed scenarios:\n")
	for _, id := range failed {
		fmt.Fprintf(&msg, "  %s: %s\n", id, byID[id].Message)
	}
	for _, id := range extra {
		fmt.Fprintf(&msg, "log of %s:\n%s\n", id, byID[id].Log)
	}
	if s := srv.Stderr(); s != "" {
		fmt.Fprintf(&msg, "server stderr:\n%s", s)
	}
	t.Error(msg.String())
}

func TestEveryScenarioCanFail(t *testing.T) {
	covered := map[string][]string{}
	for _, e := range readManifest(t) {
		for _, id := range e.fail {
			covered[id] = append(covered[id], e.mode)
		}
	}
	ids := catalogIDs(t)
	var uncovered []string
	for _, id := range ids {
		if len(covered[id]) == 0 {
			uncovered = append(uncovered, id)
		}
	}
	if len(uncovered) > 0 {
		t.Errorf("%d of %d server scenarios fail against no broken server in %s:\n  %s",
			len(uncovered), len(ids), manifestFile, strings.Join(uncovered, "\n  "))
	}
}

func TestOKServerPasses(t *testing.T) {
	bin := buildBrokenServer(t)
	for _, p := range wire.Profiles() {
		t.Run(p.String(), func(t *testing.T) {
			srv := startBrokenServer(t, bin, "ok", p)
			rep := runSuite(t, srv, p, &manifestEntry{mode: "ok", glob: "*"})
			for _, r := range rep.Results {
				if r.Status != conformance.Pass {
					t.Errorf("%s %s: %s\nRequirement: %s\n%s", r.ID, r.Status, r.Message, r.Requirement, r.Log)
				}
			}
			if n := len(rep.Results); n != len(catalogIDs(t)) {
				t.Errorf("%d scenarios ran, want the whole catalog", n)
			}
			if s := srv.Stderr(); s != "" {
				t.Logf("server stderr:\n%s", s)
			}
		})
	}
}
