package report

import (
	"github.com/tripcheck/tripcheck/internal/plural"

	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"

	"github.com/tripcheck/tripcheck/conformance"
)

// TextOptions say how [Text] writes a report.
type TextOptions struct {
	// Color adds ANSI colours. The caller decides, usually with [ColorFor].
	Color bool
	// Verbose shows every duration, and the logs of scenarios that did not
	// fail (failures always show theirs).
	Verbose bool
}

// slow is the duration from which Text shows a scenario's time without
// Verbose.
const slow = 100 * time.Millisecond

// ColorFor reports whether output to f should be coloured: f is a terminal
// (or a Cygwin/MSYS pty), NO_COLOR is unset or empty, and TERM is not
// "dumb". It is the test github.com/fatih/color makes for os.Stdout, for
// any file.
func ColorFor(f *os.File) bool {
	if f == nil || os.Getenv("NO_COLOR") != "" || os.Getenv("TERM") == "dumb" {
		return false
	}
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

// Text writes r for a person on a terminal, like h2spec: a header line
// (suite, target, profile, seed, and --strict or --golden when set), the
// results as a tree by area, a recap of the failures with their requirement,
// message and log, notes on failures that do not count and on unexpected
// passes, and last a summary line
//
//	3 passed, 1 failed, 1 skipped in 1.31s
//
// which is a public interface: scripts may read it, and nothing follows it.
// Its counts are r.Summary after r.Tally(); its time is r.Duration rounded
// to 10ms. The summary line is never coloured.
//
// Text from the peer (messages, logs) is shown with control characters and
// invalid UTF-8 escaped (\u001B, \xFF), so a peer cannot send escape
// sequences to the terminal. Text makes a single Write to w.
func Text(w io.Writer, r *conformance.Report, opts TextOptions) error {
	r, err := tallied(r)
	if err != nil {
		return err
	}
	t := &textWriter{opts: opts, p: newPainter(opts.Color), cause: map[string]int{}}
	for i, c := range r.Causes {
		for _, id := range c.IDs {
			t.cause[id] = i + 1
		}
	}
	t.header(r)
	t.causes(r)
	t.tree(r)
	t.failures(r)
	t.notes(r)
	if opts.Verbose && len(r.Results) > 0 {
		fmt.Fprintf(&t.b, "wall time %s, slowest scenario %s\n", formatDuration(r.Duration), formatDuration(r.Slowest))
	}
	if r.Interrupted {
		t.b.WriteString(t.p.red(fmt.Sprintf("Interrupted: the report is partial (%s cut short or not run).",
			plural.Count(r.Summary.Interrupted, "scenario", "scenarios"))) + "\n")
	}
	t.b.WriteString(SummaryLine(r) + "\n")
	_, err = io.WriteString(w, t.b.String())
	return err
}

// SummaryLine is the last line of the text report:
//
//	3 passed, 1 failed, 1 skipped in 1.31s
//	3 passed, 0 failed, 1 skipped, 1 flaky in 1.31s
//	3 passed, 0 failed, 1 skipped in 1.31s (interrupted)
//
// The flaky count shows only when there are flaky scenarios; a run stopped
// by Ctrl-C ends with "(interrupted)". Its counts are r.Summary.
func SummaryLine(r *conformance.Report) string {
	line := fmt.Sprintf("%d passed, %d failed, %d skipped", r.Summary.Passed, r.Summary.Failed, r.Summary.Skipped)
	if r.Summary.Flaky > 0 {
		line += fmt.Sprintf(", %d flaky", r.Summary.Flaky)
	}
	line += " in " + formatDuration(r.Duration)
	if r.Interrupted {
		line += " (interrupted)"
	}
	return line
}

// causes writes the root causes of the failures, before anything else:
//
//	1 cause explains 56 failures: the reply has no end marker (first in valid/ascii/whole, offset 105)
//
// or, with several, one a line, numbered as the tree refers to them.
func (t *textWriter) causes(r *conformance.Report) {
	if len(r.Causes) == 0 {
		return
	}
	n := 0
	for _, c := range r.Causes {
		n += len(c.IDs)
	}
	verb := "explain"
	if len(r.Causes) == 1 {
		verb = "explains"
	}
	head := plural.Count(len(r.Causes), "cause", "causes") + " " + verb + " " + plural.Count(n, "failure", "failures") + ":"
	if len(r.Causes) == 1 {
		c := r.Causes[0]
		t.b.WriteString(t.p.bold(head) + " " + terminalSafe(c.String()) + " [" + terminalSafe(c.Check) + "]\n\n")
		return
	}
	t.b.WriteString(t.p.bold(head) + "\n")
	for i, c := range r.Causes {
		fmt.Fprintf(&t.b, "  %d. %s: %s [%s]\n", i+1, plural.Count(len(c.IDs), "failure", "failures"), terminalSafe(c.String()), terminalSafe(c.Check))
	}
	t.b.WriteString("\n")
}

type textWriter struct {
	b    strings.Builder
	opts TextOptions
	p    painter
	// cause is the number of each failed scenario's cause, from 1.
	cause map[string]int
}

// header writes
//
//	tripcheck server 127.0.0.1:6178: profile qt5 (detected), seed 42, strict, golden book
//
// A profile note of several lines (detection errors quote the bytes) shows
// its first line there, and in full below.
func (t *textWriter) header(r *conformance.Report) {
	name := "tripcheck"
	for _, s := range []string{r.Suite, r.Target} {
		if s != "" {
			name += " " + terminalSafe(s)
		}
	}
	var parts []string
	if r.Profile != "" {
		profile := "profile " + terminalSafe(r.Profile)
		if r.ProfileNote != "" {
			profile += " (" + firstLine(r.ProfileNote) + ")"
		}
		parts = append(parts, profile)
	}
	parts = append(parts, fmt.Sprintf("seed %d", r.Seed))
	if r.Strict {
		parts = append(parts, "strict")
	}
	if r.Golden != "" {
		parts = append(parts, "golden "+terminalSafe(r.Golden))
	}
	t.b.WriteString(t.p.bold(name+": "+strings.Join(parts, ", ")) + "\n")
	if r.Profile != "" && strings.Contains(strings.TrimRight(r.ProfileNote, "\n"), "\n") {
		t.b.WriteString("  profile note:\n")
		t.indented(r.ProfileNote, "    ")
	}
	t.b.WriteString("\n")
}

// tree writes the results by area, one line each.
func (t *textWriter) tree(r *conformance.Report) {
	if len(r.Results) == 0 {
		t.b.WriteString("No scenarios ran.\n\n")
		return
	}
	for _, a := range byArea(r.Results) {
		name := a.name
		if name == "" {
			name = "(no area)"
		}
		t.b.WriteString(t.p.bold(terminalSafe(name)) + "\n")
		for _, res := range a.results {
			t.scenario(res)
		}
	}
	t.b.WriteString("\n")
}

// scenario writes one line of the tree, and with Verbose the log of a
// scenario that did not fail.
func (t *textWriter) scenario(res conformance.Result) {
	var mark, note string
	paint := t.p.plain
	switch res.Status {
	case conformance.Pass:
		mark, paint = "✔", t.p.green
		if res.ExpectedFailure {
			note, paint = "expected failure, but passed", t.p.red
		}
	case conformance.Fail:
		mark, note = "✖", failNote(res)
		paint = t.p.yellow
		if res.Counts() {
			paint = t.p.red
		}
		if n := t.cause[res.ID]; n > 0 && len(t.cause) > 0 {
			if note != "" {
				note += "; "
			}
			note += fmt.Sprintf("cause %d", n)
		}
	case conformance.Flaky:
		mark, note, paint = "~", "flaky: failed, then passed when run again", t.p.yellow
	case conformance.Skip:
		mark, note, paint = "-", "skipped", t.p.cyan
		if res.Message != "" {
			note += ": " + firstLine(res.Message)
		}
		if res.ExpectedFailure {
			note += "; expected failure"
		}
	default:
		mark, note = "?", "status "+terminalSafe(string(res.Status))
	}
	line := mark + " " + terminalSafe(res.ID)
	if note != "" {
		line += " (" + note + ")"
	}
	t.b.WriteString("  " + paint(line))
	if t.opts.Verbose || res.Duration >= slow {
		t.b.WriteString(" (" + formatDuration(res.Duration) + ")")
	}
	t.b.WriteString("\n")
	if t.opts.Verbose && res.Status != conformance.Fail {
		t.indented(res.Log, "      ")
	}
}

// failNote is what the tree says after a failed scenario, and "" for a
// plain required failure.
func failNote(res conformance.Result) string {
	switch {
	case res.ExpectedFailure:
		return "expected failure"
	case res.Counts():
		return ""
	case res.Level == conformance.Should:
		return "SHOULD, not required"
	default:
		return "not required"
	}
}

// failures writes the recap of failed scenarios:
//
//	Failures:
//
//	  framing/end-marker (MUST)
//	    Requirement: ...
//	    message
//	      log
//
// A cause is explained once: after the first failure of a cause shared by
// several scenarios, the others say only "cause N, as in <first>" (with
// Verbose, each shows its own message and log).
func (t *textWriter) failures(r *conformance.Report) {
	first := true
	explained := map[int]string{}
	short := false // the last entry was a one-line reference to a cause
	for _, res := range r.Results {
		if res.Status != conformance.Fail && res.Status != conformance.Flaky {
			continue
		}
		if first {
			t.failuresHeading()
			first = false
		}
		n := t.cause[res.ID]
		if by, ok := explained[n]; ok && n > 0 && !t.opts.Verbose && res.Status == conformance.Fail {
			paint, level := t.failureLevel(res)
			t.b.WriteString("  " + paint(terminalSafe(res.ID)+" ("+level+")") + ": cause " + fmt.Sprint(n) + ", as in " + terminalSafe(by) + "\n")
			short = true
			continue
		}
		if short {
			t.b.WriteString("\n")
			short = false
		}
		if n > 0 && res.Status == conformance.Fail {
			explained[n] = res.ID
		}
		t.failure(res)
	}
	if short {
		t.b.WriteString("\n")
	}
}

func (t *textWriter) failuresHeading() { t.b.WriteString(t.p.bold("Failures:") + "\n\n") }

// failure writes one failed scenario of the recap.
func (t *textWriter) failure(res conformance.Result) {
	paint, level := t.failureLevel(res)
	t.b.WriteString("  " + paint(terminalSafe(res.ID)+" ("+level+")") + "\n")
	if res.Requirement != "" {
		t.b.WriteString("    Requirement: " + terminalSafe(res.Requirement) + "\n")
	}
	t.indented(res.Message, "    ")
	t.indented(res.Log, "      ")
	t.b.WriteString("\n")
}

// failureLevel is how a failure is painted and the words beside its ID:
// its level and whether it counts.
func (t *textWriter) failureLevel(res conformance.Result) (func(string) string, string) {
	paint := t.p.yellow
	if res.Counts() {
		paint = t.p.red
	}
	level := res.Level.String()
	switch note := failNote(res); {
	case note == "SHOULD, not required":
		level = note
	case note != "":
		level += ", " + note
	case res.Level == conformance.Should:
		level += ", required by --strict"
	}
	if res.Status == conformance.Flaky {
		level, paint = res.Level.String()+", flaky: passed when run again", t.p.yellow
	}
	return paint, level
}

// notes writes how many failures do not count and why, and the unexpected
// passes.
func (t *textWriter) notes(r *conformance.Report) {
	var n noteCounts
	for _, res := range r.Results {
		n.add(res)
	}
	t.notesOf(n)
}

// noteCounts are what the notes under the recap count.
type noteCounts struct {
	should, expected int
	unexpected       []string
}

func (n *noteCounts) add(res conformance.Result) {
	switch {
	case res.Status == conformance.Fail && res.ExpectedFailure:
		n.expected++
	case res.Status == conformance.Fail && !res.Counts() && res.Level == conformance.Should:
		n.should++
	case res.Status == conformance.Pass && res.ExpectedFailure:
		n.unexpected = append(n.unexpected, res.ID)
	}
}

func (t *textWriter) notesOf(n noteCounts) {
	should, expected, unexpected := n.should, n.expected, n.unexpected
	if should > 0 || expected > 0 {
		if should > 0 {
			verb := "are SHOULD requirements"
			if should == 1 {
				verb = "is a SHOULD requirement"
			}
			t.b.WriteString(t.p.yellow(plural.Count(should, "failure", "failures")+" "+verb+", not required without --strict") + "\n")
		}
		if expected > 0 {
			verb := "are"
			if expected == 1 {
				verb = "is"
			}
			t.b.WriteString(t.p.yellow(plural.Count(expected, "failure", "failures")+" "+verb+" expected (listed in --expect-fail)") + "\n")
		}
		t.b.WriteString("\n")
	}
	if len(unexpected) > 0 {
		t.b.WriteString(t.p.red("Unexpected passes (listed in --expect-fail):") + "\n")
		for _, id := range unexpected {
			t.b.WriteString("  " + t.p.red(terminalSafe(id)) + "\n")
		}
		t.b.WriteString("\n")
	}
}

// indented writes the lines of s, each after prefix; empty lines stay
// empty, and trailing newlines are dropped.
func (t *textWriter) indented(s, prefix string) {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return
	}
	for line := range strings.SplitSeq(s, "\n") {
		if line != "" {
			t.b.WriteString(prefix + terminalSafe(line))
		}
		t.b.WriteString("\n")
	}
}

