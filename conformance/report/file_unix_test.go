//go:build unix

package report

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestWriteFileFIFO checks that a path that is not a regular file (as
// /dev/stdout is) is written to, not replaced.
func TestWriteFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	read := make(chan string, 1)
	go func() {
		f, err := os.Open(path) // blocks until WriteFile opens the pipe
		if err != nil {
			read <- "open: " + err.Error()
			return
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			read <- "read: " + err.Error()
			return
		}
		read <- string(b)
	}()
	if err := WriteFile(path, writeString("<testsuites/>\n")); err != nil {
		t.Fatal(err)
	}
	// Checked before waiting for the reader, which a replaced pipe would
	// leave blocked.
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the pipe was replaced by %v", fi.Mode())
	}
	select {
	case got := <-read:
		if got != "<testsuites/>\n" {
			t.Errorf("read from the pipe: %q", got)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("nothing read from the pipe in 10s")
	}
}
