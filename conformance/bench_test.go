package conformance_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// BenchmarkServerSuite times the whole default server suite (golden
// included) against the reference server: one op is one run of every
// scenario. h2spec runs 146 cases in about a second; the goal here is 2 s,
// and at most 1.2 times the run's slowest scenario (the wall/slowest
// metric).
func BenchmarkServerSuite(b *testing.B) {
	srv, err := fakes.NewServer()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	runs := 0
	var ratio float64
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
		ratio += float64(rep.Duration) / float64(rep.Slowest)
	}
	b.ReportMetric(float64(runs), "scenarios/op")
	b.ReportMetric(ratio/float64(b.N), "wall/slowest")
}

// BenchmarkSuiteWallByCount times the server suite against the reference
// server as the catalog grows: the slowest scenario alone (the baseline,
// the floor of any run), then the slowest scenario with more and more of
// the others beside it, up to the whole catalog. With the long waits
// started first and the rest run beside them, wall time should stay near
// the baseline whatever the count: the ratio metric is wall time over the
// run's slowest scenario.
func BenchmarkSuiteWallByCount(b *testing.B) {
	srv, err := fakes.NewServer()
	if err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	all, err := conformance.ServerScenarios(&conformance.ServerOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var ids []string
	for _, s := range all {
		if !s.Golden && s.ID != "truncate/stall" {
			ids = append(ids, s.ID)
		}
	}
	for _, n := range []int{0, len(ids) / 4, len(ids) / 2, len(ids)} {
		run := append([]string{"truncate/stall"}, ids[:n]...)
		b.Run(fmt.Sprintf("scenarios=%d", len(run)), func(b *testing.B) {
			b.ReportAllocs()
			var ratio float64
			for b.Loop() {
				rep, err := conformance.RunServer(context.Background(), conformance.ServerOptions{
					Target: srv.Addr(), Profile: wire.Qt4, Seed: 1, Run: run,
				})
				if err != nil {
					b.Fatal(err)
				}
				if !rep.OK() || len(rep.Results) != len(run) {
					b.Fatalf("%d results, %+v", len(rep.Results), rep.Summary)
				}
				ratio += float64(rep.Duration) / float64(rep.Slowest)
			}
			b.ReportMetric(ratio/float64(b.N), "wall/slowest")
		})
	}
}
