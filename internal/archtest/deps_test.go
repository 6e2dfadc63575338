package archtest

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// notLinked lists, for each command or package pattern of the module,
// packages its non-test build must not link: the tripcheck command links
// neither package testing (the go test helpers live in
// conformance/conformancetest) nor testscript (the scenarios run on the
// project's own engine, internal/script); no package of the module
// imports testscript outside its tests.
var notLinked = []struct {
	pattern   string
	forbidden []string
}{
	{"./cmd/tripcheck", []string{"testing", "github.com/rogpeppe/go-internal/testscript"}},
	{"./...", []string{"github.com/rogpeppe/go-internal/testscript"}},
}

func TestNotLinked(t *testing.T) {
	root := moduleRoot(t)
	for _, c := range notLinked {
		t.Run(c.pattern, func(t *testing.T) {
			for _, pkg := range c.forbidden {
				if chain := importChain(t, root, c.pattern, pkg); chain != nil {
					t.Errorf("%s links %s: %s", c.pattern, pkg, strings.Join(chain, " -> "))
				}
			}
		})
	}
}

// TestNotLinkedFails shows that importChain finds a forbidden package
// linked through another: a synthetic module whose command imports a
// helper package that imports testing.
func TestNotLinkedFails(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":         "module example.com/m\n\ngo 1.22\n",
		"main.go":        "package main\n\nimport _ \"example.com/m/helper\"\n\nfunc main() {}\n",
		"helper/h.go":    "package helper\n\nimport _ \"testing\"\n",
		"clean/clean.go": "package clean\n",
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := importChain(t, dir, ".", "testing")
	want := []string{"example.com/m", "example.com/m/helper", "testing"}
	if !slices.Equal(got, want) {
		t.Errorf("importChain = %q, want %q", got, want)
	}
	if chain := importChain(t, dir, "./clean", "testing"); chain != nil {
		t.Errorf("a package that does not import testing: chain %q", chain)
	}
}

// importChain is a chain of imports from a package of pattern to pkg in
// the non-test build, as go list -deps sees it, or nil if none links pkg.
func importChain(t *testing.T, dir, pattern, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", pattern)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", pattern, err, stderr.Bytes())
	}
	imports := map[string][]string{}
	var order []string // the packages of pattern come after their deps
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		imports[f[0]] = f[1:]
		order = append(order, f[0])
	}
	if _, ok := imports[pkg]; !ok {
		return nil
	}
	// Search back from every package for pkg; the first chain found from
	// the last listed (the roots) is reported.
	seen := map[string]bool{}
	var walk func(p string) []string
	walk = func(p string) []string {
		if p == pkg {
			return []string{p}
		}
		if seen[p] {
			return nil
		}
		seen[p] = true
		for _, q := range imports[p] {
			if rest := walk(q); rest != nil {
				return append([]string{p}, rest...)
			}
		}
		return nil
	}
	for i := len(order) - 1; i >= 0; i-- {
		if chain := walk(order[i]); chain != nil {
			return chain
		}
	}
	return []string{pkg}
}
