package conformance

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os/exec"
	"strconv"
	"sync"
	"time"

	"github.com/tripcheck/tripcheck/internal/script"
	"github.com/tripcheck/tripcheck/wire"
)

// Defaults of the client suite.
const (
	// DefaultClientTimeout bounds every step that waits for the client:
	// its connection, its request, its exit after the reply (when it is
	// killed), its close.
	DefaultClientTimeout = 5 * time.Second
	// DefaultListenWait is how long listen mode waits for a person to
	// start each search.
	DefaultListenWait = 2 * time.Minute
)

// ClientOptions configure a run of the client suite. Exactly one of Exec and
// Listener is set.
type ClientOptions struct {
	// Exec is the client's command line with placeholders (exec mode):
	// tripcheck runs it once per search under ExecContract.
	Exec string
	// Listener is where tripcheck waits for the client (listen mode): each
	// connection gets the next scenario, one at a time. With Exec too, it is
	// the one fixed address every run of the client connects to (for
	// clients that cannot be told an address), one scenario at a time.
	Listener net.Listener
	// Profile is the profile to speak; 0 detects it from the client's
	// first request (--profile auto).
	Profile wire.Profile
	// Timeout bounds every step that waits for the client (default
	// DefaultClientTimeout); a client still running after it is killed.
	Timeout time.Duration
	// Wait bounds, in listen mode, the wait for each connection (default
	// DefaultListenWait). After one such wait runs out, the scenarios left
	// are skipped.
	Wait time.Duration
	// Prompt, in listen mode, is told which scenario waits for a search.
	Prompt func(Prompt)
	// Feedback, in listen mode, is told at once what each scenario served
	// and what a correct client shows now.
	Feedback func(Feedback)
	// Run and Skip select scenarios by ID glob or prefix.
	Run, Skip []string
	// Strict makes SHOULD scenarios count.
	Strict bool
	// Seed makes random splits and trips repeatable.
	Seed int64
	// Parallel is how many scenarios run at once in exec mode (default 8);
	// listen mode runs one at a time.
	Parallel int
	// Extra scenarios, from --scenarios DIR, run beside the built-in ones.
	Extra []Scenario
	// ExpectFail lists IDs expected to fail (--expect-fail).
	ExpectFail map[string]bool
	// Verbose keeps every phase's log, the whole wire log included.
	Verbose bool
	// Progress, if set, gets each result as it completes.
	Progress func(Result)
	// Retries is how many times a failed time-dependent scenario runs
	// again (--retries); a fail then a pass is reported Flaky.
	Retries int
}

// ExecContract is the exec contract of the client suite, a public
// interface: what tripcheck gives a client it runs, and what it expects of
// it. `tripcheck client --help` shows it.
const ExecContract = `tripcheck runs TEMPLATE once per search. TEMPLATE is split into arguments as
a shell splits words (single quotes, double quotes, backslash escapes), but
no shell runs: each placeholder is filled in inside its argument, so a value
with spaces or quotes stays one argument. Placeholders:
  {host} {port} {addr}  where tripcheck listens for this search: 127.0.0.1 and a
                        new port each time; {addr} is host:port
  {from} {to}           the cities, UTF-8
  {date}                yyyy-MM-dd (-yyyy-MM-dd before year 1)
  {time}                HH:mm:ss.zzz
  {flag}                D (a departure time) or A (an arrival time)
  {profile}             qt4 or qt5 (only with --profile qt4 or qt5)
A null value is the argument @null; an empty string is an empty argument.
The environment variable TRIPCHECK_SCENARIO names the scenario.
The client connects once to {host}:{port}, sends one request for that search
and reads the reply. On success it prints on stdout one line per trip, in the
order received,
  <yyyy-MM-dd> <HH:mm:ss.zzz> <duration> <changes> <trainType>
(a null date or time is @null, one out of range @jd(N) or @ms(N); duration
and changes in decimal; the train type as UTF-8, possibly empty, a lone
surrogate as U+FFFD and U+0000 as a NUL byte), then the line END <n>, and
exits 0. On a failed search (the stream cut or reset before the end marker,
a malformed block) it prints the line ERROR <reason> last and exits
non-zero; before it, it may print the trips of the blocks it received whole,
as the book's client keeps them: either none or all of them, in order, never
a trip of a block cut short, and never END. Exit status 89 means "not
implemented": the scenario is skipped. Lines end with \n (a \r before it is
ignored); stderr is kept for the report. A client still running when a step
times out (--timeout, 5s) is killed. tripcheck compares what the client
printed with what it was sent.`

