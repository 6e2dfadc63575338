package capture

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// SuitePcap is the suite name of reports on captures: the passive checks
// (Check) and replays (Replay).
const SuitePcap = "pcap"

// CheckOptions configure Check.
type CheckOptions struct {
	// Profile is the profile to read every session in; 0 detects it per
	// session, from the request (or, failing that, the first trip).
	Profile wire.Profile
	// Strict makes SHOULD checks count.
	Strict bool
	// Golden, when set, adds a check that each reply equals the reference
	// reply to its request; GoldenName names it ("book").
	Golden     conformance.GoldenFunc
	GoldenName string
	// Capture says how to find sessions: the server's port, limits.
	Capture pcap.Options
	// Target names the capture in the report (its file name).
	Target string
	// Aggregate gives one result per check over all sessions instead of
	// one per check per session: IDs such as "reply/framing", failing if
	// any session fails, naming the failing sessions (the first
	// MaxAggregated in full). Per session, a report grows by about a
	// kilobyte; aggregated, it stays the same size whatever the capture.
	Aggregate bool
	// Progress, if set, gets each result as it is made.
	Progress func(conformance.Result)
	// Sink, if set (and not Aggregate), gets each result as it is made
	// instead of the report: the report comes back Streamed, without
	// results, its Summary counting them, so memory does not grow with the
	// capture.
	Sink conformance.ResultSink
}

// MaxAggregated is how many failures an aggregated result shows in full.
const MaxAggregated = 10

// Info is what reading a capture found besides its sessions.
type Info struct {
	Format pcap.Format
	Stats  pcap.Stats
	// Notes are about the file rather than a session: packets skipped as
	// not TCP, a file cut short.
	Notes []pcap.Note
}

// Checks lists the passive checks: the ends of their IDs, each
// with its level and requirement from the checker's catalog, in the order
// they run.
func Checks() []conformance.Scenario {
	var out []conformance.Scenario
	for _, r := range check.Requirements() {
		out = append(out, conformance.Scenario{ID: r.ID, Area: check.Area(r.ID), Level: r.Level, Requirement: r.Sentence, Source: "builtin:passive"})
	}
	return out
}

// Check reads a capture from r and runs the passive checks of the
// server and client suites on each Trip session in it, both directions:
// one Result per applicable check per session, with IDs such as
// "session[3]/reply/framing", each failure naming the packet, the stream
// offset and the field at fault. A check the capture cannot decide (a gap,
// a capture that ends first) is skipped and says why. The report's suite is
// "pcap". An error means the capture could not be read: its header, or a
// fault past it (the report then holds the sessions before the fault).
func Check(ctx context.Context, r io.Reader, o CheckOptions) (*conformance.Report, Info, error) {
	start := time.Now()
	rep := &conformance.Report{Suite: SuitePcap, Target: o.Target, Strict: o.Strict, Started: start}
	rep.Profile, rep.ProfileNote = "auto", "detected per session"
	if o.Profile != 0 {
		rep.Profile, rep.ProfileNote = o.Profile.String(), "given"
	}
	if o.Golden != nil {
		rep.Golden = o.GoldenName
		if rep.Golden == "" {
			rep.Golden = "custom"
		}
	}
	pr, err := pcap.NewReader(r, o.Capture)
	if err != nil {
		return nil, Info{}, err
	}
	agg := newAggregator()
	stream := o.Sink != nil && !o.Aggregate
	if stream {
		rep.Streamed = true
		o.Sink.Begin(rep)
	}
	readErr := eachSession(ctx, pr, func(s *pcap.Session) {
		for _, res := range CheckSession(s, o) {
			if o.Aggregate {
				agg.add(s.Index, res)
				continue
			}
			if stream {
				rep.Summary.Count(res)
				o.Sink.Add(res)
			} else {
				rep.Results = append(rep.Results, res)
			}
			if o.Progress != nil {
				o.Progress(res)
			}
		}
	})
	if o.Aggregate {
		rep.Results = agg.results()
		if o.Progress != nil {
			for _, res := range rep.Results {
				o.Progress(res)
			}
		}
	}
	rep.Duration = time.Since(start)
	rep.DurationMS = float64(rep.Duration.Microseconds()) / 1000
	rep.Tally()
	return rep, Info{Format: pr.Format(), Stats: pr.Stats(), Notes: pr.Notes()}, readErr
}

// eachSession calls fn with every session of the capture, in the order
// they end, until the capture ends (nil) or ctx or the reader fails.
func eachSession(ctx context.Context, pr *pcap.Reader, fn func(*pcap.Session)) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		s, err := pr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		fn(s)
	}
}

// aggregator folds per-session results into one result per check.
type aggregator struct {
	order []string
	by    map[string]*aggregate
}

type aggregate struct {
	first                   conformance.Result // the first result, for the level and requirement
	passed, failed, skipped int
	failures                []string // the first MaxAggregated, with their logs
	skipWhy                 string   // the first skip's reason
}

func newAggregator() *aggregator { return &aggregator{by: map[string]*aggregate{}} }

func (a *aggregator) add(session int, r conformance.Result) {
	_, check, _ := strings.Cut(r.ID, "/")
	g := a.by[check]
	if g == nil {
		g = &aggregate{first: r}
		a.by[check] = g
		a.order = append(a.order, check)
	}
	where := "session[" + strconv.Itoa(session) + "]"
	switch r.Status {
	case conformance.Pass:
		g.passed++
	case conformance.Fail:
		g.failed++
		if len(g.failures) < MaxAggregated {
			g.failures = append(g.failures, where+": "+r.Message+"\n"+r.Log)
		}
	case conformance.Skip:
		g.skipped++
		if g.skipWhy == "" {
			g.skipWhy = where + ": " + r.Message
		}
	}
}

func (a *aggregator) results() []conformance.Result {
	var out []conformance.Result
	for _, check := range a.order {
		g := a.by[check]
		area, _, _ := strings.Cut(check, "/")
		r := conformance.Result{ID: check, Area: area, Level: g.first.Level, Requirement: g.first.Requirement, Required: g.first.Required}
		n := g.passed + g.failed + g.skipped
		counts := fmt.Sprintf("%d sessions: %d passed, %d failed, %d skipped", n, g.passed, g.failed, g.skipped)
		switch {
		case g.failed > 0:
			r.Status = conformance.Fail
			first, _, _ := strings.Cut(g.failures[0], "\n")
			r.Message = fmt.Sprintf("failed in %d of %d sessions; first %s", g.failed, n, first)
			r.Log = counts + "\n" + strings.Join(g.failures, "\n")
			if g.failed > len(g.failures) {
				r.Log += fmt.Sprintf("\n... and %d failures more", g.failed-len(g.failures))
			}
		case g.passed > 0:
			r.Status = conformance.Pass
			r.Log = counts
		default:
			r.Status = conformance.Skip
			r.Message = fmt.Sprintf("skipped in all %d sessions; first %s", n, g.skipWhy)
		}
		out = append(out, r)
	}
	return out
}

// sessionCheck holds what the checks of one session share.
type sessionCheck struct {
	s          *pcap.Session
	o          *CheckOptions
	p          wire.Profile
	profNote   string
	req, reply []byte // the streams up to their first gap
	results    []conformance.Result
	header     string // the session, for logs
	area       string // "session[3]"
	// sess is the session checker, fed both streams.
	sess *check.Session
	// The request, as far as it decoded.
	reqState   reqState
	reqBlock   int // bytes of the first block, size field included
	request    wire.Request
	reqErr     *check.Finding // a fault of the first block (framing or encoding)
	reqNoBlock bool           // the size field was 0xFFFF: no request block at all
	reqOK      bool           // decoded whole, without a fault
	reqValid   bool           // and valid
	// The reply.
	rep   check.View
	trips []tripAt
	// cause is the finding of the content check failing now, which the
	// checker cannot make (it does not know the request's meaning).
	cause *check.Finding

	// wire is the session's trace, made at its first failure and shared
	// by the results that fail.
	wire []conformance.WireEvent
}

// setCause sets the finding of the content check about to fail.
func (c *sessionCheck) setCause(rule string, off int64, field string) {
	f := check.At(rule, off, field)
	f.Dir = wire.Replies
	c.cause = &f
}

// tripAt is a trip of the reply and the stream offset of its block.
type tripAt struct {
	wire.Trip
	off int64
}

type reqState int

const (
	reqNone      reqState = iota // no byte, and the client closed
	reqWhole                     // the first block is whole
	reqTruncated                 // the client closed inside the block
	reqUnknown                   // the capture does not tell: a gap, or it ended first
)

