package report

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/wire"
)

// exchangeWire is the trace of one request and a reply of one trip block
// and the end marker, in qt4, then the server's FIN.
func exchangeWire(t testing.TB) ([]conformance.WireEvent, []byte) {
	t.Helper()
	r := wire.Request{Type: 'S', From: wire.Str("Bonn"), To: wire.Str("Köln"), Date: wire.DateOf(2026, 1, 2), Time: wire.TimeOf(8, 0, 0, 0), Flag: 'D'}
	req, err := wire.Qt4.AppendRequest(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	trip := wire.Trip{Date: r.Date, Departure: r.Time, Duration: 40, Changes: 1, TrainType: wire.Str("ICE")}
	reply, err := wire.Qt4.AppendTrip(nil, &trip)
	if err != nil {
		t.Fatal(err)
	}
	reply = wire.AppendEnd(reply)
	return []conformance.WireEvent{
		{At: time.Millisecond, Dir: conformance.ToPeer, Conn: "c", Kind: conformance.WireWrite, Offset: 0, Len: len(req), Bytes: req},
		{At: 2 * time.Millisecond, Dir: conformance.FromPeer, Conn: "c", Kind: conformance.WireRead, Offset: 0, Len: 10, Bytes: reply[:10]},
		{At: 300 * time.Millisecond, Dir: conformance.FromPeer, Conn: "c", Kind: conformance.WireRead, Offset: 10, Len: len(reply) - 10, Bytes: reply[10:]},
		{At: 301 * time.Millisecond, Dir: conformance.FromPeer, Conn: "c", Kind: conformance.WireFIN, Offset: int64(len(reply))},
	}, reply
}

func render(t *testing.T, rep *conformance.Report) string {
	t.Helper()
	var buf bytes.Buffer
	if err := HTML(&buf, rep); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// TestHTMLFindingDivergence marks the byte at the offset of a failure's
// first finding, names its block and field, and groups the failure under
// its finding's check.
func TestHTMLFindingDivergence(t *testing.T) {
	evs, reply := exchangeWire(t)
	rep := &conformance.Report{Suite: conformance.SuiteServer, Target: "127.0.0.1:1", Profile: "qt4", Results: []conformance.Result{
		{ID: "valid/x", Level: conformance.Must, Status: conformance.Fail, Required: true, Message: "wrong duration",
			Findings: []conformance.Finding{{Check: "reply/wrong-duration", Summary: "a trip's duration is wrong", Offset: 10, Field: "trip[0].duration"}},
			Wire:     evs},
		{ID: "valid/y", Level: conformance.Must, Status: conformance.Pass, Wire: evs},
	}}
	s := render(t, rep)
	want := []string{
		// the divergence byte, in the second read (offsets 10 on)
		`class="f-num diverge" title="first divergence at 10: got ` + hexOf(reply[10:18], 8) + `">00</span>`,
		`of the stream from server under test to tripcheck: actual <span class="mono">` + hexOf(reply[10:18], 8) + `</span> — a trip&#39;s duration is wrong (reply/wrong-duration)`,
		`<b>First divergence</b> at offset 10 (trip[0].duration) of the stream from server under test to tripcheck`,
		// the cause
		`<span class="n">1 failure</span> · a trip&#39;s duration is wrong <span class="mono">reply/wrong-duration</span>`,
		// blocks and fields
		`<span class="tag" title="request[0], size 34: request{type &#39;S&#39;, from &#34;Bonn&#34;`,
		`<span class="f-len" title="request[0].from.length @3">00 00 00 08</span><span class="f-str" title="request[0].from @7">00 42 00 6f 00 6e 00 6e</span>`,
		`<span class="tag cont" title="continues trip[0]">…trip[0]</span>`,
		`<span class="tag" title="the end marker 0xFFFF">end</span><span class="f-end" title="end @23">ff ff</span>`,
		// the pause of 298 ms between the reads, on the time axis
		`⋯ 298.000 ms ⋯`,
		`<span class="t">&#43;300.000 ms</span>`,
	}
	for _, w := range want {
		if !strings.Contains(s, w) {
			t.Errorf("no %s", w)
		}
	}
	if n := strings.Count(s, "First divergence"); n != 1 {
		t.Errorf("%d divergence notes, want 1 (the pass has none)", n)
	}
}

// TestHTMLDecodeDivergence: without a finding, the first fault of the
// peer's stream is the divergence; here a reply cut before its end marker.
func TestHTMLDecodeDivergence(t *testing.T) {
	evs, reply := exchangeWire(t)
	cut := len(reply) - 2
	evs[2].Bytes, evs[2].Len = evs[2].Bytes[:len(evs[2].Bytes)-2], evs[2].Len-2
	evs[3].Offset = int64(cut)
	rep := &conformance.Report{Suite: conformance.SuiteServer, Results: []conformance.Result{
		{ID: "valid/x", Level: conformance.Must, Status: conformance.Fail, Required: true, Message: "no end marker", Wire: evs},
	}}
	s := render(t, rep)
	for _, w := range []string{
		`expected <span class="mono">ff ff (the end marker)</span>, actual <span class="mono">the end of the stream (FIN)</span>`,
		`1 failure has no recorded finding, so no cause`,
		`data-profile="qt4"`, // detected from the request: the report says nothing
	} {
		if !strings.Contains(s, w) {
			t.Errorf("no %s", w)
		}
	}
}

// TestHTMLRecordedDivergence shows the expected and actual bytes a check
// recorded (a golden comparison).
func TestHTMLRecordedDivergence(t *testing.T) {
	evs, _ := exchangeWire(t)
	evs = append(evs, conformance.WireEvent{Dir: conformance.FromPeer, Conn: "c", Kind: conformance.WireDiverge, Offset: 20, Bytes: []byte{0, 0x28}, Expected: []byte{0, 0x29}, Note: "trip[0].duration"})
	rep := &conformance.Report{Suite: conformance.SuiteServer, Profile: "qt4", Results: []conformance.Result{
		{ID: "golden/x", Level: conformance.Must, Status: conformance.Fail, Required: true, Wire: evs},
	}}
	s := render(t, rep)
	for _, w := range []string{
		`expected <span class="mono">00 29</span>, actual <span class="mono">00 28</span> — differs from the expected bytes`,
		`title="first divergence at 20: expected 00 29, got 00 28"`,
	} {
		if !strings.Contains(s, w) {
			t.Errorf("no %s", w)
		}
	}
}

var reExternal = regexp.MustCompile(`(?i)(src|href)\s*=\s*"(https?:|//|file:)|url\(|@import|<link`)

// TestHTMLSelfContained: nothing to load, and text from the peer is
// escaped.
func TestHTMLSelfContained(t *testing.T) {
	evs, _ := exchangeWire(t)
	evs = append(evs[:2], conformance.WireEvent{Kind: conformance.WireGap, Len: 5000, Note: "5000 events not shown"}, evs[3])
	rep := &conformance.Report{Suite: conformance.SuiteClient, Target: `<img src="http://x/">`, Results: []conformance.Result{
		{ID: "x/y", Level: conformance.Should, Status: conformance.Fail, Message: `<script>alert(1)</script>`, Log: "</pre><b>", Wire: evs},
	}}
	s := render(t, rep)
	if m := reExternal.FindString(s); m != "" {
		t.Errorf("the page refers to something outside it: %q", m)
	}
	for _, bad := range []string{"<script>alert(1)", `<img src="http://x/">`, "</pre><b>"} {
		if strings.Contains(s, bad) {
			t.Errorf("peer text %q is not escaped", bad)
		}
	}
	for _, w := range []string{"5000 events not shown", "tripcheck (as the server)", "a SHOULD: counts only with --strict"} {
		if !strings.Contains(s, w) {
			t.Errorf("no %s", w)
		}
	}
	if err := HTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("HTML(nil report): no error")
	}
}

// fullReport is a report of 68 failures, each with a trace at its bounds:
// 256 reads of 256 bytes of trip blocks, after a request.
func fullReport(b testing.TB) *conformance.Report {
	evs, reply := exchangeWire(b)
	var stream []byte
	for len(stream) < (conformance.TraceHead+conformance.TraceTail)*conformance.TraceEventBytes {
		stream = append(stream, reply[:len(reply)-2]...)
	}
	wire := evs[:1]
	for off := 0; len(wire) < conformance.TraceHead+conformance.TraceTail; off += conformance.TraceEventBytes {
		chunk := stream[off : off+conformance.TraceEventBytes]
		wire = append(wire, conformance.WireEvent{At: time.Duration(off) * time.Microsecond, Dir: conformance.FromPeer, Conn: "c", Kind: conformance.WireRead, Offset: int64(off), Len: len(chunk), Bytes: chunk})
	}
	rep := &conformance.Report{Suite: conformance.SuiteServer, Profile: "qt4"}
	for i := 0; i < 68; i++ {
		rep.Results = append(rep.Results, conformance.Result{ID: fmt.Sprintf("area/s%d", i), Level: conformance.Must, Status: conformance.Fail, Required: true, Message: "m",
			Findings: []conformance.Finding{{Check: "reply/x", Summary: "x", Offset: 1000}}, Wire: wire})
	}
	return rep
}

// TestHTMLBounded: a report whose every scenario has a full trace gives
// a page of a few megabytes: the page's budget of rows and bytes is spent
// on the first diagrams, and the rest say what they leave out.
func TestHTMLBounded(t *testing.T) {
	var buf bytes.Buffer
	if err := HTML(&buf, fullReport(t)); err != nil {
		t.Fatal(err)
	}
	if n := buf.Len(); n > 12<<20 {
		t.Errorf("the page has %d bytes, more than 12 MiB", n)
	}
	s := buf.String()
	for _, w := range []string{"bytes not drawn: this page draws at most 256 KiB of them", "wire events not drawn: this page draws at most 4000"} {
		if !strings.Contains(s, w) {
			t.Errorf("no %q", w)
		}
	}
}

// BenchmarkHTML writes the HTML report of 68 failures with full traces;
// JSON, which writes the same traces, is the baseline.
func BenchmarkHTML(b *testing.B) {
	rep := fullReport(b)
	for _, w := range []struct {
		name  string
		write func(io.Writer, *conformance.Report) error
	}{{"json", JSON}, {"html", HTML}} {
		b.Run(w.name, func(b *testing.B) {
			var n int64
			b.ReportAllocs()
			for b.Loop() {
				cw := &countWriter{}
				if err := w.write(cw, rep); err != nil {
					b.Fatal(err)
				}
				n = cw.n
			}
			b.ReportMetric(float64(n)/(1<<20), "MiB/report")
		})
	}
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }
