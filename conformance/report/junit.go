package report

import (
	"encoding/xml"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
)

// JUnit writes r as JUnit XML, for CI systems:
//
//	<testsuites name="tripcheck server" tests= failures= errors="0" skipped= time= timestamp=>
//	  <testsuite name="server/framing" tests= failures= errors="0" skipped= time= timestamp=>
//	    <properties> target, profile, profile_note, seed, strict, golden </properties>
//	    <testcase classname="server.framing" name="framing/split-size" time="0.012"/>
//
// There is one <testsuite> per area, named "<suite>/<area>", in the order
// the areas first appear; the test cases keep the report's order. A report
// without results gives one empty <testsuite> named after the suite, so the
// properties still say what was checked.
//
// A <failure> makes a CI job red, so only what makes the run fail (see
// [conformance.Result.Counts]) is one:
//
//   - a required failure: <failure type="MUST" (or "SHOULD" with --strict)
//     message="the message">, the requirement, message and log as its text;
//   - an unexpected pass: <failure type="unexpected-pass" message="passed,
//     but listed in --expect-fail">.
//
// Failures that do not count are <skipped>, with the requirement, message
// and log in <system-out>, so that CI shows them without failing the job:
//
//   - a SHOULD that is not required: <skipped message="SHOULD not met (not
//     required): the message"/>;
//   - an expected failure: <skipped message="expected failure: the message"/>.
//
// A skipped scenario is <skipped message="the reason"/>. Logs of passes and
// skips, when the report has them, go in <system-out>.
//
// Failure texts and <system-out> are CDATA, so logs read as they are.
// XML 1.0 forbids most control characters even as references, and logs
// quote what a peer sent, so such characters are written as text: U+0000
// becomes \u0000, CR \u000D (a parser would read it as a newline), and a
// byte that is not valid UTF-8 \xNN.
func JUnit(w io.Writer, r *conformance.Report) error {
	r, err := tallied(r)
	if err != nil {
		return err
	}
	timestamp := ""
	if !r.Started.IsZero() {
		timestamp = r.Started.UTC().Format("2006-01-02T15:04:05")
	}
	props := junitProperties(r)
	root := junitSuites{
		Name:      xmlSafe(strings.TrimSpace("tripcheck " + r.Suite)),
		Time:      seconds(r.Duration),
		Timestamp: timestamp,
	}
	areas := byArea(r.Results)
	if len(areas) == 0 {
		areas = []area{{}}
	}
	for _, a := range areas {
		s := junitSuiteOf(r.Suite, a, props, timestamp)
		root.Tests += s.Tests
		root.Failures += s.Failures
		root.Skipped += s.Skipped
		root.Suites = append(root.Suites, s)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	_, err = io.WriteString(w, "\n")
	return err
}

// junitSuiteOf is the <testsuite> of one area.
// junitSuiteOf is the <testsuite> of one area: its test cases, then, after
// the run's properties, the text report's counts of the area and the
// causes of its failures (each failure's message names its cause too). It
// needs only the area's results, so a streamed report writes it as the
// area ends.
func junitSuiteOf(suite string, a area, props []junitProperty, timestamp string) junitSuite {
	var counts conformance.Summary
	var cs conformance.CauseSet
	for _, res := range a.results {
		counts.Count(res)
		cs.Add(res)
	}
	props = append(props[:len(props):len(props)],
		junitProperty{Name: "passed", Value: strconv.Itoa(counts.Passed)},
		junitProperty{Name: "failed", Value: strconv.Itoa(counts.Failed)},
		junitProperty{Name: "skipped", Value: strconv.Itoa(counts.Skipped)},
		junitProperty{Name: "flaky", Value: strconv.Itoa(counts.Flaky)},
		junitProperty{Name: "counts", Value: countsNote},
	)
	for i, c := range cs.Causes() {
		props = append(props, junitProperty{Name: "cause." + strconv.Itoa(i+1),
			Value: xmlSafe(fmt.Sprintf("%s: %s; %d failures: %s", c.Check, c.String(), len(c.IDs), strings.Join(c.IDs, " ")))})
	}
	name := a.name
	if name == "" && len(a.results) > 0 {
		name = "(no area)"
	}
	s := junitSuite{
		Name:       xmlSafe(joinNonEmpty("/", suite, name)),
		Timestamp:  timestamp,
		Properties: props,
	}
	if s.Name == "" {
		s.Name = "tripcheck"
	}
	classname := xmlSafe(joinNonEmpty(".", suite, name))
	var total time.Duration
	for _, res := range a.results {
		c := junitTestCase(res)
		c.Classname = classname
		switch {
		case c.Failure != nil:
			s.Failures++
		case c.Skipped != nil:
			s.Skipped++
		}
		if c.Failure != nil {
			if f := cs.Of(res.ID); f != nil {
				c.Failure.Message = xmlSafe(res.Message + " [cause: " + f.Summary + " (" + f.Check + ")]")
			}
		}
		s.Cases = append(s.Cases, c)
		total += res.Duration
	}
	s.Tests = len(s.Cases)
	s.Time = seconds(total)
	return s
}

// junitTestCase maps one result to a <testcase>, as documented on [JUnit];
// the caller sets Classname.
func junitTestCase(res conformance.Result) junitCase {
	c := junitCase{Name: xmlSafe(res.ID), Time: seconds(res.Duration)}
	switch {
	case res.Status == conformance.Pass && res.ExpectedFailure:
		c.Failure = &junitFailure{
			Type:    "unexpected-pass",
			Message: "passed, but listed in --expect-fail",
			Text:    xmlSafe(details(res)),
		}
	case res.Status == conformance.Pass:
		c.SystemOut = systemOut(res.Log)
	case res.Status == conformance.Fail && res.Counts():
		c.Failure = &junitFailure{
			Type:    res.Level.String(),
			Message: xmlSafe(res.Message),
			Text:    xmlSafe(details(res)),
		}
	case res.Status == conformance.Fail:
		why := "not required: "
		switch {
		case res.ExpectedFailure:
			why = "expected failure: "
		case res.Level == conformance.Should:
			why = "SHOULD not met (not required): "
		}
		c.Skipped = &junitSkipped{Message: xmlSafe(why + res.Message)}
		c.SystemOut = systemOut(details(res))
	case res.Status == conformance.Skip:
		c.Skipped = &junitSkipped{Message: xmlSafe(res.Message)}
		c.SystemOut = systemOut(res.Log)
	case res.Status == conformance.Flaky:
		// Surefire's element for a test that failed, then passed on a
		// rerun: CI shows it, and the job stays green.
		c.Flaky = &junitFailure{Type: res.Level.String(), Message: xmlSafe(res.Message), Text: xmlSafe(details(res))}
	default:
		c.Skipped = &junitSkipped{Message: xmlSafe("unknown status " + strconv.Quote(string(res.Status)))}
		c.SystemOut = systemOut(details(res))
	}
	return c
}

// systemOut is a <system-out> with s, or none when s is empty.
func systemOut(s string) *junitText {
	if s == "" {
		return nil
	}
	return &junitText{Text: xmlSafe(s)}
}

// details is the text of a failure: the requirement, the message, and the
// log after a blank line.
func details(res conformance.Result) string {
	var b strings.Builder
	if res.Requirement != "" {
		b.WriteString("Requirement: " + res.Requirement + "\n")
	}
	if res.Message != "" {
		b.WriteString(strings.TrimRight(res.Message, "\n") + "\n")
	}
	if log := strings.TrimRight(res.Log, "\n"); log != "" {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(log + "\n")
	}
	return b.String()
}

// junitProperties says what was checked, and how.
func junitProperties(r *conformance.Report) []junitProperty {
	props := []junitProperty{
		{Name: "target", Value: xmlSafe(r.Target)},
		{Name: "profile", Value: xmlSafe(r.Profile)},
	}
	if r.ProfileNote != "" {
		props = append(props, junitProperty{Name: "profile_note", Value: xmlSafe(r.ProfileNote)})
	}
	props = append(props,
		junitProperty{Name: "seed", Value: strconv.FormatInt(r.Seed, 10)},
		junitProperty{Name: "strict", Value: strconv.FormatBool(r.Strict)},
	)
	if r.Golden != "" {
		props = append(props, junitProperty{Name: "golden", Value: xmlSafe(r.Golden)})
	}
	if r.Interrupted {
		props = append(props, junitProperty{Name: "interrupted", Value: "true"})
	}
	return props
}

// countsNote states how JUnit's counts map to the text report's.
const countsNote = "the properties passed/failed/skipped/flaky count this testsuite's scenarios as the text report counts them; failures are the failed scenarios that fail the run; a failure that does not (a SHOULD without --strict, an expected failure) is a skipped test case with its reason, so JUnit skipped = text skipped + those failures; flaky scenarios (failed, then passed) are test cases with a flakyFailure, counted in neither"

func joinNonEmpty(sep string, parts ...string) string {
	var kept []string
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, sep)
}