// CheckSession runs the passive checks on one session.
func CheckSession(s *pcap.Session, o CheckOptions) []conformance.Result {
	c := &sessionCheck{s: s, o: &o, req: s.Up.Contiguous(), reply: s.Down.Contiguous()}
	c.profile()
	c.feed()
	c.decodeRequest()
	c.checkRequest()
	c.checkClient()
	c.checkReply()
	return c.results
}

// profile picks the session's profile: given, or detected from the request,
// or from the first trip.
func (c *sessionCheck) profile() {
	c.p, c.profNote = pcap.SessionProfile(c.s, c.o.Profile)
}

// feed gives the session checker both streams, packet by packet, and says
// how each ended where the capture holds all of it.
func (c *sessionCheck) feed() {
	budget := int64(max(len(c.req), len(c.reply))) + 1 // the capture's cap bounds it
	c.sess = check.NewSession(check.Options{Profile: c.p, Budget: budget, MaxFindings: 64,
		OnTrip: func(_ int, off int64, t *wire.Trip) { c.trips = append(c.trips, tripAt{t.Clone(), off}) }})
	feedStream(c.sess, wire.Requests, c.s.Up, c.req)
	up := c.s.Up
	if up.Closed() && int64(len(c.req)) == up.Len && !up.Truncated && up.StartKnown {
		c.sess.End(wire.Requests, streamEnding(up))
	}
	feedStream(c.sess, wire.Replies, c.s.Down, c.reply)
	// How the reply ended decides its framing only if the capture holds
	// all of it; after the end marker, it decides the closing rules.
	if c.s.Down.Closed() && (c.replyComplete() || c.sess.Reply().Ended) {
		c.sess.End(wire.Replies, streamEnding(c.s.Down))
	}
	c.rep = c.sess.Reply()
}

// feedStream feeds the contiguous bytes b of a stream, one segment at a
// time, each with its packet.
func feedStream(sess *check.Session, dir wire.Direction, st *pcap.Stream, b []byte) {
	at := int64(0)
	for _, seg := range st.Segments {
		if seg.End() <= at || seg.Offset > at || at >= int64(len(b)) {
			continue
		}
		end := min(seg.End(), int64(len(b)))
		sess.Feed(dir, b[at:end], int(seg.Packet))
		at = end
	}
	if at < int64(len(b)) {
		sess.Feed(dir, b[at:], 0)
	}
}

// streamEnding is how a captured stream ended: its first FIN or RST.
func streamEnding(st *pcap.Stream) ending.How {
	if st.RST.Seen() && (!st.FIN.Seen() || st.RST.Packet < st.FIN.Packet) {
		return ending.Reset
	}
	return ending.Close
}

// decodeRequest reads what the checker saw of the client's first block.
func (c *sessionCheck) decodeRequest() {
	up := c.s.Up
	v := c.sess.Request()
	switch {
	case v.Fault != nil && v.Fault.Check == check.RuleSizeFFFF:
		// A size of 0xFFFF: no block at all.
		c.reqState, c.reqErr = reqWhole, v.Fault
		c.reqBlock, c.reqNoBlock = 2, true
	case v.RequestEnd == 0 && v.How == "":
		c.reqState = reqUnknown
	case v.RequestEnd == 0 && len(c.req) == 0:
		c.reqState = reqNone
	case v.RequestEnd == 0:
		c.reqState, c.reqErr = reqTruncated, v.Fault
	case v.Fault != nil && !up.StartKnown:
		// Without the SYN the first bytes need not be the request's.
		c.reqState = reqUnknown
	default:
		c.reqState = reqWhole
		c.reqBlock = int(v.RequestEnd)
		c.request, c.reqOK = c.sess.FirstRequest()
		c.reqErr = v.Fault
		c.reqValid = c.reqOK && v.Illegal == nil
	}
}

// replyComplete says the capture holds the server's stream from its first
// captured byte to its end. Without the SYN that first byte may not be the
// stream's first: checkFraming skips a reply that does not decode then.
func (c *sessionCheck) replyComplete() bool {
	d := c.s.Down
	return int64(len(c.reply)) == d.Len && !d.Truncated
}