// firstLine is the first line of s, made terminal-safe, with " …" when
// more lines follow.
func firstLine(s string) string {
	s = strings.TrimRight(s, "\n")
	line, rest, more := strings.Cut(s, "\n")
	line = terminalSafe(line)
	if more && strings.TrimSpace(rest) != "" {
		line += " …"
	}
	return line
}

// terminalSafe escapes what a terminal would interpret rather than show:
// C0 controls (ESC, CR, BS, newline: the result is one line) except tab,
// DEL, C1 controls, the bidirectional overrides, and invalid UTF-8.
func terminalSafe(s string) string {
	return escapeText(s, func(r rune) bool {
		switch {
		case r == '\t':
			return true
		case r < 0x20, r == 0x7F, r >= 0x80 && r < 0xA0:
			return false
		case r >= 0x202A && r <= 0x202E, r >= 0x2066 && r <= 0x2069:
			return false
		}
		return true
	})
}

// painter colours text, or leaves it alone when colour is off. Colours are
// enabled on each *color.Color, never through color.NoColor, which is
// global.
type painter struct {
	on                                  bool
	greenC, redC, yellowC, cyanC, boldC *color.Color
}

func newPainter(on bool) painter {
	p := painter{on: on}
	if !on {
		return p
	}
	mk := func(a color.Attribute) *color.Color {
		c := color.New(a)
		c.EnableColor()
		return c
	}
	p.greenC, p.redC, p.yellowC = mk(color.FgGreen), mk(color.FgRed), mk(color.FgYellow)
	p.cyanC, p.boldC = mk(color.FgCyan), mk(color.Bold)
	return p
}

