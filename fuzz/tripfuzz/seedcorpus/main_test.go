package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/fuzz/tripfuzz"
)

// TestWrite: the zip and the directory each hold one file per seed, its
// LibFuzzerInput.
func TestWrite(t *testing.T) {
	want := map[string][]byte{}
	for _, s := range tripfuzz.RequestSeeds() {
		want[strings.ReplaceAll(s.Name, "/", "_")] = tripfuzz.LibFuzzerInput(s.Bytes)
	}
	dir := t.TempDir()
	var stderr bytes.Buffer
	if code := run([]string{"requests", filepath.Join(dir, "corpus")}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	entries, err := os.ReadDir(filepath.Join(dir, "corpus"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != len(want) {
		t.Errorf("directory: %d files, want %d", len(entries), len(want))
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, "corpus", e.Name()))
		if err != nil || !bytes.Equal(b, want[e.Name()]) {
			t.Errorf("directory: %s differs from its seed (%v)", e.Name(), err)
		}
	}
	zipName := filepath.Join(dir, "FuzzRequests_seed_corpus.zip")
	if code := run([]string{"requests", zipName}, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	z, err := zip.OpenReader(zipName)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	if len(z.File) != len(want) {
		t.Errorf("zip: %d files, want %d", len(z.File), len(want))
	}
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(b, want[f.Name]) {
			t.Errorf("zip: %s differs from its seed (%v)", f.Name, err)
		}
	}
}

func TestUsage(t *testing.T) {
	for _, args := range [][]string{nil, {"replies"}, {"trips", "x"}} {
		var stderr bytes.Buffer
		if code := run(args, &stderr); code != 2 || !strings.Contains(stderr.String(), "usage") {
			t.Errorf("%q: exit %d, %q; want 2 and the usage", args, code, stderr.String())
		}
	}
}
