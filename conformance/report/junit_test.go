package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/conformance"
)

// The JUnit shape as a CI system reads it, declared apart from the
// writer's types so the test does not trust them.
type (
	xSuites struct {
		XMLName   xml.Name `xml:"testsuites"`
		Name      string   `xml:"name,attr"`
		Tests     int      `xml:"tests,attr"`
		Failures  int      `xml:"failures,attr"`
		Errors    int      `xml:"errors,attr"`
		Skipped   int      `xml:"skipped,attr"`
		Time      string   `xml:"time,attr"`
		Timestamp string   `xml:"timestamp,attr"`
		Suites    []xSuite `xml:"testsuite"`
	}
	xSuite struct {
		Name      string  `xml:"name,attr"`
		Tests     int     `xml:"tests,attr"`
		Failures  int     `xml:"failures,attr"`
		Errors    int     `xml:"errors,attr"`
		Skipped   int     `xml:"skipped,attr"`
		Time      string  `xml:"time,attr"`
		Timestamp string  `xml:"timestamp,attr"`
		Props     []xProp `xml:"properties>property"`
		Cases     []xCase `xml:"testcase"`
	}
	xProp struct {
		Name  string `xml:"name,attr"`
		Value string `xml:"value,attr"`
	}
	xCase struct {
		Classname string `xml:"classname,attr"`
		Name      string `xml:"name,attr"`
		Time      string `xml:"time,attr"`
		Failure   *struct {
			Message string `xml:"message,attr"`
			Type    string `xml:"type,attr"`
			Text    string `xml:",chardata"`
		} `xml:"failure"`
		Skipped *struct {
			Message string `xml:"message,attr"`
		} `xml:"skipped"`
		SystemOut *string `xml:"system-out"`
	}
)

// parseJUnit checks that data is well-formed XML token by token (the
// decoder rejects characters XML 1.0 forbids) and decodes it.
func parseJUnit(t *testing.T, data []byte) xSuites {
	t.Helper()
	if !utf8.Valid(data) {
		t.Errorf("JUnit output is not valid UTF-8")
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("JUnit output is not well-formed XML: %v\n%s", err, data)
		}
	}
	var s xSuites
	if err := xml.Unmarshal(data, &s); err != nil {
		t.Fatalf("xml.Unmarshal: %v\n%s", err, data)
	}
	return s
}

// checkCounts checks the count attributes against the elements.
func checkCounts(t *testing.T, s xSuites) {
	t.Helper()
	var tests, failures, skipped int
	for _, suite := range s.Suites {
		var f, sk int
		for _, c := range suite.Cases {
			if c.Failure != nil {
				f++
			}
			if c.Skipped != nil {
				sk++
			}
			if c.Failure != nil && c.Skipped != nil {
				t.Errorf("%s: both <failure> and <skipped>", c.Name)
			}
		}
		if suite.Tests != len(suite.Cases) || suite.Failures != f || suite.Skipped != sk || suite.Errors != 0 {
			t.Errorf("testsuite %s: tests=%d failures=%d skipped=%d errors=%d; has %d cases, %d failures, %d skipped",
				suite.Name, suite.Tests, suite.Failures, suite.Skipped, suite.Errors, len(suite.Cases), f, sk)
		}
		tests += len(suite.Cases)
		failures += f
		skipped += sk
	}
	if s.Tests != tests || s.Failures != failures || s.Skipped != skipped || s.Errors != 0 {
		t.Errorf("testsuites: tests=%d failures=%d skipped=%d errors=%d; has %d cases, %d failures, %d skipped",
			s.Tests, s.Failures, s.Skipped, s.Errors, tests, failures, skipped)
	}
}

