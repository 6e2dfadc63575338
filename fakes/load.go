package fakes

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// LoadReplyBudget bounds the bytes a load client reads of one reply: a
// server that answers more (a reply without end) fails the request as
// "too-long", so that the run's memory stays flat whatever the server
// sends. 128 KiB is two of the largest blocks the framing allows.
const LoadReplyBudget = 128 << 10

// DefaultConcurrency is the number of clients of a load run unless told
// otherwise.
const DefaultConcurrency = 64

// LoadConfig says what a load run does: Concurrency clients, each sending
// one request per connection, again and again, until Requests requests
// have been sent or Duration has passed (whichever comes first; one of the
// two is required, so that every run is bounded).
type LoadConfig struct {
	Addr        string
	Profile     wire.Profile  // 0: wire.Qt4
	Request     *wire.Request // nil: Berlin → München, 2026-11-25 09:00, departure
	Concurrency int           // 0: DefaultConcurrency
	Requests    int           // 0: no limit on the count
	Duration    time.Duration // 0: no limit on the time
	Timeout     time.Duration // per request; 0: DefaultQueryTimeout

	// Slow opens this many extra connections before the run, each sending
	// the first half of the request and then nothing, and holds them until
	// the run ends: the clients a server must not let hold up the others.
	Slow int
}

// LoadResult is what a load run measured.
type LoadResult struct {
	Requests int // requests finished, answered or failed
	OK       int // answered with a whole reply
	Trips    int // trips in the answers
	// Errors counts failed requests by kind: "closed-by-server", "reset",
	// "timeout", "refused", "malformed", "too-long", "addr-not-available",
	// "too-many-files", "other".
	Errors map[string]int
	// ErrorSamples holds the first error of each kind.
	ErrorSamples map[string]string
	Elapsed      time.Duration
	Latency      Latency // of the answered requests

	SlowOpened int // slow connections opened
	// SlowClosed counts slow connections the server closed before the run
	// ended (after its own timeout, say).
	SlowClosed int
	// SlowErrors counts slow connections that could not be opened or sent
	// their half request.
	SlowErrors int
}

// Latency gives quantiles of request latencies (connect to end marker),
// to within 1%, and the exact maximum.
type Latency struct {
	P50, P90, P99, Max time.Duration
}

// RequestsPerSecond is Requests divided by Elapsed.
func (r *LoadResult) RequestsPerSecond() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

// ErrLoadConfig is matched by the errors of a LoadConfig that cannot run.
var ErrLoadConfig = errors.New("fakes: bad load config")

// DefaultRequest is the request of a load run unless told otherwise: the
// book's example, Berlin → München on 2026-11-25 at 09:00, departure.
// It is the one default request of the module: the suites use it too.
func DefaultRequest() *wire.Request {
	return &wire.Request{Type: wire.TypeSearch, From: wire.Str("Berlin"), To: wire.Str("München"),
		Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: wire.FlagDeparture}
}

// Load runs cfg against the server at cfg.Addr and returns what it
// measured. It returns an error only for a config that cannot run; the
// failures of requests are counted in the result. The end of ctx ends the
// run early; requests cut short by it are not counted.
func Load(ctx context.Context, cfg LoadConfig) (LoadResult, error) {
	if cfg.Profile == 0 {
		cfg.Profile = wire.Qt4
	}
	if cfg.Request == nil {
		cfg.Request = DefaultRequest()
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	switch {
	case cfg.Addr == "":
		return LoadResult{}, fmt.Errorf("%w: no address", ErrLoadConfig)
	case !cfg.Profile.Valid():
		return LoadResult{}, fmt.Errorf("%w: %w %v", ErrLoadConfig, wire.ErrUnknownProfile, cfg.Profile)
	case cfg.Concurrency < 0 || cfg.Requests < 0 || cfg.Duration < 0 || cfg.Slow < 0 || cfg.Timeout < 0:
		return LoadResult{}, fmt.Errorf("%w: negative count or duration", ErrLoadConfig)
	case cfg.Requests == 0 && cfg.Duration == 0:
		return LoadResult{}, fmt.Errorf("%w: give a number of requests or a duration", ErrLoadConfig)
	}
	reqBytes, err := wire.Encoder{Profile: cfg.Profile}.AppendRequest(nil, cfg.Request)
	if err != nil {
		return LoadResult{}, fmt.Errorf("%w: %w", ErrLoadConfig, err)
	}

	var res LoadResult
	slow := openSlow(ctx, cfg, reqBytes[:len(reqBytes)/2], &res)

	start := time.Now()
	runCtx, cancel := ctx, context.CancelFunc(func() {})
	if cfg.Duration > 0 {
		runCtx, cancel = context.WithDeadline(ctx, start.Add(cfg.Duration))
	}
	defer cancel()

	var (
		issued atomic.Int64
		hist   histogram
		mu     sync.Mutex
		wg     sync.WaitGroup
	)
	res.Errors = map[string]int{}
	res.ErrorSamples = map[string]string{}
	for range cfg.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := Client{Profile: cfg.Profile, Timeout: cfg.Timeout, MaxReply: LoadReplyBudget}
			var ok, trips int
			errs := map[string]int{}
			samples := map[string]string{}
			for runCtx.Err() == nil {
				if cfg.Requests > 0 && issued.Add(1) > int64(cfg.Requests) {
					break
				}
				t0 := time.Now()
				got, err := c.Query(runCtx, cfg.Addr, cfg.Request)
				d := time.Since(t0)
				if err != nil {
					if runCtx.Err() != nil || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
						break // cut short by the end of the run
					}
					k := loadErrorKind(err)
					errs[k]++
					if _, ok := samples[k]; !ok {
						samples[k] = err.Error()
					}
					continue
				}
				ok++
				trips += len(got)
				hist.add(d)
			}
			mu.Lock()
			defer mu.Unlock()
			res.OK += ok
			res.Trips += trips
			for k, n := range errs {
				res.Errors[k] += n
				res.Requests += n
				if _, ok := res.ErrorSamples[k]; !ok {
					res.ErrorSamples[k] = samples[k]
				}
			}
			res.Requests += ok
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	res.Latency = hist.latency()
	slow.close(&res)
	return res, nil
}

