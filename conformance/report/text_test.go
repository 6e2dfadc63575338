package report

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/conformance"
)

func TestText(t *testing.T) {
	for _, tc := range []struct {
		name   string
		report func() *conformance.Report
		opts   TextOptions
		want   string
	}{
		{
			name:   "every kind of result",
			report: sample,
			want: `tripcheck server 127.0.0.1:6178: profile qt5 (detected), seed 42

framing
  ✔ framing/split-size
  ✖ framing/end-marker (2.5s)
  ✖ framing/padding (SHOULD, not required)
  - framing/huge (skipped: needs --golden book)
valid
  ✔ valid/ascii/whole
  ✖ valid/ascii/fragmented (expected failure)
  ✔ valid/ascii/coalesced (expected failure, but passed)
weird
  ✖ weird/bytes

Failures:

  framing/end-marker (MUST)
    Requirement: A server MUST end its reply with the 0xFFFF marker (PROTOCOL.md §3.2)
    no reply in 2s
      > send request (27 bytes)

      < 0 bytes

  framing/padding (SHOULD, not required)
    Requirement: A server SHOULD NOT pad its blocks
    3 bytes of padding after trip[0]
      < 00 00 00

  valid/ascii/fragmented (MUST, expected failure)
    Requirement: A server MUST accept a request split anywhere
    trip[2].trainType[3]: expected 0x0041, got 0x0000
      offset 74

  weird/bytes (MUST)
    Requirement: A server MUST send UTF-16 strings
    got \u001B[31mred\u0000\xFF
      line\u000D
      bell\u0007

1 failure is a SHOULD requirement, not required without --strict
1 failure is expected (listed in --expect-fail)

Unexpected passes (listed in --expect-fail):
  valid/ascii/coalesced

3 passed, 4 failed, 1 skipped in 1.31s
`,
		},
		{
			name: "verbose shows every duration and the logs of passes",
			report: func() *conformance.Report {
				return &conformance.Report{
					Suite: "client", Target: "./planner --port 6178", Profile: "qt4", ProfileNote: "given",
					Seed: -7, Strict: true, Golden: "book", Duration: 850 * time.Millisecond,
					Results: []conformance.Result{
						{ID: "valid/ascii/whole", Level: conformance.Must, Status: conformance.Pass,
							Log: "> request\n< 3 trips\n", Duration: 3 * time.Millisecond},
						{ID: "valid/ascii/fragmented", Level: conformance.Must, Status: conformance.Skip,
							Message: "no fragmentation on a pipe", Log: "skipped at phase 1"},
						{ID: "shape/pad", Level: conformance.Should, Status: conformance.Fail, Required: true,
							Requirement: "A client SHOULD ignore padding", Message: "closed the connection",
							Log: "> trips with padding\n< EOF", Duration: 120 * time.Millisecond},
					},
				}
			},
			opts: TextOptions{Verbose: true},
			want: `tripcheck client ./planner --port 6178: profile qt4 (given), seed -7, strict, golden book

valid
  ✔ valid/ascii/whole (0ms)
      > request
      < 3 trips
  - valid/ascii/fragmented (skipped: no fragmentation on a pipe) (0ms)
      skipped at phase 1
shape
  ✖ shape/pad (120ms)

Failures:

  shape/pad (SHOULD, required by --strict)
    Requirement: A client SHOULD ignore padding
    closed the connection
      > trips with padding
      < EOF

wall time 850ms, slowest scenario 120ms
1 passed, 1 failed, 1 skipped in 850ms
`,
		},
		{
			name: "all passed",
			report: func() *conformance.Report {
				return &conformance.Report{
					Suite: "server", Target: "localhost:6178", Profile: "qt5", Seed: 1,
					Duration: 40 * time.Millisecond,
					Results: []conformance.Result{
						{ID: "framing/split-size", Area: "framing", Level: conformance.Must, Status: conformance.Pass,
							Log: "not shown without -v", Duration: 40 * time.Millisecond},
					},
				}
			},
			want: `tripcheck server localhost:6178: profile qt5, seed 1

framing
  ✔ framing/split-size

1 passed, 0 failed, 0 skipped in 40ms
`,
		},
		{
			name: "a profile note of several lines",
			report: func() *conformance.Report {
				return &conformance.Report{
					Suite: "server", Target: "localhost:6178", Profile: "qt4", Seed: 3,
					ProfileNote: "undetermined, assumed qt4; qt4 probe: wire: stream ended at offset 105\n" +
						"      > 0060: 72 00 43\n\n; qt5 probe: no bytes\n",
				}
			},
			want: `tripcheck server localhost:6178: profile qt4 (undetermined, assumed qt4; qt4 probe: wire: stream ended at offset 105 …), seed 3
  profile note:
    undetermined, assumed qt4; qt4 probe: wire: stream ended at offset 105
          > 0060: 72 00 43

    ; qt5 probe: no bytes

No scenarios ran.

0 passed, 0 failed, 0 skipped in 0ms
`,
		},
		{
			name:   "no results",
			report: func() *conformance.Report { return &conformance.Report{Suite: "server", Target: "[::1]:6178"} },
			want: `tripcheck server [::1]:6178: seed 0

No scenarios ran.

0 passed, 0 failed, 0 skipped in 0ms
`,
		},
		{
			name: "peer bytes in the header and IDs are escaped",
			report: func() *conformance.Report {
				return &conformance.Report{
					Suite: "server", Target: "evil\x1b]0;title\a", Profile: "qt5\n", Duration: 2 * time.Second,
					Results: []conformance.Result{
						{ID: "\x1b[2J/x", Level: conformance.Must, Status: conformance.Skip, Message: "line 1\nline 2"},
					},
				}
			},
			want: `tripcheck server evil\u001B]0;title\u0007: profile qt5\u000A, seed 0

\u001B[2J
  - \u001B[2J/x (skipped: line 1 …)

0 passed, 0 failed, 1 skipped in 2s
`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.report()
			before := tc.report()
			var b bytes.Buffer
			if err := Text(&b, r, tc.opts); err != nil {
				t.Fatal(err)
			}
			got := b.String()
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Text output (-want +got):\n%s\ngot:\n%s", diff, got)
			}
			checkLastLine(t, got, "")
			if strings.Contains(got, "\x1b") {
				t.Errorf("colour off, but the output has an ESC: %q", got)
			}
			if diff := cmp.Diff(before, r); diff != "" {
				t.Errorf("Text modified the report (-before +after):\n%s", diff)
			}
		})
	}
}

