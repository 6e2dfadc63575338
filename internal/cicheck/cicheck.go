// Package cicheck checks tripcheck's CI files: GitHub workflows with
// actionlint (github.com/rhysd/actionlint), and the metadata of a composite
// action (action.yml), which actionlint reads but does not lint.
package cicheck

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"github.com/rhysd/actionlint"
)

// Workflows lints workflow files with actionlint, in the project whose
// root is root: a step that uses "./" is checked against root's action.yml
// (unknown inputs, missing required ones). content, when not nil, holds a
// file's text in place of what is on disk (keyed by path). shellcheck and
// pyflakes are not run.
func Workflows(root string, paths []string, content map[string][]byte) ([]*actionlint.Error, error) {
	proj, err := actionlint.NewProject(root)
	if err != nil {
		return nil, err
	}
	l, err := actionlint.NewLinter(io.Discard, &actionlint.LinterOptions{Color: actionlint.ColorOptionKindNever})
	if err != nil {
		return nil, err
	}
	var all []*actionlint.Error
	for _, p := range paths {
		b, ok := content[p]
		if !ok {
			if b, err = os.ReadFile(p); err != nil {
				return nil, err
			}
		}
		errs, err := l.Lint(p, b, proj)
		if err != nil {
			return nil, err
		}
		all = append(all, errs...)
	}
	return all, nil
}

// stepKeys are the keys a step of a composite action may have.
var stepKeys = map[string]bool{
	"name": true, "id": true, "if": true, "run": true, "shell": true, "uses": true,
	"with": true, "env": true, "working-directory": true, "continue-on-error": true,
}

// exprRe finds the ${{ }} expressions in a string.
var exprRe = regexp.MustCompile(`\$\{\{(.*?)\}\}`)

// Action checks the composite action whose metadata file (action.yml or
// action.yaml) is in dir, parsed as actionlint parses it for the workflows
// that use it: it has a name and a description; it runs "composite" steps;
// each step runs a command with a shell or uses an action, and has only the
// keys of a composite step; each ${{ }} expression parses, names only
// declared inputs, and names only steps with an id declared before it.
// The errors are in the file's terms (step numbers from 1), with no line.
func Action(dir string) ([]*actionlint.Error, error) {
	proj, err := actionlint.NewProject(dir)
	if err != nil {
		return nil, err
	}
	md, _, err := actionlint.NewLocalActionsCache(proj, nil).FindMetadata("./")
	if err != nil {
		return []*actionlint.Error{{Message: err.Error(), Filepath: dir, Kind: "action"}}, nil
	}
	if md == nil {
		return nil, fmt.Errorf("no action.yml or action.yaml in %s", dir)
	}
	var errs []*actionlint.Error
	bad := func(format string, args ...any) {
		errs = append(errs, &actionlint.Error{Message: fmt.Sprintf(format, args...), Filepath: md.Path(), Kind: "action"})
	}
	if md.Name == "" {
		bad("no name")
	}
	if md.Description == "" {
		bad("no description")
	}
	if md.Runs.Using != "composite" {
		bad("runs.using is %q; want composite", md.Runs.Using)
	}
	if len(md.Runs.Steps) == 0 {
		bad("no steps")
	}
	ids := map[string]bool{}
	for i, s := range md.Runs.Steps {
		step, ok := s.(map[string]any)
		if !ok {
			bad("step %d is not a mapping", i+1)
			continue
		}
		where := fmt.Sprintf("step %d", i+1)
		if name, ok := step["name"].(string); ok {
			where = fmt.Sprintf("step %d (%s)", i+1, name)
		}
		_, run := step["run"]
		_, uses := step["uses"]
		_, shell := step["shell"]
		switch {
		case run == uses:
			bad("%s: needs exactly one of run and uses", where)
		case run && !shell:
			bad("%s: run without shell (a composite step must name its shell)", where)
		}
		keys := make([]string, 0, len(step))
		for k := range step {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if !stepKeys[k] {
				bad("%s: unexpected key %q", where, k)
			}
		}
		if cond, ok := step["if"].(string); ok && !strings.Contains(cond, "${{") {
			checkExpr(cond, md.Inputs, ids, func(msg string) { bad("%s: if %s: %s", where, cond, msg) })
		}
		for _, str := range stringsIn(step) {
			for _, m := range exprRe.FindAllStringSubmatch(str, -1) {
				checkExpr(m[1], md.Inputs, ids, func(msg string) { bad("%s: ${{%s}}: %s", where, m[1], msg) })
			}
		}
		if id, ok := step["id"].(string); ok {
			ids[id] = true
		}
	}
	return errs, nil
}

// checkExpr parses one expression and reports, through bad, a syntax error,
// an input that inputs does not declare, or a step id not in ids.
func checkExpr(src string, inputs actionlint.ActionMetadataInputs, ids map[string]bool, bad func(string)) {
	n, perr := actionlint.NewExprParser().Parse(actionlint.NewExprLexer(src + "}}"))
	if perr != nil {
		bad(perr.Message)
		return
	}
	actionlint.VisitExprNode(n, func(node, _ actionlint.ExprNode, entering bool) {
		d, ok := node.(*actionlint.ObjectDerefNode)
		if !entering || !ok {
			return
		}
		v, ok := d.Receiver.(*actionlint.VariableNode)
		if !ok {
			return
		}
		switch v.Name {
		case "inputs":
			if _, ok := inputs[strings.ToLower(d.Property)]; !ok {
				bad(fmt.Sprintf("input %q is not declared", d.Property))
			}
		case "steps":
			if !ids[d.Property] {
				bad(fmt.Sprintf("no earlier step has id %q", d.Property))
			}
		}
	})
}

// stringsIn lists the strings in a decoded YAML value, depth first.
func stringsIn(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			out = append(out, stringsIn(v[k])...)
		}
		return out
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, stringsIn(e)...)
		}
		return out
	}
	return nil
}

// Root is the directory of the go.mod above dir: the repository's root.
func Root(dir string) (string, error) {
	d, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		d = p
	}
}
