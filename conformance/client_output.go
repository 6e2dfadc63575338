package conformance

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"github.com/tripcheck/tripcheck/wire"
)

// TripLine is the line the exec contract prints for a trip:
// "<yyyy-MM-dd> <HH:mm:ss.zzz> <duration> <changes> <trainType>", a null
// date or time written @null, the train type as UTF-8.
func TripLine(t *wire.Trip) string {
	return t.Date.String() + " " + t.Departure.String() + " " +
		strconv.Itoa(int(t.Duration)) + " " + strconv.Itoa(int(t.Changes)) + " " + t.TrainType.String()
}

// ExpectedOutput is what a client under the exec contract prints for a
// complete answer of these trips: one line each, then "END n".
func ExpectedOutput(trips []wire.Trip) []string {
	out := make([]string, 0, len(trips)+1)
	for i := range trips {
		out = append(out, TripLine(&trips[i]))
	}
	return append(out, "END "+strconv.Itoa(len(trips)))
}

// printedLines splits a client's stdout into lines: "\n" ends a line, a
// "\r" before it is dropped, and a last line without "\n" still counts.
func printedLines(b []byte) []string {
	if len(b) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(b), "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}

// isErrorLine reports whether a printed line is the contract's failure line.
func isErrorLine(l string) bool { return l == "ERROR" || strings.HasPrefix(l, "ERROR ") }

// showLines shows printed lines for a report, at most 12 of them.
func showLines(lines []string) string {
	if len(lines) == 0 {
		return "    (nothing printed)\n"
	}
	var b strings.Builder
	for i, l := range lines {
		if i == 12 {
			fmt.Fprintf(&b, "    … %d more lines\n", len(lines)-i)
			break
		}
		if len(l) > 200 {
			l = l[:200] + fmt.Sprintf("… (%d bytes)", len(l))
		}
		fmt.Fprintf(&b, "    %3d: %s\n", i+1, strconv.Quote(l)[1:len(strconv.Quote(l))-1])
	}
	return b.String()
}

// The checks of what a client prints, for the report's causes.
var (
	errorOnValid   = peerFinding("output/error-on-valid", "the client fails on a complete, valid reply")
	missingLines   = peerFinding("output/missing-lines", "the client prints less than the whole answer")
	extraLines     = peerFinding("output/extra-lines", "the client prints lines after END")
	exitNonZero    = peerFinding("output/exit-status", "the client exits non-zero after printing a whole answer")
	cutTakenWhole  = peerFinding("output/cut-taken-whole", "the client takes a cut or broken reply for a complete answer")
	tripNotWhole   = peerFinding("output/trip-not-received-whole", "the client prints a trip it did not receive whole")
	wrongPartial   = peerFinding("output/wrong-partial-trips", "before ERROR the client prints trips other than those of the blocks received whole")
	noErrorLine    = peerFinding("output/no-error-line", "the client prints no ERROR line on a failed search")
	manyErrorLines = peerFinding("output/error-lines", "the client prints more than one ERROR line")
	exitZeroOnFail = peerFinding("output/exit-zero-on-error", "the client exits 0 after a failed search")
)

// wrongLine is the finding of a printed trip line that is not the trip
// sent.
func wrongLine(i int) Finding {
	return Finding{Check: "output/wrong-trip", Summary: "a printed trip differs from the trip sent", Offset: noPlace, Field: fmt.Sprintf("trip[%d]", i)}
}

// checkSuccess requires the printed answer of a complete reply: exit 0 and
// exactly the trip lines of want, then "END n". reply, if not nil, shows the
// bytes of the trip a wrong line stands for.
func checkSuccess(lines []string, code int, want []wire.Trip, reply *servedReply) error {
	exp := ExpectedOutput(want)
	if len(lines) == 1 && isErrorLine(lines[0]) {
		return fault(errorOnValid, "the client failed on a complete, valid reply of %d trips (exit %d): %s", len(want), code, lines[0])
	}
	for i := 0; i < max(len(exp), len(lines)); i++ {
		switch {
		case i >= len(lines):
			return fault(missingLines, "the output stops after %d lines; line %d should be %s\n%s", len(lines), i+1, lineName(i, len(want), exp[i]), showLines(lines))
		case i >= len(exp):
			return fault(extraLines, "%d lines printed after \"END %d\": line %d is %q\n%s", len(lines)-len(exp), len(want), i+1, lines[i], showLines(lines))
		case lines[i] != exp[i]:
			msg := fmt.Sprintf("line %d is %s but the client printed\n      %q\n%s", i+1, lineName(i, len(want), exp[i]), lines[i], showLines(lines))
			if i < len(want) && reply != nil && i < len(reply.tripAt) {
				off := reply.tripAt[i]
				msg += fmt.Sprintf("    trip[%d] as sent, at byte %d of the reply (%v):\n%s", i, off, reply.profile, HexWindow(reply.bytes, off))
				if d := fieldDiff(lines[i], exp[i]); d != "" {
					msg += "    " + d + "\n"
				}
			}
			return fault(wrongLine(i), "%s", strings.TrimRight(msg, "\n"))
		}
	}
	if code != 0 {
		return fault(exitNonZero, "the client printed the whole answer but exited with status %d, want 0", code)
	}
	return nil
}

// lineName says what an expected line is: trip[i]'s line, or the END line.
func lineName(i, n int, line string) string {
	if i < n {
		return fmt.Sprintf("trip[%d]: %q", i, line)
	}
	return strconv.Quote(line)
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
			return fmt.Sprintf("first difference in %s: want %q, got %q", n, wv, gv)
		}
	}
	return ""
}

