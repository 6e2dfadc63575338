package conformance

import (
	"context"
	"crypto/sha256"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/wire"
)

var updateServed = flag.Bool("update-served", false, "rewrite testdata/served.golden from this run")

// servedStream is what the client suite wrote on one connection: each
// write's bytes, and how it ended the stream.
type servedStream struct {
	mu     sync.Mutex
	writes [][]byte
	end    []string // "close-write", "linger 0", in order
}

// tapConn records the writes and endings of a reply connection. A write
// the client refused (it closed first) is reported as written, so that
// what is recorded is every write the suite made, whatever the client's
// timing.
type tapConn struct {
	net.Conn
	s *servedStream
}

func (c *tapConn) Write(b []byte) (int, error) {
	c.s.mu.Lock()
	c.s.writes = append(c.s.writes, append([]byte(nil), b...))
	c.s.mu.Unlock()
	c.Conn.Write(b)
	return len(b), nil
}

func (c *tapConn) ending(what string) {
	c.s.mu.Lock()
	c.s.end = append(c.s.end, what)
	c.s.mu.Unlock()
}

func (c *tapConn) CloseWrite() error {
	c.ending("close-write")
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	return nil
}

func (c *tapConn) SetNoDelay(on bool) error {
	if nd, ok := c.Conn.(interface{ SetNoDelay(bool) error }); ok {
		return nd.SetNoDelay(on)
	}
	return nil
}

func (c *tapConn) SetLinger(sec int) error {
	c.ending(fmt.Sprintf("linger %d", sec))
	if l, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return l.SetLinger(sec)
	}
	return nil
}

// line is the stream in one line: its length, digest, writes (run-length
// coded: 33x7) and endings.
func (s *servedStream) line() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := sha256.New()
	n := 0
	var sizes []string
	for i := 0; i < len(s.writes); {
		j := i
		for j < len(s.writes) && len(s.writes[j]) == len(s.writes[i]) {
			j++
		}
		if j-i > 1 {
			sizes = append(sizes, fmt.Sprintf("%dx%d", len(s.writes[i]), j-i))
		} else {
			sizes = append(sizes, fmt.Sprint(len(s.writes[i])))
		}
		i = j
	}
	for _, w := range s.writes {
		h.Write(w)
		n += len(w)
	}
	end := strings.Join(s.end, ",")
	if end == "" {
		end = "-"
	}
	return fmt.Sprintf("%d bytes sha256:%x writes [%s] end %s", n, h.Sum(nil)[:12], strings.Join(sizes, " "), end)
}

// servedGolden runs the client suite with the reference client in both
// profiles and returns, for every scenario (each variant), the streams it
// served, one line each, sorted within the scenario (a sweep's runs go in
// parallel).
func servedGolden(t *testing.T) string {
	bin := filepath.Join(t.TempDir(), "brokenclient")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "./testdata/brokenclient").CombinedOutput(); err != nil {
		t.Fatalf("go build ./testdata/brokenclient: %v\n%s", err, out)
	}
	tmpl := "'" + bin + "' -mode ok -profile {profile} -timeout 4s -host {host} -port {port} {from} {to} {date} {time} {flag}"
	var b strings.Builder
	for _, p := range []wire.Profile{wire.Qt4, wire.Qt5} {
		var mu sync.Mutex
		streams := map[string][]*servedStream{}
		tap := func(id string, c net.Conn) net.Conn {
			s := &servedStream{}
			mu.Lock()
			streams[id] = append(streams[id], s)
			mu.Unlock()
			return &tapConn{Conn: c, s: s}
		}
		rctx := context.WithValue(context.Background(), replyTapKey{}, tap)
		rep, err := RunClient(rctx, ClientOptions{Exec: tmpl, Profile: p, Timeout: 10 * time.Second, Strict: true, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rep.Results {
			if r.Status != Pass {
				// What was served is still recorded; a scenario that
				// stopped before serving shows as a missing line.
				t.Logf("%v %s: %s: %s", p, r.ID, r.Status, r.Message)
			}
		}
		ids := make([]string, 0, len(streams))
		for id := range streams {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		for _, id := range ids {
			var lines []string
			for _, s := range streams[id] {
				lines = append(lines, s.line())
			}
			sort.Strings(lines)
			for _, l := range lines {
				fmt.Fprintf(&b, "%v %s: %s\n", p, id, l)
			}
		}
	}
	return b.String()
}

// Every scenario of the client suite, in each variant and both profiles,
// serves the bytes it served before the suite wrote its replies through
// package fakes: the same writes, byte for byte, and the same ending.
// testdata/served.golden was recorded from the client suite's own writer
// (before fakes.Reply); -update-served rewrites it.
func TestServedBytesGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the whole client suite twice")
	}
	got := servedGolden(t)
	path := filepath.Join("testdata", "served.golden")
	if *updateServed {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(strings.Split(string(want), "\n"), strings.Split(got, "\n")); diff != "" {
		t.Errorf("served bytes differ from %s (-want +got):\n%s", path, diff)
	}
}
