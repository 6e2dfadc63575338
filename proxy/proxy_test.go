package proxy

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

func defaultRequest() wire.Request {
	return wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("München"),
		Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
}

// harness is a proxy in front of a fake server, recording.
type harness struct {
	t        *testing.T
	addr     string // the proxy's
	upstream string // the server's
	rec      *bytes.Buffer
	w        *pcap.Writer
	mu       sync.Mutex
	events   []Event
	cancel   context.CancelFunc
	done     chan error
	opened   chan struct{} // one per open event
	ended    chan struct{} // one per close or error event
}

func start(t *testing.T, o Options, server ...fakes.Option) *harness {
	t.Helper()
	if o.Upstream == "" {
		srv, err := fakes.NewServer(server...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		o.Upstream = srv.Addr()
	}
	h := &harness{t: t, rec: new(bytes.Buffer), done: make(chan error, 1),
		opened: make(chan struct{}, 100), ended: make(chan struct{}, 100)}
	w, err := pcap.NewWriter(h.rec)
	if err != nil {
		t.Fatal(err)
	}
	h.w = w
	h.upstream = o.Upstream
	o.Record = w
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	o.Events = func(e Event) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.events = append(h.events, e)
		t.Logf("event: %v", e)
		switch e.Kind {
		case EventOpen:
			h.opened <- struct{}{}
		case EventClose:
			h.ended <- struct{}{}
		case EventError:
			if strings.HasPrefix(e.Text, "cannot connect") {
				h.ended <- struct{}{}
			}
		}
	}
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.done <- p.Serve(ctx, ln) }()
	t.Cleanup(func() { h.stop() })
	return h
}

// stop ends the proxy and returns the capture it recorded.
func (h *harness) stop() []byte {
	h.t.Helper()
	if h.cancel == nil {
		return h.rec.Bytes()
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Fatal("Serve did not return 10s after its context ended")
	}
	if err := h.w.Flush(); err != nil {
		h.t.Fatal(err)
	}
	return h.rec.Bytes()
}

func (h *harness) findings() []Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []Event
	for _, e := range h.events {
		if e.Kind == EventFinding || e.Kind == EventError {
			out = append(out, e)
		}
	}
	return out
}

// waitClosed waits until n connections have been reported over.
func (h *harness) waitClosed(n int) {
	h.t.Helper()
	timeout := time.After(10 * time.Second)
	for i := 0; i < n; i++ {
		select {
		case <-h.ended:
		case <-timeout:
			h.t.Fatalf("%d connections over after 10s, want %d", i, n)
		}
	}
}

// sessions reads back a recording.
func sessions(t *testing.T, file []byte) []*pcap.Session {
	t.Helper()
	return sessionsOn(t, file, pcap.AnyPort)
}

// sessionsOn reads back a recording, finding sessions on a server port.
func sessionsOn(t *testing.T, file []byte, port int) []*pcap.Session {
	t.Helper()
	r, err := pcap.NewReader(bytes.NewReader(file), pcap.Options{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	var out []*pcap.Session
	for {
		s, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
}

// tshark checks that tshark reads a capture without a warning, and with
// TCP checksums checked, without an expert warning. It skips when tshark
// is not installed, but fails with CI=true.
func tshark(t *testing.T, file []byte) {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("tshark is not installed; CI installs it (apt-get install tshark)")
		}
		t.Skip("tshark is not installed")
	}
	path := filepath.Join(t.TempDir(), "rec.pcapng")
	if err := os.WriteFile(path, file, 0o644); err != nil {
		t.Fatal(err)
	}
	// Checksums are checked: a packet built wrong shows as an expert
	// warning in the Checksum or Malformed group.
	args := []string{"-r", path, "-o", "tcp.check_checksum:TRUE", "-z", "expert,warn"}
	cmd := exec.Command(bin, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
	}
	if errs := withoutRootWarning(stderr.String()); errs != "" {
		t.Errorf("tshark %v wrote to stderr:\n%s", args, errs)
	}
	for _, line := range strings.Split(stdout.String(), "\n") {
		l := strings.ToLower(line)
		if strings.Contains(l, "malformed") || strings.Contains(l, "checksum") {
			t.Errorf("tshark %v: %s\n%s", args, line, stdout.String())
			break
		}
	}
}

// withoutRootWarning drops the line tshark writes when it runs as root
// (as in a CI container): it is about how tshark runs, not about the file.
func withoutRootWarning(s string) string {
	var keep []string
	for _, line := range strings.Split(s, "\n") {
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, `Running as user "root"`) {
			continue
		}
		keep = append(keep, line)
	}
	return strings.Join(keep, "\n")
}