func TestJUnit(t *testing.T) {
	r := sample()
	var b bytes.Buffer
	if err := JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), xml.Header) {
		t.Errorf("no XML header")
	}
	if diff := cmp.Diff(sample(), r); diff != "" {
		t.Errorf("JUnit modified the report (-before +after):\n%s", diff)
	}
	s := parseJUnit(t, b.Bytes())
	checkCounts(t, s)

	// Only what fails the run is a <failure>: the CI job is red exactly when
	// the run fails.
	r.Tally()
	if s.Tests != 8 || s.Failures != r.Summary.FailedRequired+r.Summary.UnexpectedPasses || s.Skipped != 3 {
		t.Errorf("tests=%d failures=%d skipped=%d, want 8, %d, 3",
			s.Tests, s.Failures, s.Skipped, r.Summary.FailedRequired+r.Summary.UnexpectedPasses)
	}
	if s.Name != "tripcheck server" || s.Time != "1.314" || s.Timestamp != "2025-03-01T09:30:00" {
		t.Errorf("testsuites name=%q time=%q timestamp=%q", s.Name, s.Time, s.Timestamp)
	}

	var suites []string
	for _, suite := range s.Suites {
		suites = append(suites, suite.Name)
		wantProps := []xProp{
			{"target", "127.0.0.1:6178"}, {"profile", "qt5"}, {"profile_note", "detected"},
			{"seed", "42"}, {"strict", "false"},
		}
		if diff := cmp.Diff(wantProps, suite.Props[:min(len(wantProps), len(suite.Props))]); diff != "" {
			t.Errorf("testsuite %s properties (-want +got):\n%s", suite.Name, diff)
		}
		// The text report's counts, and how JUnit's map to them.
		counts := map[string]string{}
		for _, p := range suite.Props[len(wantProps):] {
			counts[p.Name] = p.Value
		}
		// Each testsuite counts its own scenarios, as the text report
		// counts them.
		var own conformance.Summary
		for _, res := range r.Results {
			if "server/"+areaOf(res) == suite.Name {
				own.Count(res)
			}
		}
		want := map[string]string{"passed": strconv.Itoa(own.Passed), "failed": strconv.Itoa(own.Failed),
			"skipped": strconv.Itoa(own.Skipped), "flaky": "0"}
		for k, v := range want {
			if counts[k] != v {
				t.Errorf("testsuite %s property %s = %q, want %q", suite.Name, k, counts[k], v)
			}
		}
		if counts["counts"] == "" {
			t.Errorf("testsuite %s: no property counts stating the mapping", suite.Name)
		}
	}
	if diff := cmp.Diff([]string{"server/framing", "server/valid", "server/weird"}, suites); diff != "" {
		t.Errorf("testsuites (-want +got):\n%s", diff)
	}
	if s.Suites[0].Time != "2.542" {
		t.Errorf("server/framing time = %q, want the sum of its cases, 2.542", s.Suites[0].Time)
	}

	cases := map[string]xCase{}
	var order []string
	for _, suite := range s.Suites {
		for _, c := range suite.Cases {
			cases[c.Name] = c
			order = append(order, c.Name)
		}
	}
	if diff := cmp.Diff([]string{
		"framing/split-size", "framing/end-marker", "framing/padding", "framing/huge",
		"valid/ascii/whole", "valid/ascii/fragmented", "valid/ascii/coalesced", "weird/bytes",
	}, order); diff != "" {
		t.Errorf("test case order (-want +got):\n%s", diff)
	}

	for _, tc := range []struct {
		id, classname, time string
		kind                string // "pass", "failure" or "skipped"
		failType, message   string
		text                string // in the failure, or in system-out
	}{
		{id: "framing/split-size", classname: "server.framing", time: "0.012", kind: "pass"},
		{
			id: "framing/end-marker", classname: "server.framing", time: "2.500", kind: "failure",
			failType: "MUST", message: "no reply in 2s",
			text: "Requirement: A server MUST end its reply with the 0xFFFF marker (PROTOCOL.md §3.2)\n" +
				"no reply in 2s\n\n> send request (27 bytes)\n\n< 0 bytes\n",
		},
		{
			id: "framing/padding", classname: "server.framing", time: "0.030", kind: "skipped",
			message: "SHOULD not met (not required): 3 bytes of padding after trip[0]",
			text:    "Requirement: A server SHOULD NOT pad its blocks\n3 bytes of padding after trip[0]\n\n< 00 00 00\n",
		},
		{id: "framing/huge", classname: "server.framing", time: "0.000", kind: "skipped", message: "needs --golden book"},
		{id: "valid/ascii/whole", classname: "server.valid", time: "0.020", kind: "pass"},
		{
			id: "valid/ascii/fragmented", classname: "server.valid", time: "0.000", kind: "skipped",
			message: "expected failure: trip[2].trainType[3]: expected 0x0041, got 0x0000",
			text: "Requirement: A server MUST accept a request split anywhere\n" +
				"trip[2].trainType[3]: expected 0x0041, got 0x0000\n\noffset 74\n",
		},
		{
			id: "valid/ascii/coalesced", classname: "server.valid", time: "0.000", kind: "failure",
			failType: "unexpected-pass", message: "passed, but listed in --expect-fail",
			text: "Requirement: A server MUST accept two requests in one segment\n",
		},
		{
			id: "weird/bytes", classname: "server.weird", time: "0.000", kind: "failure",
			failType: "MUST", message: `got \u001B[31mred\u0000\xFF`,
			text: "Requirement: A server MUST send UTF-16 strings\n" +
				`got \u001B[31mred\u0000\xFF` + "\n\n" + `line\u000D` + "\n" + `bell\u0007` + "\n",
		},
	} {
		t.Run(tc.id, func(t *testing.T) {
			c, ok := cases[tc.id]
			if !ok {
				t.Fatalf("no test case")
			}
			if c.Classname != tc.classname || c.Time != tc.time {
				t.Errorf("classname=%q time=%q, want %q %q", c.Classname, c.Time, tc.classname, tc.time)
			}
			var text string
			if c.SystemOut != nil {
				text = *c.SystemOut
			}
			switch tc.kind {
			case "pass":
				if c.Failure != nil || c.Skipped != nil {
					t.Errorf("pass has a failure or skipped element")
				}
			case "failure":
				if c.Failure == nil {
					t.Fatalf("no <failure>")
				}
				if c.Failure.Type != tc.failType || c.Failure.Message != tc.message {
					t.Errorf("failure type=%q message=%q, want %q %q", c.Failure.Type, c.Failure.Message, tc.failType, tc.message)
				}
				text = c.Failure.Text
			case "skipped":
				if c.Skipped == nil {
					t.Fatalf("no <skipped>")
				}
				if c.Skipped.Message != tc.message {
					t.Errorf("skipped message=%q, want %q", c.Skipped.Message, tc.message)
				}
			}
			if text != tc.text {
				t.Errorf("text = %q, want %q", text, tc.text)
			}
		})
	}
}

