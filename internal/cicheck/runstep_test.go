package cicheck

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

// fakeTripcheck prints its arguments one per line and exits with status 1,
// as tripcheck does when a check fails.
const fakeTripcheck = `#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done
exit 1
`

// checkRunStep runs the shell script of an action's "Run tripcheck" step
// with a fake tripcheck on PATH, for a client suite whose exec template is
// quoted, and says how it differs from what the action promises: tripcheck
// gets the command and its arguments split as a shell splits them, then
// --junit and --html; its exit status goes to the step output exit-code,
// and the step itself succeeds so that the reports are kept.
func checkRunStep(t *testing.T, script string) error {
	t.Helper()
	dir := t.TempDir()
	bin := filepath.Join(dir, "bin")
	if err := os.Mkdir(bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "tripcheck"), []byte(fakeTripcheck), 0o755); err != nil {
		t.Fatal(err)
	}
	output := filepath.Join(dir, "output")
	// As GitHub runs a step with shell: bash.
	cmd := exec.Command("bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script)
	cmd.Env = append(os.Environ(),
		"PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"),
		"TRIPCHECK_COMMAND=client",
		`TRIPCHECK_ARGS=--exec 'my client --host {host} --port {port}' --strict`,
		"TRIPCHECK_JUNIT=reports/junit.xml",
		"TRIPCHECK_HTML=reports/report.html",
		"GITHUB_OUTPUT="+output)
	out, err := cmd.Output()
	if err != nil {
		return fmt.Errorf("the step failed (%v); it must succeed so that the reports are kept", err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
	want := []string{"client", "--exec", "my client --host {host} --port {port}", "--strict",
		"--junit", "reports/junit.xml", "--html", "reports/report.html"}
	if !slices.Equal(got, want) {
		return fmt.Errorf("tripcheck got %q; want %q", got, want)
	}
	b, err := os.ReadFile(output)
	if err != nil {
		return fmt.Errorf("no step output: %v", err)
	}
	if !slices.Contains(strings.Split(string(b), "\n"), "exit-code=1") {
		return fmt.Errorf("step output %q; want exit-code=1", b)
	}
	return nil
}

// runStep is the script of the step with id "run" of the action in dir.
func runStep(t *testing.T, dir string) string {
	t.Helper()
	proj, err := actionlint.NewProject(dir)
	if err != nil {
		t.Fatal(err)
	}
	md, _, err := actionlint.NewLocalActionsCache(proj, nil).FindMetadata("./")
	if err != nil || md == nil {
		t.Fatalf("action metadata in %s: %v", dir, err)
	}
	for _, s := range md.Runs.Steps {
		if step, ok := s.(map[string]any); ok && step["id"] == "run" {
			if script, ok := step["run"].(string); ok {
				return script
			}
		}
	}
	t.Fatalf("no step with id run in %s", md.Path())
	return ""
}

// TestActionRunStep runs the step of action.yml that runs tripcheck.
func TestActionRunStep(t *testing.T) {
	if err := checkRunStep(t, runStep(t, root(t))); err != nil {
		t.Error(err)
	}
}

// TestBrokenRunSteps shows checkRunStep failing on run steps with the
// mistakes it exists to catch.
func TestBrokenRunSteps(t *testing.T) {
	for _, tc := range []struct{ name, script string }{
		{"split without eval", `rc=0
tripcheck $TRIPCHECK_COMMAND $TRIPCHECK_ARGS --junit "$TRIPCHECK_JUNIT" --html "$TRIPCHECK_HTML" || rc=$?
echo "exit-code=$rc" >> "$GITHUB_OUTPUT"`},
		{"fails the step", `eval "set -- $TRIPCHECK_COMMAND $TRIPCHECK_ARGS"
tripcheck "$@" --junit "$TRIPCHECK_JUNIT" --html "$TRIPCHECK_HTML"
echo "exit-code=$?" >> "$GITHUB_OUTPUT"`},
		{"no html", `eval "set -- $TRIPCHECK_COMMAND $TRIPCHECK_ARGS"
rc=0
tripcheck "$@" --junit "$TRIPCHECK_JUNIT" || rc=$?
echo "exit-code=$rc" >> "$GITHUB_OUTPUT"`},
		{"exit code lost", `eval "set -- $TRIPCHECK_COMMAND $TRIPCHECK_ARGS"
tripcheck "$@" --junit "$TRIPCHECK_JUNIT" --html "$TRIPCHECK_HTML" || true
echo "exit-code=$?" >> "$GITHUB_OUTPUT"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkRunStep(t, tc.script)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
		})
	}
}
