package conformance

import (
	"fmt"
	"sort"
	"time"

	"github.com/tripcheck/tripcheck/check"
)

// Level is how strongly PROTOCOL.md requires what a scenario checks.
type Level = check.Level

const (
	// Must: a peer that fails it is not conformant. The book's server and
	// client pass every MUST.
	Must = check.Must
	// Should: recommended; it counts only with --strict.
	Should = check.Should
)

// Status is the outcome of one scenario run.
type Status string

const (
	Pass Status = "pass"
	Fail Status = "fail"
	Skip Status = "skip"
	// Flaky: a time-dependent scenario failed, then passed when run again
	// (--retries). It does not fail the run, and is never shown as a pass.
	Flaky Status = "flaky"
)

// Scenario is one check: a script (a .txtar file, run by internal/script)
// and what it claims.
type Scenario struct {
	// ID names the scenario: "framing/split-size", with a variant suffix
	// where it runs as several ("valid/ascii/fragmented").
	ID string
	// Area is the part of the ID before the first slash: "framing".
	Area string
	// Level is MUST or SHOULD, from the requirement sentence.
	Level Level
	// Requirement is the one-line sentence the scenario checks, citing
	// PROTOCOL.md; the first line of its script.
	Requirement string
	// Variant is the shaping variant ("whole", "fragmented", "coalesced"),
	// or "" for a scenario that runs once.
	Variant string
	// Source is where the script came from: "builtin:framing_split_size.txtar"
	// or a path given with --scenarios.
	Source string
	// Script is the txtar text.
	Script []byte
	// Golden marks scenarios that run only with --golden book.
	Golden bool
	// Timed marks a scenario whose verdict depends on time (a silence
	// window, a stall, a latency bound, a deadline): it runs first, and
	// again when it fails (--retries).
	Timed bool
	// Wait is the longest wait the script names (-within 1500ms): the
	// scenarios that wait longest start first.
	Wait time.Duration
}

// Result is what running one scenario gave. Results are values: the runner
// makes them, the report writers format them.
type Result struct {
	ID          string `json:"id"`
	Area        string `json:"area"`
	Level       Level  `json:"level"`
	Requirement string `json:"requirement"`
	Status      Status `json:"status"`
	// Required is whether a failure makes the run fail: MUST scenarios, and
	// SHOULD scenarios with --strict, unless the failure was expected.
	Required bool `json:"required"`
	// ExpectedFailure marks a scenario listed in --expect-fail.
	ExpectedFailure bool `json:"expected_failure,omitempty"`
	// Message is the one-line reason of a failure or skip.
	Message string `json:"message"`
	// Findings are the faults the checks found, in the order found; the
	// first is the one that failed the scenario. Empty for a failure of
	// the script itself or of a check that has no finding yet.
	Findings []Finding `json:"findings,omitempty"`
	// Wire is what went over the wire, as it happened (see Trace): bounded,
	// with a gap event where events were dropped.
	Wire []WireEvent `json:"wire,omitempty"`
	// Interrupted marks a scenario cut short or never run because the run
	// was interrupted (Ctrl-C); its Status is Skip.
	Interrupted bool `json:"interrupted,omitempty"`
	// Retries is how many times the scenario ran again after failing.
	Retries int `json:"retries,omitempty"`
	// Log is the script's log of the failing phase (the whole log with -v).
	Log      string        `json:"log,omitempty"`
	Duration time.Duration `json:"-"`
	// DurationMS is Duration in milliseconds, for the JSON report.
	DurationMS float64 `json:"duration_ms"`
}

// Counts reports whether the result makes the run fail: a required failure,
// or an unexpected pass of a scenario listed as an expected failure.
func (r Result) Counts() bool {
	if r.ExpectedFailure {
		return r.Status == Pass
	}
	return r.Status == Fail && r.Required
}

// Summary counts results by status.
type Summary struct {
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	// Flaky counts scenarios that failed, then passed when run again.
	Flaky int `json:"flaky"`
	// Interrupted counts the scenarios Ctrl-C cut short or left unrun.
	Interrupted int `json:"interrupted"`
	// FailedRequired counts the failures that make the run fail.
	FailedRequired int `json:"failed_required"`
	// UnexpectedPasses counts --expect-fail scenarios that passed.
	UnexpectedPasses int `json:"unexpected_passes"`
}

