package proctest_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/internal/proctest"
)

// TestMain lets the test binary play the program under test: with
// PROCTEST_PROGRAM set it runs that program instead of the tests.
func TestMain(m *testing.M) {
	switch os.Getenv("PROCTEST_PROGRAM") {
	case "":
		os.Exit(m.Run())
	case "server":
		// Listens, says where, accepts one connection, says so on
		// standard error, then exits 3.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("listening on", ln.Addr())
		c, err := ln.Accept()
		if err == nil {
			c.Close()
		}
		fmt.Fprintln(os.Stderr, "accepted")
		os.Exit(3)
	case "chatty":
		fmt.Fprintln(os.Stderr, "cannot listen: no reason")
		fmt.Println("hello")
		os.Exit(1)
	}
	os.Exit(2)
}

func program(name string) *exec.Cmd {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), "PROCTEST_PROGRAM="+name)
	return cmd
}

// TestBuild builds a program and runs it; a package that does not exist
// fails the build (shown with fatalT).
func TestBuild(t *testing.T) {
	bin := proctest.Build(t, "./testdata/seven", "seven")
	err := exec.Command(bin).Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 7 {
		t.Errorf("built program: %v, want exit status 7", err)
	}
	f := &fatalT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		proctest.Build(f, "./testdata/nothing-here", "x")
	}()
	<-done
	if !strings.Contains(f.msg, "go build ./testdata/nothing-here") {
		t.Errorf("failure %q does not name the build", f.msg)
	}
}

func TestStart(t *testing.T) {
	p := proctest.Start(t, program("server"))
	c, err := net.Dial("tcp", p.Addr)
	if err != nil {
		t.Fatalf("dial %s: %v", p.Addr, err)
	}
	c.Close()
	if code := p.ExitCode(t); code != 3 {
		t.Errorf("exit code %d, want 3", code)
	}
	if code := p.ExitCode(t); code != 3 {
		t.Errorf("second ExitCode: %d, want 3", code)
	}
	if got := p.Stderr(); got != "accepted\n" {
		t.Errorf("Stderr() = %q, want %q", got, "accepted\n")
	}
}

// fatalT records the first Fatal of a test helper and ends its goroutine,
// as testing.T does, without failing the real test.
type fatalT struct {
	testing.TB
	msg string
}

func (f *fatalT) Helper() {}
func (f *fatalT) Fatal(args ...any) {
	f.msg = fmt.Sprint(args...)
	runtime.Goexit()
}
func (f *fatalT) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

// TestStartFails shows Start failing a test whose program does not say
// "listening on ADDR", with the program's line and standard error.
func TestStartFails(t *testing.T) {
	f := &fatalT{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		proctest.Start(f, program("chatty"))
	}()
	<-done
	for _, want := range []string{`said "hello"`, "cannot listen: no reason"} {
		if !strings.Contains(f.msg, want) {
			t.Errorf("failure %q does not say %q", f.msg, want)
		}
	}
}