func TestJUnitStrictAndEmpty(t *testing.T) {
	t.Run("a SHOULD required by --strict is a failure", func(t *testing.T) {
		r := &conformance.Report{
			Suite: "client", Target: "./planner", Profile: "qt4", Strict: true, Golden: "book",
			Results: []conformance.Result{{
				ID: "shape/pad", Level: conformance.Should, Status: conformance.Fail, Required: true,
				Message: "closed the connection",
			}},
		}
		var b bytes.Buffer
		if err := JUnit(&b, r); err != nil {
			t.Fatal(err)
		}
		s := parseJUnit(t, b.Bytes())
		checkCounts(t, s)
		c := s.Suites[0].Cases[0]
		if s.Suites[0].Name != "client/shape" || c.Classname != "client.shape" ||
			c.Failure == nil || c.Failure.Type != "SHOULD" || c.Failure.Message != "closed the connection" {
			t.Errorf("got suite %q, case %+v, failure %+v", s.Suites[0].Name, c, c.Failure)
		}
		if s.Timestamp != "" {
			t.Errorf("timestamp %q for a zero Started", s.Timestamp)
		}
		wantProps := []xProp{{"target", "./planner"}, {"profile", "qt4"}, {"seed", "0"}, {"strict", "true"}, {"golden", "book"}}
		if diff := cmp.Diff(wantProps, s.Suites[0].Props[:min(len(wantProps), len(s.Suites[0].Props))]); diff != "" {
			t.Errorf("properties (-want +got):\n%s", diff)
		}
	})
	t.Run("no results", func(t *testing.T) {
		var b bytes.Buffer
		if err := JUnit(&b, &conformance.Report{Suite: "server", Target: "localhost:6178"}); err != nil {
			t.Fatal(err)
		}
		s := parseJUnit(t, b.Bytes())
		checkCounts(t, s)
		if len(s.Suites) != 1 || s.Suites[0].Name != "server" || s.Suites[0].Tests != 0 || len(s.Suites[0].Props) == 0 {
			t.Errorf("want one empty testsuite \"server\" with properties, got %+v", s.Suites)
		}
	})
	t.Run("nil", func(t *testing.T) {
		if err := JUnit(&bytes.Buffer{}, nil); err == nil {
			t.Error("JUnit(nil report) = nil error")
		}
	})
}

