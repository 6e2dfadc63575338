package inputfiles_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/internal/inputfiles"
)

func TestForeign(t *testing.T) {
	dir := t.TempDir()
	for name, data := range map[string]string{"a.bin": "\x00\x01", "b.bin": "", "notes.txt": "not an input"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got := inputfiles.Foreign(t, dir)
	want := map[string][]byte{"a": {0, 1}, "b": {}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Foreign (-want +got):\n%s", diff)
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "h"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "h", "x"), []byte("y"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := inputfiles.Read(t, filepath.Join(dir, "*", "*"), func(path string) string {
		return filepath.Base(filepath.Dir(path)) + "-" + filepath.Base(path)
	})
	if diff := cmp.Diff(map[string][]byte{"h-x": []byte("y")}, got); diff != "" {
		t.Errorf("Read (-want +got):\n%s", diff)
	}
}
