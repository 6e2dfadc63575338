package main

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// buildTripcheck builds this command into a temporary directory: the
// client under test is its own `tripcheck query --format lines`.
func buildTripcheck(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tripcheck")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// queryTemplate runs `tripcheck query --format lines` under the exec
// contract. query takes the flag as --arrive, not D or A, so a shell maps
// {flag}: the values reach it as positional parameters, never as script
// text.
func queryTemplate(bin, profile string) string {
	return `sh -c 'exec "$0" query "$1" --from="$2" --to="$3" --date="$4" --time="$5" --profile=` + profile +
		` --format=lines --timeout=5s $( [ "$6" = A ] && echo --arrive )' '` + bin + `' {addr} {from} {to} {date} {time} {flag}`
}

func TestClientExecQuery(t *testing.T) {
	bin := buildTripcheck(t)
	dir := t.TempDir()
	js, ju := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	code, out, errOut := runCmd(t, "client", "--exec", queryTemplate(bin, "qt5"), "--json", js, "--junit", ju,
		"--seed", "7", "--strict", "--timeout", "10s")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if got := lastLine(t, out); got[1] != "0" || got[2] != "0" {
		t.Errorf("summary %v", got)
	}
	if !strings.Contains(out, "profile qt5 (detected from the client's first request), seed 7, strict") {
		t.Errorf("header does not say the profile detected and the seed:\n%s", out)
	}
	var rep struct {
		Suite   string `json:"suite"`
		Profile string `json:"profile"`
		Results []struct{ ID, Status string }
		Summary struct{ Passed, Failed, Skipped int } `json:"summary"`
	}
	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Suite != "client" || rep.Profile != "qt5" || rep.Summary.Passed != len(rep.Results) || len(rep.Results) < 30 {
		t.Errorf("JSON report: suite %q profile %q %+v of %d", rep.Suite, rep.Profile, rep.Summary, len(rep.Results))
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

// A client that speaks qt5 checked as qt4 fails, with the byte and the
// field that differ; an --expect-fail file turns that into exit 0.
func TestClientExecFails(t *testing.T) {
	bin := buildTripcheck(t)
	sel := []string{"--run", "request/default", "--run", "trips/seven/whole", "--profile", "qt4"}
	code, out, _ := runCmd(t, append([]string{"client", "--exec", queryTemplate(bin, "qt5")}, sel...)...)
	if code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if got := lastLine(t, out); got[0] != "0" || got[1] != "2" {
		t.Errorf("summary %v, want 0 passed, 2 failed", got)
	}
	for _, want := range []string{"Requirement:", "request[0].size", "differs at byte"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	known := filepath.Join(t.TempDir(), "known")
	if err := os.WriteFile(known, []byte("request/default\ntrips/seven/whole # qt5 client\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCmd(t, append([]string{"client", "--exec", queryTemplate(bin, "qt5"), "--expect-fail", known}, sel...)...); code != 0 {
		t.Errorf("expected failures: exit %d, want 0\n%s", code, out)
	}
}

func TestClientUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no client":           {"client"},
		"fixed listen bad":    {"client", "--exec", "x {host}", "--listen", "nonsense"},
		"unterminated quote":  {"client", "--exec", "myclient 'x"},
		"unknown placeholder": {"client", "--exec", "myclient {hots}"},
		"no such program":     {"client", "--exec", "/nonexistent/client {host}"},
		"profile auto":        {"client", "--exec", "sh -c true {profile}"},
		"bad profile":         {"client", "--exec", "sh", "--profile", "qt9"},
		"bad listen":          {"client", "--listen", "nonsense"},
		"an argument":         {"client", "extra"},
	} {
		t.Run(name, func(t *testing.T) {
			if code, out, errOut := runCmd(t, args...); code != 2 {
				t.Errorf("exit %d, want 2\n%s%s", code, out, errOut)
			}
		})
	}
	code, out, _ := runCmd(t, "client", "--list")
	if code != 0 || !strings.Contains(out, "framing/split-every-offset") || !strings.Contains(out, "stall/before-reply  ") {
		t.Errorf("--list: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "client", "--commands")
	if code != 0 || !strings.Contains(out, "serve [-trips N]") {
		t.Errorf("--commands: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "client", "--help")
	if code != 0 || !strings.Contains(out, "Exit status 89") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}

// Listen mode on the command line: the terminal says which scenario waits
// and, after each reply, what a correct client shows; a client that makes
// the default search each time it is asked gets the verdicts of the wire
// checks of that search, and the request checks of other searches skip.
func TestClientListenCommand(t *testing.T) {
	errs := newLineSink()
	var stdout strings.Builder
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"client", "--listen", "127.0.0.1:0", "--run", "request", "--run", "reply", "--wait", "10s", "--seed", "3"}, &stdout, errs)
	}()
	addr := ""
	prompts, told := 0, 0
	for {
		select {
		case line := <-errs.lines:
			if a, ok := strings.CutPrefix(line, "tripcheck listens at "); ok {
				addr, _, _ = strings.Cut(a, ";")
				continue
			}
			if strings.HasPrefix(line, "scenario ") && strings.Contains(line, "your client should show") {
				told++
				continue
			}
			if !strings.HasPrefix(line, "scenario ") || !strings.Contains(line, " in your client now") {
				continue
			}
			prompts++
			req := conformance.DefaultRequest()
			fakes.Query(context.Background(), addr, &req, wire.Qt4, 2*time.Second)
		case code := <-done:
			// The last feedback lines may still wait in the channel:
			// select takes done and lines in any order.
			for pending := true; pending; {
				select {
				case line := <-errs.lines:
					if strings.HasPrefix(line, "scenario ") && strings.Contains(line, "your client should show") {
						told++
					}
				default:
					pending = false
				}
			}
			out := stdout.String()
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, out, errs.String())
			}
			if got := lastLine(t, out); got[0] != "2" || got[1] != "0" {
				t.Errorf("summary %v, want 2 passed (request/default, reply/closes-after-end)\n%s", got, out)
			}
			if !strings.Contains(out, "the search made is not the one asked") {
				t.Errorf("no request check skipped for another search\n%s", out)
			}
			if prompts != 12 || told != 12 {
				t.Errorf("%d prompts and %d feedback lines, want 12 (6 request, 6 reply)", prompts, told)
			}
			return
		case <-time.After(60 * time.Second):
			t.Fatalf("listen mode did not finish; stderr:\n%s", errs.String())
		}
	}
}

// A user's own scenarios run beside the built-in ones, with the client
// suite's commands.
func TestClientOwnScenarios(t *testing.T) {
	bin := buildTripcheck(t)
	dir := t.TempDir()
	own := "# The client MUST show a regional train from Köln to Bonn (PROTOCOL.md: Reply).\n" +
		"search from=Köln to=Bonn\nrequest\nserve -trips 2 -variant fragmented 0.train=RE 1.train='S 12'\noutput -ok\n"
	if err := os.WriteFile(filepath.Join(dir, "mine_koeln.txtar"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCmd(t, "client", "--list", "--scenarios", dir)
	if code != 0 || !strings.Contains(out, "mine/koeln") || !strings.Contains(out, "trips/seven/whole") {
		t.Fatalf("--list: exit %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "client", "--exec", queryTemplate(bin, "qt4"), "--profile", "qt4", "--scenarios", dir, "--run", "mine", "-v")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if got := lastLine(t, out); got[0] != "1" {
		t.Errorf("summary %v\n%s", got, out)
	}
	if !strings.Contains(out, "S 12") {
		t.Errorf("-v does not show the wire log:\n%s", out)
	}
}
