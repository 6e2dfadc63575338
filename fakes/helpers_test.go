package fakes

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/wire"
)

// netTimeout bounds every network operation of the tests.
const netTimeout = 10 * time.Second

var (
	vectorsOnce sync.Once
	vectors     []qtvectors.Vector
	vectorsErr  error
)

func loadVectors(t testing.TB) []qtvectors.Vector {
	t.Helper()
	vectorsOnce.Do(func() { vectors, vectorsErr = qtvectors.Load() })
	if vectorsErr != nil {
		t.Fatal(vectorsErr)
	}
	return vectors
}

func vector(t testing.TB, profile, kind, label string) []byte {
	t.Helper()
	v, ok := qtvectors.Find(loadVectors(t), profile, kind, label)
	if !ok {
		t.Fatalf("no vector %s %s %s", profile, kind, label)
	}
	return v.Bytes
}

// logBuffer collects a server's JSON log lines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// lines returns the log lines, decoded.
func (l *logBuffer) lines(t testing.TB) []map[string]any {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []map[string]any
	sc := bufio.NewScanner(bytes.NewReader(l.b.Bytes()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	return out
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// startServer starts a server that the test closes, failing it if Close
// reports a blocked connection.
func startServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// dial connects to addr with the test's deadline on every operation.
func dial(t testing.TB, addr string) *net.TCPConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, netTimeout)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(netTimeout))
	t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// readAll reads until EOF or an error, and returns the bytes and the error
// (nil for EOF).
func readAll(c net.Conn) ([]byte, error) {
	var out []byte
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// exchange sends req whole and returns everything the server sends until it
// closes.
func exchange(t testing.TB, addr string, req []byte) ([]byte, error) {
	t.Helper()
	c := dial(t, addr)
	if _, err := c.Write(req); err != nil {
		return nil, err
	}
	return readAll(c)
}

// readPieces reads until EOF or an error and returns each read separately.
func readPieces(c net.Conn) ([][]byte, []time.Time, error) {
	var pieces [][]byte
	var at []time.Time
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			pieces = append(pieces, bytes.Clone(buf[:n]))
			at = append(at, time.Now())
		}
		if err == io.EOF {
			return pieces, at, nil
		}
		if err != nil {
			return pieces, at, err
		}
	}
}

// checkNoGoroutines waits (bounded) for the goroutine count to come back
// to before, and fails the test with the stacks if it does not.
func checkNoGoroutines(t testing.TB, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= before {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			buf = buf[:runtime.Stack(buf, true)]
			t.Fatalf("%d goroutines after Close, %d before:\n%s", n, before, buf)
		}
		runtime.Gosched()
		time.Sleep(time.Millisecond) // a leak check, not a readiness wait
	}
}

// encodeRequest is the block of a request in profile p.
func encodeRequest(t testing.TB, p wire.Profile, r *wire.Request) []byte {
	t.Helper()
	b, err := wire.Encoder{Profile: p, AllowIllegalWrites: true}.AppendRequest(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