// result adds the result of a check.
func (c *sessionCheck) result(id string, status conformance.Status, msg, log string) {
	def, _ := check.RequirementOf(id)
	if c.area == "" {
		c.area = "session[" + strconv.Itoa(c.s.Index) + "]"
	}
	r := conformance.Result{
		ID:          c.area + "/" + id,
		Area:        c.area,
		Level:       def.Level,
		Requirement: def.Sentence,
		Status:      status,
		Required:    def.Level == conformance.Must || c.o.Strict,
		Message:     msg,
	}
	if status == conformance.Fail && c.wire == nil {
		c.wire = conformance.SessionWire(c.s)
	}
	if status == conformance.Fail {
		r.Wire = c.wire
		if f, ok := c.findingFor(id); ok {
			r.Findings = []conformance.Finding{f}
		}
		c.cause = nil
	}
	if status != conformance.Pass || log != "" {
		r.Log = c.sessionHeader()
		if log != "" {
			r.Log += "\n" + strings.TrimRight(log, "\n")
		}
	}
	c.results = append(c.results, r)
}

// findingFor is the finding behind a failure of requirement id: the one a
// content check set (cause), else the checker's first finding of a rule
// that breaks id. The report groups failures by it.
func (c *sessionCheck) findingFor(id string) (conformance.Finding, bool) {
	if c.cause != nil {
		return *c.cause, true
	}
	for _, f := range c.sess.Findings() {
		if r, ok := f.Rule(); ok && r.Requirement == id {
			return f, true
		}
	}
	return conformance.Finding{}, false
}

// sessionHeader describes the session, for the logs of its results: made
// only when a result has a log.
func (c *sessionCheck) sessionHeader() string {
	if c.header != "" {
		return c.header
	}
	s := c.s
	h := fmt.Sprintf("session %d: %v → %v, packets %d–%d (%d), %s, %s, profile %v (%s)",
		s.Index, s.Client, s.Server, s.FirstPacket, s.LastPacket, s.Packets, s.First.UTC().Format("2006-01-02 15:04:05.000000"), s.End, c.p, c.profNote)
	for _, n := range s.Notes {
		h += "\n  note: " + n.String()
	}
	if s.NotesDropped > 0 {
		h += fmt.Sprintf("\n  and %d notes more", s.NotesDropped)
	}
	c.header = h
	return h
}

func (c *sessionCheck) pass(check string)           { c.result(check, conformance.Pass, "", "") }
func (c *sessionCheck) skip(check, why string)      { c.result(check, conformance.Skip, why, "") }
func (c *sessionCheck) fail(check, msg, log string) { c.result(check, conformance.Fail, msg, log) }
func (c *sessionCheck) failf(check, f string, a ...any) {
	c.result(check, conformance.Fail, fmt.Sprintf(f, a...), "")
}

// at names a stream offset: "packet 9, reply offset 37 (trip[1].size)".
func (c *sessionCheck) at(dir pcap.Direction, off int) string {
	st, stream, name, wdir := c.s.Up, c.req, "request", wire.Requests
	if dir == pcap.ServerToClient {
		st, stream, name, wdir = c.s.Down, c.reply, "reply", wire.Replies
	}
	if off >= len(stream) && len(stream) > 0 {
		// Past the bytes: name where the stream ends, after a whole block
		// or inside one.
		last := len(stream) - 1
		where := conformance.Locate(stream, c.p, wdir, last)
		if blk, _, _ := strings.Cut(where, "."); strings.HasSuffix(conformance.Locate(stream, c.p, wdir, off), ".size") {
			where = "after " + blk
		} else {
			where = "at " + where
		}
		return fmt.Sprintf("%s, %s offset %d (the stream ends %s)", st.Where(int64(last)), name, off, where)
	}
	s := fmt.Sprintf("%s, %s offset %d", st.Where(int64(off)), name, off)
	if f := conformance.Locate(stream, c.p, wdir, off); f != "" {
		s += " (" + f + ")"
	}
	return s
}

// invalid says what a validation found, without the place (said before
// it) and the package prefix.
func invalid(err error) string {
	var de *wire.DecodeError
	if !errors.As(err, &de) {
		return check.Text(err)
	}
	s := check.Text(de.Err)
	if de.Detail != "" {
		s += " (" + de.Detail + ")"
	}
	return s
}

