package fakes

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

func berlinMuenchen() *wire.Request {
	return &wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("München"),
		Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
}

// The book's answer to Berlin → München at 09:00: three trips of 44, 8 and
// 61 minutes, in both profiles, with one Client used again and again.
func TestQueryBook(t *testing.T) {
	for _, p := range wire.Profiles() {
		s := startServer(t, WithProfile(p))
		c := Client{Profile: p, Timeout: netTimeout}
		for range 3 {
			trips, err := c.Query(context.Background(), s.Addr(), berlinMuenchen())
			if err != nil {
				t.Fatal(err)
			}
			var got []uint16
			for _, tr := range trips {
				got = append(got, tr.Duration)
				if tr.Date != wire.DateOf(2026, 11, 25) || tr.Departure != wire.TimeOf(9, 0, 0, 0) ||
					tr.Changes != 1 || tr.TrainType.String() != "InterCity" {
					t.Errorf("%v: trip %v", p, &tr)
				}
			}
			if len(got) != 3 || got[0] != 44 || got[1] != 8 || got[2] != 61 {
				t.Errorf("%v: durations %v, want [44 8 61]", p, got)
			}
		}
	}
	s := startServer(t)
	trips, err := Query(context.Background(), s.Addr(), &wire.Request{Type: 'S', Time: wire.TimeOf(8, 0, 0, 0), From: wire.Str(""), To: wire.Str(""), Flag: 'D'}, wire.Qt4, 0)
	if err != nil || trips == nil || len(trips) != 0 {
		t.Errorf("empty reply: %v, %v; want an empty, non-nil list", trips, err)
	}
}

// A stream that ends before the end marker, wherever it ends, is
// "connection closed by server", and no trip is returned.
func TestQueryClosedBeforeEnd(t *testing.T) {
	reply := vector(t, "qt4", "reply", "berlin-muenchen-dep")
	faults := map[string]Fault{"no-end": {NoEnd: true}, "reset": {Shape: mustShape(t, "truncate-50+then-reset")}}
	for cut := range len(reply) {
		faults["truncate-"+strconv.Itoa(cut)] = Fault{Shape: shape.Shape{Truncate: true, TruncateAfter: cut}}
	}
	for name, f := range faults {
		s := startServer(t, WithFault(f))
		trips, err := Query(context.Background(), s.Addr(), berlinMuenchen(), wire.Qt4, netTimeout)
		var qe *QueryError
		if trips != nil || !errors.Is(err, ErrClosedByServer) || !errors.As(err, &qe) || qe.Reason() != "connection closed by server" {
			t.Errorf("%s: %v, %v; want no trip and ErrClosedByServer", name, trips, err)
		}
		if name == "reset" && !errors.Is(err, syscall.ECONNRESET) {
			t.Errorf("reset: %v does not say ECONNRESET", err)
		}
	}
}

// What follows the end marker does not matter to the client: it has its
// answer and does not wait for the close.
func TestQueryAfterEnd(t *testing.T) {
	for name, f := range map[string]Fault{
		"garbage":   {Garbage: []byte("junk")},
		"reset":     {Shape: shape.Shape{Then: shape.ThenReset}},
		"keep-open": {Shape: shape.Shape{Then: shape.ThenKeepOpen}},
	} {
		s := startServer(t, WithFault(f))
		trips, err := Query(context.Background(), s.Addr(), berlinMuenchen(), wire.Qt4, netTimeout)
		if err != nil || len(trips) != 3 {
			t.Errorf("%s: %d trips, %v", name, len(trips), err)
		}
	}
}

// Blocks whose fields do not fill them: lying sizes, the other profile.
func TestQueryMalformed(t *testing.T) {
	for name, f := range map[string]Fault{
		"size-plus-1":   {SizeDelta: 1},
		"size-minus-1":  {SizeDelta: -1},
		"other-profile": {ReplyProfile: wire.Qt5},
	} {
		s := startServer(t, WithFault(f))
		trips, err := Query(context.Background(), s.Addr(), berlinMuenchen(), wire.Qt4, netTimeout)
		var qe *QueryError
		if trips != nil || !errors.Is(err, ErrMalformedReply) || !errors.As(err, &qe) || qe.Reason() != "malformed trip block" {
			t.Errorf("%s: %v, %v; want ErrMalformedReply", name, trips, err)
		}
		var de *wire.DecodeError
		if !errors.As(err, &de) {
			t.Errorf("%s: %v carries no *wire.DecodeError", name, err)
		}
	}
}

// A stalling server: the client gives up after its timeout, or when its
// context ends.
func TestQueryStall(t *testing.T) {
	s := startServer(t, WithFault(Fault{Stall: true}))
	start := time.Now()
	trips, err := Query(context.Background(), s.Addr(), berlinMuenchen(), wire.Qt4, 200*time.Millisecond)
	var qe *QueryError
	if trips != nil || !errors.Is(err, ErrQueryTimeout) || !errors.As(err, &qe) || qe.Reason() != "timeout after 200ms" {
		t.Errorf("%v, %v; want ErrQueryTimeout", trips, err)
	}
	if d := time.Since(start); d < 200*time.Millisecond || d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}

	state, ch := phases()
	s = startServer(t, WithFault(Fault{Stall: true}), WithConnState(state))
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		waitPhase(t, ch, 1, PhaseHolding)
		cancel()
	}()
	if _, err := Query(ctx, s.Addr(), berlinMuenchen(), wire.Qt4, netTimeout); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v, want context.Canceled", err)
	}
}

func TestQueryRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	_, err = Query(context.Background(), addr, berlinMuenchen(), wire.Qt4, netTimeout)
	var qe *QueryError
	if !errors.Is(err, ErrRefused) || !errors.As(err, &qe) || qe.Reason() != "connection refused" {
		t.Errorf("%v, want ErrRefused", err)
	}
}

// The reference client sends only what a conforming client may.
func TestQueryIllegalRequest(t *testing.T) {
	r := berlinMuenchen()
	r.Flag = 'Z'
	if _, err := Query(context.Background(), "127.0.0.1:1", r, wire.Qt4, netTimeout); !errors.Is(err, wire.ErrIllegalWrite) {
		t.Errorf("%v, want wire.ErrIllegalWrite", err)
	}
}