// Report is one run of a suite against one target.
type Report struct {
	Suite   string `json:"suite"`  // "server" or "client"
	Target  string `json:"target"` // the address or command checked
	Profile string `json:"profile"`
	// ProfileNote says how the profile was chosen: "given", "detected", or
	// why detection could not decide.
	ProfileNote string        `json:"profile_note,omitempty"`
	Seed        int64         `json:"seed"`
	Strict      bool          `json:"strict"`
	Golden      string        `json:"golden,omitempty"`
	Preflight   *Preflight    `json:"preflight,omitempty"` // the probe before the catalog; a failed one leads Results
	Started     time.Time     `json:"started"`
	Duration    time.Duration `json:"-"`
	DurationMS  float64       `json:"duration_ms"`
	// Interrupted says the run was stopped (Ctrl-C) before its end: the
	// report is partial.
	Interrupted bool     `json:"interrupted,omitempty"`
	Results     []Result `json:"results"`
	// Streamed marks a report whose results went to a [ResultSink] as they
	// were made, for runs too large to hold: Results is empty and Summary
	// counts them.
	Streamed bool `json:"-"`
	// Causes group the failures by root cause, most failures first.
	Causes  []Cause `json:"causes"`
	Summary Summary `json:"summary"`
	// Slowest is the duration of the slowest scenario, beside Duration:
	// the floor of the run's wall time.
	Slowest   time.Duration `json:"-"`
	SlowestMS float64       `json:"slowest_ms"`
}

// Cause is one root cause of failures: the Check of the findings that
// failed the scenarios in IDs (in report order).
type Cause struct {
	Check   string   `json:"id"`
	Summary string   `json:"summary"`
	IDs     []string `json:"scenarios"`
	// First is where the cause was first seen: the first of IDs, and the
	// offset of its finding there (-1: no place in a stream).
	First  string `json:"first"`
	Offset int64  `json:"offset"`
	Field  string `json:"field,omitempty"`
}

// String says the cause in one line: "the reply has no end marker (first
// in valid/ascii/whole, offset 105)".
func (c Cause) String() string {
	where := "first in " + c.First
	if c.Offset >= 0 {
		where += fmt.Sprintf(", offset %d", c.Offset)
	}
	return c.Summary + " (" + where + ")"
}

// ResultSink takes a report's results as they are made, so that a run over
// a large capture holds none of them (capture.CheckOptions.Sink). Begin gets the
// report's header fields (suite, target, profile, ...) and is called again
// if the run starts over, before any result.
type ResultSink interface {
	Begin(r *Report)
	Add(res Result)
}

// Tally fills r.Summary from r.Results; a streamed report keeps the
// Summary counted as its results went by.
func (r *Report) Tally() {
	if r.Streamed {
		return
	}
	var s Summary
	for _, res := range r.Results {
		s.Count(res)
		if res.Interrupted {
			r.Interrupted = true
		}
		if res.Duration > r.Slowest {
			r.Slowest = res.Duration
		}
	}
	r.Summary = s
	r.SlowestMS = float64(r.Slowest.Microseconds()) / 1000
	r.Causes = causes(r.Results)
}

// causes groups failed scenarios by the Check of the finding that failed
// each (its first); failures without a finding are in no cause. The causes
// come most failures first, then in the order first seen.
func causes(results []Result) []Cause {
	var cs CauseSet
	for _, res := range results {
		cs.Add(res)
	}
	return cs.Causes()
}

// CauseSet groups failures by cause as results go by, for writers that see
// results one at a time (a streamed report, a JUnit test suite).
type CauseSet struct {
	list  []Cause
	index map[string]int
}

// Add takes one result: a failure with a finding joins its cause.
func (cs *CauseSet) Add(res Result) {
	if res.Status != Fail || len(res.Findings) == 0 {
		return
	}
	if cs.index == nil {
		cs.index = map[string]int{}
	}
	f := res.Findings[0]
	i, ok := cs.index[f.Check]
	if !ok {
		i = len(cs.list)
		cs.index[f.Check] = i
		cs.list = append(cs.list, Cause{Check: f.Check, Summary: f.Summary, First: res.ID, Offset: f.Offset, Field: f.Field})
	}
	cs.list[i].IDs = append(cs.list[i].IDs, res.ID)
}

// Causes are the causes so far, most failures first, then in the order
// first seen; [] (not nil) when there are none.
func (cs *CauseSet) Causes() []Cause {
	out := append([]Cause{}, cs.list...)
	sort.SliceStable(out, func(a, b int) bool { return len(out[a].IDs) > len(out[b].IDs) })
	return out
}

// Of is the cause of the failed scenario id, or nil.
func (cs *CauseSet) Of(id string) *Cause {
	for i := range cs.list {
		for _, x := range cs.list[i].IDs {
			if x == id {
				return &cs.list[i]
			}
		}
	}
	return nil
}

// Count adds one result to the counts.
func (s *Summary) Count(res Result) {
	switch res.Status {
	case Pass:
		s.Passed++
		if res.ExpectedFailure {
			s.UnexpectedPasses++
		}
	case Fail:
		s.Failed++
		if res.Counts() {
			s.FailedRequired++
		}
	case Skip:
		s.Skipped++
	case Flaky:
		s.Flaky++
	}
	if res.Interrupted {
		s.Interrupted++
	}
}

// OK reports whether the run passed: no required failure and no unexpected
// pass.
func (r *Report) OK() bool {
	r.Tally()
	return r.Summary.FailedRequired == 0 && r.Summary.UnexpectedPasses == 0
}
