package cicheck

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/rhysd/actionlint"
)

func root(t *testing.T) string {
	t.Helper()
	r, err := Root(".")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func report(t *testing.T, errs []*actionlint.Error) {
	t.Helper()
	for _, e := range errs {
		t.Error(e)
	}
}

// TestWorkflows lints the repository's workflows with actionlint; the step
// that uses "./" is checked against action.yml.
func TestWorkflows(t *testing.T) {
	r := root(t)
	paths, err := filepath.Glob(filepath.Join(r, ".github", "workflows", "*.y*ml"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no workflow in .github/workflows")
	}
	errs, err := Workflows(r, paths, nil)
	if err != nil {
		t.Fatal(err)
	}
	report(t, errs)
}

// usesTripcheck is how the example workflows name the action.
var usesTripcheck = regexp.MustCompile(`uses: tripcheck/tripcheck@\S+`)

// TestExampleWorkflow lints docs/ci/github-actions.yml as a user's
// repository would run it, with the action it uses read from this
// repository's action.yml (uses: ./), so that its inputs are checked too.
func TestExampleWorkflow(t *testing.T) {
	r := root(t)
	p := filepath.Join(r, "docs", "ci", "github-actions.yml")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	local := usesTripcheck.ReplaceAll(b, []byte("uses: ./"))
	if n := strings.Count(string(local), "uses: ./"); n < 3 {
		t.Fatalf("%s uses tripcheck/tripcheck %d times; want each suite and the replay", p, n)
	}
	errs, err := Workflows(r, []string{p}, map[string][]byte{p: local})
	if err != nil {
		t.Fatal(err)
	}
	report(t, errs)
}

// TestAction checks the repository's action.yml.
func TestAction(t *testing.T) {
	errs, err := Action(root(t))
	if err != nil {
		t.Fatal(err)
	}
	report(t, errs)
}

// TestBrokenWorkflows shows Workflows failing on each deliberately broken
// workflow of testdata/broken, with the fault it was broken with.
func TestBrokenWorkflows(t *testing.T) {
	r := root(t)
	for _, tc := range []struct {
		file string
		want []string
	}{
		{"unknown-input.yml", []string{`input "commnd" is not defined`}},
		{"unknown-output.yml", []string{`property "exit-status" is not defined`}},
		{"needs.yml", []string{`job "fuzz" needs job "build" which does not exist`, `property "sanitizer" is not defined`}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			p := filepath.Join("testdata", "broken", tc.file)
			errs, err := Workflows(r, []string{p}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(errs) == 0 {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !anyContains(errs, w) {
					t.Errorf("no error says %q; got %v", w, errs)
				}
			}
		})
	}
}

// TestBrokenAction shows Action failing on testdata/broken-action, once
// for each of its faults.
func TestBrokenAction(t *testing.T) {
	errs, err := Action(filepath.Join("testdata", "broken-action"))
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{
		`step 1 (No shell): run without shell`,
		`step 1 (No shell): ${{ steps.later.outputs.x }}: no earlier step has id "later"`,
		`step 2 (Undeclared input): ${{ inputs.comand }}: input "comand" is not declared`,
		`step 3 (Bad expression): ${{ inputs.command == }}:`,
		`step 4 (Unknown key): unexpected key "timeout-minutes"`,
	} {
		if !anyContains(errs, w) {
			t.Errorf("no error says %q", w)
		}
	}
	if len(errs) != 5 {
		t.Errorf("%d errors; want 5: %v", len(errs), errs)
	}
}

func anyContains(errs []*actionlint.Error, s string) bool {
	for _, e := range errs {
		if strings.Contains(e.Message, s) {
			return true
		}
	}
	return false
}
