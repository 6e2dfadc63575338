package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// readHTML reads an HTML report and requires the parts every one has.
func readHTML(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the HTML report: %v", err)
	}
	s := string(b)
	for _, want := range []string{"<!DOCTYPE html>", `<div class="wire"`, "<style>", "<script>"} {
		if !strings.Contains(s, want) {
			t.Errorf("%s has no %q", path, want)
		}
	}
	return s
}

// TestHTMLFlag writes --html from each command that takes it, each against
// a broken peer, and finds the failure's diagram with its divergence.
func TestHTMLFlag(t *testing.T) {
	dir := t.TempDir()
	t.Run("server", func(t *testing.T) {
		srv, err := fakes.NewServer(fakes.WithProfile(wire.Qt4), fakes.WithFault(fakes.Fault{NoEnd: true}))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		out := filepath.Join(dir, "server.html")
		code, stdout, stderr := capRun("server", srv.Addr(), "--profile", "qt4", "--seed", "1", "--run", "valid/ascii/whole", "--html", out)
		if code != 1 {
			t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
		}
		s := readHTML(t, out)
		for _, want := range []string{"valid/ascii/whole", "First divergence", "ff ff (the end marker)", "the end of the stream (FIN)"} {
			if !strings.Contains(s, want) {
				t.Errorf("server --html: no %q", want)
			}
		}
	})
	t.Run("pcap-check", func(t *testing.T) {
		out := filepath.Join(dir, "check.html")
		code, stdout, _ := capRun("pcap", "check", "--port", "any", "--html", out, "../../testdata/captures/bad-after-end.pcapng")
		if code != 1 {
			t.Fatalf("exit %d, want 1\n%s", code, stdout)
		}
		s := readHTML(t, out)
		for _, want := range []string{"session[1]/reply/nothing-after-end", "First divergence", "the end of the stream", `class="f-after diverge"`} {
			if !strings.Contains(s, want) {
				t.Errorf("pcap check --html: no %q", want)
			}
		}
	})
	t.Run("pcap-decode", func(t *testing.T) {
		out := filepath.Join(dir, "decode.html")
		code, _, stderr := capRun("pcap", "decode", "--port", "any", "--html", out, "../../testdata/captures/bad-no-end.pcapng")
		if code != 0 {
			t.Fatalf("exit %d, want 0\n%s", code, stderr)
		}
		s := readHTML(t, out)
		for _, want := range []string{"session 1: 127.0.0.1:", "First divergence", "offset 105", "packet 5"} {
			if !strings.Contains(s, want) {
				t.Errorf("pcap decode --html: no %q", want)
			}
		}
	})
	t.Run("replay", func(t *testing.T) {
		// The captured book's reply, replayed to a server that cuts the
		// end marker.
		srv, err := fakes.NewServer(fakes.WithProfile(wire.Qt4), fakes.WithGenerator(fakes.Book{}), fakes.WithFault(fakes.Fault{NoEnd: true}))
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		capture := captureFile(t, bookSession(t, 0))
		out := filepath.Join(dir, "replay.html")
		code, stdout, stderr := capRun("replay", capture, "--server", srv.Addr(), "--html", out)
		if code != 1 {
			t.Fatalf("exit %d, want 1\n%s%s", code, stdout, stderr)
		}
		s := readHTML(t, out)
		for _, want := range []string{"session[1]/replay", "First divergence", "expected <span class=\"mono\">ff ff</span>"} {
			if !strings.Contains(s, want) {
				t.Errorf("replay --html: no %q", want)
			}
		}
	})
	t.Run("unwritable", func(t *testing.T) {
		code, _, stderr := capRun("pcap", "check", "--port", "any", "--html", filepath.Join(dir, "no", "such", "dir.html"), "../../testdata/captures/bad-after-end.pcapng")
		if code != 2 || !strings.Contains(stderr, "--html") {
			t.Errorf("exit %d, want 2 naming --html; stderr %q", code, stderr)
		}
	})
}
