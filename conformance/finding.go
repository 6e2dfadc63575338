package conformance

import (
	"fmt"
	"sync"

	"github.com/rogpeppe/go-internal/testscript"
)

// Finding is one fault a check found in a peer's bytes or behaviour. Its
// Check is a stable ID for the kind of fault ("reply/no-end-marker",
// "request/odd-string-length", "conn/silent"): failures of many scenarios
// that carry the same Check share one root cause, and the report groups
// them under it. Causes come from these values, never from message text.
type Finding struct {
	// Check names the kind of fault: "<what>/<fault>", lower case, stable
	// across releases (reports and --expect-fail files may name it).
	Check string `json:"check"`
	// Summary says the fault in one sentence a user can act on, without the
	// scenario's particulars: "the reply has no end marker".
	Summary string `json:"summary"`
	// Offset is the stream offset of the fault in the peer's direction,
	// or -1 where the fault has no place in a stream (silence, a reset).
	Offset int64 `json:"offset"`
	// Field is the field path at Offset ("trip[2].trainType"), if any.
	Field string `json:"field,omitempty"`
}

// String is the summary, with the place where there is one.
func (f Finding) String() string {
	switch {
	case f.Offset >= 0 && f.Field != "":
		return fmt.Sprintf("%s (offset %d, %s)", f.Summary, f.Offset, f.Field)
	case f.Offset >= 0:
		return fmt.Sprintf("%s (offset %d)", f.Summary, f.Offset)
	}
	return f.Summary
}

// findings collects what the checks of one scenario run found; the runner
// copies them into the scenario's Result.
type findings struct {
	mu   sync.Mutex
	list []Finding
}

func (fs *findings) add(f Finding) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.list = append(fs.list, f)
}

func (fs *findings) all() []Finding {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	return append([]Finding(nil), fs.list...)
}

type findingsKey struct{}

// fail ends the script's current step with a failure caused by f: f is
// recorded for the report's causes, and the message (which may say more
// than f.Summary: expected and actual, a hex window) goes to the log.
// Every check that fails because of the peer calls fail, not ts.Fatalf;
// ts.Fatalf stays for errors in the script itself.
func fail(ts *testscript.TestScript, f Finding, format string, args ...any) {
	if fs, ok := ts.Value(findingsKey{}).(*findings); ok {
		fs.add(f)
	}
	ts.Fatalf(format, args...)
}
