package crasher

import (
	"bytes"
	"testing"
)

// check fails t when data starts with "bug".
func check(t testing.TB, data []byte) {
	t.Helper()
	if bytes.HasPrefix(data, []byte("bug")) {
		t.Fatalf("input %q starts with bug", data)
	}
}

// TestCheck shows that check passes other inputs, so that go test of this
// package passes when not fuzzing.
func TestCheck(t *testing.T) {
	check(t, []byte("bu"))
}
