package capture

import (
	"github.com/tripcheck/tripcheck/internal/plural"

	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// SuiteReplay is the suite name of replay reports.
const SuiteReplay = "replay"

// CompareMode says how Replay compares a live reply with the captured one.
type CompareMode string

const (
	// CompareExact wants the same bytes, byte for byte, and the same end
	// of the stream (close or reset).
	CompareExact CompareMode = "exact"
	// CompareStructure wants the same framing outcome (a fault in the
	// same field, or none), the same field validity, the same number of
	// trips, the end marker or not, bytes after it or not, and the same
	// end of the stream.
	CompareStructure CompareMode = "structure"
)

// ParseCompareMode reads "exact" or "structure".
func ParseCompareMode(s string) (CompareMode, error) {
	switch CompareMode(s) {
	case CompareExact, CompareStructure:
		return CompareMode(s), nil
	}
	return "", fmt.Errorf("conformance: compare mode %q: want exact or structure", s)
}

// DefaultReplayTimeout bounds each step of a replay that waits for the
// server.
const DefaultReplayTimeout = 2 * time.Second

// ReplayOptions configure Replay.
type ReplayOptions struct {
	// Profile is the profile of every session; 0 detects it per session.
	Profile wire.Profile
	// Compare is CompareExact (the default) or CompareStructure.
	Compare CompareMode
	// Shape, when set, sends each request in this shape instead of the
	// captured segmentation (the client's packets as pieces).
	Shape *shape.Shape
	// Timeout bounds every step that waits for the server
	// (DefaultReplayTimeout): the connection, each piece written, the
	// reply, the close after it.
	Timeout time.Duration
	// Capture says how to find sessions in the capture.
	Capture pcap.Options
	// Source names the capture in the report.
	Source string
	// Progress, if set, gets each result as it is made.
	Progress func(conformance.Result)
}

func (o *ReplayOptions) timeout() time.Duration {
	if o.Timeout <= 0 {
		return DefaultReplayTimeout
	}
	return o.Timeout
}

const replayRequirement = "The server MUST answer each captured request as the capture shows: byte for byte with --compare exact; with the same framing, field validity, trip count and close with --compare structure."

// Replay sends the request of each Trip session in the capture read from r
// to the server at addr, one session at a time, keeping the captured
// segmentation (or o.Shape) and the captured half-close, and compares the
// reply with the captured one. Each session gives one Result,
// "session[N]/replay". An error means the capture could not be read or
// the server could not be reached at all.
func Replay(ctx context.Context, r io.Reader, addr string, o ReplayOptions) (*conformance.Report, Info, error) {
	if o.Compare == "" {
		o.Compare = CompareExact
	}
	if _, err := ParseCompareMode(string(o.Compare)); err != nil {
		return nil, Info{}, err
	}
	if o.Shape != nil {
		if err := o.Shape.Validate(); err != nil {
			return nil, Info{}, err
		}
	}
	probe, err := (&net.Dialer{Timeout: o.timeout()}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, Info{}, fmt.Errorf("conformance: cannot connect to %s: %v", addr, err)
	}
	probe.Close()
	pr, err := pcap.NewReader(r, o.Capture)
	if err != nil {
		return nil, Info{}, err
	}
	start := time.Now()
	rep := &conformance.Report{Suite: SuiteReplay, Target: addr, Started: start}
	if o.Source != "" {
		rep.Target = o.Source + " → " + addr
	}
	rep.Profile, rep.ProfileNote = "auto", "detected per session; compare "+string(o.Compare)
	if o.Profile != 0 {
		rep.Profile, rep.ProfileNote = o.Profile.String(), "given; compare "+string(o.Compare)
	}
	readErr := eachSession(ctx, pr, func(s *pcap.Session) {
		res := replaySession(ctx, s, addr, &o)
		rep.Results = append(rep.Results, res)
		if o.Progress != nil {
			o.Progress(res)
		}
	})
	rep.Duration = time.Since(start)
	rep.DurationMS = float64(rep.Duration.Microseconds()) / 1000
	rep.Tally()
	return rep, Info{Format: pr.Format(), Stats: pr.Stats(), Notes: pr.Notes()}, readErr
}

// capturedEnding is how the captured server ended its stream: "close",
// "reset", or "" when the capture does not show it.
func capturedEnding(st *pcap.Stream) conformance.Ending {
	switch {
	case st.FIN.Seen() && (!st.RST.Seen() || st.FIN.Packet < st.RST.Packet):
		return conformance.EndClose
	case st.RST.Seen():
		return conformance.EndReset
	}
	return ""
}

// halfCloses says whether the captured client ended its side before the
// server's reply was over: the replay then half-closes after the request.
func halfCloses(s *pcap.Session) bool {
	end := s.Up.FIN
	if !end.Seen() {
		end = s.Up.RST
	}
	if !end.Seen() {
		return false
	}
	switch {
	case s.Down.FIN.Seen():
		return end.Packet < s.Down.FIN.Packet
	case s.Down.RST.Seen():
		return end.Packet < s.Down.RST.Packet
	case len(s.Down.Segments) > 0:
		return end.Packet < s.Down.Segments[len(s.Down.Segments)-1].Packet
	}
	return true
}

func replaySession(ctx context.Context, s *pcap.Session, addr string, o *ReplayOptions) conformance.Result {
	res := conformance.Result{
		ID:          fmt.Sprintf("session[%d]/replay", s.Index),
		Area:        fmt.Sprintf("session[%d]", s.Index),
		Level:       conformance.Must,
		Requirement: replayRequirement,
		Required:    true,
	}
	begin := time.Now()
	defer func() {
		res.Duration = time.Since(begin)
		res.DurationMS = float64(res.Duration.Microseconds()) / 1000
	}()
	p, note := pcap.SessionProfile(s, o.Profile)
	var log strings.Builder
	trace := conformance.NewTrace()
	fmt.Fprintf(&log, "session %d: %v → %v, packets %d–%d, profile %v (%s)\n", s.Index, s.Client, s.Server, s.FirstPacket, s.LastPacket, p, note)
	finish := func(st conformance.Status, msg string) conformance.Result {
		res.Status, res.Message, res.Log = st, msg, strings.TrimRight(log.String(), "\n")
		res.Wire = trace.Events()
		return res
	}
	req := s.Up.Contiguous()
	if !s.Up.Complete() {
		return finish(conformance.Skip, "nothing to replay: "+unknownWhy(s.Up, s, "request"))
	}
	if len(req) == 0 && !s.Up.Closed() {
		return finish(conformance.Skip, "nothing to replay: the client sent nothing")
	}
	sh := shape.Shape{At: s.Up.Cuts()}
	if o.Shape != nil {
		sh = *o.Shape
		sh.Then = shape.ThenClose
	}
	half := halfCloses(s)
	fmt.Fprintf(&log, "send %d bytes as %s%s\n", len(req), sh.String(), map[bool]string{true: ", then half-close", false: ""}[half])
	timeout := o.timeout()
	nc, err := (&net.Dialer{Timeout: timeout}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return finish(conformance.Fail, fmt.Sprintf("cannot connect: %v", err))
	}
	defer nc.Close()
	sc, err := shape.NewConn(trace.Conn("c", nc), sh, shape.WithWriteTimeout(timeout))
	if err != nil {
		return finish(conformance.Fail, err.Error())
	}
	if len(req) > 0 {
		if _, err := sc.Write(req); err != nil {
			return finish(conformance.Fail, fmt.Sprintf("sending the request: %v", err))
		}
	}
	if half {
		if err := sc.CloseWrite(); err != nil {
			return finish(conformance.Fail, fmt.Sprintf("half-closing after the request: %v", err))
		}
	}
	obs := conformance.ObserveReply(trace.Conn("c", nc), p, time.Now().Add(timeout), timeout, func(f string, a ...any) { fmt.Fprintf(&log, f+"\n", a...) })
	fmt.Fprintf(&log, "live reply: %s\n", obs.Summary())
	want := s.Down.Contiguous()
	complete := s.Down.Complete() || len(want) == 0 && int64(len(want)) == s.Down.Len
	if !complete {
		fmt.Fprintf(&log, "the captured reply is incomplete (%s): only its first %d bytes are compared\n", unknownWhy(s.Down, s, "reply"), len(want))
	}
	capEnd := capturedEnding(s.Down)
	if obs.OverBudget {
		// Its trip count, framing and ending say nothing more.
		return finish(conformance.Fail, fmt.Sprintf("the live reply runs past %d bytes (%s), more than any reply needs; reading stopped there", conformance.ReplyBudget, plural.Count(obs.TripCount, "trip", "trips")))
	}
	var diffs []string
	switch o.Compare {
	case CompareStructure:
		diffs = compareStructure(want, obs, p, complete, capEnd)
	default:
		got := obs.Bytes
		if !complete && len(got) > len(want) {
			got = got[:len(want)]
		}
		if err := conformance.Compare(want, got, p, wire.Replies); err != nil {
			trace.Conn("c", nc).Diverge(err)
			var m *conformance.Mismatch
			if errors.As(err, &m) {
				log.WriteString(m.Error() + "\n")
				head, _, _ := strings.Cut(m.Error(), "\n")
				diffs = append(diffs, "the reply "+head)
			} else {
				diffs = append(diffs, err.Error())
			}
		}
		if complete && capEnd != "" && obs.How != capEnd {
			diffs = append(diffs, fmt.Sprintf("the server ended the stream by %s where the capture shows a %s", obs.How, capEnd))
		}
	}
	if len(diffs) > 0 {
		return finish(conformance.Fail, strings.Join(diffs, "; "))
	}
	return finish(conformance.Pass, "")
}

// shapeOf summarises a reply stream for CompareStructure, from the
// session checker's view of it.
type shapeOf struct {
	fault  string // the field and rule of the first framing fault, or ""
	ended  bool
	trips  int
	valid  bool // every trip valid
	after  bool // bytes after the end marker
	ending conformance.Ending
}

// structureOf is what the checker sees in reply stream b; closed says the
// stream ended there with ending (a close or a reset).
func structureOf(b []byte, p wire.Profile, ending conformance.Ending, closed bool) shapeOf {
	sess := check.NewSession(check.Options{Profile: p, Budget: int64(len(b)) + 1})
	sess.Feed(wire.Replies, b, 0)
	if closed {
		sess.End(wire.Replies, ending)
	}
	v := sess.Reply()
	s := shapeOf{ended: v.Ended, trips: v.Trips, valid: v.Illegal == nil, after: v.After > 0, ending: ending}
	if f := v.Fault; f != nil {
		s.fault = f.Field + " (" + f.Check + ")"
	}
	return s
}

func compareStructure(want []byte, obs *conformance.Observation, p wire.Profile, complete bool, capEnd conformance.Ending) []string {
	c := structureOf(want, p, capEnd, complete && capEnd != "")
	l := structureOf(obs.Bytes, p, obs.How, obs.How == conformance.EndClose || obs.How == conformance.EndReset)
	var diffs []string
	if c.fault != l.fault {
		diffs = append(diffs, fmt.Sprintf("framing: the capture's fault %s, the live reply's %s", orNone(c.fault), orNone(l.fault)))
	}
	if c.trips != l.trips && (complete || l.trips < c.trips) {
		diffs = append(diffs, fmt.Sprintf("%d trips where the capture has %d", l.trips, c.trips))
	}
	if c.valid != l.valid {
		diffs = append(diffs, fmt.Sprintf("field validity: the capture's trips valid %v, the live reply's %v", c.valid, l.valid))
	}
	if complete {
		if c.ended != l.ended {
			diffs = append(diffs, fmt.Sprintf("end marker: the capture %v, the live reply %v", c.ended, l.ended))
		}
		if c.after != l.after {
			diffs = append(diffs, fmt.Sprintf("bytes after the end marker: the capture %v, the live reply %v", c.after, l.after))
		}
		if capEnd != "" && c.ending != l.ending {
			diffs = append(diffs, fmt.Sprintf("the server ended the stream by %s where the capture shows a %s", l.ending, c.ending))
		}
	}
	return diffs
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return "in " + s
}

// ReadSessions reads the Trip sessions of a capture into memory, for
// Serve: at most max of them (0: 10 000).
func ReadSessions(r io.Reader, o pcap.Options, max int) ([]*pcap.Session, Info, error) {
	if max <= 0 {
		max = 10000
	}
	pr, err := pcap.NewReader(r, o)
	if err != nil {
		return nil, Info{}, err
	}
	var out []*pcap.Session
	for {
		s, err := pr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return out, Info{Format: pr.Format(), Stats: pr.Stats(), Notes: pr.Notes()}, err
		}
		if len(out) == max {
			return out, Info{}, fmt.Errorf("conformance: the capture holds more than %d sessions", max)
		}
		out = append(out, s)
	}
	return out, Info{Format: pr.Format(), Stats: pr.Stats(), Notes: pr.Notes()}, nil
}
