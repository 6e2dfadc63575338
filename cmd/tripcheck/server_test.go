package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/fakes"
)

// runCmd runs the command as main would and returns its exit code and
// output.
func runCmd(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

var summaryLine = regexp.MustCompile(`^(\d+) passed, (\d+) failed, (\d+) skipped in \S+$`)

// lastLine is the output's last line, which must be the summary.
func lastLine(t *testing.T, out string) []string {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	m := summaryLine.FindStringSubmatch(lines[len(lines)-1])
	if m == nil {
		t.Fatalf("last line %q is not the summary line\n%s", lines[len(lines)-1], out)
	}
	return m[1:]
}

// brokenServer starts a reference server that misbehaves as f says.
func brokenServer(t *testing.T, f fakes.Fault) string {
	t.Helper()
	srv, err := fakes.NewServer(fakes.WithFault(f))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr()
}

func TestServerEmbedded(t *testing.T) {
	dir := t.TempDir()
	js, ju := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	code, out, errOut := runCmd(t, "server", "--json", js, "--junit", ju, "--seed", "7")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if got := lastLine(t, out); got[1] != "0" || got[2] != "0" || got[0] == "0" {
		t.Errorf("summary %v", got)
	}
	if strings.Contains(out, "\x1b[") {
		t.Error("colour written to a non-terminal")
	}
	var rep struct {
		Target  string `json:"target"`
		Profile string `json:"profile"`
		Golden  string `json:"golden"`
		Results []struct {
			ID, Level, Status, Message string
			DurationMS                 *float64 `json:"duration_ms"`
		} `json:"results"`
		Summary struct{ Passed, Failed, Skipped int } `json:"summary"`
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Profile != "qt4" || rep.Golden != "book" || rep.Summary.Failed != 0 || len(rep.Results) < 60 ||
		rep.Summary.Passed != len(rep.Results) || rep.Results[0].DurationMS == nil || rep.Results[0].Level == "" {
		t.Errorf("JSON report: %+v", rep.Summary)
	}
	x, err := os.ReadFile(ju)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Tests int `xml:"tests,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(x, &suites); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, s := range suites.Suites {
		n += s.Tests
	}
	if n != len(rep.Results) {
		t.Errorf("JUnit has %d tests, JSON %d", n, len(rep.Results))
	}
}

func TestServerFailsBrokenTarget(t *testing.T) {
	addr := brokenServer(t, fakes.Fault{NoEnd: true})
	code, out, _ := runCmd(t, "server", addr, "--run", "reply/framing", "--run", "bad/size-0-refused")
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if got := lastLine(t, out); got[0] != "1" || got[1] != "1" {
		t.Errorf("summary %v, want 1 passed, 1 failed", got)
	}
	for _, want := range []string{"reply/framing", "Requirement:", "end marker"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestServerExpectFail(t *testing.T) {
	addr := brokenServer(t, fakes.Fault{NoEnd: true})
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	sel := []string{"--run", "reply/framing", "--run", "bad/size-0-refused"}
	known := write("known", "# known bugs\nreply/framing\n")
	if code, out, _ := runCmd(t, append([]string{"server", addr, "--expect-fail", known}, sel...)...); code != 0 {
		t.Errorf("an expected failure: exit %d, want 0\n%s", code, out)
	}
	stale := write("stale", "reply/framing\nbad/size-0-refused\n")
	if code, out, _ := runCmd(t, append([]string{"server", addr, "--expect-fail", stale}, sel...)...); code != 1 {
		t.Errorf("an unexpected pass: exit %d, want 1\n%s", code, out)
	}
	typo := write("typo", "reply/framming\n")
	if code, _, _ := runCmd(t, append([]string{"server", addr, "--expect-fail", typo}, sel...)...); code != 2 {
		t.Errorf("an unknown ID: exit %d, want 2", code)
	}
}

func TestServerUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"bad profile":     {"server", "--profile", "qt9"},
		"bad golden":      {"server", "--golden", "mine"},
		"unknown flag":    {"server", "--frobnicate"},
		"two addresses":   {"server", "a:1", "b:2"},
		"unreachable":     {"server", "127.0.0.1:1"},
		"bad scenarios":   {"server", "--scenarios", "/nonexistent"},
		"unknown command": {"frobnicate"},
	} {
		t.Run(name, func(t *testing.T) {
			if code, out, errOut := runCmd(t, args...); code != 2 {
				t.Errorf("exit %d, want 2\n%s%s", code, out, errOut)
			}
		})
	}
}

func TestServerListAndOwnScenarios(t *testing.T) {
	dir := t.TempDir()
	own := "# The server MUST answer a request from Köln to Bonn (PROTOCOL.md: Request).\nsend from=Köln to=Bonn\nreply -trips 3\n"
	if err := os.WriteFile(filepath.Join(dir, "mine_koeln.txtar"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCmd(t, "server", "--list", "--scenarios", dir)
	if code != 0 || !strings.Contains(out, "mine/koeln") || !strings.Contains(out, "framing/split-size") {
		t.Fatalf("--list: exit %d\n%s", code, out)
	}
	// Köln to Bonn: from.length()=4, to.length()=4, hour 9: the book's
	// reply has a known number of trips; the user's scenario asserts 3,
	// which fails or passes deterministically.
	code, out, _ = runCmd(t, "server", "--scenarios", dir, "--run", "mine")
	got := lastLine(t, out)
	if got[0]+got[1] != "10" && got[0]+got[1] != "01" {
		t.Fatalf("own scenario did not run: %v\n%s", got, out)
	}
	if (code == 0) != (got[1] == "0") {
		t.Errorf("exit %d with summary %v", code, got)
	}
}
