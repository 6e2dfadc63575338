package contract

import (
	"github.com/tripcheck/tripcheck/internal/plural"

	"fmt"
	"strconv"
	"strings"

	"github.com/tripcheck/tripcheck/wire"
)

// Rule is a part of the contract that a client's output can break. Its
// string is a stable ID: the client suite reports it as "output/<rule>".
type Rule string

// The rules of what a client prints.
const (
	// On a complete answer.
	ErrorOnValid Rule = "error-on-valid" // one ERROR line instead of the answer
	MissingLines Rule = "missing-lines"  // the output stops before END n
	ExtraLines   Rule = "extra-lines"    // lines after END n, or after ERROR
	WrongTrip    Rule = "wrong-trip"     // a line is not the trip sent (or not END n)
	ExitStatus   Rule = "exit-status"    // the whole answer, then a non-zero exit

	// On a failed search.
	CutTakenWhole   Rule = "cut-taken-whole"         // END and exit 0
	NoErrorLine     Rule = "no-error-line"           // no ERROR line
	ErrorLines      Rule = "error-lines"             // more than one ERROR line
	TripNotWhole    Rule = "trip-not-received-whole" // a trip of a block not received whole
	WrongPartial    Rule = "wrong-partial-trips"     // trips other than those of the whole blocks, or only some of them
	ExitZeroOnError Rule = "exit-zero-on-error"      // ERROR, then exit 0
)

// Check is the rule's ID as the client suite reports it: "output/<rule>",
// a rule of package check's catalog, where its summary is written.
func (r Rule) Check() string { return "output/" + string(r) }

// A Violation is the first thing in a client's output that breaks the
// contract.
type Violation struct {
	Rule Rule
	// Line is the index in the output's lines of the line at fault, or -1.
	Line int
	// Trip is, for WrongTrip, the index of the trip whose line is wrong
	// (the number of trips when it is the END line); -1 otherwise.
	Trip int
	// Msg says what the client did, with its output (at most Show's lines).
	Msg string
}

func (v *Violation) Error() string { return v.Msg }

func violation(r Rule, line int, format string, args ...any) *Violation {
	return &Violation{Rule: r, Line: line, Trip: -1, Msg: strings.TrimRight(fmt.Sprintf(format, args...), "\n")}
}

// printed is what a client prints for trips (and, with end, "END n"),
// split into lines as Lines splits its output: a train type holding "\n"
// spans lines, and a "\r" before a "\n" is dropped. tripOf[i] is the trip
// line i belongs to (len(trips) for the END line).
func printed(trips []wire.Trip, end bool) (lines []string, tripOf []int) {
	for i := range trips {
		for _, l := range Lines([]byte(TripLine(&trips[i]) + "\n")) {
			lines, tripOf = append(lines, l), append(tripOf, i)
		}
	}
	if end {
		lines, tripOf = append(lines, EndLine(len(trips))), append(tripOf, len(trips))
	}
	return lines, tripOf
}

// CheckAnswer judges what a client printed (its lines and exit status) for
// a complete reply of trips: exactly Answer(trips) and exit 0. It returns
// nil when the output keeps the contract.
func CheckAnswer(lines []string, code int, trips []wire.Trip) *Violation {
	exp, tripOf := printed(trips, true)
	if len(lines) == 1 && IsErrorLine(lines[0]) {
		return violation(ErrorOnValid, 0, "the client failed on a complete, valid reply of %d trips (exit %d): %s", len(trips), code, clip(lines[0]))
	}
	for i := 0; i < max(len(exp), len(lines)); i++ {
		switch {
		case i >= len(lines):
			return violation(MissingLines, -1, "the output stops after %d lines; line %d should be %s\n%s", len(lines), i+1, lineName(tripOf[i], len(trips), exp[i]), Show(lines))
		case i >= len(exp):
			return violation(ExtraLines, i, "%d lines printed after \"END %d\": line %d is %s\n%s", len(lines)-len(exp), len(trips), i+1, quote(lines[i]), Show(lines))
		case lines[i] != exp[i]:
			msg := fmt.Sprintf("line %d is %s but the client printed\n      %s\n", i+1, lineName(tripOf[i], len(trips), exp[i]), quote(lines[i]))
			if tripOf[i] < len(trips) {
				if d := fieldDiff(lines[i], exp[i]); d != "" {
					msg += "    " + d + "\n"
				}
			}
			v := violation(WrongTrip, i, "%s%s", msg, Show(lines))
			v.Trip = tripOf[i]
			return v
		}
	}
	if code != 0 {
		return violation(ExitStatus, -1, "the client printed the whole answer but exited with status %d, want 0", code)
	}
	return nil
}

// lineName says what an expected line is: trip[i]'s line, or the END line.
func lineName(i, n int, line string) string {
	if i < n {
		return fmt.Sprintf("trip[%d]: %s", i, quote(line))
	}
	return quote(line)
}

