package capture

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// event is one step of a synthesized connection: bytes from a side, or its
// FIN or RST.
type event struct {
	dir   pcap.Direction
	data  []byte
	fin   bool
	reset bool
}

func up(b []byte) event   { return event{dir: pcap.ClientToServer, data: b} }
func down(b []byte) event { return event{dir: pcap.ServerToClient, data: b} }

var (
	serverFIN = event{dir: pcap.ServerToClient, fin: true}
	clientFIN = event{dir: pcap.ClientToServer, fin: true}
	serverRST = event{dir: pcap.ServerToClient, reset: true}
)

// synthCapture writes one connection per event list. Packets: 1-3 the
// handshake; then one per data event; two per FIN (the FIN and its ACK);
// one per RST.
func synthCapture(t *testing.T, conns ...[]event) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := pcap.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	tick := func() time.Time { now = now.Add(time.Millisecond); return now }
	for i, evs := range conns {
		client := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(40000+i))
		c, err := w.Conn(client, netip.MustParseAddrPort("127.0.0.1:6178"), tick())
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs {
			switch {
			case e.fin:
				err = c.Close(e.dir, tick())
			case e.reset:
				err = c.Reset(e.dir, tick())
			default:
				err = c.Data(e.dir, e.data, tick())
			}
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tripReq is the default request, encoded in p.
func tripReq(t *testing.T, p wire.Profile, fields ...string) (wire.Request, []byte) {
	t.Helper()
	r := conformance.DefaultRequest()
	if err := conformance.ParseRequestFields(&r, fields); err != nil {
		t.Fatal(err)
	}
	b, err := wire.Encoder{Profile: p, AllowIllegalWrites: true}.AppendRequest(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	return r, b
}

// bookReply is the book's reply to r, one block per element.
func bookReply(t *testing.T, p wire.Profile, r *wire.Request) [][]byte {
	t.Helper()
	var blocks [][]byte
	for _, trip := range (fakes.Book{}).Trips(r) {
		b, err := p.AppendTrip(nil, &trip)
		if err != nil {
			t.Fatal(err)
		}
		blocks = append(blocks, b)
	}
	return append(blocks, wire.AppendEnd(nil))
}

func joined(blocks [][]byte) []byte { return bytes.Join(blocks, nil) }

// runPassive runs the passive checks on a capture and returns the results by
// the end of their IDs, as "status" or "status: message".
func runPassive(t *testing.T, file []byte, o CheckOptions) (map[string]conformance.Result, *conformance.Report) {
	t.Helper()
	rep, info, err := Check(context.Background(), bytes.NewReader(file), o)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Notes) > 0 {
		t.Logf("file notes: %v", info.Notes)
	}
	out := map[string]conformance.Result{}
	for _, r := range rep.Results {
		_, id, _ := strings.Cut(r.ID, "/")
		out[id] = r
	}
	return out, rep
}

func statuses(rs map[string]conformance.Result) map[string]conformance.Status {
	out := map[string]conformance.Status{}
	for id, r := range rs {
		out[id] = r.Status
	}
	return out
}

func TestPassiveChecks(t *testing.T) {
	req, reqBytes := tripReq(t, wire.Qt4)
	reply := bookReply(t, wire.Qt4, &req) // Berlin → München at 9:00: 4 trips
	if len(reply) < 3 {
		t.Fatalf("the book's reply has %d blocks", len(reply))
	}
	_, badFlag := tripReq(t, wire.Qt4, "flag=Z")
	_, nullDate := tripReq(t, wire.Qt4, "date=@null")
	qt5Reply := bookReply(t, wire.Qt5, &req)
	lying := joined(reply)
	lying[len(reply[0])+1]++ // trip[1]'s size, one too many
	lateTrip := wire.Trip{Date: wire.DateOf(2027, 1, 1), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 10, Changes: 1, TrainType: wire.Str("InterCity")}
	late, _ := wire.Qt4.AppendTrip(nil, &lateTrip)
	nullTrip := wire.Trip{Date: req.Date, Duration: 10, Changes: 1, TrainType: wire.Str("InterCity")}
	nullT, _ := wire.Qt4.AppendTrip(nil, &nullTrip)
	badTimeTrip := wire.Trip{Date: req.Date, Departure: wire.TimeMS(86400000), Duration: 10, Changes: 1, TrainType: wire.Str("InterCity")}
	badTime, _ := wire.Encoder{Profile: wire.Qt4, AllowIllegalWrites: true}.AppendTrip(nil, &badTimeTrip)

	all := func(rest ...string) map[string]conformance.Status {
		m := map[string]conformance.Status{}
		for _, id := range []string{"request/framing", "request/valid", "client/one-request", "client/close-after-end",
			"reply/framing", "reply/nothing-after-end", "reply/close-after-end", "reply/consistent", "reply/no-null"} {
			m[id] = conformance.Pass
		}
		for i := 0; i+1 < len(rest); i += 2 {
			if rest[i+1] == "" {
				delete(m, rest[i])
			} else {
				m[rest[i]] = conformance.Status(rest[i+1])
			}
		}
		return m
	}
	// Packets: 1-3 handshake, 4 the request, then the reply's events.
	tests := []struct {
		name   string
		events []event
		want   map[string]conformance.Status
		// messages has a substring of each failure's or skip's message.
		messages map[string]string
		opts     CheckOptions
	}{
		{
			name:   "book exchange",
			events: []event{up(reqBytes), down(joined(reply)), serverFIN, clientFIN},
			want:   all(),
		},
		{
			name:   "book exchange, block by block, request in pieces",
			events: append(append([]event{up(reqBytes[:1]), up(reqBytes[1:9]), up(reqBytes[9:])}, downs(reply)...), serverFIN, clientFIN),
			want:   all(),
		},
		{
			name:     "size one too many",
			events:   []event{up(reqBytes), down(lying), serverFIN, clientFIN},
			want:     all("reply/framing", "fail", "reply/nothing-after-end", "", "reply/close-after-end", "", "reply/consistent", "", "reply/no-null", "", "client/close-after-end", ""),
			messages: map[string]string{"reply/framing": "packet 5, reply offset"},
		},
		{
			name:     "no end marker",
			events:   append(downsAfter(reqBytes, reply[:len(reply)-1]), serverFIN, clientFIN),
			want:     all("reply/framing", "fail", "reply/nothing-after-end", "", "reply/close-after-end", "", "reply/consistent", "", "reply/no-null", "", "client/close-after-end", ""),
			messages: map[string]string{"reply/framing": "FIN, packet " + fmt.Sprint(5+len(reply)-1)},
		},
		{
			name:     "bytes after the end marker",
			events:   []event{up(reqBytes), down(joined(reply)), down([]byte("xyz")), serverFIN, clientFIN},
			want:     all("reply/nothing-after-end", "fail"),
			messages: map[string]string{"reply/nothing-after-end": "packet 6, reply offset"},
		},
		{
			name:     "reset after the end marker",
			events:   []event{up(reqBytes), down(joined(reply)), serverRST},
			want:     all("reply/close-after-end", "fail", "client/close-after-end", "skip"),
			messages: map[string]string{"reply/close-after-end": "RST, packet 6"},
		},
		{
			name:     "reply in the other profile",
			events:   []event{up(reqBytes), down(joined(qt5Reply)), serverFIN, clientFIN},
			want:     all("reply/framing", "fail", "reply/consistent", "", "reply/no-null", ""),
			messages: map[string]string{"reply/framing": "reads cleanly in qt5"},
		},
		{
			name:     "truncated request, no reply",
			events:   []event{up(reqBytes[:10]), clientFIN, serverFIN},
			want:     map[string]conformance.Status{"request/framing": conformance.Fail, "reply/no-reply-truncated": conformance.Pass},
			messages: map[string]string{"request/framing": "FIN, packet 5"},
		},
		{
			name:     "truncated request, answered",
			events:   []event{up(reqBytes[:10]), clientFIN, down(joined(reply)), serverFIN},
			want:     map[string]conformance.Status{"request/framing": conformance.Fail, "reply/no-reply-truncated": conformance.Fail},
			messages: map[string]string{"reply/no-reply-truncated": "packet 7, reply offset 0"},
		},
		{
			name:   "no request at all",
			events: []event{clientFIN, serverFIN},
			want:   map[string]conformance.Status{"request/framing": conformance.Skip, "reply/no-reply-truncated": conformance.Pass},
		},
		{
			name:     "bytes after the request",
			events:   []event{up(reqBytes), up([]byte{0, 1}), down(joined(reply)), serverFIN, clientFIN},
			want:     all("client/one-request", "fail"),
			messages: map[string]string{"client/one-request": "packet 5, request offset"},
		},
		{
			name:     "bad flag, answered",
			events:   []event{up(badFlag), down(joined(reply)), serverFIN, clientFIN},
			want:     all("request/valid", "fail", "reply/refused", "fail", "reply/consistent", "", "reply/no-null", ""),
			messages: map[string]string{"request/valid": "packet 4, request offset", "reply/refused": "packet 5"},
		},
		{
			name:   "bad flag, refused",
			events: []event{up(badFlag), serverFIN, clientFIN},
			want:   map[string]conformance.Status{"request/framing": conformance.Pass, "request/valid": conformance.Fail, "client/one-request": conformance.Pass, "reply/refused": conformance.Pass},
		},
		{
			name:     "trip on another day",
			events:   []event{up(reqBytes), down(late), down(wire.AppendEnd(nil)), serverFIN, clientFIN},
			want:     all("reply/consistent", "fail"),
			messages: map[string]string{"reply/consistent": "packet 5, reply offset 0"},
		},
		{
			name:     "trip without a time",
			events:   []event{up(reqBytes), down(nullT), down(wire.AppendEnd(nil)), serverFIN, clientFIN},
			want:     all("reply/no-null", "fail"),
			messages: map[string]string{"reply/no-null": "trip[0]"},
		},
		{
			name:     "trip time out of range",
			events:   []event{up(reqBytes), down(joined(reply[:1])), down(badTime), down(wire.AppendEnd(nil)), serverFIN, clientFIN},
			want:     all("reply/framing", "fail"),
			messages: map[string]string{"reply/framing": fmt.Sprintf("packet 6, reply offset %d (trip[1].departure): time out of range", len(reply[0])+6)},
		},
		{
			name:   "null date asked: no date checks",
			events: []event{up(nullDate), down(wire.AppendEnd(nil)), serverFIN, clientFIN},
			want:   all("reply/consistent", "", "reply/no-null", ""),
		},
		{
			name:     "capture ends mid-reply",
			events:   []event{up(reqBytes), down(joined(reply)[:20])},
			want:     map[string]conformance.Status{"request/framing": conformance.Pass, "request/valid": conformance.Pass, "client/one-request": conformance.Pass, "reply/framing": conformance.Skip},
			messages: map[string]string{"reply/framing": "the capture ends before the reply does"},
		},
		{
			name:     "capture ends before the closes",
			events:   []event{up(reqBytes), down(joined(reply))},
			want:     all("reply/close-after-end", "skip", "client/close-after-end", "skip"),
			messages: map[string]string{"reply/close-after-end": "no FIN from the server"},
		},
		{
			name:   "golden",
			events: []event{up(reqBytes), down(joined(reply)), serverFIN, clientFIN},
			want:   all("reply/golden", "pass"),
			opts:   CheckOptions{Golden: conformance.GoldenBook, GoldenName: "book"},
		},
		{
			name:     "not golden",
			events:   []event{up(reqBytes), down(late), down(wire.AppendEnd(nil)), serverFIN, clientFIN},
			want:     all("reply/golden", "fail", "reply/consistent", "fail"),
			opts:     CheckOptions{Golden: conformance.GoldenBook, GoldenName: "book"},
			messages: map[string]string{"reply/golden": "packet 5, reply offset"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, rep := runPassive(t, synthCapture(t, tc.events), tc.opts)
			if diff := cmp.Diff(tc.want, statuses(got)); diff != "" {
				t.Errorf("statuses (-want +got):\n%s", diff)
				for _, r := range rep.Results {
					t.Logf("%s %s: %s", r.ID, r.Status, r.Message)
				}
			}
			for id, sub := range tc.messages {
				if !strings.Contains(got[id].Message, sub) {
					t.Errorf("%s: message %q lacks %q", id, got[id].Message, sub)
				}
			}
			for _, r := range rep.Results {
				if r.Status == conformance.Fail && r.Log == "" {
					t.Errorf("%s failed without a log", r.ID)
				}
				if !strings.HasPrefix(r.ID, "session[1]/") {
					t.Errorf("ID %s", r.ID)
				}
			}
		})
	}
}

func downs(blocks [][]byte) []event {
	var evs []event
	for _, b := range blocks {
		evs = append(evs, down(b))
	}
	return evs
}

func downsAfter(req []byte, blocks [][]byte) []event {
	return append([]event{up(req)}, downs(blocks)...)
}

// Several sessions in one capture each get their results, in order.
func TestPassiveSessions(t *testing.T) {
	req, reqBytes := tripReq(t, wire.Qt4)
	reply := joined(bookReply(t, wire.Qt4, &req))
	good := []event{up(reqBytes), down(reply), serverFIN, clientFIN}
	bad := []event{up(reqBytes), down(reply[:len(reply)-2]), serverFIN, clientFIN}
	got, rep := runPassive(t, synthCapture(t, good, bad, good), CheckOptions{})
	var failed []string
	for _, r := range rep.Results {
		if r.Status == conformance.Fail {
			failed = append(failed, r.ID)
		}
	}
	sort.Strings(failed)
	if diff := cmp.Diff([]string{"session[2]/reply/framing"}, failed); diff != "" {
		t.Errorf("failures (-want +got):\n%s", diff)
	}
	if rep.OK() || rep.Summary.FailedRequired != 1 || rep.Suite != SuitePcap {
		t.Errorf("summary %+v", rep.Summary)
	}
	_ = got
	// Aggregated: one result per check, the failure naming its session.
	agg, rep := runPassive(t, synthCapture(t, good, bad, good), CheckOptions{Aggregate: true})
	if len(rep.Results) != 9 {
		t.Errorf("%d aggregated results, want 9", len(rep.Results))
	}
	if r := agg["framing"]; r.ID != "reply/framing" || r.Status != conformance.Fail || !strings.Contains(r.Message, "failed in 1 of 3 sessions; first session[2]: packet") {
		t.Errorf("aggregated reply/framing: %+v", r)
	}
	if r := agg["framing"]; !strings.Contains(r.Log, "3 sessions: 2 passed, 1 failed, 0 skipped") {
		t.Errorf("log %q", r.Log)
	}
}

// Each failure of a passive check carries the session checker's finding,
// by its rule ID, so that the report groups failures by cause.
func TestPassiveFindings(t *testing.T) {
	req, reqBytes := tripReq(t, wire.Qt4)
	reply := bookReply(t, wire.Qt4, &req)
	_, badFlag := tripReq(t, wire.Qt4, "flag=Z")
	lying := joined(reply)
	lying[len(reply[0])+1]++
	lateTrip := wire.Trip{Date: wire.DateOf(2027, 1, 1), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 10, Changes: 1, TrainType: wire.Str("InterCity")}
	late, _ := wire.Qt4.AppendTrip(nil, &lateTrip)
	for _, tc := range []struct {
		name   string
		events []event
		want   map[string]string // check → finding's rule
	}{
		{"size one too many", []event{up(reqBytes), down(lying), serverFIN, clientFIN},
			map[string]string{"reply/framing": "reply/bytes-left-over"}},
		{"bad flag, answered", []event{up(badFlag), down(joined(reply)), serverFIN, clientFIN},
			map[string]string{"request/valid": "request/bad-flag", "reply/refused": "reply/answered-bad-request"}},
		{"truncated request, answered", []event{up(reqBytes[:10]), clientFIN, down(joined(reply)), serverFIN},
			map[string]string{"request/framing": "request/cut", "reply/no-reply-truncated": "reply/to-cut-request"}},
		{"bytes after the end marker", []event{up(reqBytes), down(joined(reply)), down([]byte("xyz")), serverFIN, clientFIN},
			map[string]string{"reply/nothing-after-end": "reply/after-end"}},
		{"reset after the end marker", []event{up(reqBytes), down(joined(reply)), serverRST},
			map[string]string{"reply/close-after-end": "conn/reset-after-reply"}},
		{"trip on another day", []event{up(reqBytes), down(late), down(wire.AppendEnd(nil)), serverFIN, clientFIN},
			map[string]string{"reply/consistent": "reply/wrong-date"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, rep := runPassive(t, synthCapture(t, tc.events), CheckOptions{})
			failed := map[string]string{}
			for id, r := range got {
				if r.Status != conformance.Fail {
					continue
				}
				if len(r.Findings) != 1 {
					t.Errorf("%s failed with %d findings", id, len(r.Findings))
					continue
				}
				failed[id] = r.Findings[0].Check
			}
			if diff := cmp.Diff(tc.want, failed); diff != "" {
				t.Errorf("findings (-want +got):\n%s", diff)
			}
			if len(rep.Causes) == 0 {
				t.Errorf("the report has no causes")
			}
		})
	}
}
