package tripfuzz

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/internal/libfuzzerlink"
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

// userModuleDir writes userModule into a temporary directory, with
// tripcheck's go.sum, and returns it and a function that runs a command
// there (go -mod=mod, so that go adds what the module's go.mod lacks, as
// go mod tidy would), logs its output and returns it.
func userModuleDir(t *testing.T) (dir, repo string, run func(name string, args ...string) (string, error)) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command:", err)
	}
	repo, err = filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
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
	run = func(name string, args ...string) (string, error) {
		if name == "go" {
			name = goBin
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		t.Logf("%s %s (%.1fs, %v):\n%s", filepath.Base(name), strings.Join(args, " "), time.Since(start).Seconds(), err, tail(out.String(), 4096))
		return out.String(), err
	}
	return dir, repo, run
}

// tail is the end of s, at most n bytes, for a log.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// TestUserModule: a module that requires tripcheck (here through a replace
// directive to this repository) fuzzes its own decoder with three lines:
// go test -fuzz runs FuzzReplies for a few seconds without a failure, and
// the buggy decoder fails, with the Mismatch, under a plain go test.
func TestUserModule(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a module and fuzzes it for 3 s (about 30 s on a loaded machine); skipped with -short")
	}
	_, _, run := userModuleDir(t)
	if _, err := run("go", "test", "-run", "^$", "-fuzz", "^FuzzReplies$", "-fuzztime", "3s", "-parallel", "2", "."); err != nil {
		t.Fatalf("fuzzing the right decoder: %v", err)
	}
	out, err := run("go", "test", "-run", "^FuzzForgetsEnd$", ".")
	if err == nil {
		t.Fatal("the decoder that forgets the end marker passes")
	}
	if !strings.Contains(out, "--- FAIL: FuzzForgetsEnd/") || !strings.Contains(out, "end at offset") {
		t.Errorf("the failure does not name the seed and the end marker's place")
	}
}

// TestUserModuleLibFuzzer: the same harnesses, unchanged, build as
// libFuzzer binaries the way ClusterFuzzLite's compile_native_go_fuzzer
// builds them (go-118-fuzz-build, pinned in tripcheck's go.mod, then
// clang -fsanitize=fuzzer), with the seed corpus that the command
// tripfuzz/seedcorpus writes. The right decoder passes every seed and
// fuzzes for a few seconds with -fork=2 without a crash; the decoder that
// forgets the end marker crashes on a seed, with the Mismatch, and the
// crash input replays it.
func TestUserModuleLibFuzzer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds two libFuzzer binaries (minutes on a loaded machine); skipped with -short")
	}
	libfuzzerlink.Require(t)
	dir, repo, run := userModuleDir(t)
	tool := filepath.Join(t.TempDir(), "go-118-fuzz-build")
	build := exec.Command("go", "build", "-o", tool, "github.com/AdamKorcz/go-118-fuzz-build")
	build.Dir = repo
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building go-118-fuzz-build: %v\n%s", err, out)
	}
	for _, target := range []string{"FuzzReplies", "FuzzForgetsEnd"} {
		if _, err := run(tool, "-o", target+".a", "-func", target, "."); err != nil {
			t.Fatalf("go-118-fuzz-build %s: %v", target, err)
		}
		if _, err := run("clang", "-fsanitize=fuzzer", target+".a", "-o", target); err != nil {
			t.Fatalf("linking %s: %v", target, err)
		}
	}
	if _, err := run("go", "run", "github.com/tripcheck/tripcheck/fuzz/tripfuzz/seedcorpus", "replies", "seeds"); err != nil {
		t.Fatalf("seedcorpus: %v", err)
	}
	for _, d := range []string{"corpus", "art-right", "art-wrong"} {
		if err := os.Mkdir(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// The seeds, each once (fork mode would set aside a seed that crashes
	// while it merges them, so they are run on their own first).
	if _, err := run("./FuzzReplies", "-runs=0", "-artifact_prefix=art-right/", "seeds"); err != nil {
		t.Fatalf("the right decoder fails a seed: %v", err)
	}
	if _, err := run("./FuzzReplies", "-fork=2", "-max_total_time=5", "-timeout=10", "-artifact_prefix=art-right/", "corpus", "seeds"); err != nil {
		t.Fatalf("fuzzing the right decoder: %v", err)
	}
	if found, _ := os.ReadDir(filepath.Join(dir, "art-right")); len(found) > 0 {
		t.Fatalf("the right decoder left %s", found[0].Name())
	}
	out, err := run("./FuzzForgetsEnd", "-runs=0", "-artifact_prefix=art-wrong/", "seeds")
	if err == nil {
		t.Fatal("the decoder that forgets the end marker passes every seed")
	}
	if !strings.Contains(out, "end at offset") || !strings.Contains(out, "SUMMARY: libFuzzer") {
		t.Fatal("the crash does not say the Mismatch")
	}
	crashes, _ := filepath.Glob(filepath.Join(dir, "art-wrong", "crash-*"))
	if len(crashes) != 1 {
		t.Fatalf("%d crash inputs kept; want 1", len(crashes))
	}
	out, err = run("./FuzzForgetsEnd", crashes[0])
	if err == nil || !strings.Contains(out, "end at offset") {
		t.Errorf("replaying %s: %v; want the Mismatch again", crashes[0], err)
	}
}
