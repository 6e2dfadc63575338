// Package proctest starts a program under test that serves on an address
// it chooses, as the repo's test servers do: they listen on 127.0.0.1:0
// and print "listening on ADDR" as their first line of output. Start waits
// for that line, never sleeps, and stops the program when the test ends.
package proctest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// Ready is the longest Start waits for the "listening on" line, and
// ExitCode for the program to exit: a deadline for a loaded machine, not
// a pause.
const Ready = 10 * time.Second

// stderrCap is the most bytes of the program's standard error kept for
// failure messages.
const stderrCap = 64 << 10

// Build builds the main package in dir (a path as go build takes it,
// relative to the test's package) into a temporary directory of t as name,
// and returns the binary's path (with ".exe" on Windows). It fails t with
// the compiler's output if the build fails. -buildvcs=false: stamping asks
// git about the tree, which others may be changing.
func Build(t testing.TB, dir, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	if runtime.GOOS == "windows" {
		bin += ".exe"
	}
	if out, err := exec.Command("go", "build", "-buildvcs=false", "-o", bin, dir).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", dir, err, out)
	}
	return bin
}

// Proc is a program started by Start.
type Proc struct {
	// Addr is the address the program said it listens on.
	Addr string
	// Cmd is the running command.
	Cmd *exec.Cmd

	done   chan error // the result of Cmd.Wait, once
	stderr *capped
}

// Start starts cmd, whose standard output must not be set, and waits for
// its first line, "listening on ADDR". It fails t if the program says
// anything else, ends first, or says nothing within Ready; the rest of its
// output is read and dropped. Unless cmd.Stderr is set, the first 64 KiB
// of its standard error are kept for the failure messages and Stderr.
// When the test ends the program is killed and waited for; a cleanup the
// test registers after Start runs before that, so it may stop the program
// its own way (a signal, then ExitCode).
func Start(t testing.TB, cmd *exec.Cmd) *Proc {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &Proc{Cmd: cmd, done: make(chan error, 1)}
	if cmd.Stderr == nil {
		p.stderr = &capped{max: stderrCap}
		cmd.Stderr = p.stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		sc.Scan()
		line <- sc.Text()
		io.Copy(io.Discard, out)
		p.done <- cmd.Wait()
	}()
	t.Cleanup(p.stop)
	name := cmd.String()
	select {
	case l := <-line:
		addr, ok := strings.CutPrefix(l, "listening on ")
		if !ok || addr == "" {
			p.stop()
			t.Fatalf("%s said %q, want \"listening on ADDR\"%s", name, l, p.stderrNote())
		}
		p.Addr = addr
	case <-time.After(Ready):
		p.stop()
		t.Fatalf("%s did not say where it listens in %v%s", name, Ready, p.stderrNote())
	}
	return p
}

// ExitCode waits up to Ready for the program to exit and returns its exit
// code: 0 for a clean exit, -1 if a signal ended it. It fails t if the
// program is still running.
func (p *Proc) ExitCode(t testing.TB) int {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err // for the cleanup, and a second call
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		return 0
	case <-time.After(Ready):
		t.Fatalf("%s has not exited in %v%s", p.Cmd, Ready, p.stderrNote())
		return -1
	}
}

// Stderr returns the standard error kept so far: the first 64 KiB, or ""
// if the test set cmd.Stderr itself.
func (p *Proc) Stderr() string {
	if p.stderr == nil {
		return ""
	}
	return p.stderr.String()
}

// stop kills the program and waits for it, and so for its standard error
// to be copied.
func (p *Proc) stop() {
	p.Cmd.Process.Kill()
	err := <-p.done
	p.done <- err
}

func (p *Proc) stderrNote() string {
	if s := p.Stderr(); s != "" {
		return fmt.Sprintf(" (stderr: %s)", s)
	}
	return ""
}

// capped is a writer that keeps the first max bytes written to it.
type capped struct {
	mu  sync.Mutex
	b   []byte
	max int
}

func (c *capped) Write(b []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.b = append(c.b, b[:min(len(b), c.max-len(c.b))]...)
	return len(b), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.b)
}
