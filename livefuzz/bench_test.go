package livefuzz

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// acceptClose is the baseline server: it accepts each connection and
// closes it at once, reading nothing.
func acceptClose(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	b.Cleanup(func() { ln.Close(); wg.Wait() })
	return ln.Addr().String()
}

// BenchmarkFuzzServer is the case loop of Run (sendParallel: the cases of
// a batch, --parallel at a time) against the reference server and, in the
// same benchmark, against a bare accept-and-close server: the floor that
// the machine and the fuzzer's own work set. The two take turns, chunk
// cases at a time (the reference first in one turn, the floor first in
// the next), so that the load of a shared machine, which moves by a factor
// of two within a second, weighs on both alike; each server's time is its
// own chunks' sum. Run one after the other, as sub-benchmarks of their
// own, the two gave ratios from 0.44 to 0.84 for the same code; taking
// turns a batch (100 cases) at a time, 0.31 to 1.15; in turns of 20 cases,
// 10 000 cases in all, within about ±0.15. An op is one case on each server: ns/op, B/op and
// allocs/op are for the pair, SetBytes the mean size of one case, and the
// metrics say each server's cases/s and their ratio, ref/floor. Where the
// process's CPU time is known (unix), cpu-ref/floor is the same ratio of
// CPU time per case (the fuzzer's and the in-process server's, which load
// moves far less than it moves wall time), and ref-cpu-µs/case and
// floor-cpu-µs/case its terms.
//
//	go test ./livefuzz -run '^$' -bench FuzzServer -benchtime 10000x -count 3
func BenchmarkFuzzServer(b *testing.B) {
	const chunk = 20 // cases per turn; a turn ends as Run's batches do, with no case in flight
	var total int
	for n := 0; n < 1000; n++ {
		c := NewCase(1, n, wire.Qt4)
		total += len(c.Bytes)
	}
	for _, parallel := range []int{1, 4} {
		b.Run(fmt.Sprintf("parallel-%d", parallel), func(b *testing.B) {
			srv, err := fakes.NewServer()
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { srv.Close() })
			servers := []struct {
				name string
				cfg  Config
				res  *Result
				took time.Duration
				cpu  time.Duration
			}{
				{name: "reference", cfg: Config{Addr: srv.Addr()}},
				{name: "floor", cfg: Config{Addr: acceptClose(b)}},
			}
			for i := range servers {
				s := &servers[i]
				s.cfg.Profile, s.cfg.Seed, s.cfg.Timeout, s.cfg.Parallel = wire.Qt4, 1, 10*time.Second, parallel
				s.res = &Result{Endings: map[Ending]int{}}
			}
			b.SetBytes(int64(total / 1000))
			b.ReportAllocs()
			b.ResetTimer()
			for n, turn := 0, 0; n < b.N; turn++ {
				end := min(n+chunk, b.N)
				for k := range servers {
					s := &servers[(k+turn)%len(servers)]
					start := time.Now()
					cpu0, _ := processCPU()
					for m := n; m < end; {
						_, sent := sendParallel(context.Background(), &s.cfg, m, end, s.res, nil)
						if sent == 0 {
							b.Fatalf("%s: no case sent", s.name)
						}
						m += sent
					}
					s.took += time.Since(start)
					cpu1, _ := processCPU()
					s.cpu += cpu1 - cpu0
				}
				n = end
			}
			b.StopTimer()
			ref, floor := servers[0], servers[1]
			b.ReportMetric(float64(b.N)/ref.took.Seconds(), "ref-cases/s")
			b.ReportMetric(float64(b.N)/floor.took.Seconds(), "floor-cases/s")
			b.ReportMetric(floor.took.Seconds()/ref.took.Seconds(), "ref/floor")
			if _, ok := processCPU(); ok && ref.cpu > 0 {
				b.ReportMetric(float64(ref.cpu.Microseconds())/float64(b.N), "ref-cpu-µs/case")
				b.ReportMetric(float64(floor.cpu.Microseconds())/float64(b.N), "floor-cpu-µs/case")
				b.ReportMetric(floor.cpu.Seconds()/ref.cpu.Seconds(), "cpu-ref/floor")
			}
			for _, s := range servers {
				if s.res.Endings[EndRefused] > 0 || s.res.Endings[EndError] > 0 {
					b.Fatalf("%s: endings %v", s.name, s.res.Endings)
				}
			}
		})
	}
}
