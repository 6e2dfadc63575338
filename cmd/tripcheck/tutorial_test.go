package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/fakes"
)

// TestTutorialScenario runs the README's "write your own scenario" example,
// testdata/scenarios/server/mine_split_after_type.txtar, with --scenarios:
// it passes against the reference server and fails against one whose trip
// blocks announce a byte too many.
func TestTutorialScenario(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "scenarios", "server")
	code, out, errs := capRun("server", startFake(t), "--scenarios", dir, "--run", "mine")
	if code != 0 || !strings.Contains(out, "✔ mine/split-after-type") || !strings.HasPrefix(pcapLastLine(out), "1 passed, 0 failed") {
		t.Errorf("reference server: exit %d\n%s\n%s", code, out, errs)
	}
	broken := startFake(t, fakes.WithFault(fakes.Fault{SizeDelta: 1}))
	code, out, errs = capRun("server", broken, "--scenarios", dir, "--run", "mine")
	if code != 1 || !strings.Contains(out, "✖ mine/split-after-type") || !strings.Contains(out, "trip[0]") {
		t.Errorf("broken server: exit %d, want 1\n%s\n%s", code, out, errs)
	}
}
