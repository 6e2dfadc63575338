package fakes

import (
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

func TestLoadCount(t *testing.T) {
	s := startServer(t)
	res, err := Load(context.Background(), LoadConfig{Addr: s.Addr(), Concurrency: 8, Requests: 500, Timeout: netTimeout})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 500 || res.OK != 500 || res.Trips != 1500 || len(res.Errors) != 0 {
		t.Errorf("result %+v, want 500 answers of 3 trips", res)
	}
	l := res.Latency
	if !(0 < l.P50 && l.P50 <= l.P90 && l.P90 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latency %+v", l)
	}
	if res.RequestsPerSecond() <= 0 {
		t.Errorf("%v requests/s", res.RequestsPerSecond())
	}
}

func TestLoadDuration(t *testing.T) {
	s := startServer(t)
	res, err := Load(context.Background(), LoadConfig{Addr: s.Addr(), Concurrency: 4, Duration: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if res.OK == 0 || res.Requests != res.OK || len(res.Errors) != 0 {
		t.Errorf("result %+v", res)
	}
	if res.Elapsed < 200*time.Millisecond || res.Elapsed > 5*time.Second {
		t.Errorf("elapsed %v for a 200ms run", res.Elapsed)
	}
}

// Failed requests are counted by kind, with a sample of each.
func TestLoadErrorKinds(t *testing.T) {
	noEnd := startServer(t, WithFault(Fault{NoEnd: true}))
	reset := startServer(t, WithFault(Fault{Shape: mustShape(t, "truncate-3+then-reset")}))
	malformed := startServer(t, WithFault(Fault{SizeDelta: 1}))
	stall := startServer(t, WithFault(Fault{Stall: true}))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	refused := ln.Addr().String()
	ln.Close()
	for _, c := range []struct {
		addr, kind string
		timeout    time.Duration
	}{
		{noEnd.Addr(), "closed-by-server", netTimeout},
		{reset.Addr(), "reset", netTimeout},
		{malformed.Addr(), "malformed", netTimeout},
		{stall.Addr(), "timeout", 100 * time.Millisecond},
		{refused, "refused", netTimeout},
	} {
		res, err := Load(context.Background(), LoadConfig{Addr: c.addr, Concurrency: 2, Requests: 6, Timeout: c.timeout})
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 6 || res.OK != 0 || res.Errors[c.kind] != 6 || len(res.Errors) != 1 || res.ErrorSamples[c.kind] == "" {
			t.Errorf("%s: result %+v", c.kind, res)
		}
	}
}

// Slow clients are held while the others are served, and closed by a
// server with a short timeout.
func TestLoadSlow(t *testing.T) {
	for _, c := range []struct {
		timeout    time.Duration
		wantClosed int
	}{{netTimeout, 0}, {300 * time.Millisecond, 20}} {
		// The server's 300 ms read timeout closes the slow clients well
		// within the 3 s of load, and is still long enough for a normal
		// request's one write to arrive with every core busy.
		s := startServer(t, WithTimeout(c.timeout))
		res, err := Load(context.Background(), LoadConfig{Addr: s.Addr(), Concurrency: 2, Duration: 3 * time.Second, Slow: 20})
		if err != nil {
			t.Fatal(err)
		}
		if res.SlowOpened != 20 || res.SlowErrors != 0 || res.SlowClosed != c.wantClosed {
			t.Errorf("timeout %v: slow %d opened, %d closed by the server, %d errors; want 20, %d, 0",
				c.timeout, res.SlowOpened, res.SlowClosed, res.SlowErrors, c.wantClosed)
		}
		if res.OK == 0 || len(res.Errors) != 0 {
			t.Errorf("timeout %v: %d answers, errors %v %v, with slow clients present", c.timeout, res.OK, res.Errors, res.ErrorSamples)
		}
	}
}

func TestLoadConfigErrors(t *testing.T) {
	bad := DefaultRequest()
	bad.Flag = 'Z'
	for name, cfg := range map[string]LoadConfig{
		"no-addr":     {Requests: 1},
		"unbounded":   {Addr: "127.0.0.1:1"},
		"negative":    {Addr: "127.0.0.1:1", Requests: -1},
		"bad-profile": {Addr: "127.0.0.1:1", Requests: 1, Profile: 3},
		"bad-request": {Addr: "127.0.0.1:1", Requests: 1, Request: bad},
	} {
		if _, err := Load(context.Background(), cfg); !errors.Is(err, ErrLoadConfig) {
			t.Errorf("%s: %v, want ErrLoadConfig", name, err)
		}
	}
}

// The histogram's quantiles are within 1% of the exact ones.
func TestHistogram(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	var h histogram
	var all []time.Duration
	for range 10000 {
		d := time.Duration(rng.ExpFloat64() * float64(time.Millisecond))
		all = append(all, d)
		h.add(d)
	}
	slices.Sort(all)
	for _, q := range []float64{0.5, 0.9, 0.99} {
		exact := all[int(q*float64(len(all)))-1]
		got := h.quantile(q)
		if float64(got) < float64(exact)*0.99 || float64(got) > float64(exact)*1.0101 {
			t.Errorf("q%v: %v, exact %v", q, got, exact)
		}
	}
	if h.latency().Max != all[len(all)-1] {
		t.Errorf("max %v, want %v", h.latency().Max, all[len(all)-1])
	}
}

// TestLoadEndlessReply: a server that answers with trips without end makes
// every request fail as too long, at the budget, not at the timeout and not
// after holding all it sent.
func TestLoadEndlessReply(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	trip := wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")}
	var block []byte
	for len(block) < 32<<10 {
		block, _ = wire.Qt4.AppendTrip(block, &trip)
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				go io.Copy(io.Discard, c)
				for {
					if _, err := c.Write(block); err != nil {
						return
					}
				}
			}()
		}
	}()
	res, err := Load(context.Background(), LoadConfig{Addr: ln.Addr().String(), Concurrency: 2, Requests: 8, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 8 || res.Errors["too-long"] != 8 {
		t.Errorf("result %+v, want 8 requests failed as too-long", res)
	}
}
