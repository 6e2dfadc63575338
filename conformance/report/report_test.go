package report

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
)

// sample is a report with one of each kind of result: passes, a required
// MUST failure with a multi-line log, a SHOULD failure that is not
// required, an expected failure, an unexpected pass, a skip, and a failure
// whose message and log carry bytes a peer could send (ESC, NUL, invalid
// UTF-8, CR, BEL). Its Summary is left zero: the writers must tally.
func sample() *conformance.Report {
	return &conformance.Report{
		Suite:       "server",
		Target:      "127.0.0.1:6178",
		Profile:     "qt5",
		ProfileNote: "detected",
		Seed:        42,
		Started:     time.Date(2025, 3, 1, 9, 30, 0, 0, time.UTC),
		Duration:    1314 * time.Millisecond,
		Results: []conformance.Result{
			{
				ID: "framing/split-size", Area: "framing", Level: conformance.Must,
				Requirement: "A server MUST read the size field before the payload (PROTOCOL.md §2.1)",
				Status:      conformance.Pass, Required: true, Duration: 12 * time.Millisecond,
			},
			{
				ID: "framing/end-marker", Area: "framing", Level: conformance.Must,
				Requirement: "A server MUST end its reply with the 0xFFFF marker (PROTOCOL.md §3.2)",
				Status:      conformance.Fail, Required: true,
				Message:  "no reply in 2s",
				Log:      "> send request (27 bytes)\n\n< 0 bytes\n",
				Duration: 2500 * time.Millisecond,
			},
			{
				ID: "valid/ascii/whole", Area: "valid", Level: conformance.Must,
				Requirement: "A server MUST answer a valid request",
				Status:      conformance.Pass, Required: true, Duration: 20 * time.Millisecond,
			},
			{
				ID: "framing/padding", Area: "framing", Level: conformance.Should,
				Requirement: "A server SHOULD NOT pad its blocks",
				Status:      conformance.Fail,
				Message:     "3 bytes of padding after trip[0]",
				Log:         "< 00 00 00",
				Duration:    30 * time.Millisecond,
			},
			{
				ID: "valid/ascii/fragmented", Area: "valid", Level: conformance.Must,
				Requirement: "A server MUST accept a request split anywhere",
				Status:      conformance.Fail, ExpectedFailure: true,
				Message: "trip[2].trainType[3]: expected 0x0041, got 0x0000",
				Log:     "offset 74",
			},
			{
				ID: "valid/ascii/coalesced", Area: "valid", Level: conformance.Must,
				Requirement: "A server MUST accept two requests in one segment",
				Status:      conformance.Pass, ExpectedFailure: true,
			},
			{
				ID: "framing/huge", Area: "framing", Level: conformance.Must,
				Status: conformance.Skip, Required: true,
				Message: "needs --golden book",
			},
			{
				ID: "weird/bytes", Level: conformance.Must, // Area left empty: taken from the ID
				Requirement: "A server MUST send UTF-16 strings",
				Status:      conformance.Fail, Required: true,
				Message: "got \x1b[31mred\x00\xff",
				Log:     "line\r\nbell\a\n",
			},
		},
	}
}

// summaryLine is the public last line of Text.
var summaryLine = regexp.MustCompile(`^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped in [0-9.]+m?s$`)

// checkLastLine checks that out ends with the summary line and its
// newline, and nothing after.
func checkLastLine(t *testing.T, out, want string) {
	t.Helper()
	if !strings.HasSuffix(out, "\n") {
		t.Fatalf("output does not end with a newline: %q", out)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	last := lines[len(lines)-1]
	if !summaryLine.MatchString(last) {
		t.Errorf("last line %q does not match %v", last, summaryLine)
	}
	if want != "" && last != want {
		t.Errorf("last line = %q, want %q", last, want)
	}
}

func TestFormatDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0ms"},
		{-time.Second, "0ms"},
		{4 * time.Millisecond, "0ms"},
		{5 * time.Millisecond, "10ms"},
		{850 * time.Millisecond, "850ms"},
		{854 * time.Millisecond, "850ms"},
		{996 * time.Millisecond, "1s"},
		{time.Second, "1s"},
		{1314 * time.Millisecond, "1.31s"},
		{1305 * time.Millisecond, "1.31s"},
		{2500 * time.Millisecond, "2.5s"},
		{1590 * time.Millisecond, "1.59s"}, // 1.5899999999999999 as a float
		{1587 * time.Millisecond, "1.59s"},
		{1005 * time.Millisecond, "1.01s"},
		{75*time.Second + 400*time.Millisecond, "75.4s"},
		{2 * time.Hour, "7200s"},
	} {
		got := formatDuration(tc.d)
		if got != tc.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tc.d, got, tc.want)
		}
		// The summary line's time must be readable back.
		back, err := time.ParseDuration(got)
		if err != nil {
			t.Errorf("time.ParseDuration(%q): %v", got, err)
		} else if want := max(tc.d, 0).Round(10 * time.Millisecond); back != want {
			t.Errorf("time.ParseDuration(%q) = %v, want %v", got, back, want)
		}
	}
}

func TestByArea(t *testing.T) {
	var got []string
	for _, a := range byArea(sample().Results) {
		for _, res := range a.results {
			got = append(got, a.name+" "+res.ID)
		}
	}
	want := []string{
		"framing framing/split-size",
		"framing framing/end-marker",
		"framing framing/padding",
		"framing framing/huge",
		"valid valid/ascii/whole",
		"valid valid/ascii/fragmented",
		"valid valid/ascii/coalesced",
		"weird weird/bytes",
	}
	if !slices.Equal(got, want) {
		t.Errorf("byArea:\n got %q\nwant %q", got, want)
	}
}

func TestEscapeText(t *testing.T) {
	for _, tc := range []struct {
		name, in, terminal, xml string
	}{
		{"plain", "trip[2] ✔ é 🚆", "trip[2] ✔ é 🚆", "trip[2] ✔ é 🚆"},
		{"tab", "a\tb", "a\tb", "a\tb"},
		{"newline", "a\nb", `a\u000Ab`, "a\nb"},
		{"carriage return", "a\rb", `a\u000Db`, `a\u000Db`},
		{"NUL", "a\x00b", `a\u0000b`, `a\u0000b`},
		{"ESC", "\x1b[2J", `\u001B[2J`, `\u001B[2J`},
		{"DEL", "a\x7f", `a\u007F`, "a\x7f"},
		{"C1", "a\u0085", `a\u0085`, "a\u0085"},
		{"bidi override", "a\u202eb", `a\u202Eb`, "a\u202eb"},
		{"noncharacter", "a\ufffe", "a\ufffe", `a\uFFFE`},
		{"replacement character stays", "a\ufffd", "a\ufffd", "a\ufffd"},
		{"invalid UTF-8", "a\xffb\xc3", `a\xFFb\xC3`, `a\xFFb\xC3`},
		{"encoded surrogate", "\xed\xa0\x80", `\xED\xA0\x80`, `\xED\xA0\x80`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := terminalSafe(tc.in); got != tc.terminal {
				t.Errorf("terminalSafe(%q) = %q, want %q", tc.in, got, tc.terminal)
			}
			if got := xmlSafe(tc.in); got != tc.xml {
				t.Errorf("xmlSafe(%q) = %q, want %q", tc.in, got, tc.xml)
			}
		})
	}
}
