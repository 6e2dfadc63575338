package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/conformance/report"
	"github.com/tripcheck/tripcheck/fakes"
)

// closedAddr is a loopback address where nothing listens: a port the
// kernel gave out and that is closed again.
func closedAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// --version and `tripcheck version` print the same line.
func TestVersionFlag(t *testing.T) {
	c1, out1, _ := runCmd(t, "--version")
	c2, out2, _ := runCmd(t, "version")
	if c1 != 0 || c2 != 0 || out1 != out2 || !strings.HasPrefix(out1, "tripcheck ") || strings.Count(out1, "\n") != 1 {
		t.Errorf("--version: exit %d %q; version: exit %d %q", c1, out1, c2, out2)
	}
}

func TestFormatVersion(t *testing.T) {
	for name, tc := range map[string]struct {
		bi   debug.BuildInfo
		want string
	}{
		"devel": {debug.BuildInfo{}, "tripcheck (devel)"},
		"tag":   {debug.BuildInfo{Main: debug.Module{Version: "v1.2.3"}}, "tripcheck v1.2.3"},
		"commit": {debug.BuildInfo{Main: debug.Module{Version: "(devel)"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "false"}}},
			"tripcheck (devel) (commit 0123456789ab)"},
		"modified": {debug.BuildInfo{Main: debug.Module{Version: "v0.1.0"}, Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "0123456789abcdef0123"}, {Key: "vcs.modified", Value: "true"}}},
			"tripcheck v0.1.0 (commit 0123456789ab, modified)"},
	} {
		if got := formatVersion(&tc.bi); got != tc.want {
			t.Errorf("%s: %q, want %q", name, got, tc.want)
		}
	}
}

func TestWithDefaultPort(t *testing.T) {
	for in, want := range map[string]string{
		"localhost":      "localhost:6178",
		"127.0.0.1":      "127.0.0.1:6178",
		"127.0.0.1:7000": "127.0.0.1:7000",
		"::1":            "[::1]:6178",
		"[::1]":          "[::1]:6178",
		"[::1]:7000":     "[::1]:7000",
		":7000":          ":7000",
	} {
		if got := withDefaultPort(in); got != want {
			t.Errorf("withDefaultPort(%q) = %q, want %q", in, got, want)
		}
	}
}

// An address without a port means 6178 for the suite too, where before it
// was refused as "missing port". Whether something listens on 6178 here is
// not this test's business: either way the run names 127.0.0.1:6178.
func TestServerDefaultPort(t *testing.T) {
	_, out, errs := runCmd(t, "server", "127.0.0.1", "--run", "reply/framing", "--timeout", "300ms")
	if strings.Contains(errs, "missing port") || !strings.Contains(out+errs, "127.0.0.1:6178") {
		t.Errorf("want a run against 127.0.0.1:6178\n%s%s", out, errs)
	}
}

// --timeout zero or negative is refused on every command that has one.
func TestTimeoutRefused(t *testing.T) {
	addr := closedAddr(t)
	for name, args := range map[string][]string{
		"server":  {"server", addr},
		"client":  {"client", "--exec", "true"},
		"query":   {"query", addr, "--from", "a", "--to", "b"},
		"load":    {"load", addr},
		"fuzz":    {"fuzz", addr},
		"serve":   {"serve", "--listen", "127.0.0.1:0"},
		"replay":  {"replay", "testdata/none.pcap", "--server", addr},
		"proxy":   {"proxy", "--listen", "127.0.0.1:0", "--upstream", addr},
		"replay2": {"replay", "testdata/none.pcap", "--server", addr},
	} {
		for _, tv := range []string{"0", "0s", "-1s"} {
			code, _, errs := runCmd(t, append(args, "--timeout", tv)...)
			if code != exitUsage || !strings.Contains(errs, "--timeout") || !strings.Contains(errs, "want a positive duration") {
				t.Errorf("%s --timeout %s: exit %d, stderr %q; want 2", name, tv, code, errs)
			}
		}
	}
}

// load, query and fuzz stop at once with exit 2 when nothing listens.
func TestNothingListens(t *testing.T) {
	addr := closedAddr(t)
	for name, args := range map[string][]string{
		"load":  {"load", addr, "-n", "100000"},
		"query": {"query", addr, "--from", "Berlin", "--to", "München"},
		"fuzz":  {"fuzz", addr, "--cases", "1000"},
	} {
		code, out, errs := runCmd(t, args...)
		want := "tripcheck: nothing listens at " + addr + " (connection refused)\n"
		if code != exitUsage || !strings.HasSuffix(errs, want) {
			t.Errorf("%s: exit %d\nstdout %q\nstderr %q; want exit 2 and %q", name, code, out, errs, want)
		}
		if name == "load" && strings.Contains(out, "requests") {
			t.Errorf("load ran against nothing:\n%s", out)
		}
	}
}

