package livefuzz

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// Defaults of a Config.
const (
	DefaultCases   = 1000
	DefaultBatch   = 100
	DefaultTimeout = 2 * time.Second
)

// Config says what to fuzz and for how long.
type Config struct {
	Addr    string       // host:port of the server
	Profile wire.Profile // 0: wire.Qt4
	Seed    int64        // cases come from it: the same seed, the same cases
	Cases   int          // how many cases to send; 0: DefaultCases
	Batch   int          // cases between two probes; 0: DefaultBatch
	// Parallel is how many cases are in flight at once, each on its own
	// connection; 0 or 1: one at a time. With more, a batch ends (for the
	// probe) once its cases in flight are done, and blame is among the
	// batch's cases by number.
	Parallel int
	// Timeout is the deadline of every connection: the dial, the writes and
	// the reads of a case, and the probe's whole reply. 0: DefaultTimeout.
	Timeout time.Duration
	// Progress, if set, is called after each probe that passed, with the
	// cases sent so far.
	Progress func(sent int)
}

// Errors of Run, for errors.Is.
var (
	// ErrConfig: the Config cannot run.
	ErrConfig = errors.New("livefuzz: bad config")
	// ErrNotServing: the server did not answer the probe before the first
	// case, so no verdict could mean anything.
	ErrNotServing = errors.New("livefuzz: the server does not answer a valid request")
)

// Failure is a case after which the server failed the probe.
type Failure struct {
	Case    Case
	Outcome Outcome // what the case's own connection saw
	Verdict Verdict // Crash or Hang
	// Detail says what the probe saw and why this case is blamed.
	Detail string
	// Suspects are other cases that may have caused the failure: when a
	// crash leaves two candidates (see the package doc), the other one.
	Suspects []Case
}

// Result is what a run did.
type Result struct {
	Seed    int64
	Profile wire.Profile
	Cases   int // cases sent
	Probes  int // liveness probes, the first one (before any case) included
	// Endings counts how the cases' connections ended.
	Endings map[Ending]int
	// Replied counts the cases that got bytes back.
	Replied int
	// Failure is the first failure, nil if the server survived every case.
	Failure *Failure
	Elapsed time.Duration
}

// sent is a case and what its connection saw.
type sent struct {
	c Case
	o Outcome
}

func (cfg *Config) withDefaults() (Config, error) {
	c := *cfg
	if c.Profile == 0 {
		c.Profile = wire.Qt4
	}
	if c.Cases == 0 {
		c.Cases = DefaultCases
	}
	if c.Batch == 0 {
		c.Batch = DefaultBatch
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	switch {
	case c.Addr == "":
		return c, fmt.Errorf("%w: no address", ErrConfig)
	case !c.Profile.Valid():
		return c, fmt.Errorf("%w: %w %v", ErrConfig, wire.ErrUnknownProfile, c.Profile)
	case c.Cases < 0:
		return c, fmt.Errorf("%w: %d cases", ErrConfig, c.Cases)
	case c.Batch < 0:
		return c, fmt.Errorf("%w: batch of %d", ErrConfig, c.Batch)
	case c.Parallel < 0:
		return c, fmt.Errorf("%w: parallel %d", ErrConfig, c.Parallel)
	case c.Timeout < 0:
		return c, fmt.Errorf("%w: timeout %v", ErrConfig, c.Timeout)
	}
	return c, nil
}

// Run fuzzes the server at cfg.Addr: it first checks that the server
// answers the probe (else ErrNotServing), then sends cases 0 … Cases-1 of
// cfg.Seed in batches, probing after each, and stops at the first failed
// probe. It returns an error for a config that cannot run, a server that
// does not answer to begin with, and the end of ctx (with the result so
// far); a failure the server shows is in the Result.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	res := &Result{Seed: c.Seed, Profile: c.Profile, Endings: map[Ending]int{}}
	finish := func(err error) (*Result, error) {
		res.Elapsed = time.Since(start)
		return res, err
	}
	res.Probes++
	if v, what := Probe(ctx, c.Addr, c.Profile, c.Timeout); v != Survived {
		if ctx.Err() != nil {
			return finish(ctx.Err())
		}
		return nil, fmt.Errorf("%w: %s (%v)", ErrNotServing, what, v)
	}
	// The last cases of the batch: all that blame needs, since a batch
	// ends at its first refused or silent case. Memory stays bounded
	// whatever the batch.
	batch := make([]sent, 0, window+1)
	var previous *sent // the last case of the batch before, whose probe passed
	for n := 0; n < c.Cases; {
		batch = batch[:0]
		end := min(n+c.Batch, c.Cases)
		if c.Parallel > 1 {
			var sentN int
			batch, sentN = sendParallel(ctx, &c, n, end, res, batch)
			n += sentN
		} else {
			for ; n < end; n++ {
				cs := NewCase(c.Seed, n, c.Profile)
				o := Send(ctx, c.Addr, &cs, c.Timeout)
				if ctx.Err() != nil {
					return finish(ctx.Err())
				}
				res.count(o)
				batch = append(batch, sent{cs, o})
				if len(batch) > window {
					batch = append(batch[:0], batch[1:]...)
				}
				if o.Abnormal() {
					n++
					break // probe now
				}
			}
		}
		if ctx.Err() != nil {
			return finish(ctx.Err())
		}
		v, what := Probe(ctx, c.Addr, c.Profile, c.Timeout)
		res.Probes++
		if ctx.Err() != nil {
			return finish(ctx.Err())
		}
		if v != Survived {
			s, others, why := blame(batch, previous, v)
			res.Failure = &Failure{Case: s.c, Outcome: s.o, Verdict: v, Detail: "probe: " + what + "; " + why}
			for _, o := range others {
				res.Failure.Suspects = append(res.Failure.Suspects, o.c)
			}
			if c.Parallel > 1 {
				// Cases in flight at once: any that got no reply may be
				// the one.
				for _, o := range batch {
					if o.c.N != s.c.N && o.o.Received == 0 && !slices.ContainsFunc(others, func(x sent) bool { return x.c.N == o.c.N }) {
						res.Failure.Suspects = append(res.Failure.Suspects, o.c)
					}
				}
			}
			break
		}
		last := batch[len(batch)-1]
		previous = &last
		if c.Progress != nil {
			c.Progress(res.Cases)
		}
	}
	return finish(nil)
}

