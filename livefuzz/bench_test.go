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
// a batch, --parallel at a time) against the reference server and, side
// by side, against a bare accept-and-close server: the floor that the
// machine and the fuzzer's own work set. ns/op is ns per case; SetBytes
// is the mean size of a case.
//
//	go test ./livefuzz -run '^$' -bench FuzzServer -benchtime 4000x -count 3
func BenchmarkFuzzServer(b *testing.B) {
	var total int
	for n := 0; n < 1000; n++ {
		c := NewCase(1, n, wire.Qt4)
		total += len(c.Bytes)
	}
	for _, parallel := range []int{1, 4} {
		for _, server := range []string{"reference", "accept-close"} {
			b.Run(fmt.Sprintf("%s/parallel-%d", server, parallel), func(b *testing.B) {
				var addr string
				if server == "reference" {
					srv, err := fakes.NewServer()
					if err != nil {
						b.Fatal(err)
					}
					b.Cleanup(func() { srv.Close() })
					addr = srv.Addr()
				} else {
					addr = acceptClose(b)
				}
				cfg := Config{Addr: addr, Profile: wire.Qt4, Seed: 1, Timeout: 10 * time.Second, Parallel: parallel}
				res := &Result{Endings: map[Ending]int{}}
				b.SetBytes(int64(total / 1000))
				b.ReportAllocs()
				b.ResetTimer()
				start := time.Now()
				for n := 0; n < b.N; {
					_, sent := sendParallel(context.Background(), &cfg, n, b.N, res, nil)
					if sent == 0 {
						b.Fatal("no case sent")
					}
					n += sent
				}
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "cases/s")
				if res.Endings[EndRefused] > 0 || res.Endings[EndError] > 0 {
					b.Fatalf("endings %v", res.Endings)
				}
			})
		}
	}
}
