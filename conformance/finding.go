package conformance

import (
	"errors"
	"fmt"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/wire"
)

// Finding is one fault a check found in a peer's bytes or behaviour: the
// project's one finding type, package check's. Its Check is a stable ID
// for the kind of fault ("reply/no-end-marker", "conn/silent"): failures
// that carry the same Check share one root cause, and the report groups
// them under it.
type Finding = check.Finding

// must is the verb of a requirement at level: "must" for a MUST
// scenario, "should" for a SHOULD one, so that a SHOULD failure never
// says "must".
func must(level Level) string {
	if level == Should {
		return "should"
	}
	return "must"
}

// faultError is an error caused by the peer, carrying its Finding: every
// check that fails because of the peer returns one (see fault), and the
// runner records its Finding for the report's causes. Any other error of
// a command is no peer's fault (a script error, a setup failure).
type faultError struct {
	f   Finding
	msg string
}

func (e *faultError) Error() string { return e.msg }

// fault makes a faultError: f for the report's causes, the message for
// the log (it may say more than f.Summary: expected and actual, a hex
// window).
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

// noPlace is the Offset of a finding that has no place in a stream.
const noPlace = -1

// peerFinding is the finding of rule id with no place in a stream.
func peerFinding(id string) Finding {
	return check.At(id, noPlace, "")
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
var connectFinding = peerFinding("conn/not-serving")

// exchangeFinding is the finding of an exchange that failed with err: the
// reply's fault where a reply came, else rule id's (no connection, or not
// a byte).
func exchangeFinding(obs *Observation, err error, id string) Finding {
	if f, ok := findingOf(err); ok {
		return f
	}
	if obs != nil && len(obs.Bytes) > 0 {
		return replyFinding(obs)
	}
	return peerFinding(id)
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
	return check.At("conn/write", off, "")
}
