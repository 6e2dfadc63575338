package report

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// WriteFile writes a report file at path with write, for example
//
//	report.WriteFile("junit.xml", func(w io.Writer) error { return report.JUnit(w, r) })
//
// A regular file is replaced only once write has succeeded and the new
// contents are flushed and closed: they go to a temporary file in the same
// directory, renamed over path at the end, so a reader never sees half a
// report and a failed run leaves any previous file as it was. A symbolic link
// is followed, and its target replaced. A path that exists and is not a
// regular file (/dev/stdout, a named pipe) is written to directly. A new
// file gets mode 0644; a replaced one keeps its mode.
//
// Errors name the path; the first error from write, flushing, closing or
// renaming is returned, and the temporary file is removed.
func WriteFile(path string, write func(io.Writer) error) (err error) {
	target := path
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		target = resolved
	}
	mode := os.FileMode(0o644)
	if fi, err := os.Stat(target); err == nil {
		if !fi.Mode().IsRegular() {
			return writeDirect(target, write)
		}
		mode = fi.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(target), "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
			err = fmt.Errorf("report: writing %s: %w", path, err)
		}
	}()
	bw := bufio.NewWriter(f)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if err := f.Chmod(mode); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), target)
}

// writeDirect writes to a path that is not a regular file.
func writeDirect(path string, write func(io.Writer) error) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	bw := bufio.NewWriter(f)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("report: writing %s: %w", path, err)
	}
	return nil
}

// Stdout is the path that means standard output: "--json -".
const Stdout = "-"

// Write is WriteFile, except that the path [Stdout] ("-") writes to stdout
// (buffered, flushed at the end) instead of a file named "-".
func Write(path string, stdout io.Writer, write func(io.Writer) error) error {
	if path != Stdout {
		return WriteFile(path, write)
	}
	bw := bufio.NewWriter(stdout)
	err := write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return fmt.Errorf("report: writing to stdout: %w", err)
	}
	return nil
}