// Prompt tells the person at a client, in listen mode, that a scenario
// waits for a search.
type Prompt struct {
	ID       string // the scenario
	N, Total int    // its place in the run
	Addr     string // where tripcheck listens
	// Suggest is the search the scenario asks for, in short; the request
	// checks skip, saying why, when the search made is another.
	Suggest string
	// Search is the search asked, in full.
	Search wire.Request
}

func (p Prompt) String() string {
	return fmt.Sprintf("scenario %s (%d/%d): search %s in your client now, or run your client against %s",
		p.ID, p.N, p.Total, p.Suggest, p.Addr)
}

// clientSuite is the state of one run of the client suite, shared by its
// scripts.
type clientSuite struct {
	ctx      context.Context
	tmpl     Template     // exec mode
	ln       net.Listener // listen mode
	timeout  time.Duration
	wait     time.Duration
	prompt   func(Prompt)
	feedback func(Feedback)
	verbose  bool
	index    map[string]int // scenario ID -> place in the run

	mu      sync.Mutex
	profile wire.Profile // given or detected; 0 until detected
	note    string
	why     string // listen mode: why no more clients are waited for
}

// listen reports whether a person's client connects (listen mode), rather
// than a client tripcheck runs, at an address of its own or a fixed one.
func (su *clientSuite) listen() bool { return su.ln != nil && su.tmpl.Args == nil }

// snip is how many bytes of a block the wire log shows: n, or all of them
// in verbose mode.
func (su *clientSuite) snip(n int) int {
	if su.verbose {
		return math.MaxInt
	}
	return n
}

func (su *clientSuite) fixedProfile() wire.Profile {
	su.mu.Lock()
	defer su.mu.Unlock()
	return su.profile
}

// profileFor returns the run's profile, detecting it from this request
// payload if there is none yet: requests are never ambiguous.
func (su *clientSuite) profileFor(payload []byte) wire.Profile {
	su.mu.Lock()
	defer su.mu.Unlock()
	if su.profile != 0 {
		return su.profile
	}
	p, err := wire.DetectProfile(wire.KindRequest, payload)
	if err != nil {
		su.profile, su.note = wire.Qt4, "undetermined: the client's first request fits no profile; assumed qt4"
	} else {
		su.profile, su.note = p, "detected from the client's first request"
	}
	return su.profile
}

func (su *clientSuite) stop(why string) {
	su.mu.Lock()
	if su.why == "" {
		su.why = why
	}
	su.mu.Unlock()
}

func (su *clientSuite) stopped() string {
	su.mu.Lock()
	defer su.mu.Unlock()
	return su.why
}

// ClientScenarios returns the scenarios a run with o would consider, before
// --run and --skip: the built-in client catalog and o.Extra.
func ClientScenarios(o *ClientOptions) ([]Scenario, error) {
	return withExtra(SuiteClient, o.Extra)
}

