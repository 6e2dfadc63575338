// Package libfuzzerlink is for tests that build libFuzzer binaries, as
// ClusterFuzzLite's compile_native_go_fuzzer does (go-118-fuzz-build, then
// clang -fsanitize=fuzzer): Require skips such a test where clang cannot
// link one.
package libfuzzerlink

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Require skips the test, or fails it under CI=true, when clang cannot
// link a libFuzzer binary (Debian: clang and libclang-rt-dev).
func Require(t testing.TB) {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "t.c")
	if err := os.WriteFile(src, []byte("int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("clang", "-fsanitize=fuzzer", src, "-o", filepath.Join(dir, "t")).CombinedOutput()
	if err == nil {
		return
	}
	msg := "clang cannot link a libFuzzer binary (Debian: clang libclang-rt-dev): " + strings.TrimSpace(string(out))
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
