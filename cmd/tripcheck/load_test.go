package main

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/fakes"
)

func TestLoadCommand(t *testing.T) {
	srv, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, out, errs := tripcheck(context.Background(), "load", srv.Addr(), "-c", "4", "-n", "200", "--slow", "5")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	for _, re := range []string{
		`(?m)^requests  200 in \S+: \d+ requests/s$`,
		`(?m)^answers   200 \(600 trips\)$`,
		`(?m)^latency   p50 [\d.]+ms  p90 [\d.]+ms  p99 [\d.]+ms  max [\d.]+ms$`,
		`(?m)^errors    none$`,
		`(?m)^slow      5 held, 0 closed by the server during the run, 0 could not be opened$`,
	} {
		if !regexp.MustCompile(re).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", re, out)
		}
	}

	code, out, _ = tripcheck(context.Background(), "load", srv.Addr(), "-c", "2", "-d", "100ms")
	if code != 0 || !strings.Contains(out, "errors    none") {
		t.Errorf("-d: exit %d\n%s", code, out)
	}
}

// Failed requests make the exit status 1 and are counted by kind.
func TestLoadCommandErrors(t *testing.T) {
	srv, err := fakes.NewServer(fakes.WithFault(fakes.Fault{NoEnd: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, out, _ := tripcheck(context.Background(), "load", srv.Addr(), "-c", "2", "-n", "10")
	if code != 1 || !strings.Contains(out, "errors    closed-by-server 10\n") || !strings.Contains(out, "  closed-by-server: fakes: query: connection closed by server") {
		t.Errorf("exit %d\n%s", code, out)
	}
}

func TestLoadUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no-addr":     {"-n", "1"},
		"n-and-d":     {"127.0.0.1:1", "-n", "1", "-d", "1s"},
		"c-zero":      {"127.0.0.1:1", "-c", "0"},
		"profile":     {"127.0.0.1:1", "--profile", "x"},
		"bad-timeout": {"127.0.0.1:1", "--timeout", "0s"},
		"unbounded":   {"127.0.0.1:1", "-n", "0"},
	} {
		code, _, errs := tripcheck(context.Background(), append([]string{"load"}, args...)...)
		if code != exitUsage || errs == "" {
			t.Errorf("%s: exit %d, stderr %q; want exit 2", name, code, errs)
		}
	}
}
