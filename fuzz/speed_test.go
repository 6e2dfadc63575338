package fuzz

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// corpusInputs reads the seed corpus of a target whose arguments are
// (bool, []byte).
func corpusInputs(tb testing.TB, target string) (bools []bool, inputs [][]byte) {
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "*"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if len(lines) != 3 || lines[0] != "go test fuzz v1" {
			tb.Fatalf("%s: not a (bool, []byte) corpus file", f)
		}
		v, err := strconv.Unquote(strings.TrimSuffix(strings.TrimPrefix(lines[2], "[]byte("), ")"))
		if err != nil {
			tb.Fatalf("%s: %v", f, err)
		}
		bools = append(bools, lines[1] == "bool(true)")
		inputs = append(inputs, []byte(v))
	}
	return bools, inputs
}

// BenchmarkFramingBody is FuzzFraming's property over its seed corpus, one
// seed per op: the cost a fuzzing exec adds to the engine's own (see
// fuzz/speed for exec/s against an empty target). BenchmarkFloorBody is
// the same loop with an empty body, the baseline in the same run.
func BenchmarkFramingBody(b *testing.B) {
	bools, inputs := corpusInputs(b, "FuzzFraming")
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		k := i % len(inputs)
		n += len(inputs[k])
		checkFraming(b, bools[k], inputs[k])
	}
	b.SetBytes(int64(n / max(1, b.N)))
}

func BenchmarkFloorBody(b *testing.B) {
	bools, inputs := corpusInputs(b, "FuzzFraming")
	b.ReportAllocs()
	n := 0
	for i := 0; b.Loop(); i++ {
		k := i % len(inputs)
		n += len(inputs[k])
		floor(b, bools[k], inputs[k])
	}
	b.SetBytes(int64(n / max(1, b.N)))
}

//go:noinline
func floor(tb testing.TB, replies bool, data []byte) {}