// fieldDiff names the first field of a trip line that differs.
func fieldDiff(got, want string) string {
	names := []string{"date", "departure", "duration", "changes", "trainType"}
	g, w := strings.SplitN(got, " ", 5), strings.SplitN(want, " ", 5)
	for i, n := range names {
		var gv, wv string
		if i < len(g) {
			gv = g[i]
		}
		if i < len(w) {
			wv = w[i]
		}
		if gv != wv {
			return fmt.Sprintf("first difference in %s: want %s, got %s", n, quote(wv), quote(gv))
		}
	}
	return ""
}

// CheckFailed judges what a client printed (its lines and exit status) for
// a failed search, what saying what failed ("the reply (cut at byte 40)"):
// a non-zero exit and one line "ERROR <reason>", last. Before it the client
// may print the trips of the blocks it received whole, whole (the trips
// sent, in order, whose blocks came entire), as the book's client keeps
// them: either none or all of them, in order, and never a trip of a block
// cut short. It returns nil when the output keeps the contract.
func CheckFailed(lines []string, code int, what string, whole []wire.Trip) *Violation {
	var trips []string
	errs := 0
	for _, l := range lines {
		if IsErrorLine(l) {
			errs++
		} else if errs == 0 {
			trips = append(trips, l)
		}
	}
	switch {
	case code == 0 && len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "END"):
		return violation(CutTakenWhole, len(lines)-1, "the client took %s for a complete answer: it printed %s and exited 0\n%s", what, quote(lines[len(lines)-1]), Show(lines))
	case errs == 0 && len(trips) > 0:
		return violation(NoErrorLine, -1, "the client printed %s but no \"ERROR <reason>\" line on %s (exit %d)\n%s", plural.Count(len(trips), "line", "lines"), what, code, Show(lines))
	case errs == 0:
		return violation(NoErrorLine, -1, "the client printed no \"ERROR <reason>\" line on %s (exit %d)", what, code)
	case errs > 1:
		return violation(ErrorLines, -1, "the client printed %d ERROR lines; the contract says one\n%s", errs, Show(lines))
	case !IsErrorLine(lines[len(lines)-1]):
		return violation(ExtraLines, len(lines)-1, "the client printed lines after its ERROR line on %s\n%s", what, Show(lines))
	}
	// The trips before ERROR: either none or all of those of the blocks
	// received whole, in order.
	exp, tripOf := printed(whole, false)
	for i, l := range trips {
		if i >= len(exp) {
			return violation(TripNotWhole, i, "before ERROR the client printed %s, but only %s of %s went out whole: line %d is not the trip of a whole block\n%s",
				plural.Count(len(trips), "trip line", "trip lines"), plural.Count(len(whole), "trip block", "trip blocks"), what, i+1, Show(lines))
		}
		if l != exp[i] {
			return violation(WrongPartial, i, "before ERROR the client printed line %d %s, which is not trip[%d] as sent, %s\n%s", i+1, quote(l), tripOf[i], quote(exp[i]), Show(lines))
		}
	}
	if len(trips) > 0 && len(trips) < len(exp) {
		return violation(WrongPartial, -1, "before ERROR the client printed %s, but %s went out whole: it prints either none or all of them\n%s",
			plural.Count(len(trips), "trip line", "trip lines"), plural.Count(len(whole), "trip block", "trip blocks"), Show(lines))
	}
	if code == 0 {
		return violation(ExitZeroOnError, len(lines)-1, "the client printed %s but exited 0; a failed search exits non-zero", quote(lines[len(lines)-1]))
	}
	return nil
}

// maxShown bounds each printed or expected line a message shows.
const maxShown = 200

// clip is s, cut to maxShown bytes with a count of its length.
func clip(s string) string {
	if len(s) <= maxShown {
		return s
	}
	return s[:maxShown] + fmt.Sprintf("… (%d bytes)", len(s))
}

// quote is s quoted as a Go string, cut to maxShown bytes first.
func quote(s string) string {
	if len(s) <= maxShown {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:maxShown]) + fmt.Sprintf("… (%d bytes)", len(s))
}

// Show shows printed lines for a report, numbered, quoted as Go strings
// without the quotes, one per line with a four-space indent: at most
// 12 lines of at most 200 bytes each, with a count of what was left out.
func Show(lines []string) string {
	if len(lines) == 0 {
		return "    (nothing printed)\n"
	}
	var b strings.Builder
	for i, l := range lines {
		if i == 12 {
			fmt.Fprintf(&b, "    … %d more lines\n", len(lines)-i)
			break
		}
		q := strconv.Quote(l[:min(len(l), maxShown)])
		fmt.Fprintf(&b, "    %3d: %s", i+1, q[1:len(q)-1])
		if len(l) > maxShown {
			fmt.Fprintf(&b, "… (%d bytes)", len(l))
		}
		b.WriteByte('\n')
	}
	return b.String()
}
