package conformance

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"regexp"
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
	cmds      map[string]func(ts *testscript.TestScript, neg bool, args []string)
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
// scenario order.
func (c *runConfig) run(ctx context.Context) ([]Result, error) {
	dir, err := os.MkdirTemp("", "tripcheck-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	byName := map[string]*Scenario{}
	var files []string
	for i := range c.scenarios {
		sc := &c.scenarios[i]
		name := fileName(sc.ID)
		if byName[strings.TrimSuffix(name, ".txtar")] != nil {
			return nil, fmt.Errorf("conformance: scenario %s twice", sc.ID)
		}
		byName[strings.TrimSuffix(name, ".txtar")] = sc
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, sc.Script, 0o644); err != nil {
			return nil, err
		}
		files = append(files, p)
	}
	results := make([]Result, len(c.scenarios))
	index := map[*Scenario]int{}
	for i := range c.scenarios {
		index[&c.scenarios[i]] = i
	}
	if len(files) == 0 {
		return results, nil
	}
	parallel := c.parallel
	if parallel <= 0 {
		parallel = 1
	}
	root := &rootT{
		ctx:     ctx,
		sem:     make(chan struct{}, parallel),
		verbose: c.verbose,
		byName:  byName,
		done: func(sc *Scenario, r Result) {
			r.Log = cleanLog(r.Log, dir)
			results[index[sc]] = c.finish(sc, r)
			if c.progress != nil {
				c.progress(results[index[sc]])
			}
		},
	}
	work, err := os.MkdirTemp(dir, "work-")
	if err != nil {
		return nil, err
	}
	p := testscript.Params{
		Files:       files,
		WorkdirRoot: work,
		Cmds:        c.cmds,
		Setup: func(env *testscript.Env) error {
			st, ok := env.T().(*scriptT)
			if !ok {
				return errors.New("conformance: scripts run only under the conformance runner")
			}
			env.Values[findingsKey{}] = &st.findings
			env.Values[traceKey{}] = st.trace.begin()
			return c.setup(env, st.sc, scenarioSeed(c.seed, st.sc.ID))
		},
		RequireUniqueNames: true,
	}
	if dl, ok := ctx.Deadline(); ok {
		p.Deadline = dl
	}
	if err := root.runAll(p); err != nil {
		return nil, err
	}
	return results, nil
}

// finish completes a result from its scenario and the run's settings.
func (c *runConfig) finish(sc *Scenario, r Result) Result {
	r.ID, r.Area, r.Level, r.Requirement = sc.ID, sc.Area, sc.Level, sc.Requirement
	r.Required = sc.Level == Must || c.strict
	r.ExpectedFailure = c.expect[sc.ID]
	r.DurationMS = float64(r.Duration.Microseconds()) / 1000
	if r.Status == Fail && r.Message == "" {
		r.Message = failMessage(r.Log)
	}
	return r
}

// cleanLog drops testscript's WORK line and the temporary directory from
// script names, so that logs name scenarios, not paths.
func cleanLog(log, dir string) string {
	log = strings.ReplaceAll(log, dir+string(filepath.Separator), "")
	var out []string
	for _, line := range strings.Split(log, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "WORK=") {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

var reFail = regexp.MustCompile(`(?m)^FAIL: [^:\n]*:\d+: (.*)$`)

// failMessage is the reason testscript gave for the failure: the text of its
// last FAIL line.
func failMessage(log string) string {
	m := reFail.FindAllStringSubmatch(log, -1)
	if len(m) == 0 {
		if s := strings.TrimSpace(log); s != "" {
			lines := strings.Split(s, "\n")
			return lines[len(lines)-1]
		}
		return "failed"
	}
	return m[len(m)-1][1]
}

// rootT is the testscript.T of a whole run: it runs each script's T in a
// goroutine, at most cap(sem) at once.
type rootT struct {
	ctx     context.Context
	sem     chan struct{}
	verbose bool
	byName  map[string]*Scenario
	done    func(*Scenario, Result)
	wg      sync.WaitGroup
	mu      sync.Mutex
	fatal   string
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
		return errors.New("conformance: " + r.fatal)
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
	sc := r.byName[name]
	if sc == nil {
		r.Fatal("no scenario for script " + name)
	}
	st := &scriptT{name: name, sc: sc, verbose: r.verbose}
	select {
	case r.sem <- struct{}{}:
	case <-r.ctx.Done():
		r.done(sc, Result{Status: Skip, Message: "run interrupted"})
		return
	}
	r.wg.Add(1)
	go func() {
		start := time.Now()
		defer func() {
			<-r.sem
			res := Result{Status: Pass, Duration: time.Since(start), Log: st.log.String(), Findings: st.findings.all(), Wire: st.trace.Events()}
			switch {
			case st.failed:
				res.Status = Fail
			case st.skipped:
				res.Status, res.Message = Skip, st.skipMsg
			}
			if rec := st.panicked; rec != nil {
				res.Status, res.Message = Fail, fmt.Sprintf("internal error: %v", rec)
			}
			r.done(sc, res)
			r.wg.Done()
		}()
		st.run(f)
	}()
}

// scriptT is the testscript.T of one script.
type scriptT struct {
	name     string
	sc       *Scenario
	verbose  bool
	mu       sync.Mutex
	log      strings.Builder
	failed   bool
	skipped  bool
	skipMsg  string
	panicked any
	// findings are what the script's checks found (see fail).
	findings findings
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
