package conformance

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/contract"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

func TestParseTemplate(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     []string
	}{
		{"words", "client --host {host}  --port {port}", []string{"client", "--host", "{host}", "--port", "{port}"}},
		{"single quotes", `c 'a b' 'x"y' '' z`, []string{"c", "a b", `x"y`, "", "z"}},
		{"double quotes", `c "a b" "x'y" "q\"r" "s\\t" "u\v"`, []string{"c", "a b", "x'y", `q"r`, `s\t`, `u\v`}},
		{"backslash", `c a\ b \'x\' \\`, []string{"c", "a b", "'x'", `\`}},
		{"joined", `c --from='{from}'"!" pre{to}post`, []string{"c", "--from={from}!", "pre{to}post"}},
		{"tabs and newlines", "c\t{addr}\n{flag}", []string{"c", "{addr}", "{flag}"}},
		{"path with spaces", `'/opt/my client/bin' {profile}`, []string{"/opt/my client/bin", "{profile}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseTemplate(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got.Args, tc.want) {
				t.Errorf("ParseTemplate(%q) = %q, want %q", tc.in, got.Args, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "   ", "c 'open", `c "open`, `c \`, "c {hots}", "c {host", "c {}"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("ParseTemplate(%q): no error", bad)
		}
	}
}

// Arguments quoted for a shell by quoteArgv split back into the same
// arguments, whatever they hold.
func TestParseTemplateRoundTrip(t *testing.T) {
	alphabet := []rune("ab {}$`\"'\\\t\n-=@ü🚆")
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		args := make([]string, 1+r.IntN(4))
		for i := range args {
			var b strings.Builder
			for range r.IntN(6) {
				c := alphabet[r.IntN(len(alphabet))]
				if c == '{' || c == '}' {
					continue // braces name placeholders
				}
				b.WriteRune(c)
			}
			args[i] = b.String()
		}
		args[0] = "c" + args[0]
		line := quoteArgv(args)
		got, err := ParseTemplate(line)
		if err != nil {
			t.Fatalf("ParseTemplate(%q): %v", line, err)
		}
		if !reflect.DeepEqual(got.Args, args) {
			t.Fatalf("ParseTemplate(%q) = %q, want %q", line, got.Args, args)
		}
	}
}

