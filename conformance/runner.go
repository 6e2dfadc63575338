package conformance

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/testscript"
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
	cmds    map[string]func(ts *testscript.TestScript, neg bool, args []string)
	// setup prepares a script's environment and state.
	setup func(env *testscript.Env, sc *Scenario, seed int64) error
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

// fileName is the on-disk name of a scenario's script: testscript names a
// run after its file.
func fileName(id string) string { return strings.ReplaceAll(id, "/", "~") + ".txtar" }

// run runs the scenarios with testscript.RunT and returns their results in
// scenario order. The scenarios that may take longest start first (the
// longest waits, then those that make many connections or paced writes,
// then the other time-dependent ones), so that the run takes about as long
// as its slowest scenario. A failed time-dependent scenario runs again, up
// to c.retries times; a failure then a pass is Flaky.
func (c *runConfig) run(ctx context.Context) ([]Result, error) {
	results := make([]Result, len(c.scenarios))
	order := runOrder(c.scenarios)
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

// retry says whether result r of scenario i runs again: a failure of a
// time-dependent scenario, while retries are left and the run goes on.
func (c *runConfig) retry(ctx context.Context, r Result, i int) bool {
	return r.Status == Fail && !r.Interrupted && c.scenarios[i].Timed && r.Retries < c.retries && ctx.Err() == nil
}

// runSome runs the scenarios of the indices, in that order, and gives each
// result to done as it finishes.
func (c *runConfig) runSome(ctx context.Context, indices []int, done func(int, Result)) error {
	if len(indices) == 0 {
		return nil
	}
	dir, err := os.MkdirTemp("", "tripcheck-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	byName := map[string]int{}
	var files []string
	for _, i := range indices {
		sc := &c.scenarios[i]
		name := fileName(sc.ID)
		if _, dup := byName[strings.TrimSuffix(name, ".txtar")]; dup {
			return fmt.Errorf("scenario %s twice", sc.ID)
		}
		byName[strings.TrimSuffix(name, ".txtar")] = i
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, sc.Script, 0o644); err != nil {
			return err
		}
		files = append(files, p)
	}
	parallel := slots(c.parallel, c.scenarios, indices)
	if parallel <= 0 {
		parallel = 1
	}
	root := &rootT{
		ctx:     ctx,
		sem:     make(chan struct{}, parallel),
		verbose: c.verbose,
		byName:  byName,
		done: func(st *scriptT, r Result) {
			sc := &c.scenarios[st.index]
			r.Log = cleanLog(r.Log, dir, sc.ID, st.envLines)
			done(st.index, c.finish(sc, r))
		},
	}
	stop := context.AfterFunc(ctx, root.interrupt)
	defer stop()
	work, err := os.MkdirTemp(dir, "work-")
	if err != nil {
		return err
	}
	p := testscript.Params{
		Files:       files,
		WorkdirRoot: work,
		Cmds:        c.cmds,
		Setup: func(env *testscript.Env) error {
			st, ok := env.T().(*scriptT)
			if !ok {
				return errors.New("scripts run only under the conformance runner")
			}
			sc := &c.scenarios[st.index]
			st.state.level = sc.Level
			env.Values[findingsKey{}] = &st.state
			env.Values[traceKey{}] = st.trace.begin()
			if err := c.setup(env, sc, scenarioSeed(c.seed, sc.ID)); err != nil {
				return err
			}
			// What testscript prints of the environment with -v is
			// left out of the log: it is the engine's, not the check's.
			st.envLines = map[string]bool{"WORK": true}
			for _, v := range env.Vars {
				name, _, _ := strings.Cut(v, "=")
				st.envLines[name] = true
			}
			// A step in flight ends at once on Ctrl-C: its connections
			// and processes close.
			for _, v := range env.Values {
				if cl, ok := v.(interface{ closeAll() }); ok {
					root.onInterrupt(st, cl.closeAll)
				}
			}
			return nil
		},
		RequireUniqueNames: true,
	}
	if dl, ok := ctx.Deadline(); ok {
		p.Deadline = dl
	}
	return root.runAll(p)
}

// finish completes a result from its scenario and the run's settings.
func (c *runConfig) finish(sc *Scenario, r Result) Result {
	r.ID, r.Area, r.Level, r.Requirement = sc.ID, sc.Area, sc.Level, sc.Requirement
	r.Required = sc.Level == Must || c.strict
	r.ExpectedFailure = c.expect[sc.ID]
	r.DurationMS = float64(r.Duration.Microseconds()) / 1000
	return r
}

// cleanLog makes a script's log name its scenario, never its temporary
// file: it drops testscript's WORK line, the temporary directory, and the
// environment testscript lists first with -v (NAME=value lines of the
// names in env, then a blank line), and writes the file name as the
// scenario ID.
func cleanLog(log, dir, id string, env map[string]bool) string {
	log = strings.ReplaceAll(log, dir+string(filepath.Separator), "")
	log = strings.ReplaceAll(log, fileName(id), id)
	lines := strings.Split(log, "\n")
	if len(env) > 0 {
		// The environment block comes first and ends with a blank line.
		i := 0
		for i < len(lines) {
			name, _, ok := strings.Cut(strings.TrimSpace(lines[i]), "=")
			if !ok || !env[name] {
				break
			}
			i++
		}
		if i > 0 && i < len(lines) && strings.TrimSpace(lines[i]) == "" {
			lines = lines[i+1:]
		}
	}
	var out []string
	for _, line := range lines {
		if !strings.HasPrefix(strings.TrimSpace(line), "WORK=") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

// rootT is the testscript.T of a whole run: it runs each script's T in a
// goroutine, at most cap(sem) at once.
type rootT struct {
	ctx     context.Context
	sem     chan struct{}
	verbose bool
	byName  map[string]int
	done    func(*scriptT, Result)
	wg      sync.WaitGroup
	mu      sync.Mutex
	fatal   string
	// closers end the steps in flight of each running script.
	closers map[*scriptT][]func()
}

// onInterrupt registers f to end st's steps in flight on Ctrl-C.
func (r *rootT) onInterrupt(st *scriptT, f func()) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closers == nil {
		r.closers = map[*scriptT][]func(){}
	}
	r.closers[st] = append(r.closers[st], f)
	if r.ctx.Err() != nil {
		go f()
	}
}

// interrupt ends the steps in flight of every running script.
func (r *rootT) interrupt() {
	r.mu.Lock()
	var fs []func()
	for _, list := range r.closers {
		fs = append(fs, list...)
	}
	r.mu.Unlock()
	for _, f := range fs {
		f()
	}
}

func (r *rootT) runAll(p testscript.Params) (err error) {
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		testscript.RunT(r, p)
	}()
	<-finished
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fatal != "" {
		return errors.New(r.fatal)
	}
	return nil
}

func (r *rootT) Skip(args ...any) { r.Fatal(args...) }
func (r *rootT) Fatal(args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprint(args...)
	r.mu.Unlock()
	runtime.Goexit()
}
func (r *rootT) Parallel()       {}
func (r *rootT) Log(args ...any) {}
func (r *rootT) FailNow()        { r.Fatal("failed") }
func (r *rootT) Verbose() bool   { return r.verbose }

// Run starts one script once a slot is free.
func (r *rootT) Run(name string, f func(testscript.T)) {
	index, ok := r.byName[name]
	if !ok {
		r.Fatal("no scenario for script " + name)
	}
	st := &scriptT{name: name, index: index, verbose: r.verbose}
	if r.ctx.Err() == nil {
		select {
		case r.sem <- struct{}{}:
		case <-r.ctx.Done():
		}
	}
	if r.ctx.Err() != nil {
		r.done(st, Result{Status: Skip, Interrupted: true, Message: "not run: interrupted"})
		return
	}
	r.wg.Add(1)
	go func() {
		start := time.Now()
		defer func() {
			<-r.sem
			res := Result{Status: Pass, Duration: time.Since(start), Log: st.log.String(), Findings: st.state.findings.all(), Wire: st.trace.Events()}
			switch {
			case st.failed:
				res.Status, res.Message = Fail, st.state.failMessage()
				if res.Message == "" {
					res.Message = "the script failed (see its log)"
				}
			case st.skipped:
				res.Status, res.Message = Skip, st.skipMsg
			}
			if rec := st.panicked; rec != nil {
				res.Status, res.Message = Fail, fmt.Sprintf("internal error: %v", rec)
			}
			if r.ctx.Err() != nil && res.Status != Pass {
				// Cut short by Ctrl-C: no verdict.
				res.Status, res.Interrupted, res.Findings = Skip, true, nil
				res.Message = "interrupted"
			}
			r.mu.Lock()
			delete(r.closers, st)
			r.mu.Unlock()
			r.done(st, res)
			r.wg.Done()
		}()
		st.run(f)
	}()
}

// scriptT is the testscript.T of one script.
type scriptT struct {
	name     string
	index    int // of the scenario in the run's list
	verbose  bool
	mu       sync.Mutex
	log      strings.Builder
	failed   bool
	skipped  bool
	skipMsg  string
	panicked any
	// state is what the script's checks found and said (see fail).
	state scriptState
	// envLines are the script's environment as testscript lists it.
	envLines map[string]bool
	trace    Trace // the wire trace (see Trace)
}

// run calls f, which ends by returning or by runtime.Goexit (FailNow, Skip).
func (t *scriptT) run(f func(testscript.T)) {
	defer func() {
		if rec := recover(); rec != nil {
			t.panicked = rec
		}
	}()
	f(t)
}

func (t *scriptT) Skip(args ...any) {
	t.mu.Lock()
	t.skipped, t.skipMsg = true, strings.TrimSpace(fmt.Sprintln(args...))
	t.mu.Unlock()
	runtime.Goexit()
}

func (t *scriptT) Fatal(args ...any) {
	t.Log(args...)
	t.FailNow()
}

func (t *scriptT) Parallel() {}

func (t *scriptT) Log(args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.log.WriteString(fmt.Sprintln(args...))
}

func (t *scriptT) FailNow() {
	t.mu.Lock()
	t.failed = true
	t.mu.Unlock()
	runtime.Goexit()
}

func (t *scriptT) Run(name string, f func(testscript.T)) { f(t) }
func (t *scriptT) Verbose() bool                         { return t.verbose }
