package fakes

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// phases returns a ConnState function that sends each phase change to the
// returned channel.
func phases() (func(ConnInfo), chan ConnInfo) {
	ch := make(chan ConnInfo, 64)
	return func(c ConnInfo) { ch <- c }, ch
}

// waitPhase reads phase changes until connection id reaches phase p.
func waitPhase(t *testing.T, ch chan ConnInfo, id uint64, p Phase) {
	t.Helper()
	timer := time.NewTimer(netTimeout)
	defer timer.Stop()
	for {
		select {
		case c := <-ch:
			if c.ID == id && c.Phase == p {
				return
			}
		case <-timer.C:
			t.Fatalf("conn %d never reached %v", id, p)
		}
	}
}

// A client that sends half a request, or nothing, is closed after the
// timeout, without a reply, and logged as a timeout.
func TestSlowClientTimesOut(t *testing.T) {
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")
	for _, sent := range []int{0, 1, len(req) / 2, len(req) - 1} {
		var logs logBuffer
		s := startServer(t, WithTimeout(100*time.Millisecond), WithLogger(logs.logger()))
		start := time.Now() // before the dial: the server's clock starts at its accept
		c := dial(t, s.Addr())
		if _, err := c.Write(req[:sent]); err != nil {
			t.Fatal(err)
		}
		got, err := readAll(c)
		if err != nil || len(got) != 0 {
			t.Errorf("sent %d bytes: got %x, %v; want EOF and no byte", sent, got, err)
		}
		if d := time.Since(start); d < 100*time.Millisecond {
			t.Errorf("sent %d bytes: closed after %v, before the timeout", sent, d)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		l := logs.lines(t)
		if len(l) != 1 || l[0]["reason"] != "timeout" || l[0]["outcome"] != OutcomeFailed || l[0]["in"] != float64(sent) {
			t.Errorf("sent %d bytes: log %v", sent, l)
		}
	}
}

// The timeout bounds the whole request, not each read: a client that
// trickles a byte at a time cannot keep the connection.
func TestTrickleTimesOut(t *testing.T) {
	req := vector(t, "qt4", "request", "x300-bonn")
	s := startServer(t, WithTimeout(200*time.Millisecond))
	c := dial(t, s.Addr())
	w, err := shape.NewWriter(c, mustShape(t, "bytes-1+delay-5ms"))
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := w.Write(req); done <- err }() // 628 bytes take ≥ 3s
	got, err := readAll(c)
	if len(got) != 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("got %x, %v; want no reply", got, err)
	}
	w.Close()
	<-done
}

// With a limit, connections beyond it wait: their request is answered once
// a connection ends.
func TestMaxConnsWait(t *testing.T) {
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")
	reply := vector(t, "qt4", "reply", "berlin-muenchen-dep")
	state, ch := phases()
	s := startServer(t, WithMaxConns(1), WithConnState(state))
	first := dial(t, s.Addr())
	if _, err := first.Write(req[:10]); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, ch, 1, PhaseReading)
	second := dial(t, s.Addr()) // the kernel accepts it; the server does not
	if _, err := second.Write(req); err != nil {
		t.Fatal(err)
	}
	second.SetReadDeadline(time.Now().Add(150 * time.Millisecond))
	if n, err := second.Read(make([]byte, 1)); n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("second connection read %d bytes, %v, while the first holds the only slot", n, err)
	}
	if got := len(s.Conns()); got != 1 {
		t.Errorf("%d connections served, want 1", got)
	}
	if _, err := first.Write(req[10:]); err != nil {
		t.Fatal(err)
	}
	for i, c := range []net.Conn{first, second} {
		c.SetReadDeadline(time.Now().Add(netTimeout))
		got, err := readAll(c)
		if err != nil || !bytes.Equal(got, reply) {
			t.Errorf("connection %d: %x, %v", i+1, got, err)
		}
	}
}

