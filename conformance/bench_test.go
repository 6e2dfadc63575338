package conformance_test

import (
	"context"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
)

// BenchmarkServerSuite times the whole default server suite (golden
// included) against the reference server: one op is one run of every
// scenario. h2spec runs 146 cases in about a second; the goal here is 2 s.
func BenchmarkServerSuite(b *testing.B) {
	srv, err := fakes.NewServer()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	runs := 0
	for b.Loop() {
		rep, err := conformance.RunServer(context.Background(), conformance.ServerOptions{
			Target: srv.Addr(), Golden: conformance.GoldenBook, Seed: 1,
		})
		if err != nil {
			b.Fatal(err)
		}
		if !rep.OK() || rep.Summary.Skipped != 0 {
			b.Fatalf("%+v", rep.Summary)
		}
		runs = len(rep.Results)
	}
	b.ReportMetric(float64(runs), "scenarios/op")
}
