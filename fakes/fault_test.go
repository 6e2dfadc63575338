package fakes

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

func mustShape(t testing.TB, s string) shape.Shape {
	t.Helper()
	sh, err := shape.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// Each fault, seen from a real TCP client: the exact bytes that arrive and
// how the stream ends.
func TestFaultsOnTheWire(t *testing.T) {
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")
	reply := vector(t, "qt4", "reply", "berlin-muenchen-dep") // 3 trips of 2+33 bytes, then ffff
	if len(reply) != 107 {
		t.Fatalf("reply vector of %d bytes", len(reply))
	}
	sized := func(delta int) []byte {
		b := bytes.Clone(reply)
		for off := 0; off < 105; off += 35 {
			b[off+1] = byte(33 + delta)
		}
		return b
	}
	garbage := []byte("\xde\xad\xbe\xef garbage")
	cases := []struct {
		name  string
		fault Fault
		want  []byte
		end   string // "eof" or "reset"
	}{
		{"none", Fault{}, reply, "eof"},
		{"no-end", Fault{NoEnd: true}, reply[:105], "eof"},
		{"size-plus-1", Fault{SizeDelta: 1}, sized(1), "eof"},
		{"size-minus-1", Fault{SizeDelta: -1}, sized(-1), "eof"},
		{"garbage-after", Fault{Garbage: garbage}, append(bytes.Clone(reply), garbage...), "eof"},
		{"garbage-after-no-end", Fault{Garbage: garbage, NoEnd: true}, append(bytes.Clone(reply[:105]), garbage...), "eof"},
		{"garbage-only", Fault{Garbage: garbage, GarbageOnly: true}, garbage, "eof"},
		{"reset", Fault{Shape: shape.Shape{Then: shape.ThenReset}}, reply, "reset"},
		{"truncate-50", Fault{Shape: mustShape(t, "truncate-50")}, reply[:50], "eof"},
		{"truncate-0", Fault{Shape: mustShape(t, "truncate-0")}, nil, "eof"},
		{"truncate-50-reset", Fault{Shape: mustShape(t, "truncate-50+then-reset")}, reply[:50], "reset"},
		{"other-profile", Fault{ReplyProfile: wire.Qt5}, vector(t, "qt5", "reply", "berlin-muenchen-dep"), "eof"},
		{"per-block", Fault{PerBlock: true}, reply, "eof"},
	}
	s := map[string]*Server{}
	for _, c := range cases {
		s[c.name] = startServer(t, WithFault(c.fault))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := exchange(t, s[c.name].Addr(), req)
			switch c.end {
			case "eof":
				if err != nil {
					t.Errorf("stream ended with %v, want EOF", err)
				}
			case "reset":
				if !errors.Is(err, syscall.ECONNRESET) {
					t.Errorf("stream ended with %v, want ECONNRESET", err)
				}
			}
			if !bytes.Equal(got, c.want) {
				t.Errorf("bytes\n got %x\nwant %x", got, c.want)
			}
		})
	}
}

// Cuts, coalescing and delays: what each read returns.
func TestFaultShapesOnTheWire(t *testing.T) {
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")
	reply := vector(t, "qt4", "reply", "berlin-muenchen-dep")
	seed := rand.Int64N(1 << 40)
	t.Logf("seed %d", seed)
	random := shape.Shape{Random: true, Seed: seed, Delay: 30 * time.Millisecond}
	randomPieces, err := random.Pieces(len(reply))
	if err != nil {
		t.Fatal(err)
	}
	// A delay between pieces keeps them apart on a loopback connection, so
	// that each read returns one piece.
	cases := []struct {
		name  string
		fault Fault
		want  []int // sizes of the reads
	}{
		{"split-at", Fault{Shape: mustShape(t, "split-at-2,35+delay-30ms")}, []int{2, 33, 72}},
		{"bytes-16", Fault{Shape: mustShape(t, "bytes-16+delay-30ms")}, []int{16, 16, 16, 16, 16, 16, 11}},
		{"random", Fault{Shape: random}, randomPieces},
		{"per-block", Fault{PerBlock: true, Shape: mustShape(t, "delay-30ms")}, []int{35, 35, 35, 2}},
		{"per-block-coalesce-2", Fault{PerBlock: true, Shape: mustShape(t, "coalesce-writes-2+delay-30ms")}, []int{70, 37}},
		{"per-block-coalesced", Fault{PerBlock: true, Shape: mustShape(t, "coalesced+delay-30ms")}, []int{107}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := startServer(t, WithFault(c.fault))
			conn := dial(t, s.Addr())
			start := time.Now()
			if _, err := conn.Write(req); err != nil {
				t.Fatal(err)
			}
			pieces, _, err := readPieces(conn)
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Join(pieces, nil); !bytes.Equal(got, reply) {
				t.Fatalf("bytes\n got %x\nwant %x", got, reply)
			}
			// Each piece is one segment, so a read ends where a piece
			// ends. A reader slower than the delay may get two pieces in
			// one read, so fewer reads are no failure.
			var sizes []int
			for _, p := range pieces {
				sizes = append(sizes, len(p))
			}
			if !cutsWithin(sizes, c.want) {
				t.Errorf("reads of %v bytes, not made of the pieces %v", sizes, c.want)
			} else if len(sizes) != len(c.want) {
				t.Logf("reads of %v bytes: a busy reader joined some of the pieces %v", sizes, c.want)
			}
			// The server cannot send faster than its delay allows.
			if least := time.Duration(len(c.want)-1) * 30 * time.Millisecond; time.Since(start) < least {
				t.Errorf("reply took %v, want at least %v", time.Since(start), least)
			}
		})
	}
}

