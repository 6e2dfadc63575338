package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
)

// lineSink is an io.Writer for a command running in the background: it
// keeps everything and sends each complete line to a channel.
type lineSink struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	part  []byte
	lines chan string
}

func newLineSink() *lineSink { return &lineSink{lines: make(chan string, 1024)} }

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.buf.Write(p)
	s.part = append(s.part, p...)
	for {
		i := bytes.IndexByte(s.part, '\n')
		if i < 0 {
			break
		}
		select {
		case s.lines <- string(s.part[:i]):
		default: // nobody is waiting for so many lines
		}
		s.part = s.part[i+1:]
	}
	return len(p), nil
}

func (s *lineSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// tripcheck runs the command as main would and returns its exit code and
// output.
func tripcheck(ctx context.Context, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	return code, out.String(), errb.String()
}

// serving is `tripcheck serve` running in the background.
type serving struct {
	addr   string
	stderr *lineSink
	stop   context.CancelFunc
	code   chan int
}

// startServe runs `tripcheck serve --listen 127.0.0.1:0 args...` and waits
// for its "listening on" line. The test stops it, and expects exit 0.
func startServe(t *testing.T, args ...string) *serving {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	out, errs := newLineSink(), newLineSink()
	s := &serving{stderr: errs, stop: cancel, code: make(chan int, 1)}
	go func() {
		s.code <- run(ctx, append([]string{"serve", "--listen", "127.0.0.1:0"}, args...), out, errs)
	}()
	select {
	case line := <-out.lines:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("first line %q", line)
		}
		s.addr = addr
	case code := <-s.code:
		cancel()
		t.Fatalf("serve exited %d before listening: %s", code, errs.String())
	case <-time.After(10 * time.Second):
		t.Fatal("serve did not say it listens")
	}
	t.Cleanup(func() {
		if code := s.wait(t); code != 0 {
			t.Errorf("serve exited %d, want 0; stderr:\n%s", code, errs.String())
		}
	})
	return s
}

// wait stops the server (as SIGINT would) and returns its exit code.
func (s *serving) wait(t *testing.T) int {
	t.Helper()
	s.stop()
	select {
	case code := <-s.code:
		s.code <- code // for a second wait
		return code
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop")
		return -1
	}
}

// The book's answer through the command on both sides.
func TestServeAndQuery(t *testing.T) {
	s := startServe(t)
	code, out, errs := tripcheck(context.Background(), "query", s.addr, "--from", "Berlin", "--to", "München",
		"--date", "2026-11-25", "--time", "09:00", "--format", "lines")
	want := "2026-11-25 09:00:00.000 44 1 InterCity\n" +
		"2026-11-25 09:00:00.000 8 1 InterCity\n" +
		"2026-11-25 09:00:00.000 61 1 InterCity\n" +
		"END 3\n"
	if code != 0 || out != want {
		t.Errorf("query: exit %d, output\n%s\nwant exit 0, output\n%s\nstderr: %s", code, out, want, errs)
	}
	if code := s.wait(t); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	log := s.stderr.String()
	for _, want := range []string{"msg=conn", "outcome=replied", `from \"Berlin\"`, "trips=3", "out=107"} {
		if !strings.Contains(log, want) {
			t.Errorf("serve's log lacks %q:\n%s", want, log)
		}
	}
}

