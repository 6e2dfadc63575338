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

// checkSuccess requires the printed answer of a complete reply: exit 0 and
// exactly the trip lines of want, then "END n". reply, if not nil, shows the
// bytes of the trip a wrong line stands for.
func checkSuccess(lines []string, code int, want []wire.Trip, reply *servedReply) error {
	exp := ExpectedOutput(want)
	if len(lines) == 1 && isErrorLine(lines[0]) {
		return fmt.Errorf("the client failed on a complete, valid reply of %d trips (exit %d): %s", len(want), code, lines[0])
	}
	for i := 0; i < max(len(exp), len(lines)); i++ {
		switch {
		case i >= len(lines):
			return fmt.Errorf("the output stops after %d lines; line %d should be %s\n%s", len(lines), i+1, lineName(i, len(want), exp[i]), showLines(lines))
		case i >= len(exp):
			return fmt.Errorf("%d lines printed after \"END %d\": line %d is %q\n%s", len(lines)-len(exp), len(want), i+1, lines[i], showLines(lines))
		case lines[i] != exp[i]:
			msg := fmt.Sprintf("line %d is %s but the client printed\n      %q\n%s", i+1, lineName(i, len(want), exp[i]), lines[i], showLines(lines))
			if i < len(want) && reply != nil && i < len(reply.tripAt) {
				off := reply.tripAt[i]
				msg += fmt.Sprintf("    trip[%d] as sent, at byte %d of the reply (%v):\n%s", i, off, reply.profile, HexWindow(reply.bytes, off))
				if d := fieldDiff(lines[i], exp[i]); d != "" {
					msg += "    " + d + "\n"
				}
			}
			return fmt.Errorf("%s", strings.TrimRight(msg, "\n"))
		}
	}
	if code != 0 {
		return fmt.Errorf("the client printed the whole answer but exited with status %d, want 0", code)
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
// exit and exactly one line "ERROR <reason>", no trip line.
func checkFailure(lines []string, code int, what string) error {
	var trips []string
	errs := 0
	for _, l := range lines {
		if isErrorLine(l) {
			errs++
		} else {
			trips = append(trips, l)
		}
	}
	switch {
	case code == 0 && len(lines) > 0 && strings.HasPrefix(lines[len(lines)-1], "END"):
		return fmt.Errorf("the client took %s for a complete answer: it printed %q and exited 0\n%s", what, lines[len(lines)-1], showLines(lines))
	case len(trips) > 0 && errs > 0:
		return fmt.Errorf("the client printed %d line(s) of a partial answer before failing on %s: a failed search must print no trip\n%s", len(trips), what, showLines(lines))
	case len(trips) > 0:
		return fmt.Errorf("the client printed %d line(s) that are not \"ERROR <reason>\" on %s (exit %d)\n%s", len(trips), what, code, showLines(lines))
	case errs == 0:
		return fmt.Errorf("the client printed no \"ERROR <reason>\" line on %s (exit %d)", what, code)
	case errs > 1:
		return fmt.Errorf("the client printed %d ERROR lines; the contract says one\n%s", errs, showLines(lines))
	case code == 0:
		return fmt.Errorf("the client printed %q but exited 0; a failed search exits non-zero", lines[0])
	}
	return nil
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
