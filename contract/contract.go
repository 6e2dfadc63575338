// Package contract is the output side of the client exec contract
// (conformance.ExecContract, `tripcheck client --help`): what a Trip client
// run by tripcheck prints, and how what it printed is judged.
//
// A client prints one line per trip, in the order received,
//
//	<yyyy-MM-dd> <HH:mm:ss.zzz> <duration> <changes> <trainType>
//
// then "END n" and exits 0; on a failed search it prints "ERROR <reason>"
// last and exits non-zero, and before it either none or all of the trips of
// the blocks it received whole. TripLine, Answer and ErrorLine write those
// lines; Lines splits a client's stdout into them; CheckAnswer and
// CheckFailed judge them. The client suite, `tripcheck fuzz --exec`, the
// reference client (`tripcheck query --format lines`) and the test clients
// all use this package, so that what is printed and what is expected are
// one text.
//
// The line is the contract's, not the protocol's: package wire owns the
// fields and their String forms (a null date or time is @null, one out of
// range @jd(N) or @ms(N); a lone surrogate in a string U+FFFD), and this
// package only puts them on a line.
package contract

import (
	"io"
	"strconv"
	"strings"

	"github.com/tripcheck/tripcheck/wire"
)

// TripLine is the line a client prints for t:
// "<yyyy-MM-dd> <HH:mm:ss.zzz> <duration> <changes> <trainType>". The date
// and time are wire's String forms (@null for a null one, @jd(N) or @ms(N)
// for one out of range), duration and changes decimal, and the train type
// UTF-8 as wire.String.String writes it: possibly empty (null or empty), a
// lone surrogate as U+FFFD, U+0000 as a NUL byte.
func TripLine(t *wire.Trip) string {
	return t.Date.String() + " " + t.Departure.String() + " " +
		strconv.Itoa(int(t.Duration)) + " " + strconv.Itoa(int(t.Changes)) + " " + t.TrainType.String()
}

// EndLine is the last line of a complete answer of n trips: "END n".
func EndLine(n int) string { return "END " + strconv.Itoa(n) }

// ErrorLine is the line of a failed search: "ERROR <reason>", the reason's
// runs of white space (newlines too) made one space, so that it stays one
// line; "ERROR" alone when the reason is empty.
func ErrorLine(reason string) string {
	reason = strings.Join(strings.Fields(reason), " ")
	if reason == "" {
		return "ERROR"
	}
	return "ERROR " + reason
}

// IsErrorLine reports whether a printed line is the failure line: "ERROR"
// or "ERROR <reason>".
func IsErrorLine(l string) bool { return l == "ERROR" || strings.HasPrefix(l, "ERROR ") }

// Answer is what a client prints for a complete answer of trips: a trip
// line each, then "END n".
func Answer(trips []wire.Trip) []string {
	out := make([]string, 0, len(trips)+1)
	for i := range trips {
		out = append(out, TripLine(&trips[i]))
	}
	return append(out, EndLine(len(trips)))
}

// WriteAnswer prints the answer of trips on w, each line ended by "\n", in
// one Write.
func WriteAnswer(w io.Writer, trips []wire.Trip) error {
	var b strings.Builder
	for _, l := range Answer(trips) {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	_, err := w.Write([]byte(b.String()))
	return err
}

// WriteFailed prints a failed search on w in one Write: the lines of kept
// (the trips of the blocks received whole, or none), then
// ErrorLine(reason).
func WriteFailed(w io.Writer, kept []wire.Trip, reason string) error {
	var b strings.Builder
	for i := range kept {
		b.WriteString(TripLine(&kept[i]))
		b.WriteByte('\n')
	}
	b.WriteString(ErrorLine(reason))
	b.WriteByte('\n')
	_, err := w.Write([]byte(b.String()))
	return err
}

// Lines splits a client's stdout into its lines: "\n" ends a line, a "\r"
// before it is dropped, and a last line without "\n" still counts. Nothing
// printed is no line.
func Lines(stdout []byte) []string {
	if len(stdout) == 0 {
		return nil
	}
	s := strings.TrimSuffix(string(stdout), "\n")
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	return lines
}
