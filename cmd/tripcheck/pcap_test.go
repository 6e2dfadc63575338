package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// capRun runs the command as main would.
func capRun(args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

// background is the command running in the background; its stdout lines come on
// the channel, and its exit code on done.
type background struct {
	lines  chan string
	stderr *syncBuffer
	done   chan int
	cancel context.CancelFunc
}

func startBackground(t *testing.T, args ...string) *background {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	b := &background{lines: make(chan string, 100), stderr: new(syncBuffer), done: make(chan int, 1), cancel: cancel}
	errw := b.stderr
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			b.lines <- sc.Text()
		}
		close(b.lines)
	}()
	go func() {
		code := run(ctx, args, pw, errw)
		pw.Close()
		b.done <- code
	}()
	t.Cleanup(cancel)
	return b
}

// listening waits for the "listening on ADDR" line.
func (b *background) listening(t *testing.T) string {
	t.Helper()
	select {
	case line := <-b.lines:
		addr, ok := strings.CutPrefix(line, "listening on ")
		if !ok {
			t.Fatalf("first line %q", line)
		}
		go func() {
			for range b.lines {
			}
		}()
		return addr
	case <-time.After(10 * time.Second):
		t.Fatal("no listening line in 10s")
	}
	return ""
}

func (b *background) wait(t *testing.T) int {
	t.Helper()
	select {
	case code := <-b.done:
		return code
	case <-time.After(20 * time.Second):
		t.Fatal("the command did not end in 20s")
	}
	return -1
}

// syncBuffer is a bytes.Buffer written by a command in the background.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// captureFile writes a capture of one connection per event list to a
// temporary file: each event is client bytes (up), server bytes (down), or
// a FIN.
type capEvent struct {
	dir  pcap.Direction
	data []byte
	fin  bool
}

func captureFile(t *testing.T, conns ...[]capEvent) string {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcap.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tick := func() time.Time { now = now.Add(time.Millisecond); return now }
	for i, evs := range conns {
		c, err := w.Conn(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(40000+i)), netip.MustParseAddrPort("127.0.0.1:6178"), tick())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			if e.fin {
				err = c.Close(e.dir, tick())
			} else {
				err = c.Data(e.dir, e.data, tick())
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	w.Flush()
	path := filepath.Join(t.TempDir(), "capture.pcapng")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// bookSession is the book's exchange for the default request; sizeDelta
// makes the server's first trip lie about its size.
func bookSession(t *testing.T, sizeDelta int) []capEvent {
	t.Helper()
	r := wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("München"), Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
	req, _ := wire.Qt4.AppendRequest(nil, &r)
	var reply []byte
	for i, trip := range (fakes.Book{}).Trips(&r) {
		e := wire.Encoder{Profile: wire.Qt4, AllowIllegalWrites: true}
		if i == 0 {
			e.SizeDelta = sizeDelta
		}
		reply, _ = e.AppendTrip(reply, &trip)
	}
	reply = wire.AppendEnd(reply)
	return []capEvent{
		{dir: pcap.ClientToServer, data: req},
		{dir: pcap.ServerToClient, data: reply},
		{dir: pcap.ServerToClient, fin: true},
		{dir: pcap.ClientToServer, fin: true},
	}
}

func pcapLastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return lines[len(lines)-1]
}

func TestPcapDecodeCmd(t *testing.T) {
	good := captureFile(t, bookSession(t, 0), bookSession(t, 0))
	code, out, errs := capRun("pcap", "decode", good)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"session 1  127.0.0.1:40000 → 127.0.0.1:6178", "session 2", "request  packet 4", `from "Berlin"`, "end marker", "close    client FIN packet"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errs, "2 Trip sessions") {
		t.Errorf("stderr: %s", errs)
	}
	code, out, _ = capRun("pcap", "decode", "--json", good)
	if code != 0 {
		t.Fatalf("--json: exit %d", code)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d JSON lines", len(lines))
	}
	var s struct {
		Index    int `json:"index"`
		Request  struct{ From, To, Flag string }
		Messages []struct {
			Kind   string `json:"kind"`
			Packet int64  `json:"packet"`
		} `json:"messages"`
	}
	if err := json.Unmarshal([]byte(lines[0]), &s); err != nil {
		t.Fatal(err)
	}
	if s.Index != 1 || s.Request.From != "Berlin" || s.Request.Flag != "D" || s.Messages[0].Kind != "request" || s.Messages[0].Packet != 4 {
		t.Errorf("JSON %+v", s)
	}
	// A fault shows with its packet.
	bad := captureFile(t, bookSession(t, 1))
	if code, out, _ := capRun("pcap", "decode", bad); code != 0 || !strings.Contains(out, "fault") {
		t.Errorf("exit %d, output:\n%s", code, out)
	}
	// Files that are not captures, and bad flags.
	garbage := filepath.Join(t.TempDir(), "garbage")
	os.WriteFile(garbage, bytes.Repeat([]byte("garbage"), 10), 0o644)
	for _, args := range [][]string{
		{"pcap", "decode", garbage},
		{"pcap", "decode", filepath.Join(t.TempDir(), "missing")},
		{"pcap", "decode", "--port", "x", good},
		{"pcap", "decode", "--profile", "qt9", good},
		{"pcap", "decode"},
	} {
		if code, _, errs := capRun(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2; %s", args, code, errs)
		}
	}
	// Another port: no session, a hint.
	if code, _, errs := capRun("pcap", "decode", "--port", "7000", good); code != 0 || !strings.Contains(errs, "try --port any") {
		t.Errorf("exit %d, stderr %s", code, errs)
	}
}