// --json - writes the JSON report on stdout, and the text report, summary
// line last, on stderr; --json FILE still writes a file.
func TestJSONStdout(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	code, out, errs := runCmd(t, "server", "--run", "framing/", "--json", "-", "--seed", "1")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errs)
	}
	var rep struct {
		Suite   string
		Results []json.RawMessage
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Results) == 0 {
		t.Fatalf("stdout is not the JSON report (%v):\n%s", err, out)
	}
	lastLine(t, errs)
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Error(`--json - wrote a file named "-"`)
	}

	// A failing run (a server that leaves out the end marker): exit 1, the
	// summary still the last line of stderr, nothing after it.
	broken, err := fakes.NewServer(fakes.WithFault(fakes.Fault{NoEnd: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer broken.Close()
	code, out, errs = runCmd(t, "server", broken.Addr(), "--run", "reply/", "--json", "-", "--seed", "1", "--keep-going")
	if code != 1 || !json.Valid([]byte(out)) {
		t.Fatalf("broken server: exit %d, want 1 and JSON on stdout\n%s", code, errs)
	}
	lastLine(t, errs)
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Error(`--json - wrote a file named "-"`)
	}

	code, out, errs = runCmd(t, "server", "--run", "framing/", "--junit", "-", "--seed", "1")
	if code != 0 || !strings.HasPrefix(out, "<?xml") || strings.Contains(out, "passed,") {
		t.Errorf("--junit -: exit %d\nstdout %.200s", code, out)
	}
	lastLine(t, errs)

	if code, _, _ := runCmd(t, "server", "--json", "-", "--junit", "-"); code != exitUsage {
		t.Errorf("--json - --junit -: exit %d, want 2", code)
	}

	code, out, _ = runCmd(t, "server", "--run", "framing/", "--json", "r.json", "--seed", "1")
	if b, err := os.ReadFile("r.json"); code != 0 || err != nil || !json.Valid(b) {
		t.Errorf("--json r.json: exit %d, %v", code, err)
	}
	lastLine(t, out)
}

// pcap decode --json is a switch whose bare form means stdout, and
// --json=FILE writes the JSON Lines to FILE and the text to stdout.
func TestDecodeJSONFlag(t *testing.T) {
	capFile := captureWithSessions(t)
	code, bare, errs := runCmd(t, "pcap", "decode", "--json", capFile)
	if code != 0 || bare == "" {
		t.Fatalf("--json FILE.pcap: exit %d\n%s%s", code, bare, errs)
	}
	for _, line := range strings.Split(strings.TrimSpace(bare), "\n") {
		if !json.Valid([]byte(line)) {
			t.Fatalf("bare --json: not JSON Lines: %q", line)
		}
	}
	code, dash, _ := runCmd(t, "pcap", "decode", "--json=-", capFile)
	if code != 0 || dash != bare {
		t.Errorf("--json=-: exit %d, differs from bare --json", code)
	}
	_, text, _ := runCmd(t, "pcap", "decode", capFile)
	out := filepath.Join(t.TempDir(), "s.jsonl")
	code, got, errs := runCmd(t, "pcap", "decode", "--json="+out, capFile)
	b, err := os.ReadFile(out)
	if code != 0 || err != nil || string(b) != bare || got != text {
		t.Errorf("--json=FILE: exit %d, %v; file equal to stdout JSON: %v, stdout the text: %v\n%s", code, err, string(b) == bare, got == text, errs)
	}
}

// captureWithSessions is a capture of the repository with Trip sessions on
// port 6178.
func captureWithSessions(t *testing.T) string {
	t.Helper()
	matches, _ := filepath.Glob("../../testdata/captures/*.pcap*")
	for _, m := range matches {
		if code, out, _ := runCmd(t, "pcap", "decode", m); code == 0 && strings.Contains(out, "session") {
			return m
		}
	}
	t.Skip("no capture with a session on port 6178 in testdata/captures")
	return ""
}

// --color always colours a report that is not on a terminal; never and auto
// (not a terminal) do not; a bad value is refused.
func TestColorFlag(t *testing.T) {
	for mode, want := range map[string]bool{"always": true, "never": false, "auto": false} {
		code, out, errs := runCmd(t, "server", "--run", "reply/framing", "--seed", "1", "--color", mode)
		if code != 0 {
			t.Fatalf("--color %s: exit %d\n%s", mode, code, errs)
		}
		if got := strings.Contains(out, "\x1b["); got != want {
			t.Errorf("--color %s: colour %v, want %v", mode, got, want)
		}
	}
	if code, _, errs := runCmd(t, "server", "--color", "sometimes"); code != exitUsage || !strings.Contains(errs, "want auto, always or never") {
		t.Errorf("--color sometimes: exit %d %q", code, errs)
	}
}

// complete runs cobra's hidden __complete command and returns the values.
func complete(t *testing.T, args ...string) []string {
	t.Helper()
	code, out, errs := runCmd(t, append([]string{"__complete"}, args...)...)
	if code != 0 {
		t.Fatalf("__complete %v: exit %d\n%s", args, code, errs)
	}
	var vals []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, ":") || strings.HasPrefix(line, "Completion ended") {
			continue
		}
		v, _, _ := strings.Cut(line, "\t")
		vals = append(vals, v)
	}
	return vals
}

