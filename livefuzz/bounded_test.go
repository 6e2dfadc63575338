package livefuzz_test

import (
	"context"
	"io"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/livefuzz"
	"github.com/tripcheck/tripcheck/wire"
)

// endlessServer accepts connections and writes zeros on each, without end,
// until the test ends.
func endlessServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				go io.Copy(io.Discard, c)
				zeros := make([]byte, 64<<10)
				for {
					c.SetWriteDeadline(time.Now().Add(5 * time.Second))
					if _, err := c.Write(zeros); err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

// heapAfterGC is the live heap.
func heapAfterGC() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// A server that streams without end gets read up to the budget, per case
// and per probe, and no further: memory stays flat over many cases.
func TestSendBoundedEndlessServer(t *testing.T) {
	addr := endlessServer(t)
	before := heapAfterGC()
	for n := 0; n < 20; n++ {
		c := livefuzz.NewCase(1, n, wire.Qt4)
		o := livefuzz.Send(context.Background(), addr, &c, 10*time.Second)
		if o.How != livefuzz.EndFlood || o.Received < livefuzz.MaxReplyBytes || o.Received > livefuzz.MaxReplyBytes+4096 {
			t.Fatalf("case %d: %+v, want a flood ending at %d bytes", n, o, livefuzz.MaxReplyBytes)
		}
	}
	v, what := livefuzz.Probe(context.Background(), addr, wire.Qt4, 10*time.Second)
	if v != livefuzz.Hang {
		t.Fatalf("probe: %v (%s), want hang", v, what)
	}
	t.Logf("probe: %s", what)
	if _, err := livefuzz.Run(context.Background(), livefuzz.Config{Addr: addr, Cases: 5, Timeout: 10 * time.Second}); err == nil {
		t.Fatal("Run against an endless stream: no error, want ErrNotServing")
	}
	after := heapAfterGC()
	t.Logf("heap %d KiB before, %d KiB after 20 cases and a probe of an endless stream", before>>10, after>>10)
	if after > before+4<<20 {
		t.Errorf("the heap grew from %d to %d bytes", before, after)
	}
}

// A client that sends without end after its request, and prints without
// end, is read up to the budget and killed at the timeout: the verdict is
// a failure and memory stays flat.
func TestClientBoundedEndless(t *testing.T) {
	endless := func(ctx context.Context, addr string, search *wire.Request, p wire.Profile, stdout io.Writer) int {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			return 1
		}
		defer c.Close()
		stop := context.AfterFunc(ctx, func() { c.SetDeadline(time.Now()) })
		defer stop()
		req, _ := p.AppendRequest(nil, search)
		line := []byte("2026-11-25 12:00:00.000 1 1 ICE\n")
		junk := make([]byte, 4096)
		printed := make(chan struct{})
		defer func() { <-printed }()
		go func() {
			defer close(printed)
			for ctx.Err() == nil {
				stdout.Write(line)
			}
		}()
		if _, err := c.Write(req); err != nil {
			return 1
		}
		for {
			if _, err := c.Write(junk); err != nil {
				<-ctx.Done()
				return 1
			}
		}
	}
	before := heapAfterGC()
	for n := 0; n < 4; n++ {
		c := livefuzz.NewReplyCase(1, n, wire.Qt4)
		o, err := livefuzz.TryClient(context.Background(), livefuzz.ClientFunc(endless), &c, time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if o.Verdict == livefuzz.Survived || o.Extra > livefuzz.MaxClientExtra+32<<10 || len(o.Detail) > 4096 {
			t.Fatalf("case %d: %v, %d bytes after the request, detail of %d bytes", n, o.Verdict, o.Extra, len(o.Detail))
		}
	}
	after := heapAfterGC()
	t.Logf("heap %d KiB before, %d KiB after 4 endless clients", before>>10, after>>10)
	if after > before+4<<20 {
		t.Errorf("the heap grew from %d to %d bytes", before, after)
	}
}

// With --parallel the fragile server's crash is still found, and the case
// that has the bug is blamed or among the suspects.
func TestFragileServerCrashParallel(t *testing.T) {
	bin := buildFragile(t)
	for _, seed := range []int64{1, 2} {
		srv := startFragile(t, bin)
		res, err := livefuzz.Run(context.Background(), livefuzz.Config{Addr: srv.Addr, Seed: seed, Cases: crashBound, Batch: 20, Parallel: 4})
		if err != nil {
			t.Fatal(err)
		}
		f := res.Failure
		if f == nil || f.Verdict != livefuzz.Crash {
			t.Fatalf("seed %d: failure %+v after %d cases", seed, f, res.Cases)
		}
		found := badTo(f.Case.Bytes)
		for _, s := range f.Suspects {
			found = found || badTo(s.Bytes)
		}
		if !found {
			t.Fatalf("seed %d: blamed %s and %d suspects, none with the bug", seed, f.Case.String(), len(f.Suspects))
		}
		t.Logf("seed %d: %s blamed, %d suspects, after %d cases", seed, f.Case.String(), len(f.Suspects), res.Cases)
	}
}

// The reference server survives a parallel run.
func TestReferenceServerSurvivesParallel(t *testing.T) {
	srv := newFake(t, fakes.WithProfile(wire.Qt5))
	res, err := livefuzz.Run(context.Background(), livefuzz.Config{Addr: srv.Addr(), Profile: wire.Qt5, Seed: 3, Cases: 2000, Parallel: 4})
	if err != nil {
		t.Fatal(err)
	}
	if res.Failure != nil || res.Cases != 2000 {
		t.Fatalf("%d cases, failure %+v", res.Cases, res.Failure)
	}
}
