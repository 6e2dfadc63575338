//go:build fuzzfloor

package fuzz

import "testing"

// FuzzFloor does nothing with its input: the fuzzing engine's own cost per
// input, the floor that FuzzFraming's exec/s is measured against
// (fuzz/speed). It has the arguments of FuzzFraming, so that the engine
// mutates the same values, and builds only with -tags fuzzfloor, so that
// fuzz/run and the libFuzzer builds do not spend time on it.
func FuzzFloor(f *testing.F) {
	f.Fuzz(func(t *testing.T, replies bool, data []byte) {})
}
