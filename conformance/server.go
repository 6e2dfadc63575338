package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/internal/script"
	"github.com/tripcheck/tripcheck/wire"
)

// GoldenFunc computes the reply a reference server sends to a request, whole
// (its trip blocks and the end marker), in profile p.
type GoldenFunc func(p wire.Profile, r *wire.Request) ([]byte, error)

// ServerOptions configure a run of the server suite.
type ServerOptions struct {
	// Target is the server's address, host:port.
	Target string
	// Profile is the profile to speak; 0 detects it (--profile auto).
	Profile wire.Profile
	// Timeout bounds every step that waits for the server (default 2s).
	Timeout time.Duration
	// Run and Skip select scenarios by ID glob or prefix.
	Run, Skip []string
	// Strict makes SHOULD scenarios count.
	Strict bool
	// Golden, when set, is the reference reply the golden scenarios
	// compare with, and GoldenName its name ("book"). Without it the
	// golden scenarios skip.
	Golden     GoldenFunc
	GoldenName string
	// Seed makes random splits and cases repeatable.
	Seed int64
	// Parallel is how many scenarios run at once (default 8), besides
	// those that only wait on an idle connection (the stall windows, the
	// 1.2 s pauses): each of those starts first, in a slot of its own.
	Parallel int
	// KeepGoing runs the catalog even when the preflight found no Trip
	// reply at all (--keep-going); without it the run stops there.
	KeepGoing bool
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

func (o *ServerOptions) timeout() time.Duration {
	if o.Timeout <= 0 {
		return 2 * time.Second
	}
	return o.Timeout
}

// ServerScenarios returns the scenarios a run with o would consider, before
// --run and --skip: the built-in server catalog and o.Extra.
func ServerScenarios(o *ServerOptions) ([]Scenario, error) {
	return withExtra(SuiteServer, o.Extra)
}

// RunServer runs the server suite against o.Target and returns its report.
// An error means the run could not be made (bad scenarios, a target that
// does not resolve); failed checks are in the report.
func RunServer(ctx context.Context, o ServerOptions) (*Report, error) {
	all, err := ServerScenarios(&o)
	if err != nil {
		return nil, err
	}
	if _, _, err := net.SplitHostPort(o.Target); err != nil {
		return nil, fmt.Errorf("target %q: %v", o.Target, err)
	}
	rep := &Report{Suite: SuiteServer, Target: o.Target, Seed: o.Seed, Strict: o.Strict, Started: time.Now()}
	// One valid request first. A target that cannot be reached is a setup
	// error, not 68 failures; a server that answers no Trip reply at all
	// gets one verdict, not 68 failures.
	pp := o.Profile
	if pp == 0 {
		pp = wire.Qt4
	}
	pf, err := runPreflight(ctx, o.Target, pp, o.timeout())
	if err != nil {
		return nil, err
	}
	rep.Preflight = pf
	var lead []Result
	if !pf.OK {
		lead = []Result{pf.Result(o.KeepGoing)}
		if o.Progress != nil {
			o.Progress(lead[0])
		}
		if !o.KeepGoing {
			rep.Profile, rep.ProfileNote = pp.String(), "not detected: the preflight failed"
			if o.Profile != 0 {
				rep.ProfileNote = "given"
			}
			rep.Results = lead
			rep.Duration = time.Since(rep.Started)
			rep.DurationMS = float64(rep.Duration.Microseconds()) / 1000
			rep.Tally()
			return rep, nil
		}
	}
	if o.Golden != nil {
		rep.Golden = o.GoldenName
		if rep.Golden == "" {
			rep.Golden = "custom"
		}
	}
	profile := o.Profile
	if profile == 0 {
		det := detectServerProfile(ctx, o.Target, o.timeout())
		profile = det.Profile
		rep.ProfileNote = det.Note
	} else {
		rep.ProfileNote = "given"
	}
	rep.Profile = profile.String()
	parallel := o.Parallel
	if parallel == 0 {
		parallel = 8
	}
	cfg := &runConfig{
		suite:     SuiteServer,
		scenarios: selectScenarios(all, o.Run, o.Skip),
		parallel:  parallel,
		verbose:   o.Verbose,
		seed:      o.Seed,
		strict:    o.Strict,
		golden:    o.Golden != nil,
		expect:    o.ExpectFail,
		progress:  o.Progress,
		retries:   o.Retries,
		setup: func(st *script.State, sc *Scenario, seed int64, tr *Trace) ([]script.Cmd, func(), error) {
			if sc.Golden && o.Golden == nil {
				return nil, nil, script.Skip("golden scenario: run with --golden book")
			}
			s := &serverScript{
				target:  o.Target,
				profile: profile,
				timeout: o.timeout(),
				seed:    seed,
				variant: sc.Variant,
				level:   sc.Level,
				golden:  o.Golden,
				peers:   map[string]*peer{},
				trace:   tr,
			}
			st.Setenv("TARGET", o.Target)
			st.Setenv("PROFILE", profile.String())
			st.Setenv("VARIANT", sc.Variant)
			st.Setenv("SEED", strconv.FormatInt(seed, 10))
			st.Setenv("TIMEOUT", o.timeout().String())
			return scriptCommands(serverCommandList(), s), s.closeAll, nil
		},
	}
	results, err := cfg.run(ctx)
	if err != nil {
		return nil, err
	}
	rep.Results = append(lead, results...)
	rep.Duration = time.Since(rep.Started)
	rep.DurationMS = float64(rep.Duration.Microseconds()) / 1000
	rep.Tally()
	return rep, nil
}

// detection is what detectServerProfile found.
type detection struct {
	Profile wire.Profile
	// Decided is false when no probe reply told the profile apart.
	Decided bool
	Note    string
	// Inconsistent is set when the server read a request in one profile
	// and answered in the other.
	Inconsistent bool
	// Decoded is set when some probe's reply decoded: whole blocks and the
	// end marker, with trips in a profile or no trips at all. Without it
	// the server sent nothing a Trip client could read.
	Decoded bool
	// Fault is what was wrong with the first probe reply that had bytes
	// but did not tell the profile: the cause a failure of detection
	// shares with the reply checks.
	Fault *Finding
}

// detectServerProfile asks the server the book's example in each profile
// and reads the layout of the trips it answers with. A server that echoes
// the request's date correctly but in the other layout is inconsistent. It
// falls back to qt4, the book's, saying why.
func detectServerProfile(ctx context.Context, target string, timeout time.Duration) detection {
	var notes []string
	decoded := false
	var fault *Finding
	for _, p := range wire.Profiles() {
		req := DefaultRequest()
		obs, err := exchange(ctx, target, p, &req, timeout)
		if err != nil {
			first, _, _ := strings.Cut(err.Error(), "\n")
			notes = append(notes, fmt.Sprintf("%v probe: %s", p, first))
			// A reply that goes wrong after its first trip block (no end
			// marker, bytes after it) still tells the profile: that fault
			// is another check's, not a second cause here.
			if obs == nil || len(obs.Bytes) == 0 {
				continue
			}
		}
		got, why := tripsProfile(obs.Bytes)
		if got == 0 && len(obs.Faults) == 0 && obs.TripCount == 0 {
			decoded = true // an empty reply: it decodes, and tells nothing
		}
		if got == 0 {
			notes = append(notes, fmt.Sprintf("%v probe: %s", p, why))
			if fault == nil && len(obs.Bytes) > 0 && replyFault(obs) != nil {
				f := replyFinding(obs)
				fault = &f
			}
			continue
		}
		if got == p {
			return detection{Profile: p, Decided: true, Decoded: true, Note: fmt.Sprintf("detected: answered a %v request in %v", p, p)}
		}
		// Answered in the other layout: does it echo our date?
		d := wire.NewDecoder(got, wire.Replies)
		d.Feed(obs.Bytes)
		var m wire.Message
		if d.Next(&m) == nil && m.Kind == wire.KindTrip && m.Trip.Date == req.Date {
			return detection{Profile: p, Decided: true, Decoded: true, Inconsistent: true,
				Note: fmt.Sprintf("detected %v, inconsistent: read a %v request correctly and answered in %v", p, p, got)}
		}
		notes = append(notes, fmt.Sprintf("%v probe answered in %v", p, got))
	}
	note := "undetermined, assumed qt4"
	if !decoded {
		note = "undetermined (no reply decoded), assumed qt4"
	}
	for _, n := range notes {
		note += "; " + n
	}
	return detection{Profile: wire.Qt4, Note: note, Decoded: decoded, Fault: fault}
}

// tripsProfile detects the profile of the first trip block of a reply.
func tripsProfile(reply []byte) (wire.Profile, string) {
	size, ok := wire.Announced(reply)
	switch {
	case !ok:
		return 0, "no reply"
	case size == wire.EndMarker:
		return 0, "no trips in the reply"
	case len(reply) < wire.BlockLen(size):
		return 0, "reply cut short"
	}
	p, err := wire.DetectProfile(wire.KindTrip, reply[2:wire.BlockLen(size)])
	if err != nil {
		return 0, err.Error()
	}
	return p, ""
}

// exchange makes one whole request and reads the reply.
func exchange(ctx context.Context, target string, p wire.Profile, r *wire.Request, timeout time.Duration) (*Observation, error) {
	deadline := time.Now().Add(timeout)
	dctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	var dialer net.Dialer
	c, err := dialer.DialContext(dctx, "tcp", target)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	c = traceFrom(ctx).Conn("probe", c)
	b, err := wire.Encoder{Profile: p, AllowIllegalWrites: true}.AppendRequest(nil, r)
	if err != nil {
		return nil, err
	}
	c.SetWriteDeadline(deadline)
	if _, err := c.Write(b); err != nil {
		return nil, err
	}
	obs := observe(c, p, deadline, 0, nil, false)
	if !obs.Ended {
		if err := obs.FramingError(); err != nil {
			return obs, err
		}
		return obs, errors.New("no end marker")
	}
	return obs, nil
}
