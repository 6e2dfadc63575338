package main

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
)

// Ctrl-C on a run: SIGINT to a tripcheck process in the middle of a step
// that would wait a minute. It must end that step at once, write the
// partial reports marked interrupted (text, JSON, JUnit) and exit 130,
// within a second plus one step timeout.
func TestServerInterrupt(t *testing.T) {
	bin := buildTripcheck(t)
	srv, err := fakes.NewServer(fakes.WithTimeout(2 * time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dir := t.TempDir()
	scen := filepath.Join(dir, "scenarios")
	if err := os.Mkdir(scen, 0o755); err != nil {
		t.Fatal(err)
	}
	// A step that waits a minute: the first bytes of a request, then
	// silence, which the reference server keeps while it waits for the
	// rest.
	script := "# The server MUST wait for the rest of a request (a test of Ctrl-C).\nsend -prefix 3\nnoreply -within 60s -accept silence\n"
	if err := os.WriteFile(filepath.Join(scen, "wait_minute.txtar"), []byte(script), 0o644); err != nil {
		t.Fatal(err)
	}
	js, ju := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	const step = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "server", srv.Addr(), "--profile", "qt4", "--scenarios", scen,
		"--run", "wait", "--run", "valid/ascii", "--timeout", step.String(), "-v", "--json", js, "--junit", ju)
	var stdout strings.Builder
	cmd.Stdout = &stdout
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// The live output says when the run is under way: wait/minute, a
	// time-dependent scenario, starts first, and is in its minute when
	// the three fast ones have finished.
	started := make(chan struct{})
	var errText strings.Builder
	go func() {
		sc := bufio.NewScanner(stderr)
		n := 0
		for sc.Scan() {
			errText.WriteString(sc.Text() + "\n")
			if strings.Contains(sc.Text(), " valid/ascii/") {
				if n++; n == 3 {
					close(started)
				}
			}
		}
		io.Copy(io.Discard, stderr)
	}()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatalf("no live result line within the test's deadline\n%s", errText.String())
	}
	sent := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	took := time.Since(sent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Fatalf("exit %v, want %d\n%s\n%s", err, exitInterrupted, stdout.String(), errText.String())
	}
	t.Logf("stopped %v after SIGINT", took.Round(time.Millisecond))
	if took > time.Second+step {
		t.Errorf("stopped %v after SIGINT, want under %v (a second plus one step)", took, time.Second+step)
	}
	out := strings.TrimRight(stdout.String(), "\n")
	last := out[strings.LastIndex(out, "\n")+1:]
	if !strings.HasSuffix(last, "(interrupted)") || !strings.Contains(out, "Interrupted: the report is partial") {
		t.Errorf("the text report is not marked interrupted; last line %q\n%s", last, out)
	}

	b, err := os.ReadFile(js)
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Interrupted bool `json:"interrupted"`
		Results     []struct {
			ID          string `json:"id"`
			Status      string `json:"status"`
			Interrupted bool   `json:"interrupted"`
		} `json:"results"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if !rep.Interrupted {
		t.Errorf("JSON report not marked interrupted")
	}
	for _, r := range rep.Results {
		switch {
		case r.ID == "wait/minute" && (!r.Interrupted || r.Status != "skip"):
			t.Errorf("wait/minute: status %s, interrupted %v; want skip, interrupted", r.Status, r.Interrupted)
		case strings.HasPrefix(r.ID, "valid/ascii") && r.Status != "pass":
			t.Errorf("%s: status %s, want pass (it ran before Ctrl-C)", r.ID, r.Status)
		}
	}

	x, err := os.ReadFile(ju)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Props []struct {
				Name  string `xml:"name,attr"`
				Value string `xml:"value,attr"`
			} `xml:"properties>property"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(x, &suites); err != nil {
		t.Fatal(err)
	}
	marked := false
	for _, p := range suites.Suites[0].Props {
		marked = marked || p.Name == "interrupted" && p.Value == "true"
	}
	if !marked {
		t.Errorf("JUnit report has no property interrupted=true\n%s", x)
	}
}

// The second Ctrl-C quits at once: the first cancels the run, the second
// exits 130 without waiting for it.
func TestSecondInterruptQuits(t *testing.T) {
	sig := make(chan os.Signal, 2)
	cancelled := make(chan struct{})
	exited := make(chan int, 1)
	go onSignals(sig, io.Discard, func() { close(cancelled) }, func(code int) { exited <- code })
	sig <- os.Interrupt
	<-cancelled
	select {
	case code := <-exited:
		t.Fatalf("exit %d after the first signal", code)
	default:
	}
	sig <- os.Interrupt
	if code := <-exited; code != exitInterrupted {
		t.Errorf("exit %d after the second signal, want %d", code, exitInterrupted)
	}
}
