package conformance_test

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/report"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// A server that leaves out the end marker fails most of the catalog for
// that one reason: its report must lead with one cause that covers every
// failure, named once, with where it was first seen.
func TestCausesNoEndMarker(t *testing.T) {
	// The trips, then a FIN where the end marker belongs; the server
	// reads on, so that no reset loses the reply.
	srv, err := fakes.NewServer(fakes.WithFault(fakes.Fault{NoEnd: true, Shape: shape.Shape{Then: shape.ThenHalfClose}}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	rep, err := conformance.RunServer(t.Context(), conformance.ServerOptions{
		Target: srv.Addr(), Profile: wire.Qt4, Seed: 1, Parallel: 8,
	})
	if err != nil {
		t.Fatal(err)
	}
	rep.Tally()
	if rep.Summary.Failed < 40 {
		t.Fatalf("%d failures; the end-marker-less server should fail most of the catalog", rep.Summary.Failed)
	}
	if len(rep.Causes) != 1 {
		t.Fatalf("%d causes, want 1: %+v", len(rep.Causes), rep.Causes)
	}
	c := rep.Causes[0]
	if c.Check != "reply/no-end-marker" || len(c.IDs) != rep.Summary.Failed || c.Offset < 0 {
		t.Errorf("cause %+v covers %d of %d failures; want reply/no-end-marker covering all, with an offset", c, len(c.IDs), rep.Summary.Failed)
	}
	var b bytes.Buffer
	if err := report.Text(&b, rep, report.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(b.String(), "\n")
	want := "1 cause explains " + itoa(rep.Summary.Failed) + " failures: the reply has no end marker (first in " + c.First
	if len(lines) < 3 || !strings.HasPrefix(lines[2], want) {
		t.Errorf("the report does not lead with the cause; want line 3 to start %q\n%s", want, b.String())
	}
	t.Logf("%s", lines[2])
}

func itoa(n int) string { return strconv.Itoa(n) }

const causesFile = "testdata/broken-causes.manifest"

// causesManifest reads testdata/broken-causes.manifest: for an entry of
// broken.manifest (mode and run glob), the Check IDs of the causes of its
// failures.
var causesManifest = sync.OnceValues(func() (map[string][]string, error) {
	f, err := os.Open(filepath.FromSlash(causesFile))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		if len(fields) < 2 {
			continue
		}
		checks := fields[2:]
		if len(checks) == 1 && checks[0] == "-" {
			checks = nil
		}
		slices.Sort(checks)
		out[fields[0]+"/"+fields[1]] = checks
	}
	return out, sc.Err()
})

// checkCauses requires the causes of rep to be those the causes manifest
// lists for the entry, and every failure to have a cause: a failure
// without a finding is a check that does not say what it found.
func checkCauses(t *testing.T, e *manifestEntry, rep *conformance.Report) {
	t.Helper()
	want, err := causesManifest()
	if err != nil {
		t.Fatal(err)
	}
	rep.Tally()
	var got []string
	explained := 0
	for _, c := range rep.Causes {
		got = append(got, c.Check)
		explained += len(c.IDs)
	}
	slices.Sort(got)
	if explained != rep.Summary.Failed {
		for _, r := range rep.Results {
			if r.Status == conformance.Fail && len(r.Findings) == 0 {
				t.Errorf("%s failed without a finding: %s", r.ID, r.Message)
			}
		}
	}
	w, ok := want[e.name()]
	line := e.mode + " " + e.glob + " " + strings.Join(append([]string{}, got...), " ")
	if len(got) == 0 {
		line = e.mode + " " + e.glob + " -"
	}
	switch {
	case !ok:
		t.Errorf("%s: no entry for %s; the causes are:\n%s", causesFile, e.name(), line)
	case !slices.Equal(w, got):
		var desc []string
		for _, c := range rep.Causes {
			desc = append(desc, c.Check+": "+c.String()+" ("+itoa(len(c.IDs))+")")
		}
		t.Errorf("%s: %s: causes %v, want %v; the line is:\n%s\n%s", causesFile, e.name(), got, w, line, strings.Join(desc, "\n"))
	}
}