// Shutdown stops accepting and lets a reply in flight finish.
func TestShutdownFinishesInFlight(t *testing.T) {
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")
	reply := vector(t, "qt4", "reply", "berlin-muenchen-dep")
	s := startServer(t, WithFault(Fault{Shape: mustShape(t, "bytes-10+delay-20ms")}))
	addr := s.Addr()
	c := dial(t, addr)
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	first := make([]byte, 10)
	if _, err := readFull(c, first); err != nil { // the reply is on its way
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Shutdown(context.Background()) }()
	rest, err := readAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if got := append(first, rest...); !bytes.Equal(got, reply) {
		t.Errorf("reply during shutdown\n got %x\nwant %x", got, reply)
	}
	if err := <-done; err != nil {
		t.Errorf("Shutdown: %v", err)
	}
	if c, err := net.DialTimeout("tcp", addr, netTimeout); err == nil {
		c.Close()
		t.Errorf("dial after Shutdown succeeded")
	}
}

// Shutdown also waits for a request being read, and answers it; a context
// that ends first gets a *BlockedError naming the connection, which goes on.
func TestShutdownWaitsForRequest(t *testing.T) {
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")
	reply := vector(t, "qt4", "reply", "berlin-muenchen-dep")
	state, ch := phases()
	s := startServer(t, WithConnState(state))
	c := dial(t, s.Addr())
	if _, err := c.Write(req[:5]); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, ch, 1, PhaseReading)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := s.Shutdown(ctx)
	var be *BlockedError
	if !errors.As(err, &be) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown: %v, want a *BlockedError for the deadline", err)
	}
	if len(be.Conns) != 1 || be.Conns[0].Peer != c.LocalAddr().String() || be.Conns[0].Phase != PhaseReading {
		t.Errorf("blocked: %+v, want the client's connection, reading", be.Conns)
	}
	if _, err := c.Write(req[5:]); err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(c); err != nil || !bytes.Equal(got, reply) {
		t.Errorf("reply after Shutdown timed out: %x, %v", got, err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
}

// Close waits the grace period, then closes what blocks it and names it.
func TestCloseNamesBlockingConn(t *testing.T) {
	before := runtime.NumGoroutine()
	state, ch := phases()
	s, err := NewServer(WithGrace(50*time.Millisecond), WithConnState(state))
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, s.Addr())
	if _, err := c.Write([]byte{0, 46, 'S'}); err != nil {
		t.Fatal(err)
	}
	waitPhase(t, ch, 1, PhaseReading)
	err = s.Close()
	var be *BlockedError
	if !errors.As(err, &be) || len(be.Conns) != 1 {
		t.Fatalf("Close: %v, want a *BlockedError with one connection", err)
	}
	if be.Conns[0].Peer != c.LocalAddr().String() || be.Conns[0].ID != 1 {
		t.Errorf("blocked by %+v, want conn 1 from %s", be.Conns[0], c.LocalAddr())
	}
	t.Logf("Close: %v", err)
	if got, err := readAll(c); len(got) != 0 || (err != nil && !errors.Is(err, syscall.ECONNRESET)) {
		t.Errorf("after Close: %x, %v; want the connection closed", got, err)
	}
	if err2 := s.Close(); err2 != err {
		t.Errorf("second Close: %v, want the first's result", err2)
	}
	c.Close()
	checkNoGoroutines(t, before)
}

// No goroutine outlives Close, whatever the connections were doing: done,
// stalled, kept open, reading, writing slowly, waiting for a slot.
func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")
	for _, f := range []Fault{
		{},
		{Stall: true},
		{Shape: shape.Shape{Then: shape.ThenKeepOpen}},
		{Shape: mustShape(t, "bytes-1+delay-1s")},
	} {
		state, ch := phases()
		s, err := NewServer(WithFault(f), WithMaxConns(2), WithGrace(100*time.Millisecond), WithConnState(state))
		if err != nil {
			t.Fatal(err)
		}
		var conns []net.Conn
		for range 3 {
			c, err := net.DialTimeout("tcp", s.Addr(), netTimeout)
			if err != nil {
				t.Fatal(err)
			}
			c.SetDeadline(time.Now().Add(netTimeout))
			c.Write(req)
			conns = append(conns, c)
		}
		waitPhase(t, ch, 2, PhaseReading)
		s.Close() // may report the slow writer: that is not what this test checks
		for _, c := range conns {
			c.Close()
		}
	}
	checkNoGoroutines(t, before)
}