// xmlSafe escapes, as text, the characters XML 1.0 does not allow
// (encoding/xml would silently turn them into U+FFFD), and CR, which a
// parser would turn into a newline in CDATA.
func xmlSafe(s string) string { return escapeText(s, isXMLChar) }

// isXMLChar reports whether r is a Char of XML 1.0 other than CR:
// #x9 | #xA | [#x20-#xD7FF] | [#xE000-#xFFFD] | [#x10000-#x10FFFF].
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}

type junitSuites struct {
	XMLName   xml.Name     `xml:"testsuites"`
	Name      string       `xml:"name,attr"`
	Tests     int          `xml:"tests,attr"`
	Failures  int          `xml:"failures,attr"`
	Errors    int          `xml:"errors,attr"`
	Skipped   int          `xml:"skipped,attr"`
	Time      string       `xml:"time,attr"`
	Timestamp string       `xml:"timestamp,attr,omitempty"`
	Suites    []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name       string          `xml:"name,attr"`
	Tests      int             `xml:"tests,attr"`
	Failures   int             `xml:"failures,attr"`
	Errors     int             `xml:"errors,attr"`
	Skipped    int             `xml:"skipped,attr"`
	Time       string          `xml:"time,attr"`
	Timestamp  string          `xml:"timestamp,attr,omitempty"`
	Properties []junitProperty `xml:"properties>property"`
	Cases      []junitCase     `xml:"testcase"`
}

type junitProperty struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Classname string        `xml:"classname,attr"`
	Name      string        `xml:"name,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	Flaky     *junitFailure `xml:"flakyFailure,omitempty"`
	SystemOut *junitText    `xml:"system-out,omitempty"`
}

// junitText is text kept as CDATA, so logs read as they are in the file.
type junitText struct {
	Text string `xml:",cdata"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",cdata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr,omitempty"`
}