func TestPassThrough(t *testing.T) {
	h := start(t, Options{})
	req := defaultRequest()
	for i := 0; i < 3; i++ {
		trips, err := fakes.Query(context.Background(), h.addr, &req, wire.Qt4, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if want := (fakes.Book{}).Trips(&req); len(trips) != len(want) {
			t.Fatalf("%d trips, want %d", len(trips), len(want))
		}
	}
	h.waitClosed(3)
	if f := h.findings(); len(f) != 0 {
		t.Errorf("findings: %v", f)
	}
	file := h.stop()
	ss := sessions(t, file)
	if len(ss) != 3 {
		os.WriteFile("/tmp/passthrough.pcapng", file, 0o644)
		t.Fatalf("%d sessions recorded", len(ss))
	}
	reqBytes, _ := wire.Qt4.AppendRequest(nil, &req)
	for _, s := range ss {
		if !bytes.Equal(s.Up.Data, reqBytes) || !s.Up.FIN.Seen() || !s.Down.FIN.Seen() || s.End != pcap.EndClosed || len(s.Notes) != 0 {
			t.Errorf("session %d: up %x, FINs %v %v, end %s, notes %v", s.Index, s.Up.Data, s.Up.FIN.Seen(), s.Down.FIN.Seen(), s.End, s.Notes)
		}
		if s.Server.String() != h.upstream {
			t.Errorf("server %v, want the upstream's address %v (the proxy's is %v)", s.Server, h.upstream, h.addr)
		}
	}
	// Read by the upstream's port, as pcap decode reads a capture taken at
	// a server on 6178 with its defaults, the recording holds every session;
	// by the proxy's port, none.
	_, upPort, _ := net.SplitHostPort(h.upstream)
	_, proxyPort, _ := net.SplitHostPort(h.addr)
	for _, c := range []struct {
		port string
		want int
	}{{upPort, 3}, {proxyPort, 0}} {
		n, _ := strconv.Atoi(c.port)
		if got := len(sessionsOn(t, file, n)); got != c.want {
			t.Errorf("read on port %d: %d sessions, want %d", n, got, c.want)
		}
	}
	tshark(t, file)
}

func TestFindings(t *testing.T) {
	req := defaultRequest()
	tests := []struct {
		name   string
		o      Options
		server []fakes.Option
		send   func(t *testing.T, addr string)
		// want has a substring of a finding, with its direction.
		want []string
	}{
		{
			name:   "size one too many",
			server: []fakes.Option{fakes.WithFault(fakes.Fault{SizeDelta: 1})},
			want:   []string{"server→client offset 35 (trip[0].trailing)"},
		},
		{
			name:   "no end marker",
			server: []fakes.Option{fakes.WithFault(fakes.Fault{NoEnd: true})},
			want:   []string{"server→client", "stream ended before the end marker"},
		},
		{
			name:   "garbage after the end marker",
			server: []fakes.Option{fakes.WithFault(fakes.Fault{Garbage: []byte("junk")})},
			want:   []string{"server→client", "bytes after the end marker"},
		},
		{
			name:   "other profile",
			server: []fakes.Option{fakes.WithFault(fakes.Fault{ReplyProfile: wire.Qt5})},
			want:   []string{"server→client offset 13 (trip[0].trainType)", "odd string"},
		},
		{
			name: "bad flag from the client",
			send: func(t *testing.T, addr string) {
				r := defaultRequest()
				r.Flag = 'Z'
				b, _ := wire.Encoder{Profile: wire.Qt4, AllowIllegalWrites: true}.AppendRequest(nil, &r)
				rawExchange(t, addr, b, true)
			},
			want: []string{"client→server offset 45 (request[0].flag)", "flag is neither"},
		},
		{
			name: "two requests from the client",
			send: func(t *testing.T, addr string) {
				r := defaultRequest()
				b, _ := wire.Qt4.AppendRequest(nil, &r)
				rawExchange(t, addr, append(b, b...), true)
			},
			want: []string{"client→server", "a second request"},
		},
		{
			name: "truncated request",
			send: func(t *testing.T, addr string) {
				r := defaultRequest()
				b, _ := wire.Qt4.AppendRequest(nil, &r)
				rawExchange(t, addr, b[:10], true)
			},
			want: []string{"client→server offset 10 (request[0].from)", "the client ends the connection before its request is whole"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.o, tc.server...)
			if tc.send != nil {
				tc.send(t, h.addr)
			} else {
				fakes.Query(context.Background(), h.addr, &req, wire.Qt4, 5*time.Second)
			}
			h.waitClosed(1)
			var all []string
			for _, f := range h.findings() {
				all = append(all, f.String())
			}
			text := strings.Join(all, "\n")
			for _, w := range tc.want {
				if !strings.Contains(text, w) {
					t.Errorf("findings lack %q:\n%s", w, text)
				}
			}
			if tc.name == "size one too many" {
				tshark(t, h.stop())
			}
		})
	}
}

// rawExchange sends b, half-closes if asked, and reads until the server
// ends the stream.
func rawExchange(t *testing.T, addr string, b []byte, halfClose bool) []byte {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(b); err != nil {
		t.Fatal(err)
	}
	if halfClose {
		c.(*net.TCPConn).CloseWrite()
	}
	got, _ := io.ReadAll(c)
	return got
}