// The address and listener options, and the lifecycle errors.
func TestServerLifecycle(t *testing.T) {
	t.Run("listener", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		s := startServer(t, WithListener(ln))
		if s.Addr() != ln.Addr().String() {
			t.Errorf("Addr %s, listener %s", s.Addr(), ln.Addr())
		}
		got, err := exchange(t, s.Addr(), vector(t, "qt4", "request", "empty-empty"))
		if err != nil || !bytes.Equal(got, []byte{0xFF, 0xFF}) {
			t.Errorf("%x, %v", got, err)
		}
	})
	t.Run("unstarted", func(t *testing.T) {
		s, err := NewUnstartedServer(WithAddr("127.0.0.1:0"))
		if err != nil {
			t.Fatal(err)
		}
		if s.Addr() != "" {
			t.Errorf("Addr before Start: %q", s.Addr())
		}
		if err := s.Start(); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); !errors.Is(err, ErrServerState) {
			t.Errorf("second Start: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Start(); !errors.Is(err, ErrServerState) {
			t.Errorf("Start after Close: %v", err)
		}
	})
	t.Run("never-started", func(t *testing.T) {
		s, err := NewUnstartedServer()
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("bad-options", func(t *testing.T) {
		for name, opt := range map[string]Option{
			"profile":       WithProfile(7),
			"timeout":       WithTimeout(0),
			"grace":         WithGrace(-1),
			"max-conns":     WithMaxConns(-1),
			"generator":     WithGenerator(nil),
			"shape":         WithFault(Fault{Shape: shape.Shape{Every: -1}}),
			"reply-profile": WithFault(Fault{ReplyProfile: 9}),
			"size-delta":    WithFault(Fault{SizeDelta: 70000}),
			"garbage-only":  WithFault(Fault{GarbageOnly: true}),
		} {
			if _, err := NewServer(opt); err == nil {
				t.Errorf("%s: no error", name)
			}
		}
		if _, err := NewServer(WithAddr("127.0.0.1:notaport")); err == nil {
			t.Error("bad address: no error")
		}
	})
}

// A generator whose trip cannot be written (over 65 534 bytes) closes
// without a reply and logs why; the server goes on.
func TestGeneratorTooLarge(t *testing.T) {
	var logs logBuffer
	huge := wire.Trip{TrainType: wire.StrUnits(make([]uint16, 40000))}
	s := startServer(t, WithGenerator(funcGen(func(*wire.Request) []wire.Trip { return []wire.Trip{huge} })), WithLogger(logs.logger()))
	got, err := exchange(t, s.Addr(), vector(t, "qt4", "request", "berlin-muenchen-dep"))
	if err != nil || len(got) != 0 {
		t.Errorf("%x, %v; want no reply", got, err)
	}
	s.Close()
	if l := logs.lines(t); len(l) != 1 || l[0]["reason"] != "block-too-large" {
		t.Errorf("log %v", l)
	}
}

type funcGen func(*wire.Request) []wire.Trip

func (f funcGen) Trips(r *wire.Request) []wire.Trip { return f(r) }

// One log line per connection, with the peer, the request decoded, the
// trips sent, the bytes in and out and the duration.
func TestLogLine(t *testing.T) {
	var logs logBuffer
	s := startServer(t, WithLogger(logs.logger()))
	c := dial(t, s.Addr())
	req := vector(t, "qt4", "request", "emoji-koeln-9999")
	if _, err := c.Write(req); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(c)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	l := logs.lines(t)
	if len(l) != 1 {
		t.Fatalf("%d log lines", len(l))
	}
	want := map[string]any{
		"level":   "INFO",
		"msg":     "conn",
		"conn":    1.0,
		"peer":    c.LocalAddr().String(),
		"outcome": OutcomeReplied,
		"request": `request{type 'S', from "Zürich🚆", to "Köln", date 9999-12-31, time 12:30:00.000, flag 'A'}`,
		"trips":   6.0,
		"in":      float64(len(req)),
		"out":     float64(len(got)),
	}
	for k, v := range want {
		if l[0][k] != v {
			t.Errorf("%s = %v, want %v", k, l[0][k], v)
		}
	}
	if d, ok := l[0]["duration"].(float64); !ok || d <= 0 {
		t.Errorf("duration %v", l[0]["duration"])
	}
	if _, ok := l[0]["err"]; ok {
		t.Errorf("err in a clean exchange: %v", l[0]["err"])
	}
}
