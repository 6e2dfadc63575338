package conformance

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// With --profile auto, a strict qt5 server that refuses the qt4 request
// passes the preflight in qt5; with --profile qt4 it does not.
func TestPreflightProfiles(t *testing.T) {
	srv, err := fakes.NewServer(fakes.WithProfile(wire.Qt5))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	for _, c := range []struct {
		profile wire.Profile
		ok      bool
		check   string
	}{
		{0, true, ""},
		{wire.Qt5, true, ""},
		{wire.Qt4, false, "conn/closed"},
	} {
		pf, err := runPreflight(context.Background(), srv.Addr(), c.profile, 5*time.Second)
		if err != nil {
			t.Fatalf("profile %v: %v", c.profile, err)
		}
		if pf.OK != c.ok || !c.ok && (pf.Finding == nil || pf.Finding.Check != c.check) {
			t.Errorf("profile %v: preflight %+v, want ok %v, finding %q", c.profile, pf, c.ok, c.check)
		}
	}
}

// The verdicts on what came back, from the bytes and how the stream
// ended, without a network.
func TestPreflightJudge(t *testing.T) {
	trip, _ := wire.Qt4.AppendTrip(nil, &wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")})
	for _, c := range []struct {
		name  string
		got   []byte
		how   Ending
		ok    bool
		check string
		say   string
	}{
		{"a trip", trip, "", true, "", "answered with a trip block (qt4 layout)"},
		{"the end marker", []byte{0xff, 0xff}, "", true, "", "answered with the end marker"},
		{"a trip one byte too long", append([]byte{0x00, byte(len(trip) - 1)}, append(trip[2:], 0)...), "", true, "", "trip block"},
		{"silence", nil, EndSilence, false, "conn/silent", "sent nothing within 2s"},
		{"a close", nil, EndClose, false, "conn/closed", "closed the connection without a reply"},
		{"http", []byte("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n"), EndClose, false, "reply/not-trip", "answered with 'HTTP/1.1 400 Bad Request…': not the Trip protocol"},
		{"a block that is no trip", []byte{0x00, 0x03, 1, 2, 3}, "", false, "reply/not-trip", "the block at offset 0 announces 3 bytes, which are no trip"},
		{"a stalled block", []byte{0xff, 0xfe, 0x00}, EndSilence, false, "reply/stalled", "the block at offset 0 announces 65534 bytes; 1 of them came"},
		{"a cut block", trip[:10], EndClose, false, "reply/cut", "then the stream ended (close): the block at offset 0 announces 33 bytes; 8 of them came"},
	} {
		t.Run(c.name, func(t *testing.T) {
			pf := &Preflight{}
			pf.judge("ADDR", c.got, c.how, nil, 2*time.Second)
			if pf.OK != c.ok || !c.ok && pf.Finding.Check != c.check {
				t.Errorf("preflight %+v, want ok %v, finding %q", pf, c.ok, c.check)
			}
			if !strings.Contains(pf.Verdict, c.say) {
				t.Errorf("verdict %q does not say %q", pf.Verdict, c.say)
			}
		})
	}
}
