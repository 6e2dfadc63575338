package conformance

import (
	"errors"
	"fmt"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/wire"
)

// Finding is one fault a check found in a peer's bytes or behaviour: the
// project's one finding type, package check's. Its Check is a stable ID
// for the kind of fault ("reply/no-end-marker", "conn/silent"): failures
// that carry the same Check share one root cause, and the report groups
// them under it.
type Finding = check.Finding

// findings collects what the checks of one scenario run found; the runner
// copies them into the scenario's Result.
type findings struct {
	mu   sync.Mutex
	list []Finding
}

func (fs *findings) add(f Finding) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = append(fs.list, f)
}

func (fs *findings) all() []Finding {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]Finding(nil), fs.list...)
}

type findingsKey struct{}

// fail ends the script's current step with a failure caused by f: f is
// recorded for the report's causes, and the message (which may say more
// than f.Summary: expected and actual, a hex window) goes to the log.
// Every check that fails because of the peer calls fail, not ts.Fatalf;
// ts.Fatalf stays for errors in the script itself.
func fail(ts *testscript.TestScript, f Finding, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if st := stateOf(ts); st != nil {
		st.findings.add(f)
		st.setMessage(msg)
	}
	ts.Fatalf("%s", msg)
}

// scriptState is what the runner keeps of one script run for its report:
// the findings of its checks, and the message of the command that failed
// it, said by that command (never read back from the log).
type scriptState struct {
	findings findings
	mu       sync.Mutex
	message  string
	level    Level
}

func (st *scriptState) setMessage(msg string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.message = msg
}

func (st *scriptState) failMessage() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.message
}

func stateOf(ts *testscript.TestScript) *scriptState {
	st, _ := ts.Value(findingsKey{}).(*scriptState)
	return st
}

// fatalf ends the script's current step with a failure that is no peer's
// fault (a script error, a setup failure): it has no finding, only its
// message. It stands for ts.Fatalf in every command.
func fatalf(ts *testscript.TestScript, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if st := stateOf(ts); st != nil {
		st.setMessage(msg)
	}
	ts.Fatalf("%s", msg)
}

// must is the verb of a requirement at the scenario's level: "must" for a
// MUST scenario, "should" for a SHOULD one, so that a SHOULD failure never
// says "must".
func must(ts *testscript.TestScript) string {
	if st := stateOf(ts); st != nil && st.level == Should {
		return "should"
	}
	return "must"
}

// faultError is an error caused by the peer, carrying its Finding, for
// checks that return errors rather than end the script (the client suite's).
type faultError struct {
	f   Finding
	msg string
}

func (e *faultError) Error() string { return e.msg }

// fault makes a faultError: f for the report's causes, the message for
// the log.
func fault(f Finding, format string, args ...any) error {
	return &faultError{f: f, msg: fmt.Sprintf(format, args...)}
}

// findingOf is the Finding an error carries, if it carries one.
func findingOf(err error) (Finding, bool) {
	var fe *faultError
	if errors.As(err, &fe) {
		return fe.f, true
	}
	return Finding{}, false
}

// failErr ends the script with err: a failure with a finding if err
// carries one (see fault), else a failure of the script.
func failErr(ts *testscript.TestScript, err error) {
	if f, ok := findingOf(err); ok {
		fail(ts, f, "%v", err)
	}
	fatalf(ts, "%v", err)
}

// noPlace is the Offset of a finding that has no place in a stream.
const noPlace = -1

// peerFinding is a finding with no place in a stream.
func peerFinding(check, summary string) Finding {
	return Finding{Check: check, Summary: summary, Offset: noPlace}
}

// afterEndFault is the fault of a reply with bytes after its end marker,
// or nil: the session checker's finding, with AfterEndError's message.
func afterEndFault(obs *Observation) error {
	err := obs.AfterEndError()
	if err == nil {
		return nil
	}
	f := check.At(check.RuleAfterEnd, int64(obs.EndOffset+2), "after end")
	if obs.afterEnd != nil {
		f = *obs.afterEnd
	}
	return &faultError{f: f, msg: err.Error()}
}

// replyFault is the first fault of a reply's framing and field encodings,
// or its missing end marker, as an error carrying its Finding; nil for a
// whole, valid reply. The message is FramingError's.
func replyFault(obs *Observation) error {
	err := obs.FramingError()
	if err == nil {
		return nil
	}
	return &faultError{f: replyFinding(obs), msg: userText(err)}
}

// userText is an error's message without the wire package's prefix: a
// user reads what is wrong with the peer's bytes, not which package found
// it.
func userText(err error) string { return check.Text(err) }

// replyFinding is the Finding of the first fault FramingError reports: the
// session checker's first fault of the reply, or its first illegal value.
func replyFinding(obs *Observation) Finding {
	if obs.finding != nil {
		return *obs.finding
	}
	return check.At("reply/invalid-trip", noPlace, "")
}

// connectFinding is the fault of a server that cannot be reached in the
// middle of a run (it was reachable when the run began): it is the same
// cause as a failed probe (alive), whichever a scenario meets first.
var connectFinding = peerFinding("conn/not-serving", "the server no longer serves")

// exchangeFinding is the finding of an exchange that failed with err: the
// reply's fault where a reply came, else check and summary (no connection,
// or not a byte).
func exchangeFinding(obs *Observation, err error, check, summary string) Finding {
	if f, ok := findingOf(err); ok {
		return f
	}
	if obs != nil && len(obs.Bytes) > 0 {
		return replyFinding(obs)
	}
	return peerFinding(check, summary)
}

// requestFinding is the Finding of a decode error of a request, by the
// session checker's catalog.
func requestFinding(err error) Finding {
	return check.OfError(wire.Requests, err)
}

// writeFinding is the fault of a server that stops reading (closes or
// resets) while tripcheck writes a request; off is where the write began
// in tripcheck's stream.
func writeFinding(off int64) Finding {
	return Finding{Check: "conn/write", Summary: "the server stops reading before the request is whole", Offset: off}
}
