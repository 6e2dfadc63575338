package conformance_test

import (
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/wire"
)

// serveBytes writes b on one end of a pipe, then, if endless, writes b
// again and again until the reader goes; then closes, or (hang) waits
// for the reader to go. It returns the reader's end.
func serveBytes(t testing.TB, b []byte, endless, hang bool) net.Conn {
	t.Helper()
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	go func() {
		defer server.Close()
		for {
			if _, err := server.Write(b); err != nil || !endless {
				break
			}
		}
		if hang {
			server.Read(make([]byte, 1)) // until the client closes
		}
	}()
	return client
}

func tripsOf(t testing.TB, p wire.Profile, n int) []byte {
	t.Helper()
	trip := wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")}
	var b []byte
	for range n {
		var err error
		if b, err = p.AppendTrip(b, &trip); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// A peer that sends trips without end is read up to the budget, and no
// further: the observation keeps the budget's bytes, counts the trips, and
// fails the reply with ErrOverBudget; the wire log stays short.
func TestObserveBudget(t *testing.T) {
	c := serveBytes(t, tripsOf(t, wire.Qt4, 1000), true, false)
	var lines []string
	logf := func(f string, a ...any) { lines = append(lines, f) }
	obs := conformance.ObserveReply(c, wire.Qt4, time.Now().Add(time.Minute), 0, logf)
	if !obs.OverBudget || obs.How != conformance.EndBudget || len(obs.Bytes) != conformance.ReplyBudget {
		t.Errorf("over budget %v, how %s, %d bytes; want true, budget, %d", obs.OverBudget, obs.How, len(obs.Bytes), conformance.ReplyBudget)
	}
	if want := conformance.ReplyBudget / 35; obs.TripCount != want {
		t.Errorf("%d trips, want %d", obs.TripCount, want)
	}
	err := obs.FramingError()
	if !errors.Is(err, conformance.ErrOverBudget) {
		t.Errorf("FramingError() = %v, want ErrOverBudget", err)
	}
	if len(lines) > 100 {
		t.Errorf("the wire log has %d lines, want a capped log", len(lines))
	}
	if log := strings.Join(lines, "\n"); !strings.Contains(log, "bytes not shown") {
		t.Errorf("the wire log does not say what it left out:\n%s", log)
	}
}

// Bytes after the end marker count toward the budget too.
func TestObserveBudgetAfterEnd(t *testing.T) {
	b := append(tripsOf(t, wire.Qt4, 1), 0xff, 0xff)
	server, client := net.Pipe()
	t.Cleanup(func() { client.Close() })
	go func() {
		defer server.Close()
		server.Write(b)
		junk := make([]byte, 4096)
		for {
			if _, err := server.Write(junk); err != nil {
				return
			}
		}
	}()
	obs := conformance.ObserveReply(client, wire.Qt4, time.Now().Add(time.Minute), time.Minute, nil)
	if !obs.Ended || !obs.OverBudget || len(obs.Bytes) != conformance.ReplyBudget {
		t.Errorf("ended %v, over budget %v, %d bytes", obs.Ended, obs.OverBudget, len(obs.Bytes))
	}
	if err := obs.AfterEndError(); !errors.Is(err, conformance.ErrOverBudget) {
		t.Errorf("AfterEndError() = %v, want ErrOverBudget", err)
	}
}

// A stream that ends inside a block is named as cut: which block, what it
// announces, how many of its bytes came.
func TestObserveCut(t *testing.T) {
	trip := tripsOf(t, wire.Qt4, 1) // 35 bytes
	cut := append(append([]byte{}, trip...), 0x00, 0x64)
	cut = append(cut, make([]byte, 29)...)
	for _, c := range []struct {
		name string
		in   []byte
		hang bool
		want string
	}{
		{"closed", cut, false, "the block at offset 35 announces 100 bytes; the stream ended after 29 of them"},
		{"silent", cut, true, "the block at offset 35 announces 100 bytes; the server went silent for"},
		{"inside the size", append(append([]byte{}, trip...), 0x00), false, "the stream ended inside the size field of the block at offset 35"},
	} {
		t.Run(c.name, func(t *testing.T) {
			conn := serveBytes(t, c.in, false, c.hang)
			deadline := time.Now().Add(time.Minute)
			if c.hang {
				deadline = time.Now().Add(100 * time.Millisecond)
			}
			obs := conformance.ObserveReply(conn, wire.Qt4, deadline, 0, nil)
			err := obs.FramingError()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("FramingError() = %v, want %q", err, c.want)
			}
		})
	}
}

// A reply in the other profile fails on a field, with a hint that its
// blocks decode in the other profile; a reply that decodes in neither gets
// no hint.
func TestObserveProfileHint(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		hint bool
	}{
		{"qt5 trips read as qt4", append(tripsOf(t, wire.Qt5, 3), 0xff, 0xff), true},
		{"a bad string in either profile", append([]byte{0x00, 0x13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3}, 0xff, 0xff), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			obs := conformance.ObserveReply(serveBytes(t, c.in, false, false), wire.Qt4, time.Now().Add(time.Minute), 0, nil)
			err := obs.FramingError()
			if err == nil {
				t.Fatal("FramingError() = nil")
			}
			if got := strings.Contains(err.Error(), "hint: the reply's blocks decode in qt5"); got != c.hint {
				t.Errorf("hint %v, want %v:\n%v", got, c.hint, err)
			}
		})
	}
}

// BenchmarkObserveReply reads a reply of 3 trips and, with "endless", a
// peer that sends trips without end (read up to the budget), beside the
// floor: the same bytes read raw from the same pipe.
func BenchmarkObserveReply(b *testing.B) {
	tb := testing.TB(b)
	for _, c := range []struct {
		name    string
		reply   []byte
		endless bool
	}{
		{"book", append(tripsOf(tb, wire.Qt4, 3), 0xff, 0xff), false},
		{"endless", tripsOf(tb, wire.Qt4, 1000), true},
	} {
		n := len(c.reply)
		if c.endless {
			n = conformance.ReplyBudget
		}
		b.Run(c.name+"/raw", func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			buf := make([]byte, 16<<10)
			for b.Loop() {
				conn := serveBytes(tb, c.reply, c.endless, false)
				for got := 0; got < n; {
					k, err := conn.Read(buf[:min(len(buf), n-got)])
					got += k
					if err != nil {
						break
					}
				}
				conn.Close()
			}
		})
		b.Run(c.name+"/observe", func(b *testing.B) {
			b.SetBytes(int64(n))
			b.ReportAllocs()
			for b.Loop() {
				conn := serveBytes(tb, c.reply, c.endless, false)
				conformance.ObserveReply(conn, wire.Qt4, time.Now().Add(time.Minute), 0, nil)
				conn.Close()
			}
		})
	}
}