// checkFailure requires the printed result of a failed search: a non-zero
// exit and one line "ERROR <reason>", last. Before it the client may print
// the trips of the blocks it received whole (whole: the trips sent, in
// order, whose blocks went out entire), as the book's client keeps them;
// if it prints any, they must be exactly those, in order, and never a trip
// of a block cut short.
func checkFailure(lines []string, code int, what string, whole []wire.Trip) error {
	var trips []string
	errs := 0
	for _, l := range lines {
		if isErrorLine(l) {
			errs++
		} else if errs == 0 {
			trips = append(trips, l)
		}
	}
	switch {
	case code == 0 && len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "END"):
		return fault(cutTakenWhole, "the client took %s for a complete answer: it printed %q and exited 0\n%s", what, lines[len(lines)-1], showLines(lines))
	case errs == 0 && len(trips) > 0:
		return fault(noErrorLine, "the client printed %s but no \"ERROR <reason>\" line on %s (exit %d)\n%s", plural(len(trips), "line", "lines"), what, code, showLines(lines))
	case errs == 0:
		return fault(noErrorLine, "the client printed no \"ERROR <reason>\" line on %s (exit %d)", what, code)
	case errs > 1:
		return fault(manyErrorLines, "the client printed %d ERROR lines; the contract says one\n%s", errs, showLines(lines))
	case !isErrorLine(lines[len(lines)-1]):
		return fault(extraLines, "the client printed lines after its ERROR line on %s\n%s", what, showLines(lines))
	}
	if len(trips) > 0 {
		exp := ExpectedOutput(whole)
		exp = exp[:len(exp)-1]
		for i, l := range trips {
			if i >= len(exp) {
				return fault(tripNotWhole, "before ERROR the client printed %s, but only %s of %s went out whole: line %d is not the trip of a whole block\n%s",
					plural(len(trips), "trip line", "trip lines"), plural(len(whole), "trip block", "trip blocks"), what, i+1, showLines(lines))
			}
			if l != exp[i] {
				return fault(wrongPartial, "before ERROR the client printed line %d %q, which is not trip[%d] as sent, %q\n%s", i+1, l, i, exp[i], showLines(lines))
			}
		}
		if len(trips) < len(exp) {
			return fault(wrongPartial, "before ERROR the client printed %s, but %s went out whole: it prints either none or all of them\n%s",
				plural(len(trips), "trip line", "trip lines"), plural(len(whole), "trip block", "trip blocks"), showLines(lines))
		}
	}
	if code == 0 {
		return fault(exitZeroOnFail, "the client printed %q but exited 0; a failed search exits non-zero", lines[len(lines)-1])
	}
	return nil
}

// plural is "1 line" or "2 lines".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}

// hexSnippet shows at most n bytes of b in hex.
func hexSnippet(b []byte, n int) string {
	if len(b) <= n {
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprintf("%x… (%d bytes)", b[:n], len(b))
}

// cleanReason makes a peer's text safe for a one-line log.
func cleanReason(b []byte) string {
	return strconv.Quote(string(bytes.TrimSpace(b)))
}
