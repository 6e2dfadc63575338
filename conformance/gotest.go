package conformance

import (
	"context"
	"testing"
)

// TestServer runs the server suite against addr inside go test, one subtest
// per scenario: a required failure fails its subtest, with the requirement
// and the explanation; a failed SHOULD that is not required (no Strict) and
// an expected failure are reported as skips that say so.
func TestServer(t *testing.T, addr string, o ServerOptions) *Report {
	t.Helper()
	o.Target = addr
	ctx := context.Background()
	if dl, ok := t.Deadline(); ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, dl)
		defer cancel()
	}
	rep, err := RunServer(ctx, o)
	if err != nil {
		t.Fatalf("conformance: %v", err)
	}
	t.Logf("server suite against %s, profile %s (%s), seed %d", rep.Target, rep.Profile, rep.ProfileNote, rep.Seed)
	for _, r := range rep.Results {
		t.Run(r.ID, func(t *testing.T) {
			switch {
			case r.Status == Skip:
				t.Skip(r.Message)
			case r.ExpectedFailure && r.Status == Fail:
				t.Skipf("expected failure: %s", r.Message)
			case r.ExpectedFailure:
				t.Errorf("%s passed but is listed as an expected failure", r.ID)
			case r.Status == Fail && r.Required:
				t.Errorf("%s %s\nRequirement: %s\n%s\n%s", r.ID, r.Level, r.Requirement, r.Message, r.Log)
			case r.Status == Fail:
				t.Skipf("SHOULD not met (not required without Strict): %s\nRequirement: %s", r.Message, r.Requirement)
			}
		})
	}
	return rep
}