func TestCompleteFlagValues(t *testing.T) {
	for name, tc := range map[string]struct {
		args []string
		want []string
	}{
		"server profile": {[]string{"server", "--profile", ""}, []string{"qt4", "qt5", "auto"}},
		"query profile":  {[]string{"query", "x", "--profile", ""}, []string{"qt4", "qt5"}},
		"query format":   {[]string{"query", "x", "--format", ""}, []string{"table", "lines", "json"}},
		"color":          {[]string{"load", "--color", ""}, []string{"auto", "always", "never"}},
		"replay shape":   {[]string{"replay", "f", "--shape", ""}, []string{"bytes-1", "random-seed-42"}},
		"proxy shape":    {[]string{"proxy", "--shape-down", ""}, []string{"truncate-10+then-reset"}},
		"server run":     {[]string{"server", "--run", ""}, []string{"framing/", "reply/framing"}},
		"server skip":    {[]string{"server", "--skip", ""}, []string{"reply/framing"}},
	} {
		got := complete(t, tc.args...)
		for _, w := range tc.want {
			if !slices.Contains(got, w) {
				t.Errorf("%s: %v lacks %q", name, got, w)
			}
		}
	}
	if got := complete(t, "query", "x", "--profile", ""); slices.Contains(got, "auto") {
		t.Errorf("query --profile offers auto, which query refuses: %v", got)
	}
	ids := complete(t, "client", "--run", "")
	if len(ids) < 5 || slices.Equal(ids, complete(t, "server", "--run", "")) {
		t.Errorf("client --run: %d values, the server's: %v", len(ids), ids)
	}
}

// The README uses one spelling of shapes too.
func TestReadmeShapeSpelling(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	alias := regexp.MustCompile(`\b(bytes|every|at|split-at|random|delay|truncate|then)=[0-9a-z]`)
	for i, line := range strings.Split(string(b), "\n") {
		if m := alias.FindString(line); m != "" {
			t.Errorf("README.md:%d: a shape spelled %q, not as shape.String writes it", i+1, m)
		}
	}
}

// The help texts use one spelling of shapes: the form shape.String writes.
func TestHelpShapeSpelling(t *testing.T) {
	alias := regexp.MustCompile(`\b(bytes|every|at|split-at|random|delay|truncate|then)=[0-9a-z]`)
	var out strings.Builder
	walk(newRoot(&env{stdout: &out, stderr: &out}), func(c *cobra.Command) {
		out.Reset()
		c.SetOut(&out)
		c.Help()
		if m := alias.FindString(out.String()); m != "" {
			t.Errorf("%s --help spells a shape %q", c.CommandPath(), m)
		}
	})
}

// pcap check streams its results: with --json - the JSON goes to stdout and
// the streamed text, summary last, to stderr.
func TestPcapCheckJSONStdout(t *testing.T) {
	capFile := captureWithSessions(t)
	for _, args := range [][]string{{"--json", "-"}, {"--junit", "-"}, {"--aggregate", "--json", "-"}} {
		code, out, errs := runCmd(t, append([]string{"pcap", "check", capFile}, args...)...)
		if code > 1 || out == "" || regexp.MustCompile(`(?m)^\d+ passed, \d+ failed`).MatchString(out) {
			t.Errorf("%v: exit %d, stdout %.300q", args, code, out)
		}
		if args[len(args)-2] == "--json" && !json.Valid([]byte(out)) {
			t.Errorf("%v: stdout is not JSON: %.300q", args, out)
		}
		lastLine(t, errs)
	}
}

// report.Write's "-" is stdout, never a file named "-"; any other path is a
// file; a failing write to stdout says so.
func TestReportWriteStdout(t *testing.T) {
	t.Chdir(t.TempDir())
	var out bytes.Buffer
	hello := func(w io.Writer) error { _, err := io.WriteString(w, "hello\n"); return err }
	if err := report.Write(report.Stdout, &out, hello); err != nil || out.String() != "hello\n" {
		t.Fatalf("Write(-): %v, stdout %q", err, out.String())
	}
	if _, err := os.Stat("-"); err == nil {
		t.Error(`Write(-) made a file named "-"`)
	}
	out.Reset()
	if err := report.Write("r.txt", &out, hello); err != nil || out.Len() != 0 {
		t.Fatalf("Write(r.txt): %v, stdout %q", err, out.String())
	}
	if b, err := os.ReadFile("r.txt"); err != nil || string(b) != "hello\n" {
		t.Errorf("r.txt: %q, %v", b, err)
	}
	if err := report.Write(report.Stdout, &out, func(io.Writer) error { return errors.New("boom") }); err == nil || !strings.Contains(err.Error(), "stdout") {
		t.Errorf("a failing write: %v, want an error naming stdout", err)
	}
}