// window shows a stream around an offset.
func (c *sessionCheck) window(dir pcap.Direction, off int) string {
	if dir == pcap.ClientToServer {
		return "    request stream:\n" + conformance.HexWindow(c.req, off)
	}
	return "    reply stream:\n" + conformance.HexWindow(c.reply, off)
}

// unknownWhy says why the capture cannot tell how a stream went on.
func unknownWhy(st *pcap.Stream, s *pcap.Session, what string) string {
	switch {
	case len(st.Gaps) > 0:
		g := st.Gaps[0]
		return fmt.Sprintf("the capture lost bytes %d–%d of the %s (after packet %d)", g.Offset, g.Offset+g.Len-1, what, g.Before)
	case st.Truncated:
		return fmt.Sprintf("the %s is longer than the bytes kept (--max-stream-bytes)", what)
	case !st.StartKnown && len(st.Data) > 0:
		return fmt.Sprintf("the capture began in the middle of the connection: the start of the %s is not in it", what)
	case s.End == pcap.EndCaptureEnd:
		return fmt.Sprintf("the capture ends before the %s does", what)
	}
	return fmt.Sprintf("the session was taken as over (%s) before the %s ended", s.End, what)
}

func (c *sessionCheck) checkRequest() {
	const framing, valid = "request/framing", "request/valid"
	switch c.reqState {
	case reqNone:
		c.skip(framing, fmt.Sprintf("the client sent no byte and closed (%s)", flagWhere(c.s.Up)))
		return
	case reqUnknown:
		c.skip(framing, unknownWhy(c.s.Up, c.s, "request"))
		return
	case reqTruncated:
		off := len(c.req)
		if c.reqErr != nil && c.reqErr.Offset >= 0 {
			off = int(c.reqErr.Offset)
		}
		c.fail(framing, fmt.Sprintf("the client closed (%s) inside its request, after %d bytes: %v", flagWhere(c.s.Up), len(c.req), c.reqErr.Err),
			c.window(pcap.ClientToServer, off))
		return
	}
	if f := c.reqErr; f != nil {
		off := int(f.Offset)
		c.fail(framing, fmt.Sprintf("%s: %v", c.at(pcap.ClientToServer, off), f.Err), c.window(pcap.ClientToServer, off))
	} else {
		c.pass(framing)
	}
	if !c.reqOK {
		return
	}
	if f := c.sess.Request().Illegal; f != nil {
		off := int(f.Offset)
		c.fail(valid, fmt.Sprintf("%s: %s; the request: %s", c.at(pcap.ClientToServer, off), invalid(f.Err), c.request.String()), c.window(pcap.ClientToServer, off))
	} else {
		c.pass(valid)
	}
}

// flagWhere says where a side closed: "FIN, packet 12" or "RST, packet 9".
func flagWhere(st *pcap.Stream) string {
	switch {
	case st.FIN.Seen() && (!st.RST.Seen() || st.FIN.Packet < st.RST.Packet):
		return fmt.Sprintf("FIN, packet %d", st.FIN.Packet)
	case st.RST.Seen():
		return fmt.Sprintf("RST, packet %d", st.RST.Packet)
	}
	return "no FIN or RST"
}

func (c *sessionCheck) checkClient() {
	if c.reqState != reqWhole || c.reqNoBlock {
		return
	}
	const one, closes = "client/one-request", "client/close-after-end"
	switch {
	case len(c.req) > c.reqBlock:
		off := c.reqBlock
		c.fail(one, fmt.Sprintf("%s: %d bytes after the request", c.at(pcap.ClientToServer, off), len(c.req)-c.reqBlock),
			c.window(pcap.ClientToServer, off))
	case int64(len(c.req)) < c.s.Up.Len:
		c.skip(one, unknownWhy(c.s.Up, c.s, "client's stream"))
	default:
		c.pass(one)
	}
	if !c.rep.Ended {
		return
	}
	up := c.s.Up
	switch {
	case up.Closed():
		c.pass(closes)
	case c.s.Down.RST.Seen():
		c.skip(closes, fmt.Sprintf("the server reset the connection (packet %d) before the client closed", c.s.Down.RST.Packet))
	case c.s.End == pcap.EndIdle:
		c.failf(closes, "the client did not close the connection: no FIN or RST from it in the %v after its last packet", pcap.DefaultIdleTimeout)
	default:
		c.skip(closes, "the capture holds no FIN or RST from the client: "+unknownWhy(up, c.s, "client's stream"))
	}
}

