// Package inputfiles reads folders of test inputs (the foreign inputs of
// fuzz/testdata/foreign, a fuzzing corpus) into memory, for the tests and
// seed writers that feed them to the codec.
package inputfiles

import (
	"os"
	"path/filepath"
	"strings"
)

// T is what Read needs of a test: testing.TB has it, and so has the
// testing shim a libFuzzer build compiles fuzz targets against
// (internal/libfuzzertesting), which is why this is not testing.TB.
type T interface {
	Helper()
	Fatal(args ...any)
}

// Read reads every file that pattern (as filepath.Glob takes it) matches
// and returns name(path) → its bytes. It fails t on a bad pattern or a
// file it cannot read.
func Read(t T, pattern string, name func(path string) string) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[name(f)] = b
	}
	return out
}

// Foreign reads the foreign inputs of dir, its *.bin files, each named by
// its file name without ".bin".
func Foreign(t T, dir string) map[string][]byte {
	t.Helper()
	return Read(t, filepath.Join(dir, "*.bin"), func(path string) string {
		return strings.TrimSuffix(filepath.Base(path), ".bin")
	})
}