func FuzzParseTemplate(f *testing.F) {
	for _, s := range []string{"c {host} '{from}' \"{to}\" \\{date}", "'", `"\`, "{"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tmpl, err := ParseTemplate(s)
		if err != nil {
			return
		}
		if len(tmpl.Args) == 0 {
			t.Fatal("no arguments and no error")
		}
		vars := map[string]string{}
		for _, p := range placeholders {
			vars[p] = "V"
		}
		argv, err := tmpl.Fill(vars)
		if err != nil || len(argv) != len(tmpl.Args) {
			t.Fatalf("Fill: %v", err)
		}
		for _, a := range argv {
			if strings.ContainsAny(a, "{") {
				t.Fatalf("argument %q keeps a placeholder", a)
			}
		}
	})
}

func TestSearchVars(t *testing.T) {
	tmpl, err := ParseTemplate("c {host} {port} {addr} {from} {to} {date} {time} {flag} {profile} x{from}y")
	if err != nil {
		t.Fatal(err)
	}
	r := wire.Request{Type: 'S', From: wire.NullString(), To: wire.Str(""), Date: wire.DateOf(-1, 12, 31), Time: wire.NullTime(), Flag: 'A'}
	got, err := tmpl.Fill(searchVars("127.0.0.1:6178", &r, wire.Qt5))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c", "127.0.0.1", "6178", "127.0.0.1:6178", "@null", "", "-0001-12-31", "@null", "A", "qt5", "x@nully"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fill = %q, want %q", got, want)
	}
	r = DefaultRequest()
	r.From = wire.Str(`Zürich "Hbf" 'x' 🚆`)
	got, _ = tmpl.Fill(searchVars("[::1]:1", &r, 0))
	if got[1] != "::1" || got[4] != `Zürich "Hbf" 'x' 🚆` || got[7] != "09:00:00.000" || got[8] != "D" || got[9] != "" {
		t.Errorf("Fill = %q", got)
	}
}

// The suite's output checks are contract.CheckAnswer and CheckFailed
// (tested with broken outputs in package contract); what the suite adds is
// the finding of each broken rule and, on a wrong trip line, the bytes of
// the trip as sent.
func TestCheckOutput(t *testing.T) {
	trips := []wire.Trip{
		{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")},
		{Date: wire.NullDate(), Departure: wire.NullTime(), Duration: 8, Changes: 0, TrainType: wire.NullString()},
	}
	l, err := (&fakes.Reply{Profile: wire.Qt4, Trips: trips}).Layout()
	if err != nil {
		t.Fatal(err)
	}
	served := &servedReply{profile: wire.Qt4, trips: trips, bytes: l.Bytes, tripAt: tripOffsets(l), complete: true}
	good := contract.Answer(trips)
	for _, tc := range []struct {
		name  string
		lines []string
		code  int
		check string // "" for no error
		field string
		says  string
	}{
		{"exact", good, 0, "", "", ""},
		{"exit 1", good, 1, "output/exit-status", "", "exited with status 1"},
		{"error", []string{"ERROR connection closed by server"}, 1, "output/error-on-valid", "", "failed on a complete, valid reply of 2 trips"},
		{"short", good[:2], 0, "output/missing-lines", "", `should be "END 2"`},
		{"more", append(append([]string(nil), good...), "x"), 0, "output/extra-lines", "", `after "END 2"`},
		{"wrong duration", []string{good[0], "@null @null 9 0 ", "END 2"}, 0, "output/wrong-trip", "trip[1]", "trip[1] as sent, at byte 35 of the reply (qt4)"},
		{"wrong date", []string{"2026-11-26 09:00:00.000 44 1 InterCity", good[1], "END 2"}, 0, "output/wrong-trip", "trip[0]", "trip[0] as sent, at byte 0"},
		{"wrong END", []string{good[0], good[1], "END 3"}, 0, "output/wrong-trip", "trip[2]", `line 3 is "END 2"`},
	} {
		t.Run("success/"+tc.name, func(t *testing.T) {
			err := checkSuccess(tc.lines, tc.code, trips, served)
			checkFinding(t, err, tc.check, tc.field, tc.says)
		})
	}
	for _, tc := range []struct {
		name  string
		lines []string
		code  int
		whole int
		check string // "" for no error
	}{
		{"all whole trips then error", []string{good[0], good[1], "ERROR closed"}, 1, 2, ""},
		{"a trip of a cut block", []string{good[0], good[1], "ERROR closed"}, 1, 1, "output/trip-not-received-whole"},
		{"some of the whole trips", []string{good[0], "ERROR closed"}, 1, 2, "output/wrong-partial-trips"},
		{"success", good, 0, 2, "output/cut-taken-whole"},
		{"nothing", nil, 1, 2, "output/no-error-line"},
		{"two errors", []string{"ERROR a", "ERROR b"}, 1, 2, "output/error-lines"},
		{"exit 0", []string{"ERROR a"}, 0, 2, "output/exit-zero-on-error"},
		{"after error", []string{"ERROR a", good[0]}, 1, 2, "output/extra-lines"},
	} {
		t.Run("failure/"+tc.name, func(t *testing.T) {
			err := checkFailure(tc.lines, tc.code, "the reply", trips[:tc.whole])
			checkFinding(t, err, tc.check, "", "")
		})
	}
}

// checkFinding requires err to carry a finding of check (none when check
// is ""), with the field and a message saying says.
func checkFinding(t *testing.T, err error, check, field, says string) {
	t.Helper()
	f, _ := findingOf(err)
	switch {
	case check == "" && err != nil:
		t.Errorf("unexpected error: %v", err)
	case check == "":
	case f.Check != check || f.Field != field || f.Summary == "":
		t.Errorf("error %v (finding %+v), want finding %q at %q", err, f, check, field)
	case !strings.Contains(err.Error(), says):
		t.Errorf("error %v, want one saying %q", err, says)
	}
}

// The fragmented variant cuts any reply in at least two pieces where it
// can, and in at most about 128 however long it is.
func TestFragmented(t *testing.T) {
	for _, n := range []int{2, 3, 35, 247, 17502, 64013} {
		for seed := int64(0); seed < 20; seed++ {
			p, err := fragmented(seed, n).Pieces(n)
			if err != nil {
				t.Fatal(err)
			}
			if len(p) < 2 || len(p) > 260 {
				t.Errorf("n %d seed %d: %d pieces", n, seed, len(p))
			}
		}
	}
}