func (c *sessionCheck) checkReply() {
	down := c.s.Down
	v := &c.rep
	bad := c.reqState == reqWhole && !(c.reqOK && c.reqValid)
	switch c.reqState {
	case reqNone, reqTruncated:
		const id = "reply/no-reply-truncated"
		switch {
		case c.found(check.RuleToCutRequest):
			c.fail(id, fmt.Sprintf("%s: the server sent %d bytes to a request cut short after %d bytes", c.at(pcap.ServerToClient, 0), len(c.reply), len(c.req)),
				c.window(pcap.ServerToClient, 0))
		case down.Len > 0:
			c.failf(id, "the server sent %d bytes to a request cut short after %d bytes", down.Len, len(c.req))
		default:
			c.pass(id)
		}
		return
	case reqUnknown:
		if len(c.reply) == 0 {
			return
		}
	}
	if bad {
		const id = "reply/refused"
		if down.Len == 0 {
			if down.Closed() || c.s.End == pcap.EndIdle || c.s.End == pcap.EndClosed || c.s.End == pcap.EndReset {
				c.pass(id)
			} else {
				c.skip(id, unknownWhy(down, c.s, "reply"))
			}
			return
		}
		c.fail(id, fmt.Sprintf("%s: the server answered a request it should refuse (%s)", c.at(pcap.ServerToClient, 0), invalid(c.requestFault())), "")
	}
	c.checkFraming()
	if !v.Ended {
		return
	}
	const after, closes = "reply/nothing-after-end", "reply/close-after-end"
	if v.After > 0 {
		off := int(v.EndOffset) + 2
		c.fail(after, fmt.Sprintf("%s: %d bytes after the end marker", c.at(pcap.ServerToClient, off), v.After), c.window(pcap.ServerToClient, off))
	} else if c.replyComplete() {
		c.pass(after)
	} else {
		c.skip(after, unknownWhy(down, c.s, "reply"))
	}
	switch {
	case down.FIN.Seen() && (!down.RST.Seen() || down.FIN.Packet < down.RST.Packet):
		c.pass(closes)
	case down.RST.Seen() && !c.found(check.RuleResetAfterReply):
		// A reset with the client's extra bytes unread is how a socket
		// closes with data pending: the checker knows.
		c.pass(closes)
	case down.RST.Seen():
		c.failf(closes, "the server reset the connection (RST, packet %d) after the end marker instead of closing it", down.RST.Packet)
	case c.s.End == pcap.EndIdle:
		c.failf(closes, "the server did not close the connection: no FIN from it in the %v after the session's last packet", pcap.DefaultIdleTimeout)
	case c.s.Up.RST.Seen():
		c.skip(closes, fmt.Sprintf("the client reset the connection (packet %d) before the server closed", c.s.Up.RST.Packet))
	default:
		c.skip(closes, "the capture holds no FIN from the server: "+unknownWhy(down, c.s, "reply"))
	}
	if !c.reqOK || !c.reqValid || v.Fault != nil {
		return
	}
	c.checkContent()
}

// found says whether the checker made a finding of rule id.
func (c *sessionCheck) found(id string) bool {
	for _, f := range c.sess.Findings() {
		if f.Check == id {
			return true
		}
	}
	return false
}

// requestFault is the error of the request's fault or illegal value.
func (c *sessionCheck) requestFault() error {
	if c.reqErr != nil {
		return c.reqErr.Err
	}
	if f := c.sess.Request().Illegal; f != nil {
		return f.Err
	}
	return nil
}

