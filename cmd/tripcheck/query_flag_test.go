package main

import (
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/fakes"
)

// TestQueryFlagLetter: --flag takes the exec contract's {flag} letter.
func TestQueryFlagLetter(t *testing.T) {
	srv, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	base := []string{"query", srv.Addr(), "--from", "Berlin", "--to", "München", "--date", "2026-11-25", "--time", "09:00", "--format", "lines"}
	for _, flag := range []string{"D", "A"} {
		code, out, errOut := runCmd(t, append(base, "--flag", flag)...)
		// The book's reply does not depend on the flag: three trips.
		if code != 0 || !strings.HasSuffix(out, "END 3\n") {
			t.Errorf("--flag %s: exit %d\n%s%s", flag, code, out, errOut)
		}
	}
	for _, bad := range [][]string{{"--flag", "X"}, {"--flag", "D", "--arrive"}} {
		if code, _, _ := runCmd(t, append(base, bad...)...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}
