package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/contract"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/wire"
)

// The done-when check of the issue: the book's server (here the fake, in
// process) answers Berlin → München at 09:00 with three trips of 44, 8 and
// 61 minutes, shown as the book's window shows them.
func TestQueryBookTable(t *testing.T) {
	srv, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, out, errs := tripcheck(context.Background(), "query", srv.Addr(), "--from", "Berlin", "--to", "München",
		"--date", "2026-11-25", "--time", "09:00")
	want := "" +
		"Date        Departure  Arrival  Duration     Changes  Train type\n" +
		"2026-11-25  09:00      09:44    0 hr 44 min  1        InterCity\n" +
		"2026-11-25  09:00      09:08    0 hr 8 min   1        InterCity\n" +
		"2026-11-25  09:00      10:01    1 hr 1 min   1        InterCity\n" +
		"Found 3 trip(s)\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, output\n%s\nwant exit 0, output\n%s\nstderr: %s", code, out, want, errs)
	}
}

// queryArgs gives, for every request vector, the query flags that
// describe it.
var queryArgs = map[string][]string{
	"berlin-muenchen-dep":    {"--from", "Berlin", "--to", "München", "--date", "2026-11-25", "--time", "09:00:00.000"},
	"berlin-muenchen-arr":    {"--from", "Berlin", "--to", "München", "--date", "2026-11-25", "--time", "09:00", "--arrive"},
	"hamburg-frankfurt-late": {"--from", "Hamburg", "--to", "Frankfurt am Main", "--date", "2026-11-25", "--time", "23:59:59.999"},
	"bonn-bremen-epoch":      {"--from", "Bonn", "--to", "Bremen", "--date", "1970-01-01", "--time", "00:00", "--arrive"},
	"berlin-empty-to":        {"--from", "Berlin", "--to", "", "--date", "2026-11-25", "--time", "12:30"},
	"empty-empty":            {"--from", "", "--to", "", "--date", "2026-11-25", "--time", "08:00:00.000"},
	"all-null":               {"--from", "@null", "--to", "@null", "--date", "@null", "--time", "@null"},
	"null-date":              {"--from", "Berlin", "--to", "Bonn", "--date", "@null", "--time", "10:00"},
	"null-time":              {"--from", "Berlin", "--to", "Bonn", "--date", "2026-11-25", "--time", "@null", "--arrive"},
	"emoji-koeln-9999":       {"--from", "Zürich🚆", "--to", "Köln", "--date", "9999-12-31", "--time", "12:30", "--arrive"},
	"x300-bonn":              {"--from", strings.Repeat("x", 300), "--to", "Bonn", "--date", "2026-11-25", "--time", "08:15"},
	"bc-date":                {"--from", "Rostock", "--to", "Dresden", "--date", "-0001-12-31", "--time", "06:00"},
	"jd-0-date":              {"--from", "Rostock", "--to", "Dresden", "--date", "-4714-11-24", "--time", "06:00"},
}

// recorder is a one-connection server that records the request and sends a
// fixed reply, sent in 1-byte pieces if asked.
type recorder struct {
	ln  net.Listener
	req chan []byte
}

