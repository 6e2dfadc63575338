package main

import (
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/fakes"
)

// --run and --skip that match nothing, or are not valid globs, are usage
// errors that name the nearest IDs: a typo must not turn a run green.
func TestFiltersMatchingNothing(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"server", "--run", "framnig"}, `--run "framnig" matches no scenario; nearest: framing`},
		{[]string{"server", "--run", "valid/ascii["}, `--run "valid/ascii[": not a valid pattern`},
		{[]string{"server", "--skip", "valid/asci"}, `--skip "valid/asci" matches no scenario; nearest: valid/ascii`},
		{[]string{"server", "--run", "framing", "--skip", "framing"}, "leave no scenario to run"},
		{[]string{"client", "--exec", "true", "--run", "trpis"}, `--run "trpis" matches no scenario; nearest: trips`},
	} {
		code, out, errOut := runCmd(t, tc.args...)
		if code != exitUsage || !strings.Contains(errOut, tc.want) || out != "" {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit 2 saying %q", tc.args, code, errOut, out, tc.want)
		}
	}
}

// The last line of a failing run's output, stdout and stderr together, is
// the summary line: the exit status says the rest.
func TestFailingRunEndsWithSummary(t *testing.T) {
	addr := brokenServer(t, fakes.Fault{NoEnd: true})
	code, out, errOut := runCmd(t, "server", addr, "--run", "reply/framing")
	if code != exitFail {
		t.Fatalf("exit %d, want 1\n%s", code, out)
	}
	if errOut != "" {
		t.Errorf("stderr after the report: %q", errOut)
	}
	lastLine(t, out)
	if !strings.Contains(out, "1 cause explains 1 failure: the reply has no end marker (first in reply/framing, offset ") {
		t.Errorf("the report does not lead with the cause:\n%s", out)
	}
}
