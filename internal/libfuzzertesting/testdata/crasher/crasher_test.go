// Package crasher is a fuzz package with a bug, for the test that shows
// .clusterfuzzlite/libfuzzer failing on a crash. Like tripcheck's own fuzz
// packages, its target calls a helper of another test file, and its file
// names testing.TB, which go-118-fuzz-build's testing package lacks.
package crasher

import "testing"

// FuzzCrash fails on any input that starts with "bug".
func FuzzCrash(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var tb testing.TB = t
		check(tb, data)
	})
}
