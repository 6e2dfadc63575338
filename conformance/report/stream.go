package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
)

// Stream writes a report while its results are made, for runs too large to
// hold in memory (tripcheck pcap check of a large capture): it is a
// [conformance.ResultSink]. The text goes to its writer as results come, a
// line each; what must wait for the end (the recap of failures, and the
// JSON and JUnit files, whose counts come first) is kept in temporary files,
// not in memory. For results whose areas each come together, as a capture's
// sessions do, [Stream.FinishText], [Stream.JSON] and [Stream.JUnit] write
// byte for byte what [Text], [JSON] and [JUnit] write for the whole report.
//
// Memory is that of one area's results (for JUnit) and the IDs of
// unexpected passes (only with --expect-fail). Close removes the
// temporary files.
type Stream struct {
	opts       TextOptions
	out        *bufio.Writer
	head       conformance.Report
	started    bool                 // the header is written
	any        bool                 // a result came
	causes     conformance.CauseSet // the failures grouped by cause so far
	slowest    time.Duration        // the longest result so far
	area       string
	notes      noteCounts
	failures   *spool // the recap's text
	json       *spool // the results, encoded; nil without JSON
	junit      *spool // the <testsuite> elements; nil without JUnit
	junitArea  area   // the results of the current area, for JUnit
	junitTotal struct{ tests, failures, skipped int }
	err        error
}

// spool is a temporary file written through a buffer.
type spool struct {
	f *os.File
	w *bufio.Writer
	n int // items written
}

func newSpool() (*spool, error) {
	f, err := os.CreateTemp("", "tripcheck-report-*.tmp")
	if err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return &spool{f: f, w: bufio.NewWriterSize(f, 64<<10)}, nil
}