// TestJUnitInvalidCharacters puts what a peer could send into every string
// of a report; the XML must stay well-formed and keep the bytes as text.
func TestJUnitInvalidCharacters(t *testing.T) {
	for _, tc := range []struct{ name, bad, want string }{
		{"NUL", "\x00", `\u0000`},
		{"C0 controls", "\x01\x02\x1f", `\u0001\u0002\u001F`},
		{"ESC", "\x1b[31m", `\u001B[31m`},
		{"CR", "a\r\nb", `a\u000D` + "\nb"},
		{"noncharacters", "\ufffe\uffff", `\uFFFE\uFFFF`},
		{"invalid UTF-8", "\xff\xfe\xc3", `\xFF\xFE\xC3`},
		{"encoded surrogate", "\xed\xa0\x80", `\xED\xA0\x80`},
		{"CDATA end", "]]>", "]]>"},
		{"markup", `<a href="x">&amp;</a>'`, `<a href="x">&amp;</a>'`},
		{"allowed", "tab\t✔ 🚆 \u0085 \ufffd", "tab\t✔ 🚆 \u0085 \ufffd"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &conformance.Report{
				Suite: "server", Target: "t" + tc.bad, Profile: "p" + tc.bad, ProfileNote: "n" + tc.bad,
				Golden: "g" + tc.bad, Started: time.Unix(0, 0),
				Results: []conformance.Result{
					{ID: "a/fail" + tc.bad, Level: conformance.Must, Status: conformance.Fail, Required: true,
						Requirement: "r" + tc.bad, Message: "m" + tc.bad, Log: "l" + tc.bad},
					{ID: "a/should", Level: conformance.Should, Status: conformance.Fail,
						Message: "m" + tc.bad, Log: "l" + tc.bad},
					{ID: "a/skip", Level: conformance.Must, Status: conformance.Skip, Message: "m" + tc.bad, Log: "l" + tc.bad},
					{ID: "a/pass", Level: conformance.Must, Status: conformance.Pass, Log: "l" + tc.bad},
				},
			}
			var b bytes.Buffer
			if err := JUnit(&b, r); err != nil {
				t.Fatal(err)
			}
			s := parseJUnit(t, b.Bytes())
			checkCounts(t, s)
			cs := s.Suites[0].Cases
			for _, check := range []struct{ what, got, want string }{
				{"target property", s.Suites[0].Props[0].Value, "t" + tc.want},
				{"profile property", s.Suites[0].Props[1].Value, "p" + tc.want},
				{"failed test name", cs[0].Name, "a/fail" + tc.want},
				{"failure message", cs[0].Failure.Message, "m" + tc.want},
				{"failure text", cs[0].Failure.Text, "Requirement: r" + tc.want + "\nm" + tc.want + "\n\nl" + tc.want + "\n"},
				{"SHOULD skipped message", cs[1].Skipped.Message, "SHOULD not met (not required): m" + tc.want},
				{"SHOULD system-out", *cs[1].SystemOut, "m" + tc.want + "\n\nl" + tc.want + "\n"},
				{"skip message", cs[2].Skipped.Message, "m" + tc.want},
				{"skip system-out", *cs[2].SystemOut, "l" + tc.want},
				{"pass system-out", *cs[3].SystemOut, "l" + tc.want},
			} {
				if check.got != check.want {
					t.Errorf("%s = %q, want %q", check.what, check.got, check.want)
				}
			}
		})
	}
}

// Each cause is a property of the suites, and each failure's message names
// its cause.
func TestJUnitCauses(t *testing.T) {
	noEnd := conformance.Finding{Check: "reply/no-end-marker", Summary: "the reply has no end marker", Offset: 105}
	r := &conformance.Report{Suite: "server", Target: "x:1"}
	for _, id := range []string{"valid/ascii/whole", "valid/ascii/fragmented"} {
		r.Results = append(r.Results, conformance.Result{ID: id, Level: conformance.Must, Status: conformance.Fail, Required: true,
			Message: "stream ended", Findings: []conformance.Finding{noEnd}})
	}
	var b bytes.Buffer
	if err := JUnit(&b, r); err != nil {
		t.Fatal(err)
	}
	s := parseJUnit(t, b.Bytes())
	var cause string
	for _, p := range s.Suites[0].Props {
		if p.Name == "cause.1" {
			cause = p.Value
		}
	}
	if want := "reply/no-end-marker: the reply has no end marker (first in valid/ascii/whole, offset 105); 2 failures: valid/ascii/whole valid/ascii/fragmented"; cause != want {
		t.Errorf("property cause.1 = %q, want %q", cause, want)
	}
	for _, c := range s.Suites[0].Cases {
		if c.Failure == nil || c.Failure.Message != "stream ended [cause: the reply has no end marker (reply/no-end-marker)]" {
			t.Errorf("%s: failure %+v, want one naming its cause", c.Name, c.Failure)
		}
	}
}