func TestTextColor(t *testing.T) {
	// NO_COLOR is for the caller (ColorFor); Text obeys opts.Color alone.
	t.Setenv("NO_COLOR", "1")
	for _, verbose := range []bool{false, true} {
		var plain, coloured bytes.Buffer
		if err := Text(&plain, sample(), TextOptions{Verbose: verbose}); err != nil {
			t.Fatal(err)
		}
		if err := Text(&coloured, sample(), TextOptions{Color: true, Verbose: verbose}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(plain.String(), "\x1b[") {
			t.Errorf("verbose=%v: Color false, but ANSI codes in:\n%s", verbose, plain.String())
		}
		for _, code := range []string{
			"\x1b[32m✔ framing/split-size",                       // green pass
			"\x1b[31m✖ framing/end-marker",                       // red required failure
			"\x1b[33m✖ framing/padding (SHOULD, not required)",   // yellow SHOULD
			"\x1b[31m✔ valid/ascii/coalesced (expected failure,", // red unexpected pass
			"\x1b[0m",
		} {
			if !strings.Contains(coloured.String(), code) {
				t.Errorf("verbose=%v: Color true, output lacks %q:\n%s", verbose, code, coloured.String())
			}
		}
		// The summary line stays plain, and removing the colour codes gives the
		// plain output back.
		checkLastLine(t, coloured.String(), "3 passed, 4 failed, 1 skipped in 1.31s")
		stripped := regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(coloured.String(), "")
		if diff := cmp.Diff(plain.String(), stripped); diff != "" {
			t.Errorf("verbose=%v: coloured output without its codes differs from plain (-plain +stripped):\n%s", verbose, diff)
		}
	}
}

func TestTextNil(t *testing.T) {
	if err := Text(&bytes.Buffer{}, nil, TextOptions{}); err == nil {
		t.Error("Text(nil report) = nil error")
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write([]byte) (int, error) { return 0, w.err }

func TestWritersReturnWriteErrors(t *testing.T) {
	errBoom := errors.New("boom")
	for name, write := range map[string]func(w failingWriter) error{
		"Text":  func(w failingWriter) error { return Text(w, sample(), TextOptions{}) },
		"JSON":  func(w failingWriter) error { return JSON(w, sample()) },
		"JUnit": func(w failingWriter) error { return JUnit(w, sample()) },
	} {
		if err := write(failingWriter{errBoom}); !errors.Is(err, errBoom) {
			t.Errorf("%s to a failing writer: err = %v, want %v", name, err, errBoom)
		}
	}
}

func TestColorFor(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	t.Setenv("NO_COLOR", "")
	t.Setenv("TERM", "xterm-256color")
	if ColorFor(f) {
		t.Error("ColorFor(regular file) = true")
	}
	if ColorFor(nil) {
		t.Error("ColorFor(nil) = true")
	}
	if tty, err := os.OpenFile("/dev/tty", os.O_WRONLY, 0); err == nil {
		defer tty.Close()
		if !ColorFor(tty) {
			t.Error("ColorFor(/dev/tty) = false with NO_COLOR empty")
		}
		t.Setenv("NO_COLOR", "1")
		if ColorFor(tty) {
			t.Error("ColorFor(/dev/tty) = true with NO_COLOR=1")
		}
		t.Setenv("NO_COLOR", "")
		t.Setenv("TERM", "dumb")
		if ColorFor(tty) {
			t.Error("ColorFor(/dev/tty) = true with TERM=dumb")
		}
	}
}

// Failures that share a cause are explained once: the report leads with
// the causes, numbered as the tree refers to them, and the recap details
// the first failure of each cause only.
func TestTextCauses(t *testing.T) {
	noEnd := conformance.Finding{Check: "reply/no-end-marker", Summary: "the reply has no end marker", Offset: 105, Field: "end"}
	r := &conformance.Report{Suite: "server", Target: "x:1", Duration: time.Second}
	for _, id := range []string{"valid/ascii/whole", "valid/ascii/fragmented", "framing/split-size"} {
		r.Results = append(r.Results, conformance.Result{ID: id, Level: conformance.Must, Status: conformance.Fail, Required: true,
			Message: "stream ended before the end marker", Log: "> reply", Findings: []conformance.Finding{noEnd}})
	}
	r.Results = append(r.Results, conformance.Result{ID: "reply/after-end", Level: conformance.Must, Status: conformance.Fail, Required: true,
		Message: "4 bytes after the end marker", Findings: []conformance.Finding{{Check: "reply/after-end", Summary: "the server sends bytes after the end marker", Offset: 107}}})
	r.Results = append(r.Results, conformance.Result{ID: "reply/closes", Level: conformance.Must, Status: conformance.Fail, Required: true, Message: "no finding"})
	var b strings.Builder
	if err := Text(&b, r, TextOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	want := "tripcheck server x:1: seed 0\n\n" +
		"2 causes explain 4 failures:\n" +
		"  1. 3 failures: the reply has no end marker (first in valid/ascii/whole, offset 105) [reply/no-end-marker]\n" +
		"  2. 1 failure: the server sends bytes after the end marker (first in reply/after-end, offset 107) [reply/after-end]\n\n"
	if !strings.HasPrefix(out, want) {
		t.Errorf("the report does not lead with the causes; want it to start\n%s\ngot\n%s", want, out)
	}
	for _, line := range []string{
		"  ✖ valid/ascii/fragmented (cause 1)\n",
		"  ✖ reply/closes\n",
		"  valid/ascii/fragmented (MUST): cause 1, as in valid/ascii/whole\n",
		"  framing/split-size (MUST): cause 1, as in valid/ascii/whole\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("no line %q in\n%s", line, out)
		}
	}
	if n := strings.Count(out, "stream ended before the end marker"); n != 1 {
		t.Errorf("the message of cause 1 is shown %d times, want once\n%s", n, out)
	}
	if !strings.HasSuffix(out, "0 passed, 5 failed, 0 skipped in 1s\n") {
		t.Errorf("the last line is not the summary:\n%s", out)
	}
}
