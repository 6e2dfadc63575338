package main

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/internal/proctest"
	"github.com/tripcheck/tripcheck/livefuzz"
	"github.com/tripcheck/tripcheck/wire"
)

// buildFragileServer builds testdata/fragileserver for one test.
func buildFragileServer(t *testing.T) string {
	t.Helper()
	return proctest.Build(t, "../../testdata/fragileserver", "fragileserver")
}

// startFragileServer starts testdata/fragileserver, the book's server,
// which exits with code 3 on a request whose "to" length is odd and above
// 100 (or hangs, with -hang), and waits for its "listening on" line.
func startFragileServer(t *testing.T, bin string, args ...string) *proctest.Proc {
	t.Helper()
	return proctest.Start(t, exec.Command(bin, args...))
}

func fuzzLastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

// The reference server survives; the seed is printed first and the summary
// comes last.
func TestFuzzReferenceServer(t *testing.T) {
	srv, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, out, errs := tripcheck(context.Background(), "fuzz", srv.Addr(), "--cases", "300", "--seed", "11", "--batch", "50")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if !strings.HasPrefix(out, "fuzz: seed 11: 300 cases against "+srv.Addr()+" in qt4, a probe every 50 cases\n") {
		t.Errorf("first line: %q", out)
	}
	if l := fuzzLastLine(out); !strings.HasPrefix(l, "fuzz: 300 cases, 7 probes, ") || !strings.HasSuffix(l, "seed 11: the server survived every case") {
		t.Errorf("last line: %q", l)
	}
	// Without --seed, a seed from the clock, printed.
	code, out, _ = tripcheck(context.Background(), "fuzz", srv.Addr(), "--cases", "5", "--profile", "qt4")
	if code != 0 || !strings.HasPrefix(out, "fuzz: seed ") || strings.HasPrefix(out, "fuzz: seed 0:") {
		t.Errorf("exit %d, output %q", code, out)
	}
}

// The fragile server's crash is found, its reproducer saved; sent again
// to the restarted server it crashes it again (exit 1), sent to the
// reference server it does not (exit 0). The same seed finds the same case.
func TestFuzzFragileServerRepro(t *testing.T) {
	bin := buildFragileServer(t)
	ref, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer ref.Close()
	var first []byte
	for run := 0; run < 2; run++ {
		srv := startFragileServer(t, bin)
		dir := t.TempDir()
		code, out, errs := tripcheck(context.Background(), "fuzz", srv.Addr, "--seed", "2", "--cases", "300", "--batch", "20", "--out", dir)
		if code != 1 || !strings.Contains(out, ": crash\n") || !strings.Contains(fuzzLastLine(out), "crash at case 0") {
			t.Fatalf("exit %d\n%s%s", code, out, errs)
		}
		if c := srv.ExitCode(t); c != 3 {
			t.Fatalf("fragile server exit %d, want 3 (its bug)", c)
		}
		file := filepath.Join(dir, "tripcheck-fuzz-2-0.repro")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		// The same seed, the same case, the same bytes.
		b = b[:bytes.Index(b, []byte("\ndetail "))]
		if run == 0 {
			first = b
		} else if !bytes.Equal(first, b) {
			t.Fatalf("another reproducer with the same seed:\n%s\n%s", first, b)
		}
		if run == 1 {
			continue
		}
		again := startFragileServer(t, bin)
		code, out, errs = tripcheck(context.Background(), "fuzz", "--repro", file, again.Addr)
		if code != 1 || fuzzLastLine(out) != "repro: crash: case 0 of seed 2 crashed the server: it no longer accepts connections" {
			t.Fatalf("repro on the restarted server: exit %d\n%s%s", code, out, errs)
		}
		if c := again.ExitCode(t); c != 3 {
			t.Fatalf("restarted fragile server exit %d, want 3", c)
		}
		code, out, errs = tripcheck(context.Background(), "fuzz", "--repro", file, ref.Addr())
		if code != 0 || !strings.HasPrefix(fuzzLastLine(out), "repro: survived") {
			t.Fatalf("repro on the reference server: exit %d\n%s%s", code, out, errs)
		}
	}
}

// A server that stops answering gets the verdict hang.
func TestFuzzFragileServerHang(t *testing.T) {
	srv := startFragileServer(t, buildFragileServer(t), "-hang")
	dir := t.TempDir()
	code, out, errs := tripcheck(context.Background(), "fuzz", srv.Addr, "--seed", "2", "--cases", "300", "--timeout", "300ms", "--out", dir)
	if code != 1 || !strings.Contains(fuzzLastLine(out), "hang at case 0") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	code, out, _ = tripcheck(context.Background(), "fuzz", "--repro", filepath.Join(dir, "tripcheck-fuzz-2-0.repro"), srv.Addr, "--timeout", "300ms")
	if code != 2 || !strings.Contains(out, "recorded verdict hang") {
		// The server hangs still: it cannot answer the probe before the case.
		t.Fatalf("repro on the hung server: exit %d\n%s", code, out)
	}
}