func (p painter) paint(c *color.Color, s string) string {
	if !p.on {
		return s
	}
	return c.Sprint(s)
}

func (p painter) plain(s string) string  { return s }
func (p painter) green(s string) string  { return p.paint(p.greenC, s) }
func (p painter) red(s string) string    { return p.paint(p.redC, s) }
func (p painter) yellow(s string) string { return p.paint(p.yellowC, s) }
func (p painter) cyan(s string) string   { return p.paint(p.cyanC, s) }
func (p painter) bold(s string) string   { return p.paint(p.boldC, s) }

// ResultLine is one result as a line of live output, as the tree shows it:
// "✔ framing/split-size (12ms)", "✖ valid/ascii/whole: <the message's
// first line>".
func ResultLine(res conformance.Result) string {
	mark := map[conformance.Status]string{conformance.Pass: "✔", conformance.Fail: "✖", conformance.Skip: "-", conformance.Flaky: "~"}[res.Status]
	line := mark + " " + terminalSafe(res.ID) + " (" + formatDuration(res.Duration) + ")"
	switch {
	case res.Status == conformance.Fail && !res.Counts():
		line += " not required: " + firstLine(res.Message)
	case res.Status != conformance.Pass && res.Message != "":
		line += " " + firstLine(res.Message)
	}
	return line
}
