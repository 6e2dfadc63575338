package conformance

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"regexp"
	"sort"
	"sync"
	"time"

	"github.com/tripcheck/tripcheck/internal/script"
)

// runConfig is what the engine needs to run scripts of one suite; the suite
// front ends (RunServer, RunClient) fill it.
type runConfig struct {
	suite     string
	scenarios []Scenario
	parallel  int
	verbose   bool
	seed      int64
	strict    bool
	golden    bool
	expect    map[string]bool
	progress  func(Result)
	// retries is how many times a failed time-dependent scenario runs
	// again (--retries); a fail then a pass is Flaky.
	retries int
	// setup prepares the run of scenario sc: its environment in st, its
	// state, and returns the suite's commands bound to that state and
	// the function that closes its connections and processes (on
	// Ctrl-C, and when the script ends). A *script.SkipError skips the
	// scenario.
	setup func(st *script.State, sc *Scenario, seed int64, tr *Trace) (cmds []script.Cmd, closeAll func(), err error)
}

// selectScenarios applies --run and --skip: a scenario runs if it matches a
// run pattern (or there are none) and no skip pattern.
func selectScenarios(all []Scenario, run, skip []string) []Scenario {
	var out []Scenario
	for _, s := range all {
		ok := len(run) == 0
		for _, p := range run {
			ok = ok || Match(p, s.ID)
		}
		for _, p := range skip {
			if Match(p, s.ID) {
				ok = false
			}
		}
		if ok {
			out = append(out, s)
		}
	}
	return out
}

// scenarioSeed derives a scenario's own seed from the run's, so that each
// replays alone with the same --seed whatever else runs.
func scenarioSeed(seed int64, id string) int64 {
	h := fnv.New64a()
	h.Write([]byte(id))
	return seed ^ int64(h.Sum64()>>1)
}