func TestPcapCheckCmd(t *testing.T) {
	good := captureFile(t, bookSession(t, 0))
	bad := captureFile(t, bookSession(t, 0), bookSession(t, 1))
	code, out, errs := capRun("pcap", "check", good)
	if code != 0 || pcapLastLine(out) != "9 passed, 0 failed, 0 skipped in 0s" && !strings.HasPrefix(pcapLastLine(out), "9 passed, 0 failed, 0 skipped") {
		t.Errorf("exit %d, last line %q; %s", code, pcapLastLine(out), errs)
	}
	dir := t.TempDir()
	jsonFile, junitFile := filepath.Join(dir, "r.json"), filepath.Join(dir, "r.xml")
	code, out, _ = capRun("pcap", "check", "--json", jsonFile, "--junit", junitFile, bad)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	if !strings.Contains(out, "session[2]/reply/framing") || !strings.Contains(out, "packet 14, reply offset 35 (trip[0].trailing)") {
		t.Errorf("output:\n%s", out)
	}
	var rep struct {
		Suite   string `json:"suite"`
		Summary struct {
			Failed int `json:"failed"`
		} `json:"summary"`
	}
	b, err := os.ReadFile(jsonFile)
	if err != nil || json.Unmarshal(b, &rep) != nil || rep.Suite != "pcap" || rep.Summary.Failed != 1 {
		t.Errorf("JSON report %s: %v", b, err)
	}
	if x, err := os.ReadFile(junitFile); err != nil || !bytes.Contains(x, []byte("session[2]/reply/framing")) {
		t.Errorf("JUnit report: %v", err)
	}
	// Aggregated: one result per check.
	code, out, _ = capRun("pcap", "check", "--aggregate", bad)
	if code != 1 || !strings.Contains(out, "failed in 1 of 2 sessions; first session[2]: packet 14") || !strings.HasPrefix(pcapLastLine(out), "8 passed, 1 failed") {
		t.Errorf("--aggregate: exit %d\n%s", code, out)
	}
	// No session, and not a capture: usage errors.
	if code, _, _ := capRun("pcap", "check", "--port", "7000", good); code != 2 {
		t.Errorf("no session: exit %d, want 2", code)
	}
	garbage := filepath.Join(t.TempDir(), "garbage")
	os.WriteFile(garbage, []byte{0xa1, 0xb2, 0xc3, 0xd4, 1, 2, 3}, 0o644)
	if code, _, errs := capRun("pcap", "check", garbage); code != 2 {
		t.Errorf("garbage: exit %d, want 2; %s", code, errs)
	}
	if code, _, _ := capRun("pcap", "check", "--golden", "nope", good); code != 2 {
		t.Errorf("--golden nope: exit %d, want 2", code)
	}
	if code, out, _ := capRun("pcap", "check", "--golden", "book", "--strict", good); code != 0 || !strings.Contains(out, "reply/golden") {
		t.Errorf("--golden book: exit %d\n%s", code, out)
	}
}

func startFake(t *testing.T, opts ...fakes.Option) string {
	t.Helper()
	srv, err := fakes.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr()
}