// checkFraming checks the reply's blocks and end marker.
func (c *sessionCheck) checkFraming() {
	const id = "reply/framing"
	v := &c.rep
	down := c.s.Down
	if f := v.Fault; f != nil && !down.StartKnown {
		c.skip(id, fmt.Sprintf("%s: %v; but the capture began in the middle of the connection: the start of the reply may not be in it", c.at(pcap.ServerToClient, int(f.Offset)), f.Err))
		return
	}
	if f := v.Fault; f != nil {
		off := int(f.Offset)
		msg := fmt.Sprintf("%s: %v", c.at(pcap.ServerToClient, off), f.Err)
		if f.Check == check.RuleNoEndMarker || f.Check == check.RuleCutBlock {
			msg += fmt.Sprintf("; the server ended the stream there (%s)", flagWhere(down))
		}
		if p := c.otherProfile(); p != 0 {
			msg += fmt.Sprintf("; the reply reads cleanly in %v: the server answers in another profile than the request's", p)
		}
		c.fail(id, msg, c.window(pcap.ServerToClient, off))
		return
	}
	if v.Ended {
		if f := v.Illegal; f != nil {
			c.failf(id, "%s: %s", c.at(pcap.ServerToClient, int(f.Offset)), invalid(f.Err))
			return
		}
		c.pass(id)
		return
	}
	// No end marker, and no fault in the bytes there are.
	switch {
	case !c.replyComplete():
		c.skip(id, unknownWhy(down, c.s, "reply"))
	case down.RST.Seen():
		c.failf(id, "the server reset the connection (RST, packet %d) after %d bytes, before the end marker", down.RST.Packet, len(c.reply))
	case down.FIN.Seen():
		c.failf(id, "the server closed the connection (FIN, packet %d) after %d bytes, without the end marker", down.FIN.Packet, len(c.reply))
	case c.s.End == pcap.EndIdle:
		c.failf(id, "the server went silent after %d bytes, without the end marker, for %v", len(c.reply), pcap.DefaultIdleTimeout)
	case c.s.Up.RST.Seen() || c.s.Up.FIN.Seen() && c.s.End == pcap.EndClosed:
		c.skip(id, fmt.Sprintf("the client ended the connection (%s) before the reply did", flagWhere(c.s.Up)))
	default:
		c.skip(id, unknownWhy(down, c.s, "reply"))
	}
}

// otherProfile returns the other profile if the reply reads cleanly in it,
// to its end marker.
func (c *sessionCheck) otherProfile() wire.Profile {
	for _, p := range wire.Profiles() {
		if p == c.p {
			continue
		}
		o := check.NewSession(check.Options{Profile: p, Budget: int64(len(c.reply)) + 1})
		o.Feed(wire.Replies, c.reply, 0)
		if v := o.Reply(); v.Ended && v.Fault == nil {
			return p
		}
	}
	return 0
}

// checkContent checks the trips against the request (SHOULD).
func (c *sessionCheck) checkContent() {
	req := &c.request
	trips := c.trips
	if !req.Date.IsNull() {
		const id = "reply/consistent"
		ok := true
		for i, t := range trips {
			if d := t.Date.JD() - req.Date.JD(); t.Date.IsNull() || d < 0 || d > 1 {
				c.setCause("reply/wrong-date", t.off, fmt.Sprintf("trip[%d].date", i))
				c.failf(id, "%s: trip[%d] departs on %v, not on the requested %v or the day after",
					c.at(pcap.ServerToClient, int(t.off)), i, t.Date, req.Date)
				ok = false
				break
			}
		}
		if ok {
			c.pass(id)
		}
	}
	if !req.Date.IsNull() && !req.Time.IsNull() {
		const id = "reply/no-null"
		ok := true
		for i, t := range trips {
			if t.Date.IsNull() || t.Departure.IsNull() {
				c.setCause("reply/null-trip", t.off, fmt.Sprintf("trip[%d]", i))
				c.failf(id, "%s: trip[%d] has a null date or time: %s", c.at(pcap.ServerToClient, int(t.off)), i, t.String())
				ok = false
				break
			}
		}
		if ok {
			c.pass(id)
		}
	}
	if c.o.Golden != nil {
		const id = "reply/golden"
		want, err := c.o.Golden(c.p, req)
		switch {
		case err != nil:
			c.skip(id, "no reference reply: "+err.Error())
		case !c.replyComplete():
			c.skip(id, unknownWhy(c.s.Down, c.s, "reply"))
		default:
			if err := conformance.Compare(want, c.reply, c.p, wire.Replies); err != nil {
				var m *conformance.Mismatch
				c.setCause("reply/not-golden", int64(conformance.FirstDiff(want, c.reply)), "")
				if errors.As(err, &m) {
					c.cause.Field = m.Field
					c.fail(id, fmt.Sprintf("%s: the reply is not the reference's: differs at byte %d (%s)", c.at(pcap.ServerToClient, m.Offset), m.Offset, m.Field), m.Error())
				} else {
					c.fail(id, err.Error(), "")
				}
			} else {
				c.pass(id)
			}
		}
	}
}
