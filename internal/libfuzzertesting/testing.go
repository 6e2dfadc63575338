// Package libfuzzertesting is the testing API that the test files of a
// fuzz package see when .clusterfuzzlite/libfuzzer builds its go test -fuzz
// targets as libFuzzer binaries.
//
// go-118-fuzz-build turns a target into a libFuzzer entry point by giving
// the target's own file its testing package
// (github.com/AdamKorcz/go-118-fuzz-build/testing) in place of the
// standard one. The helpers of the other test files in the package (decode
// checks, seed readers) must then take the same T and F, and some of them
// use names that package lacks (TB). The build script points their
// "testing" import here: F and T are that package's, so a target passes its
// T to any helper, and TB is the part of testing.TB that both have.
package libfuzzertesting

import (
	"testing"

	lf "github.com/AdamKorcz/go-118-fuzz-build/testing"
)

type (
	// F is go-118-fuzz-build's fuzz target: F.Fuzz decodes the libFuzzer
	// input into the fuzz function's arguments; F.Add is a no-op (the
	// libFuzzer seed corpus replaces it).
	F = lf.F
	// T is go-118-fuzz-build's test: a failure panics, which libFuzzer
	// reports as a crash with the input that caused it.
	T = lf.T
)

// TB is the part of testing.TB that both F and T implement.
type TB interface {
	Cleanup(func())
	Error(args ...any)
	Errorf(format string, args ...any)
	Fail()
	FailNow()
	Failed() bool
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Helper()
	Log(args ...any)
	Logf(format string, args ...any)
	Name() string
	Setenv(key, value string)
	Skip(args ...any)
	SkipNow()
	Skipf(format string, args ...any)
	Skipped() bool
	TempDir() string
}

var (
	_ TB = (*F)(nil)
	_ TB = (*T)(nil)
)

// The rest is the standard package's, for the tests and benchmarks that
// share the fuzz package with its targets: they compile into a libFuzzer
// build, but nothing calls them there.
type (
	B               = testing.B
	BenchmarkResult = testing.BenchmarkResult
	M               = testing.M
	PB              = testing.PB
)

// AllocsPerRun is testing.AllocsPerRun.
func AllocsPerRun(runs int, f func()) float64 { return testing.AllocsPerRun(runs, f) }

// Benchmark is testing.Benchmark.
func Benchmark(f func(b *B)) BenchmarkResult { return testing.Benchmark(f) }

// CoverMode is testing.CoverMode.
func CoverMode() string { return testing.CoverMode() }

// Short is testing.Short.
func Short() bool { return testing.Short() }

// Testing is testing.Testing.
func Testing() bool { return testing.Testing() }

// Verbose is testing.Verbose.
func Verbose() bool { return testing.Verbose() }