// run runs the scenarios with the script engine and returns their results in
// scenario order. The scenarios that may take longest start first (the
// longest waits, then those that make many connections or paced writes,
// then the other time-dependent ones), so that the run takes about as long
// as its slowest scenario. A failed time-dependent scenario runs again, up
// to c.retries times; a failure then a pass is Flaky.
func (c *runConfig) run(ctx context.Context) ([]Result, error) {
	results := make([]Result, len(c.scenarios))
	order := make([]int, len(c.scenarios))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := &c.scenarios[order[a]], &c.scenarios[order[b]]
		if x.Wait != y.Wait {
			return x.Wait > y.Wait
		}
		if hx, hy := reHeavy.Match(x.Script), reHeavy.Match(y.Script); hx != hy {
			return hx
		}
		return x.Timed && !y.Timed
	})
	if err := c.runSome(ctx, order, func(i int, r Result) {
		results[i] = r
		if c.progress != nil && !c.retry(ctx, r, i) {
			c.progress(r)
		}
	}); err != nil {
		return nil, err
	}
	for try := 0; try < c.retries; try++ {
		var again []int
		for i, r := range results {
			if c.retry(ctx, r, i) {
				again = append(again, i)
			}
		}
		if len(again) == 0 {
			break
		}
		last := try == c.retries-1
		err := c.runSome(ctx, again, func(i int, r Result) {
			first := results[i]
			switch {
			case r.Interrupted:
				first.Interrupted = true
				results[i] = first
			case r.Status == Pass:
				r.Status = Flaky
				r.Message = "failed, then passed when run again: " + first.Message
				r.Findings = first.Findings
				r.Log = first.Log + "\n--- run again:\n" + r.Log
				r.Retries = first.Retries + 1
				results[i] = r
			default:
				r.Retries = first.Retries + 1
				results[i] = r
			}
			if c.progress != nil && (last || !c.retry(ctx, results[i], i)) {
				c.progress(results[i])
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return results, nil
}

// reHeavy finds the commands that make many connections or many paced
// writes: after the longest waits, these scenarios take longest.
var reHeavy = regexp.MustCompile(`(?m)^\s*(random-splits|each-offset|clients|sweep|golden-set|sequential|hold)\b|-shape bytes-1|-variant \$VARIANT|-variant fragmented`)

// retry says whether result r of scenario i runs again: a failure of a
// time-dependent scenario, while retries are left and the run goes on.
func (c *runConfig) retry(ctx context.Context, r Result, i int) bool {
	return r.Status == Fail && !r.Interrupted && c.scenarios[i].Timed && r.Retries < c.retries && ctx.Err() == nil
}

// runSome runs the scenarios of the indices, in that order, at most
// c.parallel at once, and gives each result to done as it finishes (one
// call at a time).
func (c *runConfig) runSome(ctx context.Context, indices []int, done func(int, Result)) error {
	seen := map[string]bool{}
	for _, i := range indices {
		id := c.scenarios[i].ID
		if seen[id] {
			return fmt.Errorf("scenario %s twice", id)
		}
		seen[id] = true
	}
	parallel := max(c.parallel, 1)
	sem := make(chan struct{}, parallel)
	var (
		wg sync.WaitGroup
		mu sync.Mutex // done is called one at a time
	)
	finished := func(i int, r Result) {
		mu.Lock()
		defer mu.Unlock()
		done(i, c.finish(&c.scenarios[i], r))
	}
	for _, i := range indices {
		if ctx.Err() == nil {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			finished(i, Result{Status: Skip, Interrupted: true, Message: "not run: interrupted"})
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.runOne(ctx, &c.scenarios[i])
			<-sem
			finished(i, r)
		}()
	}
	wg.Wait()
	return nil
}

// runOne runs the script of one scenario and makes its result: a pass, a
// skip (a *script.SkipError), or a failure, with the finding of the error
// that failed it when the peer's fault caused it.
func (c *runConfig) runOne(ctx context.Context, sc *Scenario) Result {
	st := script.NewState()
	tr := new(Trace).begin()
	start := time.Now()
	err := c.runScript(ctx, st, sc, tr)
	res := Result{Status: Pass, Duration: time.Since(start), Log: st.Log(), Wire: tr.Events()}
	var (
		skip  *script.SkipError
		usage *script.UsageError
	)
	switch {
	case err == nil:
	case errors.As(err, &skip):
		res.Status, res.Message = Skip, skip.Reason
	case errors.As(err, &usage):
		res.Status, res.Message = Fail, "error in the script: "+usage.Err.Error()
	default:
		res.Status, res.Message = Fail, err.Error()
		if f, ok := findingOf(err); ok {
			res.Findings = []Finding{f}
		}
		if res.Message == "" {
			res.Message = "the script failed (see its log)"
		}
	}
	if ctx.Err() != nil && res.Status != Pass {
		// Cut short by Ctrl-C: no verdict.
		res.Status, res.Interrupted, res.Findings = Skip, true, nil
		res.Message = "interrupted"
	}
	return res
}

// runScript sets up one scenario's run and runs its script. On Ctrl-C
// the steps in flight end at once: their connections and processes
// close.
func (c *runConfig) runScript(ctx context.Context, st *script.State, sc *Scenario, tr *Trace) error {
	cmds, closeAll, err := c.setup(st, sc, scenarioSeed(c.seed, sc.ID), tr)
	if closeAll != nil {
		stop := context.AfterFunc(ctx, closeAll)
		defer func() {
			stop()
			closeAll()
		}()
	}
	if err != nil {
		return err
	}
	return script.NewEngine(cmds).Run(ctx, st, sc.ID, sc.Script, c.verbose)
}

// finish completes a result from its scenario and the run's settings.
func (c *runConfig) finish(sc *Scenario, r Result) Result {
	r.ID, r.Area, r.Level, r.Requirement = sc.ID, sc.Area, sc.Level, sc.Requirement
	r.Required = sc.Level == Must || c.strict
	r.ExpectedFailure = c.expect[sc.ID]
	r.DurationMS = float64(r.Duration.Microseconds()) / 1000
	return r
}