// copyTo writes the spool's contents to w.
func (s *spool) copyTo(w io.Writer) error {
	if err := s.w.Flush(); err != nil {
		return err
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	_, err := io.Copy(w, s.f)
	return err
}

func (s *spool) close() error {
	if s == nil {
		return nil
	}
	err := s.f.Close()
	if rerr := os.Remove(s.f.Name()); err == nil {
		err = rerr
	}
	return err
}

// NewStream writes the text of a report to text as its results come, and
// keeps what JSON and JUnit need when withJSON or withJUnit is set.
func NewStream(text io.Writer, opts TextOptions, withJSON, withJUnit bool) (*Stream, error) {
	s := &Stream{opts: opts, out: bufio.NewWriterSize(text, 64<<10)}
	var err error
	if s.failures, err = newSpool(); err != nil {
		return nil, err
	}
	if withJSON {
		if s.json, err = newSpool(); err != nil {
			s.Close()
			return nil, err
		}
	}
	if withJUnit {
		if s.junit, err = newSpool(); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Begin takes the report's header; the text header is written with the
// first result, so a run that starts over before any result writes one.
func (s *Stream) Begin(r *conformance.Report) {
	s.head = *r
	s.head.Results = nil
}

// Add writes one result. An error writing is kept and returned by the
// writers at the end.
func (s *Stream) Add(res conformance.Result) {
	if s.err != nil {
		return
	}
	t := &textWriter{opts: s.opts, p: newPainter(s.opts.Color)}
	if !s.started {
		t.header(&s.head)
		s.started = true
	}
	name := areaOf(res)
	if !s.any || name != s.area {
		s.endArea()
		s.area = name
		shown := name
		if shown == "" {
			shown = "(no area)"
		}
		t.b.WriteString(t.p.bold(terminalSafe(shown)) + "\n")
	}
	s.any = true
	s.causes.Add(res)
	if res.Duration > s.slowest {
		s.slowest = res.Duration
	}
	t.scenario(res)
	s.write(s.out, t.b.String())
	s.notes.add(res)
	if res.Status == conformance.Fail {
		f := &textWriter{opts: s.opts, p: t.p}
		f.failure(res)
		s.failures.n++
		s.write(s.failures.w, f.b.String())
	}
	if s.json != nil {
		res.DurationMS = milliseconds(res.Duration)
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetIndent("    ", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(res); err != nil {
			s.fail(err)
			return
		}
		sep := "    "
		if s.json.n > 0 {
			sep = ",\n    "
		}
		s.json.n++
		s.write(s.json.w, sep+strings.TrimSuffix(b.String(), "\n"))
	}
	if s.junit != nil {
		s.junitArea.name = name
		s.junitArea.results = append(s.junitArea.results, res)
	}
}

// endArea writes the JUnit <testsuite> of the area that ends.
func (s *Stream) endArea() {
	if s.junit == nil || len(s.junitArea.results) == 0 {
		return
	}
	suite := junitSuiteOf(s.head.Suite, s.junitArea, junitProperties(&s.head), s.timestamp())
	s.junitTotal.tests += suite.Tests
	s.junitTotal.failures += suite.Failures
	s.junitTotal.skipped += suite.Skipped
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	enc.Indent("  ", "  ")
	if err := enc.EncodeElement(suite, xml.StartElement{Name: xml.Name{Local: "testsuite"}}); err != nil {
		s.fail(err)
		return
	}
	s.write(s.junit.w, "\n"+b.String())
	s.junit.n++
	s.junitArea = area{}
}

func (s *Stream) timestamp() string {
	if s.head.Started.IsZero() {
		return ""
	}
	return s.head.Started.UTC().Format("2006-01-02T15:04:05")
}

func (s *Stream) write(w io.Writer, text string) {
	if s.err == nil {
		_, err := io.WriteString(w, text)
		s.fail(err)
	}
}

func (s *Stream) fail(err error) {
	if s.err == nil && err != nil {
		s.err = err
	}
}

// FinishText writes the end of the text: the recap of failures, the notes
// and the summary line of r, the finished report (Streamed, its Summary
// counted).
func (s *Stream) FinishText(r *conformance.Report) error {
	if s.err != nil {
		return s.err
	}
	t := &textWriter{opts: s.opts, p: newPainter(s.opts.Color)}
	if !s.started {
		t.header(&s.head)
		t.b.WriteString("No scenarios ran.\n\n")
		s.started = true
	} else {
		t.b.WriteString("\n")
	}
	if s.failures.n > 0 {
		t.failuresHeading()
	}
	s.write(s.out, t.b.String())
	if s.failures.n > 0 {
		s.fail(s.failures.copyTo(s.out))
	}
	t = &textWriter{opts: s.opts, p: t.p}
	t.notesOf(s.notes)
	if s.opts.Verbose && s.any {
		fmt.Fprintf(&t.b, "wall time %s, slowest scenario %s\n", formatDuration(r.Duration), formatDuration(s.slowest))
	}
	t.b.WriteString(SummaryLine(r) + "\n")
	s.write(s.out, t.b.String())
	s.fail(s.out.Flush())
	return s.err
}

// JSON writes the JSON report of r, the finished report, with the results
// that went by, as [JSON] writes a whole report.
func (s *Stream) JSON(w io.Writer, r *conformance.Report) error {
	if s.json == nil {
		return errors.New("report: the stream keeps no JSON")
	}
	if s.err != nil {
		return s.err
	}
	c := *r
	c.DurationMS = milliseconds(c.Duration)
	c.Results = []conformance.Result{}
	c.Causes = s.causes.Causes()
	c.Slowest = s.slowest
	c.SlowestMS = milliseconds(s.slowest)
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(&c); err != nil {
		return err
	}
	const empty = "\n  \"results\": [],"
	before, after, ok := strings.Cut(b.String(), empty)
	if !ok || s.json.n == 0 {
		_, err := io.WriteString(w, b.String())
		return err
	}
	if _, err := io.WriteString(w, before+"\n  \"results\": [\n"); err != nil {
		return err
	}
	if err := s.json.copyTo(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n  ],"+after)
	return err
}

// JUnit writes the JUnit report of r, the finished report, with the results
// that went by, as [JUnit] writes a whole report.
func (s *Stream) JUnit(w io.Writer, r *conformance.Report) error {
	if s.junit == nil {
		return errors.New("report: the stream keeps no JUnit")
	}
	s.endArea()
	if s.err != nil {
		return s.err
	}
	if s.junit.n == 0 {
		c := *r
		c.Results, c.Streamed = nil, false
		return JUnit(w, &c)
	}
	root := junitSuites{
		Name:      xmlSafe(strings.TrimSpace("tripcheck " + r.Suite)),
		Time:      seconds(r.Duration),
		Timestamp: s.timestamp(),
		Tests:     s.junitTotal.tests,
		Failures:  s.junitTotal.failures,
		Skipped:   s.junitTotal.skipped,
	}
	var b bytes.Buffer
	b.WriteString(xml.Header)
	enc := xml.NewEncoder(&b)
	enc.Indent("", "  ")
	if err := enc.Encode(root); err != nil {
		return err
	}
	const end = "</testsuites>"
	head, ok := strings.CutSuffix(b.String(), end)
	if !ok {
		return errors.New("report: unexpected JUnit root")
	}
	if _, err := io.WriteString(w, head); err != nil {
		return err
	}
	if err := s.junit.copyTo(w); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n"+end+"\n")
	return err
}

// Close removes the temporary files.
func (s *Stream) Close() error {
	return errors.Join(s.failures.close(), s.json.close(), s.junit.close())
}