// Shapes act on the recorded connection: the recording shows the pieces
// and the ending the peers were given.
func TestShapes(t *testing.T) {
	req := defaultRequest()
	reqBytes, _ := wire.Qt4.AppendRequest(nil, &req)
	t.Run("slicer up", func(t *testing.T) {
		h := start(t, Options{Up: shape.Shape{Every: 5}})
		if _, err := fakes.Query(context.Background(), h.addr, &req, wire.Qt4, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		h.waitClosed(1)
		ss := sessions(t, h.stop())
		if len(ss) != 1 {
			t.Fatalf("%d sessions", len(ss))
		}
		var want []int
		for off := 5; off < len(reqBytes); off += 5 {
			want = append(want, off)
		}
		if got := ss[0].Up.Cuts(); !equalInts(got, want) {
			t.Errorf("request cut at %v, want %v", got, want)
		}
	})
	t.Run("limit data down, then reset", func(t *testing.T) {
		h := start(t, Options{Down: shape.Shape{Truncate: true, TruncateAfter: 20, Then: shape.ThenReset}})
		_, err := fakes.Query(context.Background(), h.addr, &req, wire.Qt4, 5*time.Second)
		if !errors.Is(err, fakes.ErrClosedByServer) {
			t.Errorf("query: %v, want closed by server", err)
		}
		h.waitClosed(1)
		file := h.stop()
		ss := sessions(t, file)
		if len(ss) != 1 || len(ss[0].Down.Data) != 20 || !ss[0].Down.RST.Seen() {
			t.Fatalf("sessions %d; reply %d bytes, RST %v", len(ss), len(ss[0].Down.Data), ss[0].Down.RST.Seen())
		}
		tshark(t, file)
	})
	t.Run("latency down", func(t *testing.T) {
		h := start(t, Options{Down: shape.Shape{Every: 10, Delay: 20 * time.Millisecond}})
		begin := time.Now()
		if _, err := fakes.Query(context.Background(), h.addr, &req, wire.Qt4, 5*time.Second); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(begin); took < 100*time.Millisecond {
			t.Errorf("reply in %v: the delay between pieces did not apply", took)
		}
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Stopping the proxy ends it within the grace period even when a server
// stalls, and the recording is whole.
func TestGracefulStop(t *testing.T) {
	h := start(t, Options{Grace: 200 * time.Millisecond}, fakes.WithFault(fakes.Fault{Stall: true}))
	c, err := net.DialTimeout("tcp", h.addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req := defaultRequest()
	b, _ := wire.Qt4.AppendRequest(nil, &req)
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(b)
	// Wait until the proxy has the connection open both ways.
	select {
	case <-h.opened:
	case <-time.After(5 * time.Second):
		t.Fatal("no connection opened")
	}
	begin := time.Now()
	file := h.stop()
	if took := time.Since(begin); took > 3*time.Second {
		t.Errorf("stop took %v", took)
	}
	ss := sessions(t, file)
	if len(ss) != 1 || !bytes.Equal(ss[0].Up.Data, b) {
		t.Fatalf("%d sessions", len(ss))
	}
}

func TestUpstreamDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	h := start(t, Options{Upstream: addr, Timeout: time.Second})
	// The proxy resets the client: the dial itself may see it.
	if c, err := net.DialTimeout("tcp", h.addr, 5*time.Second); err == nil {
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write([]byte{0, 1, 'S'})
		if got, _ := io.ReadAll(c); len(got) != 0 {
			t.Errorf("got %d bytes", len(got))
		}
		c.Close()
	}
	h.waitClosed(1)
	if f := h.findings(); len(f) != 1 || f[0].Kind != EventError {
		t.Errorf("events %v", f)
	}
}

func TestCount(t *testing.T) {
	srv, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	p, err := New(Options{Upstream: srv.Addr(), Count: 2, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.Serve(context.Background(), ln) }()
	req := defaultRequest()
	for i := 0; i < 2; i++ {
		if _, err := fakes.Query(context.Background(), ln.Addr().String(), &req, wire.Qt4, 5*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after 2 connections")
	}
}

// TestBounded: a server that answers far more than any reply needs, every
// block misframed, makes one budget finding and at most maxFindings
// findings in all; the close summary counts the rest.
func TestBounded(t *testing.T) {
	trips := make(fakes.Static, 20000) // about 400 KiB of trips
	for i := range trips {
		trips[i] = wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("IC")}
	}
	for _, tc := range []struct {
		name   string
		server []fakes.Option
		want   string
	}{
		{"long reply", []fakes.Option{fakes.WithGenerator(trips)}, "the reply runs past 131072 bytes without an end marker"},
		{"long reply in the other profile", []fakes.Option{fakes.WithGenerator(trips), fakes.WithFault(fakes.Fault{ReplyProfile: wire.Qt5})}, "(the first 16 shown)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, Options{}, tc.server...)
			req := defaultRequest()
			fakes.Query(context.Background(), h.addr, &req, wire.Qt4, 5*time.Second)
			h.waitClosed(1)
			found := h.findings()
			if len(found) > maxFindings {
				t.Errorf("%d findings, want at most %d", len(found), maxFindings)
			}
			var all []string
			for _, e := range h.events {
				all = append(all, e.String())
			}
			if text := strings.Join(all, "\n"); !strings.Contains(text, tc.want) {
				t.Errorf("the events lack %q:\n%s", tc.want, text)
			}
		})
	}
}
