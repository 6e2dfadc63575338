package check

import (
	"errors"
	"fmt"
	"strings"

	"github.com/tripcheck/tripcheck/wire"
)

// NoPlace is the Offset of a finding that has no place in a stream
// (silence, a connection refused).
const NoPlace = -1

// Finding is one fault found in a peer's bytes or behaviour: the project's
// one finding type. Its Check is a rule's stable ID ("reply/no-end-marker"):
// failures of many scenarios that carry the same Check share one root cause,
// and reports group them under it. Causes come from these values, never from
// message text. The level and requirement are not copied into a finding;
// Level and Requirement look them up in the catalog.
type Finding struct {
	// Check names the kind of fault: "<what>/<fault>", lower case, stable
	// across releases (reports and --expect-fail files may name it).
	Check string `json:"check"`
	// Summary says the fault in one sentence a user can act on, without the
	// particulars: "the reply has no end marker".
	Summary string `json:"summary"`
	// Offset is the stream offset of the fault in the peer's direction,
	// or NoPlace where the fault has no place in a stream.
	Offset int64 `json:"offset"`
	// Field is the field path at Offset ("trip[2].trainType"), if any.
	Field string `json:"field,omitempty"`
	// Dir is the direction the fault is in; 0 where not said.
	Dir wire.Direction `json:"-"`
	// From is where the byte at Offset came from: the packet number of a
	// capture or the index of a write or read (from 1); 0 when not known.
	From int `json:"-"`
	// Detail says what was found, for people: the wire error's text
	// without its package prefix ("flag is neither 'D' nor 'A' in
	// request[0].flag at offset 45 (flag 'Z')"), or "".
	Detail string `json:"-"`
	// Err is the wire error behind the finding, if any (a
	// *wire.DecodeError), for errors.Is.
	Err error `json:"-"`
}

// At makes the finding of rule id at a place, its summary from the catalog.
// It panics on an ID the catalog does not have: IDs are constants of the
// code, and the package's tests name every one.
func At(id string, off int64, field string) Finding {
	r := mustRule(id)
	return Finding{Check: r.ID, Summary: r.Summary, Offset: off, Field: field}
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

// Rule is the finding's rule in the catalog; ok is false for a finding of
// no catalogued rule (a connection that cannot be made).
func (f Finding) Rule() (Rule, bool) { return RuleOf(f.Check) }

// Requirement is the requirement the finding's rule breaks, from the
// catalog.
func (f Finding) Requirement() (Requirement, bool) {
	r, ok := RuleOf(f.Check)
	if !ok {
		return Requirement{}, false
	}
	return RequirementOf(r.Requirement)
}

// Level is the level of the requirement the finding breaks; 0 for a
// finding of no catalogued rule.
func (f Finding) Level() Level {
	r, _ := f.Requirement()
	return r.Level
}

// Illegal says the finding is of a value a conforming peer must not send
// (a time out of range, a bad flag, a type other than 'S'), which decodes
// cleanly, rather than of the framing or encodings.
func (f Finding) Illegal() bool { return f.Err != nil && isIllegal(f.Err) }

// Text is the wire error's message without the package's prefix: a user
// reads what is wrong with the peer's bytes, not which package found it.
func Text(err error) string {
	return strings.TrimPrefix(err.Error(), "wire: ")
}

// sentinelRules names the rule of each wire fault, by direction, most
// specific first (ErrOddStringLength wraps ErrCorrupt).
var sentinelRules = [...][]struct {
	err  error
	rule string
}{
	wire.Replies: {
		{wire.ErrNoEndMarker, RuleNoEndMarker},
		{wire.ErrTruncated, RuleCutBlock},
		{wire.ErrTrailingBytes, "reply/bytes-left-over"},
		{wire.ErrPastEnd, "reply/field-past-block"},
		{wire.ErrReservedSize, "reply/reserved-size"},
		{wire.ErrBlockTooLarge, "reply/block-too-large"},
		{wire.ErrInvalidTime, "reply/invalid-time"},
		{wire.ErrAfterEnd, RuleAfterEnd},
		{wire.ErrCorrupt, "reply/corrupt-field"},
	},
	wire.Requests: {
		{wire.ErrPastEnd, "request/field-past-block"},
		{wire.ErrTrailingBytes, "request/bytes-left-over"},
		{wire.ErrUnknownType, "request/type-not-s"},
		{wire.ErrBadFlag, "request/bad-flag"},
		{wire.ErrInvalidTime, "request/invalid-time"},
		{wire.ErrReservedSize, RuleSizeFFFF},
		{wire.ErrTruncated, RuleRequestCut},
		{wire.ErrCorrupt, "request/corrupt-field"},
	},
}

// OfError is the finding of a wire error in direction dir: its rule by the
// sentinel it wraps, its offset and field from the *wire.DecodeError
// (payload offsets for DecodeRequest's errors: add the block's offset
// first). An error of no known sentinel is "reply/bad-block" or
// "request/malformed".
func OfError(dir wire.Direction, err error) Finding {
	var f Finding
	for _, c := range sentinelRules[dir] {
		if errors.Is(err, c.err) {
			f = At(c.rule, NoPlace, "")
			break
		}
	}
	if f.Check == "" {
		if dir == wire.Requests {
			f = At("request/malformed", NoPlace, "")
		} else {
			f = At("reply/bad-block", NoPlace, "")
		}
	}
	var de *wire.DecodeError
	if errors.As(err, &de) {
		f.Offset, f.Field = de.Offset, de.Field
	}
	f.Dir, f.Err, f.Detail = dir, err, Text(err)
	return f
}
