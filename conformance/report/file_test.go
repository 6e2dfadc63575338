package report

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// dirNames lists the names in dir, to see that no temporary file is left.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func checkFile(t *testing.T, path, want string) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}

func TestWriteFile(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name     string
		existing string      // contents of the file before, if not ""
		mode     os.FileMode // its mode
		write    func(io.Writer) error
		wantErr  error
		want     string      // contents after
		wantMode os.FileMode // mode after
	}{
		{name: "new file", write: writeString("<testsuites/>\n"), want: "<testsuites/>\n", wantMode: 0o644},
		{name: "replaces and keeps the mode", existing: "old", mode: 0o600,
			write: writeString("new"), want: "new", wantMode: 0o600},
		{name: "empty", existing: "old", mode: 0o644, write: writeString(""), want: "", wantMode: 0o644},
		{name: "write fails: the old file stays", existing: "old", mode: 0o644,
			write: func(w io.Writer) error {
				io.WriteString(w, "half a rep")
				return errBoom
			},
			wantErr: errBoom, want: "old", wantMode: 0o644},
		{name: "write fails: no file is made",
			write: func(io.Writer) error { return errBoom }, wantErr: errBoom},
		{name: "large", write: writeString(string(make([]byte, 1<<20))), want: string(make([]byte, 1<<20)), wantMode: 0o644},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "report.xml")
			if tc.existing != "" {
				if err := os.WriteFile(path, []byte(tc.existing), tc.mode); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tc.mode); err != nil {
					t.Fatal(err)
				}
			}
			err := WriteFile(path, tc.write)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("WriteFile: err = %v, want %v", err, tc.wantErr)
			}
			names := dirNames(t, dir)
			if tc.existing == "" && tc.wantErr != nil {
				if len(names) != 0 {
					t.Errorf("files left after a failed write: %q", names)
				}
				return
			}
			if len(names) != 1 || names[0] != "report.xml" {
				t.Errorf("files in the directory: %q, want only report.xml", names)
			}
			checkFile(t, path, tc.want)
			if runtime.GOOS == "windows" {
				return
			}
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != tc.wantMode {
				t.Errorf("mode = %v, want %v", fi.Mode().Perm(), tc.wantMode)
			}
		})
	}
}

func TestWriteFileErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "missing", "report.xml")
	err := WriteFile(path, writeString("x"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WriteFile in a missing directory: err = %v, want os.ErrNotExist", err)
	}
}

func TestWriteFileSymlink(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	dir := t.TempDir()
	target := filepath.Join(dir, "reports", "junit.xml")
	if err := os.Mkdir(filepath.Dir(target), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "junit.xml")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(link, writeString("new")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v, %v", fi, err)
	}
	checkFile(t, target, "new")
}