func TestReplayCmd(t *testing.T) {
	good := captureFile(t, bookSession(t, 0), bookSession(t, 0))
	if code, out, errs := capRun("replay", good, "--server", startFake(t)); code != 0 || !strings.HasPrefix(pcapLastLine(out), "2 passed, 0 failed") {
		t.Errorf("exit %d\n%s\n%s", code, out, errs)
	}
	faulty := startFake(t, fakes.WithFault(fakes.Fault{SizeDelta: 1}))
	if code, out, _ := capRun("replay", good, "--server", faulty, "--compare", "structure"); code != 1 || !strings.Contains(out, "framing") {
		t.Errorf("exit %d\n%s", code, out)
	}
	for _, args := range [][]string{
		{"replay", good},
		{"replay", good, "--server", "x:1", "--serve", "127.0.0.1:0"},
		{"replay", good, "--server", startFake(t), "--compare", "fuzzy"},
		{"replay", good, "--server", startFake(t), "--shape", "bytes-0"},
	} {
		if code, _, errs := capRun(args...); code != 2 {
			t.Errorf("%v: exit %d, want 2; %s", args, code, errs)
		}
	}
	// --serve plays the captured replies.
	b := startBackground(t, "replay", good, "--serve", "127.0.0.1:0", "--once")
	addr := b.listening(t)
	r := wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("München"), Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
	for i := 0; i < 2; i++ {
		trips, err := fakes.Query(context.Background(), addr, &r, wire.Qt4, 5*time.Second)
		if err != nil || len(trips) != len((fakes.Book{}).Trips(&r)) {
			t.Fatalf("query %d: %d trips, %v", i, len(trips), err)
		}
	}
	if code := b.wait(t); code != 0 {
		t.Errorf("--serve --once: exit %d; %s", code, b.stderr)
	}
}

func TestProxyCmd(t *testing.T) {
	r := wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("München"), Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
	for _, tc := range []struct {
		name  string
		fault fakes.Fault
		args  []string
		code  int
	}{
		{"clean", fakes.Fault{}, nil, 0},
		{"size off by one", fakes.Fault{SizeDelta: -1}, nil, 1},
		{"sliced", fakes.Fault{}, []string{"--shape-down", "bytes-7", "--shape-up", "bytes-3"}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			record := filepath.Join(t.TempDir(), "rec.pcapng")
			args := append([]string{"proxy", "--listen", "127.0.0.1:0", "--upstream", startFake(t, fakes.WithFault(tc.fault)), "--record", record, "--count", "1"}, tc.args...)
			b := startBackground(t, args...)
			addr := b.listening(t)
			fakes.Query(context.Background(), addr, &r, wire.Qt4, 5*time.Second)
			if code := b.wait(t); code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, b.stderr)
			}
			want := 0
			if tc.code == 1 {
				want = 1
			}
			code, out, _ := capRun("pcap", "check", "--port", "any", record)
			if code != want {
				t.Errorf("pcap check of the recording: exit %d, want %d\n%s", code, want, out)
			}
		})
	}
	if code, _, _ := capRun("proxy", "--listen", "127.0.0.1:0"); code != 2 {
		t.Errorf("no --upstream: exit %d", code)
	}
	if code, _, _ := capRun("proxy", "--listen", "127.0.0.1:0", "--upstream", "x:1", "--shape-down", "nonsense"); code != 2 {
		t.Errorf("bad shape: exit %d", code)
	}
}

// TestCaptureByContent: the README's capture, taken with the server on a
// port other than 6178, decodes, checks and replays with the defaults: the
// port finds no session, content does, and one line says so. A port given
// with --port, and stdin, which cannot be read twice, keep the hint.
func TestCaptureByContent(t *testing.T) {
	file := filepath.Join("..", "..", "testdata", "captures", "lo-ethernet.pcapng")
	const said = "no Trip session on port 6178; 2 found by content (as with --port any)"
	code, out, errs := capRun("pcap", "decode", file)
	if code != 0 || strings.Count("\n"+out, "\nsession ") != 2 || strings.Count(errs, said) != 1 {
		t.Errorf("decode: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = capRun("pcap", "check", file)
	if code != 0 || !strings.HasPrefix(pcapLastLine(out), "18 passed, 0 failed, 0 skipped") || !strings.Contains(errs, said) {
		t.Errorf("check: exit %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = capRun("replay", file, "--server", startFake(t))
	if code != 0 || !strings.HasPrefix(pcapLastLine(out), "2 passed, 0 failed") || !strings.Contains(errs, said) {
		t.Errorf("replay: exit %d\n%s\n%s", code, out, errs)
	}
	// The bad capture is found by content too, and fails.
	bad := filepath.Join("..", "..", "testdata", "captures", "bad-size-plus-one.pcapng")
	if code, out, _ := capRun("pcap", "check", bad); code != 1 || !strings.Contains(out, "session[1]/reply/framing") {
		t.Errorf("check of a bad capture: exit %d\n%s", code, out)
	}
	// --port given: no second reading.
	code, _, errs = capRun("pcap", "check", "--port", "6178", file)
	if code != 2 || strings.Contains(errs, "by content") || !strings.Contains(errs, "try --port any") {
		t.Errorf("--port 6178: exit %d, want 2 and the hint\n%s", code, errs)
	}
	// Stdin: no second reading.
	fh, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	old := os.Stdin
	os.Stdin = fh
	defer func() { os.Stdin = old }()
	code, _, errs = capRun("pcap", "decode", "-")
	if code != 0 || strings.Contains(errs, "by content") || !strings.Contains(errs, "try --port any") {
		t.Errorf("stdin: exit %d\n%s", code, errs)
	}
}
