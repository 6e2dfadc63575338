package archtest

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// handFramingAllowed lists the places outside package wire still known to
// read a size field by hand, as "file: function" (file relative to the
// module root). It should be empty: each entry is a debt, named with its
// issue. An entry that no longer matches anything fails the test, so the
// list cannot rot.
var handFramingAllowed = []string{}

// TestFramingOnlyInWire checks that no package outside wire reads the
// size field of a block by hand: framing has one place, package wire
// (wire.Announced, wire.BlockLen, wire.FirstBlock, wire.Decoder). Every
// non-test .go file of the module is parsed; files under testdata are not,
// since those are the deliberately broken peers, separate programs that
// must frame on their own (one of them writes the size little-endian).
func TestFramingOnlyInWire(t *testing.T) {
	var found []finding
	eachSourceFile(t, "wire", func(fset *token.FileSet, rel string, f *ast.File) {
		for _, fd := range handFraming(fset, f) {
			fd.file = rel
			found = append(found, fd)
		}
	})
	used := map[string]bool{}
	for _, fd := range found {
		key := fd.file + ": " + fd.fn
		if slices.Contains(handFramingAllowed, key) {
			used[key] = true
			continue
		}
		t.Errorf("%s:%d: %s reads a size field by hand (%s); use package wire", fd.file, fd.line, fd.fn, fd.what)
	}
	for _, key := range handFramingAllowed {
		if !used[key] {
			t.Errorf("allow-list entry %q matches nothing any more: remove it", key)
		}
	}
}

// TestHandFramingFlags shows the checker failing on a synthetic file that
// frames by hand in both shapes, and passing one that asks wire.
func TestHandFramingFlags(t *testing.T) {
	const bad = `package p

import "encoding/binary"

func size(b []byte) int {
	return int(binary.BigEndian.Uint16(b))
}

func next(b []byte, off int) int {
	return off + 2 + int(binary.BigEndian.Uint16(b[off:]))
}

func shifted(b []byte) int {
	return int(b[0])<<8 | int(b[1])
}

func bare(b []byte) uint16 {
	return uint16(b[0])<<8 | uint16(b[1])
}

func stringLength(b []byte) uint32 {
	// A 32-bit string length is not a size field.
	return uint32(b[3])<<24 | uint32(b[4])<<16 | uint32(b[5])<<8 | uint32(b[6])
}
`
	const good = `package p

import (
	"encoding/binary"

	"github.com/tripcheck/tripcheck/wire"
)

func size(b []byte) int {
	n, _ := wire.Announced(b)
	return n
}

func put(b []byte) {
	binary.BigEndian.PutUint16(b, 7)
}
`
	got := func(src string) []string {
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, "synthetic.go", src, 0)
		if err != nil {
			t.Fatal(err)
		}
		var s []string
		for _, fd := range handFraming(fset, f) {
			s = append(s, fmt.Sprintf("%d %s %s", fd.line, fd.fn, fd.what))
		}
		return s
	}
	want := []string{
		"6 size binary.BigEndian.Uint16",
		"10 next binary.BigEndian.Uint16",
		"14 shifted x[i]<<8 | x[j]",
		"18 bare x[i]<<8 | x[j]",
	}
	if g := got(bad); !slices.Equal(g, want) {
		t.Errorf("hand-framing file: found\n\t%s\nwant\n\t%s", strings.Join(g, "\n\t"), strings.Join(want, "\n\t"))
	}
	if g := got(good); len(g) != 0 {
		t.Errorf("file framing with wire: found %q, want nothing", g)
	}
}

// finding is one place that reads a size field by hand.
type finding struct {
	file string
	line int
	fn   string // the enclosing function, or "" at package level
	what string
}

// handFraming finds the two shapes of reading a 16-bit big-endian size by
// hand in f: a call of binary.BigEndian.Uint16, and x[i]<<8 | x[j] (the
// operands possibly converted, as in int(b[0])<<8 | int(b[1])).
func handFraming(fset *token.FileSet, f *ast.File) []finding {
	var out []finding
	for _, decl := range f.Decls {
		fn := ""
		if fd, ok := decl.(*ast.FuncDecl); ok {
			fn = fd.Name.Name
		}
		ast.Inspect(decl, func(n ast.Node) bool {
			what := ""
			switch e := n.(type) {
			case *ast.CallExpr:
				if isBigEndianUint16(e.Fun) {
					what = "binary.BigEndian.Uint16"
				}
			case *ast.BinaryExpr:
				if e.Op == token.OR && isIndexShiftedBy8(e.X) && isIndex(e.Y) {
					what = "x[i]<<8 | x[j]"
				}
			}
			if what != "" {
				out = append(out, finding{line: fset.Position(n.Pos()).Line, fn: fn, what: what})
			}
			return true
		})
	}
	return out
}

// isBigEndianUint16 reports whether e is binary.BigEndian.Uint16.
func isBigEndianUint16(e ast.Expr) bool {
	sel, ok := e.(*ast.SelectorExpr)
	if !ok || sel.Sel.Name != "Uint16" {
		return false
	}
	order, ok := sel.X.(*ast.SelectorExpr)
	if !ok || order.Sel.Name != "BigEndian" {
		return false
	}
	pkg, ok := order.X.(*ast.Ident)
	return ok && pkg.Name == "binary"
}

// isIndexShiftedBy8 reports whether e is x[i]<<8, x[i] possibly converted.
func isIndexShiftedBy8(e ast.Expr) bool {
	sh, ok := unparen(e).(*ast.BinaryExpr)
	if !ok || sh.Op != token.SHL {
		return false
	}
	lit, ok := unparen(sh.Y).(*ast.BasicLit)
	return ok && lit.Value == "8" && isIndex(sh.X)
}

// isIndex reports whether e is x[i], possibly converted (T(x[i])).
func isIndex(e ast.Expr) bool {
	e = unparen(e)
	if c, ok := e.(*ast.CallExpr); ok && len(c.Args) == 1 {
		e = unparen(c.Args[0])
	}
	_, ok := e.(*ast.IndexExpr)
	return ok
}

func unparen(e ast.Expr) ast.Expr {
	for {
		p, ok := e.(*ast.ParenExpr)
		if !ok {
			return e
		}
		e = p.X
	}
}

// moduleRoot is the directory of the module's go.mod, two levels up.
// eachSourceFile parses every non-test .go file of the module, outside the
// package directory skip (the one allowed to do what the caller looks for),
// testdata, vendor and hidden folders, and calls fn with its path relative
// to the module root.
func eachSourceFile(t *testing.T, skip string, fn func(fset *token.FileSet, rel string, f *ast.File)) {
	t.Helper()
	root := moduleRoot(t)
	fset := token.NewFileSet()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			name := d.Name()
			if rel == skip || name == "testdata" || name == "vendor" || (rel != "." && (strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_"))) {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		fn(fset, rel, f)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func moduleRoot(t *testing.T) string {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	return root
}
