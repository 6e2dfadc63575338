package report

import (
	"bytes"
	"fmt"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/conformance"
)

// streamed runs r's results through a Stream and returns the text, JSON and
// JUnit it writes.
func streamed(t *testing.T, r *conformance.Report, opts TextOptions) (text, js, junit string) {
	t.Helper()
	var out bytes.Buffer
	s, err := NewStream(&out, opts, true, true)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	// A run that starts over (pcap check reading a capture again by
	// content) calls Begin again before any result.
	s.Begin(&conformance.Report{Suite: "first try"})
	s.Begin(r)
	fin := *r
	fin.Results, fin.Streamed = nil, true
	for _, res := range r.Results {
		fin.Summary.Count(res)
		s.Add(res)
	}
	if err := s.FinishText(&fin); err != nil {
		t.Fatal(err)
	}
	var j, x bytes.Buffer
	if err := s.JSON(&j, &fin); err != nil {
		t.Fatal(err)
	}
	if err := s.JUnit(&x, &fin); err != nil {
		t.Fatal(err)
	}
	return out.String(), j.String(), x.String()
}

// TestStreamSameBytes: a streamed report reads byte for byte as the whole
// report written by Text, JSON and JUnit, when each area's results come
// together (as a capture's sessions do).
func TestStreamSameBytes(t *testing.T) {
	grouped := sample()
	sort.SliceStable(grouped.Results, func(i, j int) bool { return areaOf(grouped.Results[i]) < areaOf(grouped.Results[j]) })
	empty := sample()
	empty.Results = nil
	onlyPass := sample()
	onlyPass.Results = onlyPass.Results[:1]
	for name, r := range map[string]*conformance.Report{"grouped": grouped, "empty": empty, "one pass": onlyPass} {
		for _, opts := range []TextOptions{{}, {Verbose: true}, {Color: true}} {
			t.Run(fmt.Sprintf("%s/%+v", name, opts), func(t *testing.T) {
				text, js, junit := streamed(t, r, opts)
				var wantText, wantJSON, wantJUnit bytes.Buffer
				if err := Text(&wantText, r, opts); err != nil {
					t.Fatal(err)
				}
				if err := JSON(&wantJSON, r); err != nil {
					t.Fatal(err)
				}
				if err := JUnit(&wantJUnit, r); err != nil {
					t.Fatal(err)
				}
				if d := cmp.Diff(wantText.String(), text); d != "" {
					t.Errorf("text (-whole +streamed):\n%s", d)
				}
				if d := cmp.Diff(wantJSON.String(), js); d != "" {
					t.Errorf("JSON (-whole +streamed):\n%s", d)
				}
				if d := cmp.Diff(wantJUnit.String(), junit); d != "" {
					t.Errorf("JUnit (-whole +streamed):\n%s", d)
				}
			})
		}
	}
}

// TestStreamedTally: a streamed report keeps the Summary it counted; Tally
// and OK do not recount its (absent) results, so a failure still fails.
func TestStreamedTally(t *testing.T) {
	r := &conformance.Report{Streamed: true}
	r.Summary.Count(conformance.Result{Status: conformance.Fail, Required: true, Level: conformance.Must})
	if r.OK() || r.Summary.FailedRequired != 1 {
		t.Errorf("streamed report with a required failure: OK %v, summary %+v", r.OK(), r.Summary)
	}
}