// cutsWithin reports whether every read ends where a piece ends.
func cutsWithin(reads, pieces []int) bool {
	ends := map[int]bool{}
	off := 0
	for _, p := range pieces {
		off += p
		ends[off] = true
	}
	off = 0
	for _, r := range reads {
		off += r
		if !ends[off] {
			return false
		}
	}
	return true
}

// A stalling server reads the request and sends nothing, holding the
// connection until the client closes it, or until its timeout.
func TestFaultStall(t *testing.T) {
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")
	t.Run("until-the-client-closes", func(t *testing.T) {
		var logs logBuffer
		holding := make(chan struct{}, 1)
		s := startServer(t, WithFault(Fault{Stall: true}), WithLogger(logs.logger()),
			WithConnState(func(c ConnInfo) {
				if c.Phase == PhaseHolding {
					holding <- struct{}{}
				}
			}))
		c := dial(t, s.Addr())
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		<-holding
		c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		n, err := c.Read(make([]byte, 10))
		if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("read %d bytes, %v; want nothing until the deadline", n, err)
		}
		c.Close()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		l := logs.lines(t)
		if len(l) != 1 || l[0]["outcome"] != OutcomeStalled || l[0]["out"] != 0.0 || !strings.Contains(l[0]["request"].(string), `"Berlin"`) {
			t.Errorf("log %v", l)
		}
	})
	t.Run("until-the-timeout", func(t *testing.T) {
		s := startServer(t, WithFault(Fault{Stall: true}), WithTimeout(100*time.Millisecond))
		got, err := exchange(t, s.Addr(), req)
		if err != nil || len(got) != 0 {
			t.Fatalf("got %x, %v; want EOF and no byte", got, err)
		}
	})
}

// keep-open: the whole reply, then the connection stays open; half-close:
// the whole reply, then EOF, and the server still reads.
func TestFaultKeepOpenAndHalfClose(t *testing.T) {
	req := vector(t, "qt4", "request", "berlin-muenchen-dep")
	reply := vector(t, "qt4", "reply", "berlin-muenchen-dep")
	for _, then := range []shape.Then{shape.ThenKeepOpen, shape.ThenHalfClose} {
		t.Run(then.String(), func(t *testing.T) {
			var logs logBuffer
			holding, closed := make(chan struct{}, 1), make(chan struct{}, 1)
			s := startServer(t, WithFault(Fault{Shape: shape.Shape{Then: then}}), WithLogger(logs.logger()),
				WithConnState(func(c ConnInfo) {
					switch c.Phase {
					case PhaseHolding:
						holding <- struct{}{}
					case PhaseClosed:
						closed <- struct{}{}
					}
				}))
			c := dial(t, s.Addr())
			if _, err := c.Write(req); err != nil {
				t.Fatal(err)
			}
			got := make([]byte, len(reply))
			if _, err := readFull(c, got); err != nil || !bytes.Equal(got, reply) {
				t.Fatalf("reply %x, %v", got, err)
			}
			<-holding
			c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
			n, err := c.Read(make([]byte, 10))
			switch then {
			case shape.ThenKeepOpen:
				if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Errorf("after the reply: %d bytes, %v; want the connection open", n, err)
				}
			case shape.ThenHalfClose:
				if n != 0 || err != io.EOF {
					t.Errorf("after the reply: %d bytes, %v; want EOF", n, err)
				}
			}
			// The server reads on: what the client sends now is counted.
			if _, err := c.Write([]byte("bye")); err != nil {
				t.Fatal(err)
			}
			c.Close()
			<-closed // the server saw the client close (Close would end the hold at once)
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			l := logs.lines(t)
			if len(l) != 1 || l[0]["in"] != float64(len(req)+3) || l[0]["out"] != float64(len(reply)) {
				t.Errorf("log %v", l)
			}
		})
	}
}