func TestFuzzUsage(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	notRepro := filepath.Join(t.TempDir(), "x.repro")
	os.WriteFile(notRepro, []byte("hello\n"), 0o644)
	var repro bytes.Buffer
	livefuzz.WriteRepro(&repro, &livefuzz.Failure{Case: livefuzz.NewCase(1, 0, wire.Qt4), Verdict: livefuzz.Crash})
	goodRepro := filepath.Join(t.TempDir(), "good.repro")
	os.WriteFile(goodRepro, repro.Bytes(), 0o644)
	for name, args := range map[string][]string{
		"no address":     {"fuzz"},
		"two addresses":  {"fuzz", "a:1", "b:2"},
		"bad profile":    {"fuzz", closed, "--profile", "qt3"},
		"no cases":       {"fuzz", closed, "--cases", "0"},
		"bad batch":      {"fuzz", closed, "--batch", "-1"},
		"bad timeout":    {"fuzz", closed, "--timeout", "0s"},
		"bad seed":       {"fuzz", closed, "--seed", "x"},
		"not serving":    {"fuzz", closed, "--cases", "5", "--timeout", "500ms"},
		"no repro file":  {"fuzz", "--repro", filepath.Join(t.TempDir(), "missing"), closed},
		"not a repro":    {"fuzz", "--repro", notRepro, closed},
		"repro, no serv": {"fuzz", "--repro", goodRepro, closed, "--timeout", "500ms"},
	} {
		if code, out, errs := tripcheck(context.Background(), args...); code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s%s", name, code, out, errs)
		}
	}
}

// brokenClientTemplate is the exec template of brokenclient in a mode.
func brokenClientTemplate(bin, mode string) string {
	return "'" + bin + "' -mode " + mode + " -profile {profile} -timeout 4s -host {host} -port {port} {from} {to} {date} {time} {flag}"
}

// buildBrokenClientBin builds conformance/testdata/brokenclient for one
// test.
func buildBrokenClientBin(t *testing.T) string {
	t.Helper()
	return proctest.Build(t, "../../conformance/testdata/brokenclient", "brokenclient")
}

// A client that takes EOF for a complete answer is found; its reproducer
// fails it again (exit 1) and passes the reference client (exit 0); the
// reference client survives a run.
func TestFuzzClientExec(t *testing.T) {
	bin := buildBrokenClientBin(t)
	dir := t.TempDir()
	broken := brokenClientTemplate(bin, "eof-is-success")
	code, out, errs := tripcheck(context.Background(), "fuzz", "--exec", broken, "--seed", "4", "--cases", "100", "--parallel", "2", "--timeout", "10s", "--out", dir)
	if code != 1 || !strings.HasPrefix(out, "fuzz: seed 4: 100 replies to the client ") || !strings.Contains(fuzzLastLine(out), ": wrong at case ") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "tripcheck-fuzz-client-4-*.repro"))
	if len(files) != 1 || !strings.Contains(out, "replay: tripcheck fuzz --exec ") {
		t.Fatalf("reproducers %v\n%s", files, out)
	}
	code, out, errs = tripcheck(context.Background(), "fuzz", "--exec", broken, "--repro", files[0], "--timeout", "10s")
	if code != 1 || !strings.Contains(out, "\nrepro: wrong: ") {
		t.Fatalf("repro on the broken client: exit %d\n%s%s", code, out, errs)
	}
	ok := brokenClientTemplate(bin, "ok")
	code, out, errs = tripcheck(context.Background(), "fuzz", "--exec", ok, "--repro", files[0], "--timeout", "10s")
	if code != 0 || !strings.HasPrefix(fuzzLastLine(out), "repro: survived") {
		t.Fatalf("repro on the reference client: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs = tripcheck(context.Background(), "fuzz", "--exec", ok, "--seed", "4", "--cases", "40", "--parallel", "2", "--profile", "qt5", "--timeout", "10s")
	if code != 0 || !strings.HasSuffix(fuzzLastLine(out), "seed 4: the client survived every case") {
		t.Fatalf("reference client: exit %d\n%s%s", code, out, errs)
	}
}

func TestFuzzClientUsage(t *testing.T) {
	var repro bytes.Buffer
	livefuzz.WriteRepro(&repro, &livefuzz.Failure{Case: livefuzz.NewCase(1, 0, wire.Qt4), Verdict: livefuzz.Crash})
	serverRepro := filepath.Join(t.TempDir(), "server.repro")
	os.WriteFile(serverRepro, repro.Bytes(), 0o644)
	for name, args := range map[string][]string{
		"exec and listen":     {"fuzz", "--exec", "true", "--listen", "127.0.0.1:0"},
		"exec and an address": {"fuzz", "--exec", "true", "127.0.0.1:1"},
		"bad template":        {"fuzz", "--exec", "client {nope}"},
		"bad parallel":        {"fuzz", "--exec", "true", "--parallel", "0"},
		"no such client":      {"fuzz", "--exec", "/nonexistent/client {port}", "--cases", "1"},
		"listen, bad address": {"fuzz", "--listen", "256.0.0.1:x"},
		"listen, repro":       {"fuzz", "--listen", "127.0.0.1:0", "--repro", serverRepro},
		"server's repro":      {"fuzz", "--exec", "true", "--repro", serverRepro},
	} {
		if code, out, errs := tripcheck(context.Background(), args...); code != 2 {
			t.Errorf("%s: exit %d, want 2\n%s%s", name, code, out, errs)
		}
	}
}
