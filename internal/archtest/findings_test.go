package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/check"
)

// TestFindingsFromCatalog checks that a finding's summary has one place,
// package check's catalog: no non-test file outside package check writes a
// Finding literal that sets Summary (findings are made with check.At or a
// helper over it), and every rule ID a call of check.At, peerFinding or
// exchangeFinding names as a string literal is in the catalog, so that no
// failure path panics on an ID the catalog lacks. Test files may build
// findings of invented rules to test the reports; they are not parsed.
func TestFindingsFromCatalog(t *testing.T) {
	ids := 0
	eachSourceFile(t, "check", func(fset *token.FileSet, rel string, f *ast.File) {
		for _, l := range summaryLiterals(fset, f) {
			t.Errorf("%s:%s: a Finding literal sets Summary; make it with check.At so the summary comes from the catalog", rel, l)
		}
		for _, c := range ruleIDs(fset, f) {
			ids++
			if _, ok := check.RuleOf(c.id); !ok && !c.prefix {
				t.Errorf("%s:%d: rule %q is not in check's catalog", rel, c.line, c.id)
			}
			if c.prefix && !hasRulePrefix(c.id) {
				t.Errorf("%s:%d: no rule of check's catalog begins %q", rel, c.line, c.id)
			}
		}
	})
	if ids == 0 {
		t.Error("no rule IDs found in calls of check.At, peerFinding or exchangeFinding: the test no longer sees the code")
	}
}

// TestSummaryLiteralsFlagged shows the checks failing on a synthetic file:
// Finding literals that set Summary in each shape (keyed, positional,
// qualified, elided in a slice), and rule IDs the catalog does not have.
func TestSummaryLiteralsFlagged(t *testing.T) {
	const bad = `package p

import "github.com/tripcheck/tripcheck/check"

var a = Finding{Check: "conn/x", Summary: "copied", Offset: -1}

var b = check.Finding{Check: "conn/x", Summary: "copied"}

var c = conformance.Finding{"conn/x", "copied", -1, "", 0, 0, "", nil}

var d = []Finding{{Check: "conn/x", Summary: "copied"}, {Check: "conn/y"}}

var e = []*check.Finding{{Summary: "copied"}}

var ok1 = Finding{Check: "conn/x", Offset: -1}

var ok2 = Cause{Check: "conn/x", Summary: "a cause is not a finding"}

var f1 = check.At("conn/no-such-rule", 0, "")

var f2 = peerFinding("conn/reset")

var f3 = exchangeFinding(nil, nil, "reply/no-such-rule")

var f4 = peerFinding("conn/nothing-begins-so-" + how)

var f5 = peerFinding("conn/ending-" + how)
`
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "synthetic.go", bad, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"5:9", "7:9", "9:9", "11:19", "13:26"}
	if got := summaryLiterals(fset, f); !slices.Equal(got, want) {
		t.Errorf("Summary literals at %q, want %q", got, want)
	}
	var unknown []string
	for _, c := range ruleIDs(fset, f) {
		if _, ok := check.RuleOf(c.id); (!ok && !c.prefix) || (c.prefix && !hasRulePrefix(c.id)) {
			unknown = append(unknown, fmt.Sprintf("%d %s", c.line, c.id))
		}
	}
	wantUnknown := []string{"19 conn/no-such-rule", "23 reply/no-such-rule", "25 conn/nothing-begins-so-"}
	if !slices.Equal(unknown, wantUnknown) {
		t.Errorf("unknown rule IDs %q, want %q", unknown, wantUnknown)
	}
}

