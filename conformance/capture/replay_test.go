package capture

import (
	"bytes"
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

func startServer(t *testing.T, opts ...fakes.Option) string {
	t.Helper()
	srv, err := fakes.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr()
}

// bookCapture is a capture of the book's server answering two requests,
// the second cut into three pieces, and a truncated request it does not
// answer.
func bookCapture(t *testing.T) []byte {
	t.Helper()
	req1, b1 := tripReq(t, wire.Qt4)
	req2, b2 := tripReq(t, wire.Qt4, "from=Hamburg", "to=Köln", "time=17:30", "flag=A")
	r1, r2 := bookReply(t, wire.Qt4, &req1), bookReply(t, wire.Qt4, &req2)
	return synthCapture(t,
		append(append([]event{up(b1)}, downs(r1)...), serverFIN, clientFIN),
		append(append([]event{up(b2[:3]), up(b2[3:20]), up(b2[20:])}, down(joined(r2))), serverFIN, clientFIN),
		[]event{up(b1[:9]), clientFIN, serverFIN},
	)
}

func replayStatuses(t *testing.T, file []byte, addr string, o ReplayOptions) (*conformance.Report, []conformance.Status) {
	t.Helper()
	rep, _, err := Replay(context.Background(), bytes.NewReader(file), addr, o)
	if err != nil {
		t.Fatal(err)
	}
	var st []conformance.Status
	for _, r := range rep.Results {
		st = append(st, r.Status)
		if r.Status != conformance.Pass {
			t.Logf("%s %s: %s\n%s", r.ID, r.Status, r.Message, r.Log)
		}
	}
	return rep, st
}

func TestReplayAgainstReference(t *testing.T) {
	file := bookCapture(t)
	addr := startServer(t)
	book4 := bookReply(t, wire.Qt4, new(wire.Request))
	_ = book4
	for _, tc := range []struct {
		name string
		o    ReplayOptions
	}{
		{"exact, captured segmentation", ReplayOptions{}},
		{"structure", ReplayOptions{Compare: CompareStructure}},
		{"exact, one byte at a time", ReplayOptions{Shape: &shape.Shape{Every: 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rep, st := replayStatuses(t, file, addr, tc.o)
			if len(st) != 3 || !rep.OK() || rep.Summary.Passed != 3 {
				t.Errorf("statuses %v, summary %+v", st, rep.Summary)
			}
		})
	}
}

func TestReplayFindsDifferences(t *testing.T) {
	file := bookCapture(t)
	tests := []struct {
		name    string
		server  []fakes.Option
		compare CompareMode
		want    []conformance.Status
		message string // in the first failure
	}{
		{"size off by one", []fakes.Option{fakes.WithFault(fakes.Fault{SizeDelta: 1})}, CompareExact,
			[]conformance.Status{conformance.Fail, conformance.Fail, conformance.Pass}, "differs at byte 1 (trip[0].size)"},
		{"size off by one, structure", []fakes.Option{fakes.WithFault(fakes.Fault{SizeDelta: 1})}, CompareStructure,
			[]conformance.Status{conformance.Fail, conformance.Fail, conformance.Pass}, "framing: the capture's fault none, the live reply's in trip[0].trailing (reply/bytes-left-over)"},
		{"no end marker", []fakes.Option{fakes.WithFault(fakes.Fault{NoEnd: true})}, CompareExact,
			[]conformance.Status{conformance.Fail, conformance.Fail, conformance.Pass}, "end"},
		{"reset instead of close", []fakes.Option{fakes.WithFault(fakes.Fault{Shape: shape.Shape{Then: shape.ThenReset}})}, CompareExact,
			[]conformance.Status{conformance.Fail, conformance.Fail, conformance.Pass}, "by reset where the capture shows a close"},
		{"other trips, same count: exact", []fakes.Option{fakes.WithGenerator(sameCount{})}, CompareExact,
			[]conformance.Status{conformance.Fail, conformance.Fail, conformance.Pass}, "differs at byte"},
		{"other trips, same count: structure", []fakes.Option{fakes.WithGenerator(sameCount{})}, CompareStructure,
			[]conformance.Status{conformance.Pass, conformance.Pass, conformance.Pass}, ""},
		{"a reply past the budget", []fakes.Option{fakes.WithGenerator(manyTrips(10000))}, CompareStructure,
			[]conformance.Status{conformance.Fail, conformance.Fail, conformance.Pass}, "the live reply runs past 131072 bytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			addr := startServer(t, tc.server...)
			rep, st := replayStatuses(t, file, addr, ReplayOptions{Compare: tc.compare})
			if strings.Join(statusStrings(st), ",") != strings.Join(statusStrings(tc.want), ",") {
				t.Errorf("statuses %v, want %v", st, tc.want)
			}
			for _, r := range rep.Results {
				if r.Status == conformance.Fail {
					if !strings.Contains(r.Message, tc.message) {
						t.Errorf("message %q lacks %q", r.Message, tc.message)
					}
					break
				}
			}
		})
	}
}

func statusStrings(st []conformance.Status) []string {
	var out []string
	for _, s := range st {
		out = append(out, string(s))
	}
	return out
}

// sameCount answers with as many trips as the book, each a minute longer.
type sameCount struct{}

func (sameCount) Trips(r *wire.Request) []wire.Trip {
	trips := (fakes.Book{}).Trips(r)
	for i := range trips {
		trips[i].Duration++
	}
	return trips
}

func TestReplayUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if _, _, err := Replay(context.Background(), bytes.NewReader(bookCapture(t)), addr, ReplayOptions{Timeout: time.Second}); err == nil {
		t.Fatal("no error for a server that is not there")
	}
}

func TestServeReplay(t *testing.T) {
	req, b := tripReq(t, wire.Qt4)
	reply := bookReply(t, wire.Qt4, &req)
	file := synthCapture(t,
		append(append([]event{up(b)}, downs(reply)...), serverFIN, clientFIN),
		[]event{up(b), down(joined(reply)[:10]), serverRST},
	)
	sessions, _, err := ReadSessions(bytes.NewReader(file), pcap.Options{}, 0)
	if err != nil || len(sessions) != 2 {
		t.Fatalf("%d sessions, %v", len(sessions), err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var lines []string
	done := make(chan error, 1)
	go func() {
		done <- Serve(context.Background(), ln, sessions, ServeOptions{Once: true, Timeout: 5 * time.Second,
			Logf: func(f string, a ...any) {
				mu.Lock()
				defer mu.Unlock()
				lines = append(lines, f)
			}})
	}()
	ctx := context.Background()
	trips, err := fakes.Query(ctx, ln.Addr().String(), &req, wire.Qt4, 5*time.Second)
	if err != nil {
		t.Fatalf("first session: %v", err)
	}
	if want := (fakes.Book{}).Trips(&req); len(trips) != len(want) {
		t.Errorf("%d trips, want %d", len(trips), len(want))
	}
	_, err = fakes.Query(ctx, ln.Addr().String(), &req, wire.Qt4, 5*time.Second)
	if !errors.Is(err, fakes.ErrClosedByServer) {
		t.Errorf("second session: %v, want closed by server", err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 {
		t.Errorf("%d log lines", len(lines))
	}
}

// manyTrips answers every request with n trips: about 30 bytes each.
func manyTrips(n int) fakes.Static {
	trips := make(fakes.Static, n)
	for i := range trips {
		trips[i] = wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")}
	}
	return trips
}