// RunClient runs the client suite and returns its report. An error means
// the run could not be made (bad scenarios or options, a client that does
// not start); failed checks are in the report.
func RunClient(ctx context.Context, o ClientOptions) (*Report, error) {
	all, err := ClientScenarios(&o)
	if err != nil {
		return nil, err
	}
	if o.Exec == "" && o.Listener == nil {
		return nil, errors.New("give the client as a command (exec mode), a listener (listen mode), or both (exec mode at a fixed address)")
	}
	su := &clientSuite{
		ctx: ctx, ln: o.Listener, timeout: o.Timeout, wait: o.Wait,
		prompt: o.Prompt, feedback: o.Feedback, verbose: o.Verbose, index: map[string]int{},
		profile: o.Profile,
	}
	if su.timeout <= 0 {
		su.timeout = DefaultClientTimeout
	}
	if su.wait <= 0 {
		su.wait = DefaultListenWait
	}
	if o.Profile != 0 {
		if !o.Profile.Valid() {
			return nil, fmt.Errorf("%w %v", wire.ErrUnknownProfile, o.Profile)
		}
		su.note = "given"
	}
	scenarios := selectScenarios(all, o.Run, o.Skip)
	for i, sc := range scenarios {
		su.index[sc.ID] = i
	}
	rep := &Report{Suite: SuiteClient, Seed: o.Seed, Strict: o.Strict, Started: time.Now()}
	parallel := o.Parallel
	if parallel <= 0 {
		parallel = 8
	}
	if o.Exec != "" {
		rep.Target = o.Exec
		if su.tmpl, err = ParseTemplate(o.Exec); err != nil {
			return nil, err
		}
		if o.Listener != nil {
			// One fixed address: one scenario at a time.
			rep.Target += " at " + o.Listener.Addr().String()
			parallel = 1
		}
		if _, err := exec.LookPath(su.tmpl.Args[0]); err != nil {
			return nil, fmt.Errorf("client %q: %v", su.tmpl.Args[0], err)
		}
		if o.Profile == 0 {
			if su.tmpl.Uses("profile") {
				return nil, errors.New("the template names {profile}: give the profile (qt4 or qt5) rather than auto")
			}
			if err := su.probe(o.Seed); err != nil {
				return nil, err
			}
		}
	} else {
		rep.Target = "listening on " + o.Listener.Addr().String()
		parallel = 1
	}
	cfg := &runConfig{
		suite:     SuiteClient,
		scenarios: scenarios,
		parallel:  parallel,
		verbose:   o.Verbose,
		seed:      o.Seed,
		strict:    o.Strict,
		expect:    o.ExpectFail,
		progress:  o.Progress,
		retries:   o.Retries,
		setup: func(st *script.State, sc *Scenario, seed int64, tr *Trace) ([]script.Cmd, func(), error) {
			if why := su.stopped(); why != "" {
				return nil, nil, script.Skip(why)
			}
			s := &clientScript{suite: su, sc: sc, seed: seed, variant: sc.Variant, trace: tr}
			st.Setenv("VARIANT", sc.Variant)
			st.Setenv("SEED", strconv.FormatInt(seed, 10))
			st.Setenv("TIMEOUT", su.timeout.String())
			if p := su.fixedProfile(); p != 0 {
				st.Setenv("PROFILE", p.String())
			}
			return scriptCommands(clientCommandList(), s), s.closeAll, nil
		},
	}
	results, err := cfg.run(ctx)
	if err != nil {
		return nil, err
	}
	rep.Results = results
	su.mu.Lock()
	if su.profile != 0 {
		rep.Profile = su.profile.String()
	}
	rep.ProfileNote = su.note
	if rep.Profile == "" {
		rep.ProfileNote = "undetermined: no client request was read"
	}
	su.mu.Unlock()
	rep.Duration = time.Since(rep.Started)
	rep.DurationMS = float64(rep.Duration.Microseconds()) / 1000
	rep.Tally()
	return rep, nil
}

// probe runs the client once with the default search, before the
// scenarios, to detect its profile from its request; it answers with no
// trips. A client that cannot make that search is a setup error.
func (su *clientSuite) probe(seed int64) error {
	s := &clientScript{suite: su, sc: &Scenario{ID: "probe"}, seed: seed}
	defer s.closeAll()
	var log []string
	logf := func(format string, args ...any) { log = append(log, fmt.Sprintf(format, args...)) }
	fail := func(err error) error {
		msg := fmt.Sprintf("the client's first search (to detect its profile) failed: %v", err)
		for _, l := range log {
			msg += "\n    " + l
		}
		return errors.New(msg)
	}
	r, err := s.search(logf, DefaultRequest())
	if err != nil {
		return fail(err)
	}
	if err := s.serve(logf, r, serveSpec{trips: 0, then: "close", variant: "whole"}); err != nil {
		return fail(err)
	}
	r.proc.wait(su.ctx, su.timeout)
	return nil
}
