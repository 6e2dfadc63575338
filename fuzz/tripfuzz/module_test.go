package tripfuzz

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// userModule is a module of a tripfuzz user: a decoder of its own, and
// fuzz tests of three lines each. FuzzReplies fuzzes a right decoder;
// FuzzForgetsEnd one that takes a reply without its end marker.
var userModule = map[string]string{
	"go.mod": `module example.com/mytrip

go 1.26

require github.com/tripcheck/tripcheck v0.0.0

replace github.com/tripcheck/tripcheck => REPO
`,
	"decode.go": `// Package mytrip is a user's Trip client code.
package mytrip

import "github.com/tripcheck/tripcheck/wire"

// Replies decodes a whole reply stream.
func Replies(stream []byte) ([]wire.Trip, error) { return replies(stream, true) }

// RepliesForgetsEnd is Replies with a bug: it takes a stream that ends
// at a block boundary as a whole reply, end marker or not.
func RepliesForgetsEnd(stream []byte) ([]wire.Trip, error) { return replies(stream, false) }

func replies(stream []byte, needEnd bool) ([]wire.Trip, error) {
	d := wire.NewDecoder(wire.Qt4, wire.Replies)
	d.Feed(stream)
	var trips []wire.Trip
	for {
		var m wire.Message
		switch err := d.Next(&m); {
		case err == wire.ErrNeedMore:
			if !needEnd && !d.Ended() && d.Buffered() == 0 {
				return trips, nil
			}
			return trips, d.Close()
		case err != nil:
			return trips, err
		case m.Kind == wire.KindTrip:
			trips = append(trips, m.Trip.Clone())
		}
	}
}
`,
	"decode_test.go": `package mytrip

import (
	"testing"

	"github.com/tripcheck/tripcheck/fuzz/tripfuzz"
	"github.com/tripcheck/tripcheck/wire"
)

func FuzzReplies(f *testing.F) {
	tripfuzz.Replies(f, wire.Qt4, Replies)
}

func FuzzForgetsEnd(f *testing.F) {
	tripfuzz.Replies(f, wire.Qt4, RepliesForgetsEnd)
}
`,
}

// TestUserModule: a module that requires tripcheck (here through a replace
// directive to this repository) fuzzes its own decoder with three lines:
// go test -fuzz runs FuzzReplies for a few seconds without a failure, and
// the buggy decoder fails, with the Mismatch, under a plain go test.
func TestUserModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module and fuzzes it for 3 s (about 30 s on a loaded machine); skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, text := range userModule {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(strings.ReplaceAll(text, "REPO", repo)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// tripcheck's go.sum holds the hashes of its dependencies, which the
	// module's graph includes: with it, go need not ask the checksum
	// database.
	sum, err := os.ReadFile(filepath.Join(repo, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "go.sum"), sum, 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(goBin, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		t.Logf("go %s (%.1fs):\n%s", strings.Join(args, " "), time.Since(start).Seconds(), out.String())
		return out.String(), err
	}
	if _, err := run("test", "-run", "^$", "-fuzz", "^FuzzReplies$", "-fuzztime", "3s", "-parallel", "2", "."); err != nil {
		t.Fatalf("fuzzing the right decoder: %v", err)
	}
	out, err := run("test", "-run", "^FuzzForgetsEnd$", ".")
	if err == nil {
		t.Fatal("the decoder that forgets the end marker passes")
	}
	if !strings.Contains(out, "--- FAIL: FuzzForgetsEnd/") || !strings.Contains(out, "end at offset") {
		t.Errorf("the failure does not name the seed and the end marker's place")
	}
}