// The misbehaviour flags reach the wire.
func TestServeFaults(t *testing.T) {
	trips := filepath.Join(t.TempDir(), "trips.json")
	if err := os.WriteFile(trips, []byte(`[{"date": "@null", "departure": "12:00", "duration": 5, "changes": 0, "trainType": "ICE 🚆"}]`), 0o644); err != nil {
		t.Fatal(err)
	}
	query := []string{"--from", "Berlin", "--to", "München", "--date", "2026-11-25", "--time", "09:00", "--format", "lines", "--timeout", "2s"}
	cases := []struct {
		name string
		args []string
		code int
		out  string
	}{
		{"no-end", []string{"--no-end"}, 1, "ERROR connection closed by server\n"},
		{"truncate", []string{"--shape", "truncate=40"}, 1, "ERROR connection closed by server\n"},
		{"reset", []string{"--shape", "truncate=40", "--reset"}, 1, "ERROR connection closed by server\n"},
		{"size-delta", []string{"--size-delta", "-1"}, 1, "ERROR malformed trip block\n"},
		{"other-profile", []string{"--reply-profile", "qt5"}, 1, "ERROR malformed trip block\n"},
		{"garbage-only", []string{"--garbage", "ffff", "--garbage-only"}, 0, "END 0\n"},
		{"stall", []string{"--stall"}, 1, "ERROR timeout after 2s\n"},
		{"keep-open", []string{"--keep-open", "--shape", "bytes=7+delay=1ms", "--per-block"}, 0, "2026-11-25 09:00:00.000 44 1 InterCity\n2026-11-25 09:00:00.000 8 1 InterCity\n2026-11-25 09:00:00.000 61 1 InterCity\nEND 3\n"},
		{"trips", []string{"--trips", trips}, 0, "@null 12:00:00.000 5 0 ICE 🚆\nEND 1\n"},
		// A qt5 server cannot read a qt4 request: it closes without a reply.
		{"qt5", []string{"--profile", "qt5"}, 1, "ERROR connection closed by server\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startServe(t, append(c.args, "--grace", "100ms")...)
			code, out, _ := tripcheck(context.Background(), append([]string{"query", s.addr}, query...)...)
			if code != c.code || out != c.out {
				t.Errorf("query: exit %d, output\n%s\nwant exit %d, output\n%s", code, out, c.code, c.out)
			}
		})
	}
}

// On SIGINT (the context's end) a reply in flight is finished.
func TestServeGracefulShutdown(t *testing.T) {
	s := startServe(t, "--shape", "bytes=10+delay=20ms")
	c, err := net.DialTimeout("tcp", s.addr, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	req := vectorBytes(t, "qt4", "request", "berlin-muenchen-dep")
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 10)
	if _, err := io.ReadFull(c, first); err != nil {
		t.Fatal(err)
	}
	s.stop() // SIGINT
	rest, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := append(first, rest...), vectorBytes(t, "qt4", "reply", "berlin-muenchen-dep"); !bytes.Equal(got, want) {
		t.Errorf("reply during shutdown\n got %x\nwant %x", got, want)
	}
	if code := s.wait(t); code != 0 {
		t.Errorf("serve exited %d", code)
	}
}

func TestServeUsage(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for name, args := range map[string][]string{
		"profile":        {"--profile", "qt9"},
		"reply-profile":  {"--reply-profile", "qt9"},
		"shape":          {"--shape", "bytes=0"},
		"two-endings":    {"--shape", "then=keep-open", "--reset"},
		"reset-and-keep": {"--reset", "--keep-open"},
		"garbage":        {"--garbage", "zz"},
		"garbage-only":   {"--garbage-only"},
		"trips":          {"--trips", filepath.Join(t.TempDir(), "missing.json")},
		"log-format":     {"--log-format", "xml"},
		"timeout":        {"--timeout", "0s"},
		"busy-port":      {"--listen", busy.Addr().String()},
		"argument":       {"extra"},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		cancel() // should it start by mistake, it stops at once
		code, out, errs := tripcheck(ctx, append([]string{"serve"}, args...)...)
		if code != exitUsage || out != "" || errs == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and a message", name, code, out, errs)
		}
	}
}

// vectorBytes is a vector of testdata/vectors/qt-vectors.txt.
func vectorBytes(t *testing.T, profile, kind, label string) []byte {
	t.Helper()
	vs, err := qtvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	v, ok := qtvectors.Find(vs, profile, kind, label)
	if !ok {
		t.Fatalf("no vector %s %s %s", profile, kind, label)
	}
	return v.Bytes
}
