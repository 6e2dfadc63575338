package contract_test

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	catalog "github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/contract"
	"github.com/tripcheck/tripcheck/wire"
)

// Each special case of the trip line, as the contract text says it.
func TestTripLine(t *testing.T) {
	day := wire.DateOf(2026, 11, 25)
	nine := wire.TimeOf(9, 0, 0, 0)
	for _, tc := range []struct {
		name string
		trip wire.Trip
		want string
	}{
		{"plain", wire.Trip{Date: day, Departure: nine, Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")}, "2026-11-25 09:00:00.000 44 1 InterCity"},
		{"null date and time", wire.Trip{Date: wire.NullDate(), Departure: wire.NullTime(), Duration: 8, TrainType: wire.Str("ICE")}, "@null @null 8 0 ICE"},
		{"date and time out of range", wire.Trip{Date: wire.DateJD(-784350574880), Departure: wire.TimeMS(86_400_000), TrainType: wire.Str("x")}, "@jd(-784350574880) @ms(86400000) 0 0 x"},
		{"before year 1", wire.Trip{Date: wire.DateOf(-1, 12, 31), Departure: wire.TimeOf(23, 59, 59, 999), TrainType: wire.Str("x")}, "-0001-12-31 23:59:59.999 0 0 x"},
		{"largest numbers", wire.Trip{Date: day, Departure: nine, Duration: 65535, Changes: 255, TrainType: wire.Str("x")}, "2026-11-25 09:00:00.000 65535 255 x"},
		{"null train type", wire.Trip{Date: day, Departure: nine, TrainType: wire.NullString()}, "2026-11-25 09:00:00.000 0 0 "},
		{"empty train type", wire.Trip{Date: day, Departure: nine, TrainType: wire.Str("")}, "2026-11-25 09:00:00.000 0 0 "},
		{"spaces kept", wire.Trip{Date: day, Departure: nine, TrainType: wire.Str(" a  b ")}, "2026-11-25 09:00:00.000 0 0  a  b "},
		{"lone surrogate", wire.Trip{Date: day, Departure: nine, TrainType: wire.StrUnits([]uint16{'I', 'C', 0xD800, 'E'})}, "2026-11-25 09:00:00.000 0 0 IC\uFFFDE"},
		{"lone low surrogate last", wire.Trip{Date: day, Departure: nine, TrainType: wire.StrUnits([]uint16{'x', 0xDC00})}, "2026-11-25 09:00:00.000 0 0 x\uFFFD"},
		{"U+0000", wire.Trip{Date: day, Departure: nine, TrainType: wire.StrUnits([]uint16{'I', 'C', 0, 'E'})}, "2026-11-25 09:00:00.000 0 0 IC\x00E"},
		{"non-BMP", wire.Trip{Date: day, Departure: nine, TrainType: wire.Str("ICE 🚆")}, "2026-11-25 09:00:00.000 0 0 ICE \xf0\x9f\x9a\x86"},
		{"non-BMP from units", wire.Trip{Date: day, Departure: nine, TrainType: wire.StrUnits([]uint16{0xD83D, 0xDE86})}, "2026-11-25 09:00:00.000 0 0 🚆"},
		{"umlaut", wire.Trip{Date: day, Departure: nine, TrainType: wire.Str("Zürich")}, "2026-11-25 09:00:00.000 0 0 Z\xc3\xbcrich"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := contract.TripLine(&tc.trip); got != tc.want {
				t.Errorf("TripLine = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestLines(t *testing.T) {
	for in, want := range map[string][]string{
		"":                  nil,
		"END 0\n":           {"END 0"},
		"END 0":             {"END 0"},
		"a\r\nEND 1\r\n":    {"a", "END 1"},
		"a\n\nEND 1\n":      {"a", "", "END 1"},
		"ERROR x y\n":       {"ERROR x y"},
		"\xff\xfe\nEND 1\n": {"\xff\xfe", "END 1"},
		"a\rb\n":            {"a\rb"},
		"\n":                {""},
	} {
		if got := contract.Lines([]byte(in)); !reflect.DeepEqual(got, want) {
			t.Errorf("Lines(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestErrorLine(t *testing.T) {
	for reason, want := range map[string]string{
		"connection closed by server": "ERROR connection closed by server",
		"":                            "ERROR",
		"  \n":                        "ERROR",
		"read: eof\nand more\t here ": "ERROR read: eof and more here",
	} {
		got := contract.ErrorLine(reason)
		if got != want {
			t.Errorf("ErrorLine(%q) = %q, want %q", reason, got, want)
		}
		if !contract.IsErrorLine(got) {
			t.Errorf("IsErrorLine(%q) = false", got)
		}
	}
	for _, l := range []string{"ERRORS", "error x", " ERROR x", "ERROR\tx", "END 0", ""} {
		if contract.IsErrorLine(l) {
			t.Errorf("IsErrorLine(%q) = true", l)
		}
	}
}

// What the writers print is what the checks take: an answer passes
// CheckAnswer, a failure with the whole trips passes CheckFailed, and both
// are one Write.
func TestWritersKeepTheContract(t *testing.T) {
	trips := testTrips()
	var w countingWriter
	if err := contract.WriteAnswer(&w, trips); err != nil {
		t.Fatal(err)
	}
	if w.writes != 1 {
		t.Errorf("WriteAnswer: %d writes, want 1", w.writes)
	}
	if v := contract.CheckAnswer(contract.Lines(w.Bytes()), 0, trips); v != nil {
		t.Errorf("WriteAnswer's output fails CheckAnswer: %v\n%s", v, w.String())
	}
	for _, kept := range [][]wire.Trip{nil, trips} {
		w = countingWriter{}
		if err := contract.WriteFailed(&w, kept, "connection\nclosed"); err != nil {
			t.Fatal(err)
		}
		if w.writes != 1 || !strings.HasSuffix(w.String(), "\nERROR connection closed\n") && len(kept) > 0 {
			t.Errorf("WriteFailed: %d writes: %q", w.writes, w.String())
		}
		if v := contract.CheckFailed(contract.Lines(w.Bytes()), 1, "the reply", trips); v != nil {
			t.Errorf("WriteFailed(%d trips) fails CheckFailed: %v", len(kept), v)
		}
	}
}

type countingWriter struct {
	bytes.Buffer
	writes int
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes++
	return w.Buffer.Write(p)
}

func testTrips() []wire.Trip {
	return []wire.Trip{
		{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")},
		{Date: wire.NullDate(), Departure: wire.NullTime(), Duration: 8, Changes: 0, TrainType: wire.NullString()},
	}
}

// Broken outputs of a complete answer, each failing its rule.
func TestCheckAnswer(t *testing.T) {
	trips := testTrips()
	good := []string{"2026-11-25 09:00:00.000 44 1 InterCity", "@null @null 8 0 ", "END 2"}
	if got := contract.Answer(trips); !reflect.DeepEqual(got, good) {
		t.Fatalf("Answer = %q", got)
	}
	for _, tc := range []struct {
		name  string
		lines []string
		code  int
		rule  contract.Rule // "" for none
		line  int
		says  string
	}{
		{"exact", good, 0, "", 0, ""},
		{"no trips", []string{"END 0"}, 0, contract.WrongTrip, 0, `line 1 is trip[0]`},
		{"exit 1", good, 1, contract.ExitStatus, -1, "exited with status 1"},
		{"error", []string{"ERROR connection closed by server"}, 1, contract.ErrorOnValid, 0, "failed on a complete, valid reply of 2 trips"},
		{"short", good[:2], 0, contract.MissingLines, -1, `should be "END 2"`},
		{"nothing", nil, 0, contract.MissingLines, -1, "(nothing printed)"},
		{"more", append(append([]string(nil), good...), "x"), 0, contract.ExtraLines, 3, `after "END 2"`},
		{"wrong duration", []string{good[0], "@null @null 9 0 ", "END 2"}, 0, contract.WrongTrip, 1, "first difference in duration"},
		{"wrong date", []string{"2026-11-26 09:00:00.000 44 1 InterCity", good[1], "END 2"}, 0, contract.WrongTrip, 0, `first difference in date: want "2026-11-25", got "2026-11-26"`},
		{"wrong count", []string{good[0], good[1], "END 3"}, 0, contract.WrongTrip, 2, `line 3 is "END 2"`},
		{"a trip missing", []string{good[0], "END 1"}, 0, contract.WrongTrip, 1, "first difference in date"},
		{"crlf kept", []string{good[0] + "\r", good[1], "END 2"}, 0, contract.WrongTrip, 0, "first difference in trainType"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := contract.CheckAnswer(tc.lines, tc.code, trips)
			check(t, v, tc.rule, tc.line, tc.says)
		})
	}
}

// Broken outputs of a failed search (the one none-or-all rule), each
// failing its rule. trip[0] and trip[1] are whole when whole is 2.
func TestCheckFailed(t *testing.T) {
	trips := testTrips()
	l0, l1 := contract.TripLine(&trips[0]), contract.TripLine(&trips[1])
	for _, tc := range []struct {
		name  string
		lines []string
		code  int
		whole int           // trip blocks received whole
		rule  contract.Rule // "" for none
		line  int
	}{
		{"error", []string{"ERROR connection closed by server"}, 1, 1, "", 0},
		{"bare error", []string{"ERROR"}, 3, 0, "", 0},
		{"whole trips then error", []string{l0, "ERROR closed"}, 1, 1, "", 0},
		{"all whole trips then error", []string{l0, l1, "ERROR closed"}, 1, 2, "", 0},
		{"none of the whole trips", []string{"ERROR closed"}, 1, 2, "", 0},
		{"a trip of a cut block", []string{l0, l1, "ERROR closed"}, 1, 1, contract.TripNotWhole, 1},
		{"a trip when none was whole", []string{l0, "ERROR closed"}, 1, 0, contract.TripNotWhole, 0},
		{"some of the whole trips", []string{l0, "ERROR closed"}, 1, 2, contract.WrongPartial, -1},
		{"a wrong trip", []string{l1, "ERROR closed"}, 1, 1, contract.WrongPartial, 0},
		{"out of order", []string{l1, l0, "ERROR closed"}, 1, 2, contract.WrongPartial, 0},
		{"a trip twice", []string{l0, l0, "ERROR closed"}, 1, 2, contract.WrongPartial, 1},
		{"success", []string{l0, l1, "END 2"}, 0, 2, contract.CutTakenWhole, 2},
		{"success of the whole trips", []string{l0, "END 1"}, 0, 1, contract.CutTakenWhole, 1},
		{"END, exit 1", []string{l0, "END 1"}, 1, 1, contract.NoErrorLine, -1},
		{"nothing", nil, 1, 2, contract.NoErrorLine, -1},
		{"nothing, exit 0", nil, 0, 2, contract.NoErrorLine, -1},
		{"two errors", []string{"ERROR a", "ERROR b"}, 1, 2, contract.ErrorLines, -1},
		{"exit 0", []string{"ERROR a"}, 0, 2, contract.ExitZeroOnError, 0},
		{"junk", []string{"oops"}, 1, 2, contract.NoErrorLine, -1},
		{"lower case error", []string{"error: closed"}, 1, 2, contract.NoErrorLine, -1},
		{"after error", []string{"ERROR a", l0}, 1, 2, contract.ExtraLines, 1},
		{"END after error", []string{"ERROR a", "END 0"}, 1, 2, contract.ExtraLines, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := contract.CheckFailed(tc.lines, tc.code, "the reply", trips[:tc.whole])
			check(t, v, tc.rule, tc.line, "")
		})
	}
}

func check(t *testing.T, v *contract.Violation, rule contract.Rule, line int, says string) {
	t.Helper()
	switch {
	case rule == "" && v != nil:
		t.Fatalf("unexpected violation %s: %v", v.Rule, v)
	case rule == "":
		return
	case v == nil:
		t.Fatalf("no violation, want %s", rule)
	case v.Rule != rule || v.Line != line:
		t.Fatalf("violation %s at line %d, want %s at %d: %v", v.Rule, v.Line, rule, line, v)
	case (v.Rule == contract.WrongTrip) != (v.Trip >= 0):
		t.Fatalf("violation %s names trip %d", v.Rule, v.Trip)
	case !strings.Contains(v.Msg, says):
		t.Errorf("message %q does not say %q", v.Msg, says)
	case !catalogued(rule):
		t.Errorf("rule %s is not in check's catalog", rule)
	}
	var err error = v
	var got *contract.Violation
	if !errors.As(err, &got) || got.Error() != v.Msg {
		t.Errorf("the violation is not an error with its message")
	}
}

// Show bounds what it shows of an output, whatever its size.
func TestShow(t *testing.T) {
	if got := contract.Show(nil); got != "    (nothing printed)\n" {
		t.Errorf("Show(nil) = %q", got)
	}
	lines := make([]string, 1000)
	for i := range lines {
		lines[i] = strings.Repeat("\x00é", 10_000)
	}
	got := contract.Show(lines)
	if len(got) > 12*1000 || !strings.Contains(got, "… 988 more lines") || !strings.Contains(got, "… (30000 bytes)") || !strings.Contains(got, `\x00é`) {
		t.Errorf("Show of 1000 long lines: %d bytes: %.300q", len(got), got)
	}
}

// A train type holding "\n" prints as two lines, and one ending in "\r"
// loses it before the "\n", as Lines reads any output: the checks expect
// the trips split the same way, and count trips, not lines.
func TestMultiLineTrainType(t *testing.T) {
	trips := []wire.Trip{
		{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), TrainType: wire.Str("IC\nE")},
		{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), TrainType: wire.Str("x\r")},
		{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), TrainType: wire.Str("\n")},
	}
	var b bytes.Buffer
	contract.WriteAnswer(&b, trips)
	lines := contract.Lines(b.Bytes())
	if len(lines) != 6 {
		t.Fatalf("%d lines: %q", len(lines), lines)
	}
	if v := contract.CheckAnswer(lines, 0, trips); v != nil {
		t.Fatalf("the answer as written: %v", v)
	}
	escaped := append([]string{"2026-11-25 09:00:00.000 0 0 IC\\nE"}, lines[2:]...)
	if v := contract.CheckAnswer(escaped, 0, trips); v == nil || v.Rule != contract.WrongTrip || v.Line != 0 || v.Trip != 0 {
		t.Errorf("a trip printed escaped: %+v", v)
	}
	wrongEnd := append(append([]string(nil), lines[:5]...), "END 6")
	if v := contract.CheckAnswer(wrongEnd, 0, trips); v == nil || v.Rule != contract.WrongTrip || v.Line != 5 || v.Trip != 3 {
		t.Errorf("END counting lines: %+v", v)
	}
	b.Reset()
	contract.WriteFailed(&b, trips[:2], "cut")
	if v := contract.CheckFailed(contract.Lines(b.Bytes()), 1, "the reply", trips[:2]); v != nil {
		t.Errorf("the whole trips, then ERROR: %v", v)
	}
	half := []string{lines[0], "ERROR cut"} // the first line of trip[0] only
	if v := contract.CheckFailed(half, 1, "the reply", trips[:2]); v == nil || v.Rule != contract.WrongPartial {
		t.Errorf("half a trip, then ERROR: %+v", v)
	}
}

// A violation's message stays bounded however long the lines are (a train
// type of 32 K characters printed wrong, or cut).
func TestViolationBounded(t *testing.T) {
	trips := []wire.Trip{{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), TrainType: wire.Str(strings.Repeat("x", 32_000))}}
	long := contract.TripLine(&trips[0])
	for name, v := range map[string]*contract.Violation{
		"wrong trip":  contract.CheckAnswer([]string{long[:len(long)-1], "END 1"}, 0, trips),
		"extra":       contract.CheckAnswer([]string{long, "END 1", long}, 0, trips),
		"missing":     contract.CheckAnswer(nil, 0, trips),
		"cut taken":   contract.CheckFailed([]string{long, "END 1" + long}, 0, "the reply", trips),
		"partial":     contract.CheckFailed([]string{long + "y", "ERROR x"}, 1, "the reply", trips),
		"error first": contract.CheckAnswer([]string{"ERROR " + long}, 1, trips),
	} {
		if v == nil {
			t.Errorf("%s: no violation", name)
		} else if len(v.Msg) > 4096 {
			t.Errorf("%s: %d bytes: %.300q", name, len(v.Msg), v.Msg)
		}
	}
}

// TestRulesCatalogued: every rule of the contract is a rule of package
// check's catalog, where its summary is written.
func TestRulesCatalogued(t *testing.T) {
	for _, r := range []contract.Rule{
		contract.ErrorOnValid, contract.MissingLines, contract.ExtraLines, contract.WrongTrip, contract.ExitStatus,
		contract.CutTakenWhole, contract.NoErrorLine, contract.ErrorLines, contract.TripNotWhole, contract.WrongPartial, contract.ExitZeroOnError,
	} {
		if r.Check() != "output/"+string(r) || !catalogued(r) {
			t.Errorf("rule %s: check %q not in the catalog", r, r.Check())
		}
	}
	if catalogued("no-such-rule") {
		t.Error("an unknown rule is catalogued")
	}
}

// catalogued reports whether r's check is a rule of check's catalog with
// a summary.
func catalogued(r contract.Rule) bool {
	c, ok := catalog.RuleOf(r.Check())
	return ok && c.Summary != ""
}
