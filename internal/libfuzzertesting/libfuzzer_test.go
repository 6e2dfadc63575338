package libfuzzertesting

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/internal/libfuzzerlink"
)

// moduleRoot is the directory of go.mod, two levels up.
func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("no module root: %v", err)
	}
	return root
}

// TestRunFailsOnCrash runs .clusterfuzzlite/libfuzzer on the package
// testdata/crasher, whose target fails on inputs that start with "bug":
// libFuzzer must find such an input, and the script must exit 1, name the
// target, and keep the input and a binary that replays it.
func TestRunFailsOnCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a libFuzzer binary (a minute or two on a loaded machine)")
	}
	libfuzzerlink.Require(t)
	root := moduleRoot(t)
	artifacts := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(root, ".clusterfuzzlite", "libfuzzer"), "run")
	cmd.Env = append(os.Environ(),
		"PKGS=./internal/libfuzzertesting/testdata/crasher",
		"ARTIFACTS="+artifacts,
		"FUZZSECONDS=60")
	out, err := cmd.CombinedOutput()
	t.Logf("libfuzzer run:\n%s", out)
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 {
		t.Fatalf("libfuzzer run: %v; want exit status 1", err)
	}
	for _, want := range []string{"FAIL  FuzzCrash", "starts with bug", "1 of 1 targets failed"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q", want)
		}
	}
	crashes, _ := filepath.Glob(filepath.Join(artifacts, "FuzzCrash", "crash-*"))
	if len(crashes) == 0 {
		t.Fatalf("no crash- input kept under %s", artifacts)
	}
	// The kept binary replays the kept input: the same failure.
	replay := exec.CommandContext(ctx, filepath.Join(artifacts, "FuzzCrash", "FuzzCrash"), crashes[0])
	out, err = replay.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "starts with bug") {
		t.Errorf("replay of %s: %v; want the failure again:\n%s", crashes[0], err, out)
	}
}