func readFull(c interface{ Read([]byte) (int, error) }, b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := c.Read(b[n:])
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// Given trips, whatever the request: none, seven, five hundred, the
// longest train type a block holds, characters outside the BMP, lone
// surrogates, null and empty strings, null dates and times.
func TestStaticTrips(t *testing.T) {
	ic := wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 64, Changes: 1, TrainType: wire.Str("InterCity")}
	many := func(n int) Static {
		s := make(Static, n)
		for i := range s {
			s[i] = ic
			s[i].Duration = uint16(i)
		}
		return s
	}
	longest := func(p wire.Profile) wire.Trip {
		tr := ic
		tr.TrainType = wire.Str(strings.Repeat("x", (wire.MaxPayload-p.DateSize()-4-2-1-4)/2))
		return tr
	}
	odd := []wire.Trip{
		{Date: wire.NullDate(), Departure: wire.NullTime(), TrainType: wire.NullString()},
		{Date: wire.DateOf(-4713, 1, 1), Departure: wire.TimeMS(86_399_999), Duration: 65535, Changes: 255, TrainType: wire.Str("")},
		{Date: wire.DateOf(9999, 12, 31), Departure: wire.TimeOf(23, 59, 0, 0), TrainType: wire.Str("ICE 🚆 Zürich")},
		{Date: wire.DateOf(2026, 1, 1), Departure: wire.TimeOf(0, 0, 0, 0), TrainType: wire.StrUnits([]uint16{0xD800, 'x', 0xDC00, 0})},
	}
	for _, p := range wire.Profiles() {
		cases := map[string]Static{
			"0":       {},
			"7":       many(7),
			"500":     many(500),
			"longest": {longest(p)},
			"odd":     odd,
		}
		for name, trips := range cases {
			t.Run(p.String()+"/"+name, func(t *testing.T) {
				s := startServer(t, WithProfile(p), WithGenerator(trips))
				var want []byte
				for i := range trips {
					var err error
					if want, err = p.AppendTrip(want, &trips[i]); err != nil {
						t.Fatal(err)
					}
				}
				want = wire.AppendEnd(want)
				req := vector(t, p.String(), "request", "berlin-muenchen-dep")
				got, err := exchange(t, s.Addr(), req)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("reply of %d bytes (%v), want %d bytes", len(got), err, len(want))
				}
				r := wire.Request{Type: 'S', From: wire.Str("a"), To: wire.Str("b"), Time: wire.NullTime(), Flag: 'D'}
				back, err := Query(context.Background(), s.Addr(), &r, p, netTimeout)
				if err != nil {
					t.Fatal(err)
				}
				if len(back) != len(trips) {
					t.Fatalf("query: %d trips, want %d", len(back), len(trips))
				}
				for i := range back {
					if !back[i].Equal(&trips[i]) {
						t.Errorf("trip %d: %v, want %v", i, &back[i], &trips[i])
					}
				}
			})
		}
	}
	t.Run("too-long", func(t *testing.T) {
		tr := longest(wire.Qt4)
		tr.TrainType = wire.Str(tr.TrainType.String() + "x")
		if _, err := NewServer(WithGenerator(Static{tr})); !errors.Is(err, wire.ErrBlockTooLarge) {
			t.Errorf("NewServer: %v, want ErrBlockTooLarge", err)
		}
		// Fits qt4, not qt5: the reply profile decides.
		tr = longest(wire.Qt4)
		if _, err := NewServer(WithGenerator(Static{tr}), WithFault(Fault{ReplyProfile: wire.Qt5})); !errors.Is(err, wire.ErrBlockTooLarge) {
			t.Errorf("NewServer: %v, want ErrBlockTooLarge", err)
		}
	})
}
