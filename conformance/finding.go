package conformance

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tripcheck/tripcheck/wire"
)

// Finding is one fault a check found in a peer's bytes or behaviour. Its
// Check is a stable ID for the kind of fault ("reply/no-end-marker",
// "request/odd-string-length", "conn/silent"): failures of many scenarios
// that carry the same Check share one root cause, and the report groups
// them under it. Causes come from these values, never from message text.
type Finding struct {
	// Check names the kind of fault: "<what>/<fault>", lower case, stable
	// across releases (reports and --expect-fail files may name it).
	Check string `json:"check"`
	// Summary says the fault in one sentence a user can act on, without the
	// scenario's particulars: "the reply has no end marker".
	Summary string `json:"summary"`
	// Offset is the stream offset of the fault in the peer's direction,
	// or -1 where the fault has no place in a stream (silence, a reset).
	Offset int64 `json:"offset"`
	// Field is the field path at Offset ("trip[2].trainType"), if any.
	Field string `json:"field,omitempty"`
}

// String is the summary, with the place where there is one.
func (f Finding) String() string {
	switch {
	case f.Offset >= 0 && f.Field != "":
		return fmt.Sprintf("%s (offset %d, %s)", f.Summary, f.Offset, f.Field)
	case f.Offset >= 0:
		return fmt.Sprintf("%s (offset %d)", f.Summary, f.Offset)
	}
	return f.Summary
}

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

// peerFinding is a finding with no place in a stream.
func peerFinding(check, summary string) Finding {
	return Finding{Check: check, Summary: summary, Offset: noPlace}
}

// replyChecks names the Check of each wire fault in a reply, and says it.
var replyChecks = []struct {
	err     error
	check   string
	summary string
}{
	{wire.ErrNoEndMarker, "reply/no-end-marker", "the reply has no end marker"},
	{wire.ErrTruncated, "reply/cut-block", "the stream ends inside a block"},
	{wire.ErrTrailingBytes, "reply/bytes-left-over", "a trip block has bytes left over after its fields"},
	{wire.ErrPastEnd, "reply/field-past-block", "a trip field runs past the end of its block"},
	{wire.ErrReservedSize, "reply/reserved-size", "a block has the reserved size 0xFFFF"},
	{wire.ErrBlockTooLarge, "reply/block-too-large", "a block is larger than 65534 bytes"},
	{wire.ErrInvalidTime, "reply/invalid-time", "a trip has a time out of range"},
	{wire.ErrCorrupt, "reply/corrupt-field", "a trip field is corrupt"},
}

// replyFault is the first fault of a reply's framing and field encodings,
// or its missing end marker, as an error carrying its Finding; nil for a
// whole, valid reply. The message is FramingError's.
// afterEndFault is the fault of a reply with bytes after its end marker,
// or nil.
func afterEndFault(obs *Observation) error {
	err := obs.AfterEndError()
	if err == nil {
		return nil
	}
	return &faultError{f: Finding{Check: "reply/after-end", Summary: "the server sends bytes after the end marker", Offset: int64(obs.EndOffset + 2), Field: "after end"}, msg: err.Error()}
}

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
func userText(err error) string {
	return strings.TrimPrefix(err.Error(), "wire: ")
}

// replyFinding is the Finding of the first fault FramingError reports.
func replyFinding(obs *Observation) Finding {
	if len(obs.Bytes) == 0 && obs.How == EndSilence {
		return peerFinding("reply/silent", "the server sends no reply")
	}
	// A stream that ends without a byte lacks the end marker like one
	// that ends after whole trips: a reply of no trips is the end marker
	// alone.
	if len(obs.Faults) > 0 {
		var de *wire.DecodeError
		if errors.As(obs.Faults[0], &de) {
			for _, c := range replyChecks {
				if errors.Is(de, c.err) {
					return Finding{Check: c.check, Summary: c.summary, Offset: de.Offset, Field: de.Field}
				}
			}
			return Finding{Check: "reply/bad-block", Summary: strings.TrimPrefix(de.Err.Error(), "wire: "), Offset: de.Offset, Field: de.Field}
		}
		return peerFinding("reply/bad-block", "the reply does not decode")
	}
	if !obs.Ended && obs.OverBudget {
		return Finding{Check: "reply/budget-exceeded", Summary: fmt.Sprintf("the reply runs past %d bytes without an end marker", ReplyBudget), Offset: ReplyBudget}
	}
	if !obs.Ended && obs.Cut != nil && obs.Cut.Size >= 0 {
		return Finding{Check: "reply/cut-block", Summary: "the reply stops inside a block", Offset: obs.Cut.Offset}
	}
	if !obs.Ended {
		return Finding{Check: "reply/no-end-marker", Summary: "the reply has no end marker", Offset: int64(len(obs.Bytes)), Field: "end"}
	}
	return peerFinding("reply/invalid-trip", "a trip has a value out of range")
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

// requestChecks names the Check of each wire fault in a request.
var requestChecks = []struct {
	err     error
	check   string
	summary string
}{
	{wire.ErrPastEnd, "request/field-past-block", "a request field runs past the end of its block"},
	{wire.ErrTrailingBytes, "request/bytes-left-over", "the request block has bytes left over after its fields"},
	{wire.ErrUnknownType, "request/type-not-s", "the request's type is not 'S'"},
	{wire.ErrBadFlag, "request/bad-flag", "the request's flag is neither 'D' nor 'A'"},
	{wire.ErrInvalidTime, "request/invalid-time", "the request's time is out of range"},
	{wire.ErrCorrupt, "request/corrupt-field", "a request field is corrupt"},
}

// requestFinding is the Finding of a decode error of a request, at stream
// offset off (field where).
func requestFinding(de *wire.DecodeError, off int64, where string) Finding {
	for _, c := range requestChecks {
		if errors.Is(de, c.err) {
			return Finding{Check: c.check, Summary: c.summary, Offset: off, Field: where}
		}
	}
	return Finding{Check: "request/malformed", Summary: "the request is not well-formed", Offset: off, Field: where}
}

// writeFinding is the fault of a server that stops reading (closes or
// resets) while tripcheck writes a request; off is where the write began
// in tripcheck's stream.
func writeFinding(off int64) Finding {
	return Finding{Check: "conn/write", Summary: "the server stops reading before the request is whole", Offset: off}
}
