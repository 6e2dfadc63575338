package conformance

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// TestTraceBounds feeds a trace far more events and bytes than it keeps:
// it keeps the head and the tail, one gap event counting the rest, and
// at most its byte budget.
func TestTraceBounds(t *testing.T) {
	tr := new(Trace).begin()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go io.Copy(io.Discard, b)
	c := tr.Conn("c", a)
	chunk := bytes.Repeat([]byte{0xab}, 1000)
	const n = 10000
	for i := 0; i < n; i++ {
		if _, err := c.Write(chunk); err != nil {
			t.Fatal(err)
		}
	}
	evs := tr.Events()
	if want := TraceHead + 1 + TraceTail; len(evs) != want {
		t.Fatalf("%d events kept, want %d", len(evs), want)
	}
	gap := evs[TraceHead]
	if gap.Kind != WireGap || gap.Len != n-TraceHead-TraceTail {
		t.Fatalf("gap event %+v, want %d events not shown", gap, n-TraceHead-TraceTail)
	}
	kept := 0
	for i, e := range evs {
		kept += len(e.Bytes)
		if len(e.Bytes) > TraceEventBytes {
			t.Fatalf("event %d keeps %d bytes", i, len(e.Bytes))
		}
		if e.Kind == WireWrite && e.Len != len(chunk) {
			t.Fatalf("event %d: Len %d, want %d", i, e.Len, len(chunk))
		}
	}
	if max := TraceBytes + TraceTail*TraceEventBytes; kept > max {
		t.Fatalf("%d bytes kept, more than %d", kept, max)
	}
	last := evs[len(evs)-1]
	if want := int64(n-1) * int64(len(chunk)); last.Offset != want {
		t.Fatalf("last write at offset %d, want %d", last.Offset, want)
	}
	for i := 1; i < len(evs); i++ {
		if evs[i].At < evs[i-1].At {
			t.Fatalf("event %d at %v before event %d at %v", i, evs[i].At, i-1, evs[i-1].At)
		}
	}
}

// TestTracedConn records both directions of a loopback exchange: the
// writes, the reads with their offsets, the peer's FIN, a silence, and
// tripcheck's own close.
func TestTracedConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	done := make(chan error, 1)
	go func() {
		s, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer s.Close()
		buf := make([]byte, 3)
		if _, err := io.ReadFull(s, buf); err != nil {
			done <- err
			return
		}
		s.Write([]byte("hello"))
		s.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, s)
		done <- nil
	}()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	tr := new(Trace).begin()
	c := tr.Conn("c", nc)
	c.Write([]byte("abc"))
	got, err := io.ReadAll(tr.Conn("c", nc)) // a second wrap shares the offsets
	if err != nil || string(got) != "hello" {
		t.Fatalf("read %q, %v", got, err)
	}
	c.SetReadDeadline(time.Now().Add(-time.Second))
	c.Read(make([]byte, 1))
	c.Read(make([]byte, 1)) // one silence event only
	c.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	var kinds []string
	var readLen int
	for _, e := range tr.Events() {
		if e.Conn != "c" {
			t.Errorf("event on conn %q, want c", e.Conn)
		}
		if e.Kind == WireRead {
			if e.Offset != int64(readLen) || e.Dir != FromPeer {
				t.Errorf("read %+v: want offset %d from the peer", e, readLen)
			}
			readLen += e.Len
			continue
		}
		kinds = append(kinds, string(e.Kind)+" "+e.Dir.String())
	}
	want := []string{"write to-peer", "fin from-peer", "silence from-peer", "close to-peer"}
	if readLen != 5 || len(kinds) != len(want) {
		t.Fatalf("events %v with %d bytes read, want %v and 5 bytes", kinds, readLen, want)
	}
	for i := range want {
		if kinds[i] != want[i] {
			t.Fatalf("events %v, want %v", kinds, want)
		}
	}
}

// TestTraceDiverge records a Mismatch's place, expected and actual bytes.
func TestTraceDiverge(t *testing.T) {
	want := wire.AppendEnd([]byte{0, 1, 'x'})
	got := []byte{0, 1, 'x', 0, 0}
	err := Compare(want, got, wire.Qt4, wire.Replies)
	tr := new(Trace).begin()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	tr.Conn("c", a).Diverge(err)
	tr.Conn("c", a).Diverge(io.EOF) // not a mismatch: nothing
	evs := tr.Events()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	e := evs[0]
	if e.Kind != WireDiverge || e.Offset != 3 || !bytes.Equal(e.Expected, []byte{0xff, 0xff}) || !bytes.Equal(e.Bytes, []byte{0, 0}) || e.Note != "end" {
		t.Fatalf("divergence %+v", e)
	}
}

// TestNilTrace: a session without a trace passes calls on and records
// nothing.
func TestNilTrace(t *testing.T) {
	var tr *Trace
	a, b := net.Pipe()
	defer b.Close()
	go io.Copy(io.Discard, b)
	c := tr.Conn("c", a)
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if evs := tr.Events(); evs != nil {
		t.Fatalf("nil trace has events %v", evs)
	}
}

// discardConn is a connection whose writes cost nothing, so that the
// benchmark below measures the trace alone.
type discardConn struct{ net.Conn }

func (discardConn) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkConnWrite measures what tracing adds to a write: plain is the
// baseline, traced the same writes through Trace.Conn, past its bounds
// (so the ring of the tail is what runs).
func BenchmarkConnWrite(b *testing.B) {
	chunk := bytes.Repeat([]byte{0x5a}, 512)
	for _, traced := range []bool{false, true} {
		name := "plain"
		if traced {
			name = "traced"
		}
		b.Run(name, func(b *testing.B) {
			var c net.Conn = discardConn{}
			if traced {
				c = new(Trace).begin().Conn("c", c)
			}
			b.SetBytes(int64(len(chunk)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Write(chunk); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