// summaryLiterals finds the composite literals of check.Finding (named
// Finding, check.Finding or conformance.Finding, or elided inside a
// literal of a slice, array or map of them) that set Summary, keyed or
// positionally (Summary is the second field), as "line:column".
func summaryLiterals(fset *token.FileSet, f *ast.File) []string {
	var out []string
	flag := func(cl *ast.CompositeLit) {
		if setsSummary(cl) {
			p := fset.Position(cl.Pos())
			out = append(out, fmt.Sprintf("%d:%d", p.Line, p.Column))
		}
	}
	ast.Inspect(f, func(n ast.Node) bool {
		cl, ok := n.(*ast.CompositeLit)
		if !ok {
			return true
		}
		if isFindingType(cl.Type) {
			flag(cl)
		}
		if elt := elemType(cl.Type); elt != nil && isFindingType(elt) {
			for _, e := range cl.Elts {
				if kv, ok := e.(*ast.KeyValueExpr); ok {
					e = kv.Value
				}
				if u, ok := e.(*ast.UnaryExpr); ok && u.Op == token.AND {
					e = u.X
				}
				if el, ok := e.(*ast.CompositeLit); ok && el.Type == nil {
					flag(el)
				}
			}
		}
		return true
	})
	return out
}

// setsSummary reports whether a Finding literal sets its Summary field.
func setsSummary(cl *ast.CompositeLit) bool {
	for _, e := range cl.Elts {
		kv, ok := e.(*ast.KeyValueExpr)
		if !ok {
			// Positional: every field is set, Summary among them.
			return len(cl.Elts) >= 2
		}
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Summary" {
			return true
		}
	}
	return false
}

// isFindingType reports whether e names the Finding type, possibly as a
// pointer: Finding, check.Finding, conformance.Finding.
func isFindingType(e ast.Expr) bool {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	switch t := e.(type) {
	case *ast.Ident:
		return t.Name == "Finding"
	case *ast.SelectorExpr:
		x, ok := t.X.(*ast.Ident)
		return ok && t.Sel.Name == "Finding" && (x.Name == "check" || x.Name == "conformance")
	}
	return false
}

// elemType is the element type of a slice, array or map literal's type.
func elemType(e ast.Expr) ast.Expr {
	switch t := e.(type) {
	case *ast.ArrayType:
		return t.Elt
	case *ast.MapType:
		return t.Value
	}
	return nil
}

// ruleRef is a rule ID named in a call that makes a finding: the whole ID,
// or (prefix) the literal start of one built at run time.
type ruleRef struct {
	line   int
	id     string
	prefix bool
}

// findingMakers are the functions that make a finding of a rule ID, with
// the index of the ID among their arguments.
var findingMakers = map[string]int{
	"At":              0,
	"peerFinding":     0,
	"exchangeFinding": 2,
}

// ruleIDs finds the rule IDs that calls of findingMakers name by a string
// literal, or begin with one ("conn/ending-" + how).
func ruleIDs(fset *token.FileSet, f *ast.File) []ruleRef {
	var out []ruleRef
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return true
		}
		name := ""
		switch fn := call.Fun.(type) {
		case *ast.Ident:
			name = fn.Name
		case *ast.SelectorExpr:
			if x, ok := fn.X.(*ast.Ident); ok && x.Name == "check" {
				name = fn.Sel.Name
			}
		}
		i, ok := findingMakers[name]
		if !ok || i >= len(call.Args) {
			return true
		}
		arg, prefix := call.Args[i], false
		if b, ok := arg.(*ast.BinaryExpr); ok && b.Op == token.ADD {
			arg, prefix = b.X, true
		}
		lit, ok := arg.(*ast.BasicLit)
		if !ok || lit.Kind != token.STRING {
			return true
		}
		id, err := strconv.Unquote(lit.Value)
		if err != nil {
			return true
		}
		out = append(out, ruleRef{line: fset.Position(lit.Pos()).Line, id: id, prefix: prefix})
		return true
	})
	return out
}

// hasRulePrefix reports whether some rule of the catalog begins with p.
func hasRulePrefix(p string) bool {
	for _, r := range check.Rules() {
		if strings.HasPrefix(r.ID, p) {
			return true
		}
	}
	return false
}
