// Package conformancetest runs tripcheck's suites inside go test, as
// net/http/httptest serves HTTP inside it: the server suite against a
// server (Server), a capture replayed to a server (Replay), one subtest per
// scenario or session. It is the one package of tripcheck that imports
// package testing, so that the tripcheck command does not link it.
package conformancetest

import (
	"context"
	"os"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/capture"
)

// Server runs the server suite against addr inside go test, one subtest
// per scenario: a required failure fails its subtest, with the
// requirement and the explanation; a failed SHOULD that is not required
// (no Strict) and an expected failure are reported as skips that say so.
// The run ends by the test's deadline.
func Server(t *testing.T, addr string, o conformance.ServerOptions) *conformance.Report {
	t.Helper()
	o.Target = addr
	ctx, cancel := testContext(t)
	defer cancel()
	rep, err := conformance.RunServer(ctx, o)
	if err != nil {
		t.Fatalf("server suite: %v", err)
	}
	t.Logf("server suite against %s, profile %s (%s), seed %d", rep.Target, rep.Profile, rep.ProfileNote, rep.Seed)
	for _, r := range rep.Results {
		t.Run(r.ID, func(t *testing.T) {
			switch {
			case r.Status == conformance.Skip:
				t.Skip(r.Message)
			case r.ExpectedFailure && r.Status == conformance.Fail:
				t.Skipf("expected failure: %s", r.Message)
			case r.ExpectedFailure:
				t.Errorf("%s passed but is listed as an expected failure", r.ID)
			case r.Status == conformance.Fail && r.Required:
				t.Errorf("%s %s\nRequirement: %s\n%s\n%s", r.ID, r.Level, r.Requirement, r.Message, r.Log)
			case r.Status == conformance.Fail:
				t.Skipf("SHOULD not met (not required without Strict): %s\nRequirement: %s", r.Message, r.Requirement)
			}
		})
	}
	return rep
}

// Replay replays the capture in file to the server at addr inside go
// test, one subtest per session: a session whose live reply differs from
// the captured one fails its subtest with the explanation; a session that
// cannot be replayed is skipped with the reason.
func Replay(t *testing.T, file, addr string, o capture.ReplayOptions) *conformance.Report {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatalf("replay: %v", err)
	}
	defer f.Close()
	if o.Source == "" {
		o.Source = file
	}
	ctx, cancel := testContext(t)
	defer cancel()
	rep, info, err := capture.Replay(ctx, f, addr, o)
	if err != nil {
		t.Fatalf("replay %s: %v", file, err)
	}
	for _, n := range info.Notes {
		t.Logf("capture note: %v", n)
	}
	t.Logf("replay of %s against %s: %d sessions", file, addr, len(rep.Results))
	for _, r := range rep.Results {
		t.Run(r.ID, func(t *testing.T) {
			switch r.Status {
			case conformance.Skip:
				t.Skip(r.Message)
			case conformance.Fail:
				t.Errorf("%s\nRequirement: %s\n%s\n%s", r.ID, r.Requirement, r.Message, r.Log)
			}
		})
	}
	return rep
}

// testContext is the test's context, ended by its deadline if it has one.
func testContext(t *testing.T) (context.Context, context.CancelFunc) {
	ctx := t.Context()
	if dl, ok := t.Deadline(); ok {
		return context.WithDeadline(ctx, dl)
	}
	return context.WithCancel(ctx)
}