// loadErrorKind names the kind of a failed request.
func loadErrorKind(err error) string {
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return "reset"
	case errors.Is(err, ErrClosedByServer):
		return "closed-by-server"
	case errors.Is(err, ErrQueryTimeout):
		return "timeout"
	case errors.Is(err, ErrRefused):
		return "refused"
	case errors.Is(err, ErrMalformedReply):
		return "malformed"
	case errors.Is(err, ErrReplyTooLong):
		return "too-long"
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		return "addr-not-available"
	case errors.Is(err, syscall.EMFILE), errors.Is(err, syscall.ENFILE):
		return "too-many-files"
	}
	return "other"
}

// slowConns are the connections that send half a request and stall.
// They have no goroutine of their own: whether the server closed one is
// read once, at the end of the run.
type slowConns struct {
	conns []net.Conn
}

// openSlow opens cfg.Slow connections and sends half a request on each.
func openSlow(ctx context.Context, cfg LoadConfig, half []byte, res *LoadResult) *slowConns {
	s := &slowConns{}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	// Open them a few at a time, so as not to overflow the listen queue.
	const parallel = 64
	var wg sync.WaitGroup
	var mu sync.Mutex
	sem := make(chan struct{}, parallel)
	for range cfg.Slow {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			d := net.Dialer{Timeout: timeout}
			c, err := d.DialContext(ctx, "tcp", cfg.Addr)
			if err == nil {
				c.SetWriteDeadline(time.Now().Add(timeout))
				_, err = c.Write(half)
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				res.SlowErrors++
				if c != nil {
					c.Close()
				}
				return
			}
			res.SlowOpened++
			s.conns = append(s.conns, c)
		}()
	}
	wg.Wait()
	return s
}

// close counts the slow connections the server has closed (a read that
// ends otherwise than by the deadline: EOF, a reset) and closes them all.
func (s *slowConns) close(res *LoadResult) {
	deadline := time.Now().Add(20 * time.Millisecond) // one wait for all
	buf := make([]byte, 64)
	for _, c := range s.conns {
		c.SetReadDeadline(deadline)
		if _, err := c.Read(buf); err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			res.SlowClosed++
		}
		c.Close()
	}
}

// histogram counts durations in buckets 1% wide, so that any number of
// requests takes the same memory.
type histogram struct {
	counts [histBuckets]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

const (
	histBuckets = 4096 // 1.01^4096 ns is far beyond any timeout
	histRatio   = 1.01
)

var logHistRatio = math.Log(histRatio)

func (h *histogram) add(d time.Duration) {
	i := 0
	if d > 1 {
		i = min(int(math.Log(float64(d))/logHistRatio), histBuckets-1)
	}
	h.counts[i].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if int64(d) <= m || h.max.CompareAndSwap(m, int64(d)) {
			break
		}
	}
}

// quantile returns the upper bound of the bucket holding the q-quantile,
// capped at the maximum.
func (h *histogram) quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(n)))
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			upper := time.Duration(math.Pow(histRatio, float64(i+1)))
			return min(upper, time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

func (h *histogram) latency() Latency {
	return Latency{P50: h.quantile(0.50), P90: h.quantile(0.90), P99: h.quantile(0.99), Max: time.Duration(h.max.Load())}
}