func newRecorder(t *testing.T, reply []byte, split bool) *recorder {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{ln: ln, req: make(chan []byte, 1)}
	go func() {
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			r.req <- nil
			return
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		rd := wire.NewReader(c, wire.Qt4, wire.Requests)
		blk, err := rd.NextBlock()
		if err != nil {
			r.req <- nil
			return
		}
		r.req <- bytes.Clone(blk.Bytes)
		if !split {
			c.Write(reply)
			return
		}
		for i := range reply {
			if _, err := c.Write(reply[i : i+1]); err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return r
}

// The client exec contract: for every request vector, query sends exactly
// its bytes, and prints the reply vector's trips as lines and "END n",
// whether the reply comes whole or byte by byte.
func TestQueryLinesVectors(t *testing.T) {
	vs, err := qtvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, profile := range []string{"qt4", "qt5"} {
		for _, v := range vs {
			if v.Profile != profile || v.Kind != "request" {
				continue
			}
			args, ok := queryArgs[v.Label]
			if !ok {
				t.Errorf("no query flags for request vector %s", v.Name())
				continue
			}
			reply, _ := qtvectors.Find(vs, profile, "reply", v.Label)
			want := expectedLines(t, v.WireProfile(), reply.Bytes)
			for _, split := range []bool{false, true} {
				rec := newRecorder(t, reply.Bytes, split)
				code, out, errs := tripcheck(context.Background(),
					append([]string{"query", rec.ln.Addr().String(), "--format", "lines", "--profile", profile}, args...)...)
				if code != 0 || out != want {
					t.Errorf("%s split=%v: exit %d, output\n%s\nwant exit 0, output\n%s\nstderr: %s", v.Name(), split, code, out, want, errs)
				}
				if got := <-rec.req; !bytes.Equal(got, v.Bytes) {
					t.Errorf("%s: request\n got %x\nwant %x", v.Name(), got, v.Bytes)
				}
			}
		}
	}
}

// expectedLines decodes a reply vector into the contract's lines (each
// special case of the trip line is pinned in package contract).
func expectedLines(t *testing.T, p wire.Profile, reply []byte) string {
	t.Helper()
	var trips []wire.Trip
	d := wire.NewDecoder(p, wire.Replies)
	d.Feed(reply)
	for {
		var m wire.Message
		if err := d.Next(&m); err != nil {
			t.Fatalf("reply vector: %v", err)
		}
		if m.Kind == wire.KindEnd {
			break
		}
		trips = append(trips, m.Trip)
	}
	var b strings.Builder
	contract.WriteAnswer(&b, trips)
	return b.String()
}

// The contract's failures: exactly one ERROR line on stdout, no trip, exit
// 1, wherever the stream stops.
func TestQueryLinesErrors(t *testing.T) {
	reply := vectorBytes(t, "qt4", "reply", "berlin-muenchen-dep")
	args := queryArgs["berlin-muenchen-dep"]
	for _, cut := range []int{0, 1, 2, 20, 35, 36, len(reply) - 2, len(reply) - 1} {
		for _, split := range []bool{false, true} {
			rec := newRecorder(t, reply[:cut], split)
			code, out, _ := tripcheck(context.Background(), append([]string{"query", rec.ln.Addr().String(), "--format", "lines"}, args...)...)
			if want := "ERROR connection closed by server\n"; code != 1 || out != want {
				t.Errorf("cut %d split=%v: exit %d, output %q; want exit 1, %q", cut, split, code, out, want)
			}
		}
	}

	stall, err := fakes.NewServer(fakes.WithFault(fakes.Fault{Stall: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer stall.Close()
	code, out, _ := tripcheck(context.Background(), append([]string{"query", stall.Addr(), "--format", "lines", "--timeout", "300ms"}, args...)...)
	if want := "ERROR timeout after 300ms\n"; code != 1 || out != want {
		t.Errorf("stall: exit %d, output %q; want exit 1, %q", code, out, want)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	code, out, _ = tripcheck(context.Background(), append([]string{"query", addr, "--format", "lines"}, args...)...)
	// Nothing listening is a setup error (exit 2), the ERROR line still printed.
	if want := "ERROR connection refused\n"; code != 2 || out != want {
		t.Errorf("refused: exit %d, output %q; want exit 2, %q", code, out, want)
	}
}

func TestQueryJSON(t *testing.T) {
	srv, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, out, _ := tripcheck(context.Background(), append([]string{"query", srv.Addr(), "--format", "json"}, queryArgs["all-null"]...)...)
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	var got struct {
		Request map[string]any   `json:"request"`
		Trips   []fakes.JSONTrip `json:"trips"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if got.Request["from"] != nil || got.Request["date"] != "@null" || got.Request["flag"] != "D" || got.Request["profile"] != "qt4" {
		t.Errorf("request %v", got.Request)
	}
	if len(got.Trips) != 3 || got.Trips[0].Duration != 100 || got.Trips[0].Date != "@null" || *got.Trips[0].TrainType != "InterCity" {
		t.Errorf("trips %+v", got.Trips)
	}
	// The trips are in the format serve --trips reads.
	if _, err := fakes.ReadTrips(strings.NewReader(mustJSON(t, got.Trips))); err != nil {
		t.Errorf("trips do not read back: %v", err)
	}

	noEnd, err := fakes.NewServer(fakes.WithFault(fakes.Fault{NoEnd: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer noEnd.Close()
	code, out, _ = tripcheck(context.Background(), append([]string{"query", noEnd.Addr(), "--format", "json"}, queryArgs["all-null"]...)...)
	var failed map[string]any
	if err := json.Unmarshal([]byte(out), &failed); err != nil || code != 1 || failed["error"] != "connection closed by server" || failed["trips"] != nil {
		t.Errorf("exit %d, output %s", code, out)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestQueryUsage(t *testing.T) {
	for name, args := range map[string][]string{
		"no-addr":    {"--from", "a", "--to", "b"},
		"no-from":    {"127.0.0.1:1", "--to", "b"},
		"no-to":      {"127.0.0.1:1", "--from", "a"},
		"bad-date":   {"127.0.0.1:1", "--from", "a", "--to", "b", "--date", "2026-02-30"},
		"bad-time":   {"127.0.0.1:1", "--from", "a", "--to", "b", "--time", "24:00"},
		"ms-time":    {"127.0.0.1:1", "--from", "a", "--to", "b", "--time", "@ms(90000000)"},
		"bad-format": {"127.0.0.1:1", "--from", "a", "--to", "b", "--format", "xml"},
		"profile":    {"127.0.0.1:1", "--from", "a", "--to", "b", "--profile", "qt3"},
	} {
		code, out, errs := tripcheck(context.Background(), append([]string{"query"}, args...)...)
		if code != exitUsage || out != "" || errs == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2 and a message", name, code, out, errs)
		}
	}
}

// Trips print with the one trip line (contract.TripLine), as the
// exec contract says: UTF-8, a lone surrogate as U+FFFD, U+0000 and
// characters outside the BMP unchanged, a time past the day as @ms(N).
func TestQueryLinesText(t *testing.T) {
	trips := fakes.Static{
		{Date: wire.DateOf(2026, 1, 1), Departure: wire.TimeOf(9, 0, 0, 0), TrainType: wire.StrUnits([]uint16{'a', 0xD800, 'b', 0xDC00, 0, 'c'})},
		{Date: wire.DateOf(2026, 1, 1), Departure: wire.TimeMS(86_400_000), TrainType: wire.Str("ICE 🚆 Zürich")},
		{Date: wire.DateOf(2026, 1, 1), Departure: wire.TimeOf(9, 0, 0, 0), TrainType: wire.StrUnits([]uint16{0xDE86, 0xD83D})},
		{TrainType: wire.NullString()},
	}
	srv, err := fakes.NewServer(fakes.WithGenerator(trips))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	code, out, _ := tripcheck(context.Background(), "query", srv.Addr(), "--from", "a", "--to", "b", "--format", "lines")
	want := "2026-01-01 09:00:00.000 0 0 a\ufffdb\ufffd\x00c\n" +
		"2026-01-01 @ms(86400000) 0 0 ICE 🚆 Zürich\n" +
		"2026-01-01 09:00:00.000 0 0 \ufffd\ufffd\n" +
		"@null @null 0 0 \n" +
		"END 4\n"
	if code != 0 || out != want {
		t.Errorf("exit %d, output\n%q\nwant\n%q", code, out, want)
	}
}