// count adds a case's outcome to the result.
func (res *Result) count(o Outcome) {
	res.Cases++
	res.Endings[o.How]++
	if o.Received > 0 {
		res.Replied++
	}
}

// sendParallel sends cases from … to-1 on cfg.Parallel connections at a
// time, stopping early after a refused or silent case. It returns the
// window of cases blame needs (in order of case number, ending at the
// first abnormal case) and how many cases went.
func sendParallel(ctx context.Context, cfg *Config, from, to int, res *Result, batch []sent) ([]sent, int) {
	type done struct {
		n int
		o Outcome
	}
	var (
		mu     sync.Mutex
		next   = from
		stop   bool
		dones  []done
		wg     sync.WaitGroup
		worker = func() {
			defer wg.Done()
			for {
				mu.Lock()
				if stop || next >= to || ctx.Err() != nil {
					mu.Unlock()
					return
				}
				n := next
				next++
				mu.Unlock()
				cs := NewCase(cfg.Seed, n, cfg.Profile)
				o := Send(ctx, cfg.Addr, &cs, cfg.Timeout)
				mu.Lock()
				dones = append(dones, done{n, o})
				stop = stop || o.Abnormal()
				mu.Unlock()
			}
		}
	)
	for i := 0; i < min(cfg.Parallel, to-from); i++ {
		wg.Add(1)
		go worker()
	}
	wg.Wait()
	// dones are in the order the connections ended: a case that crashed
	// the server ended just before the first refused one. Blame looks at
	// the cases that ended around the first abnormal one, and after it,
	// in order of number.
	last := len(dones) - 1
	for i, d := range dones {
		res.count(d.o)
		if d.o.Abnormal() && last == len(dones)-1 {
			last = i
		}
	}
	tail := dones[max(0, last+1-window-cfg.Parallel):]
	sort.Slice(tail, func(i, j int) bool { return tail[i].n < tail[j].n })
	for _, d := range tail {
		batch = append(batch, sent{NewCase(cfg.Seed, d.n, cfg.Profile), d.o})
	}
	return batch, len(dones)
}

// window is how many of the last cases of a batch Run keeps for blame.
const window = 3

// blame picks the case of a batch that broke the server, and the others
// that may have, from the batch's last cases (up to window of them; a
// refused or silent case is the last): previous is the last case before
// the batch, whose probe passed.
//
// A crash shows as a refused connection. The case just before it is blamed,
// with one exception that comes from how a process dies: its connections
// close before its listener does, so the connection of the case after the
// crash can still be accepted by the kernel, and is then reset without the
// server ever reading it. So when the case before the refused one was reset
// without a reply, the case before that one (if it came after the last
// probe that passed) is blamed, and both are suspects. A hang shows as a
// silent connection: the first is blamed. Without either sign, the last
// case of the batch is.
func blame(batch []sent, previous *sent, v Verdict) (sent, []sent, string) {
	// The first refused connection: a case's, or else the probe's.
	refused, who := -1, "the probe"
	for i, s := range batch {
		if s.o.How == EndRefused {
			refused, who = i, fmt.Sprintf("case %d", s.c.N)
			break
		}
	}
	if refused < 0 && v == Crash {
		refused = len(batch)
	}
	if refused >= 0 {
		if refused == 0 {
			if previous != nil {
				return *previous, nil, fmt.Sprintf("the connection of %s, just after it, was refused (the probe between them passed)", who)
			}
			return batch[0], nil, "its own connection was refused"
		}
		last := batch[refused-1]
		if refused >= 2 && last.o.How == EndReset && last.o.Received == 0 {
			return batch[refused-2], []sent{last}, fmt.Sprintf("the connection of %s was refused, and case %d, between them, was reset unread as a dying server's are (case %d is a suspect too)", who, last.c.N, last.c.N)
		}
		return last, nil, fmt.Sprintf("the connection of %s, just after it, was refused", who)
	}
	for _, s := range batch {
		if s.o.How == EndSilence {
			return s, nil, fmt.Sprintf("its connection stayed silent for the whole deadline after %d bytes sent", s.o.Sent)
		}
	}
	return batch[len(batch)-1], nil, "the last case before the probe"
}

// Replay sends one case to addr, then the probe, as a run does.
func Replay(ctx context.Context, addr string, c *Case, timeout time.Duration) (Outcome, Verdict, string) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	o := Send(ctx, addr, c, timeout)
	v, what := Probe(ctx, addr, c.Profile, timeout)
	return o, v, what
}
