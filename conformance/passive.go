package conformance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// SuitePcap is the suite name of reports on captures: the passive checks
// (CheckCapture) and replays (Replay).
const SuitePcap = "pcap"

// PassiveOptions configure CheckCapture.
type PassiveOptions struct {
	// Profile is the profile to read every session in; 0 detects it per
	// session, from the request (or, failing that, the first trip).
	Profile wire.Profile
	// Strict makes SHOULD checks count.
	Strict bool
	// Golden, when set, adds a check that each reply equals the reference
	// reply to its request; GoldenName names it ("book").
	Golden     GoldenFunc
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
	Progress func(Result)
	// Sink, if set (and not Aggregate), gets each result as it is made
	// instead of the report: the report comes back Streamed, without
	// results, its Summary counting them, so memory does not grow with the
	// capture.
	Sink ResultSink
}

// MaxAggregated is how many failures an aggregated result shows in full.
const MaxAggregated = 10

// CaptureInfo is what reading a capture found besides its sessions.
type CaptureInfo struct {
	Format pcap.Format
	Stats  pcap.Stats
	// Notes are about the file rather than a session: packets skipped as
	// not TCP, a file cut short.
	Notes []pcap.Note
}

// Passive checks, by the name that ends their IDs (session[3]/reply/framing).
// The sentences follow the server and client suites'.
var passiveChecks = map[string]struct {
	level       Level
	requirement string
}{
	"request/framing":          {Must, "The client MUST send one request block whose size equals its fields, with valid field encodings (PROTOCOL.md: Framing, Request)."},
	"request/valid":            {Must, "The client MUST send request type 'S', a flag 'D' or 'A' and a time of day before 24:00 (PROTOCOL.md: Request)."},
	"client/one-request":       {Must, "The client MUST send one request per connection and nothing after it (PROTOCOL.md: Request)."},
	"client/close-after-end":   {Must, "The client MUST close the connection after the end marker, sending nothing more (PROTOCOL.md: Reply)."},
	"reply/framing":            {Must, "The server MUST send trip blocks whose sizes equal their fields, with valid field encodings, then the end marker (PROTOCOL.md: Framing, Reply)."},
	"reply/nothing-after-end":  {Must, "The server MUST send nothing after the end marker (PROTOCOL.md: Reply)."},
	"reply/close-after-end":    {Must, "The server MUST close the connection after the end marker (PROTOCOL.md: Reply)."},
	"reply/no-reply-truncated": {Must, "The server MUST NOT reply to a request cut short by the client (PROTOCOL.md: Framing, What tripcheck checks)."},
	"reply/refused":            {Should, "The server SHOULD refuse bad input without a reply (PROTOCOL.md: What tripcheck checks)."},
	"reply/consistent":         {Should, "The server SHOULD send trips dated on the requested date or the day after (PROTOCOL.md: What tripcheck checks)."},
	"reply/no-null":            {Should, "The server SHOULD send no trip with a null date or time for a request with a date and a time (PROTOCOL.md: What tripcheck checks)."},
	"reply/golden":             {Should, "The server SHOULD send the reference's exact reply, byte for byte, when --golden claims it (PROTOCOL.md: The book's server)."},
}

// PassiveChecks lists the passive checks: the ends of their IDs, each
// with its level and requirement, in the order they run.
func PassiveChecks() []Scenario {
	order := []string{"request/framing", "request/valid", "client/one-request", "client/close-after-end",
		"reply/no-reply-truncated", "reply/refused", "reply/framing", "reply/nothing-after-end",
		"reply/close-after-end", "reply/consistent", "reply/no-null", "reply/golden"}
	out := make([]Scenario, len(order))
	for i, id := range order {
		c := passiveChecks[id]
		area, _, _ := strings.Cut(id, "/")
		out[i] = Scenario{ID: id, Area: area, Level: c.level, Requirement: c.requirement, Source: "builtin:passive"}
	}
	return out
}

// CheckCapture reads a capture from r and runs the passive checks of the
// server and client suites on each Trip session in it, both directions:
// one Result per applicable check per session, with IDs such as
// "session[3]/reply/framing", each failure naming the packet, the stream
// offset and the field at fault. A check the capture cannot decide (a gap,
// a capture that ends first) is skipped and says why. The report's suite is
// "pcap". An error means the capture could not be read: its header, or a
// fault past it (the report then holds the sessions before the fault).
func CheckCapture(ctx context.Context, r io.Reader, o PassiveOptions) (*Report, CaptureInfo, error) {
	start := time.Now()
	rep := &Report{Suite: SuitePcap, Target: o.Target, Strict: o.Strict, Started: start}
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
		return nil, CaptureInfo{}, err
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
	return rep, CaptureInfo{Format: pr.Format(), Stats: pr.Stats(), Notes: pr.Notes()}, readErr
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
	first                   Result // the first result, for the level and requirement
	passed, failed, skipped int
	failures                []string // the first MaxAggregated, with their logs
	skipWhy                 string   // the first skip's reason
}

func newAggregator() *aggregator { return &aggregator{by: map[string]*aggregate{}} }

func (a *aggregator) add(session int, r Result) {
	_, check, _ := strings.Cut(r.ID, "/")
	g := a.by[check]
	if g == nil {
		g = &aggregate{first: r}
		a.by[check] = g
		a.order = append(a.order, check)
	}
	where := "session[" + strconv.Itoa(session) + "]"
	switch r.Status {
	case Pass:
		g.passed++
	case Fail:
		g.failed++
		if len(g.failures) < MaxAggregated {
			g.failures = append(g.failures, where+": "+r.Message+"\n"+r.Log)
		}
	case Skip:
		g.skipped++
		if g.skipWhy == "" {
			g.skipWhy = where + ": " + r.Message
		}
	}
}

func (a *aggregator) results() []Result {
	var out []Result
	for _, check := range a.order {
		g := a.by[check]
		area, _, _ := strings.Cut(check, "/")
		r := Result{ID: check, Area: area, Level: g.first.Level, Requirement: g.first.Requirement, Required: g.first.Required}
		n := g.passed + g.failed + g.skipped
		counts := fmt.Sprintf("%d sessions: %d passed, %d failed, %d skipped", n, g.passed, g.failed, g.skipped)
		switch {
		case g.failed > 0:
			r.Status = Fail
			first, _, _ := strings.Cut(g.failures[0], "\n")
			r.Message = fmt.Sprintf("failed in %d of %d sessions; first %s", g.failed, n, first)
			r.Log = counts + "\n" + strings.Join(g.failures, "\n")
			if g.failed > len(g.failures) {
				r.Log += fmt.Sprintf("\n... and %d failures more", g.failed-len(g.failures))
			}
		case g.passed > 0:
			r.Status = Pass
			r.Log = counts
		default:
			r.Status = Skip
			r.Message = fmt.Sprintf("skipped in all %d sessions; first %s", n, g.skipWhy)
		}
		out = append(out, r)
	}
	return out
}

// sessionCheck holds what the checks of one session share.
type sessionCheck struct {
	s          *pcap.Session
	o          *PassiveOptions
	p          wire.Profile
	profNote   string
	req, reply []byte // the streams up to their first gap
	results    []Result
	header     string // the session, for logs
	area       string // "session[3]"
	// The request, as far as it decoded.
	reqState   reqState
	reqBlock   int // bytes of the first block, size field included
	request    wire.Request
	reqErr     error // a fault of the first block (framing or encoding)
	reqNoBlock bool  // the size field was 0xFFFF: no request block at all
	reqOK      bool  // decoded whole, without a fault
	reqValid   bool  // and valid
	// The reply.
	rep replyView

	// wire is the session's trace, made at its first failure and shared
	// by the results that fail.
	wire []WireEvent
}

type reqState int

const (
	reqNone      reqState = iota // no byte, and the client closed
	reqWhole                     // the first block is whole
	reqTruncated                 // the client closed inside the block
	reqUnknown                   // the capture does not tell: a gap, or it ended first
)

// replyView is what the reply stream holds.
type replyView struct {
	trips     []wire.Trip
	fault     *wire.DecodeError // the first framing or encoding fault
	ended     bool              // the end marker came
	endOff    int               // where
	after     int               // bytes after the end marker
	closedErr error             // how the stream ended, if it ended without the end marker
}

// CheckSession runs the passive checks on one session.
func CheckSession(s *pcap.Session, o PassiveOptions) []Result {
	c := &sessionCheck{s: s, o: &o, req: s.Up.Contiguous(), reply: s.Down.Contiguous()}
	c.profile()
	c.decodeRequest()
	c.decodeReply()
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

// decodeRequest reads the client's first block.
func (c *sessionCheck) decodeRequest() {
	up := c.s.Up
	clientClosed := up.Closed()
	whole := int64(len(c.req)) == up.Len && !up.Truncated
	d := wire.NewDecoder(c.p, wire.Requests)
	d.Feed(c.req)
	var m wire.Message
	err := d.Next(&m)
	switch {
	case err == wire.ErrNeedMore:
		switch {
		case len(c.req) == 0 && clientClosed && whole && up.StartKnown:
			c.reqState = reqNone
		case clientClosed && whole && up.StartKnown:
			c.reqState = reqTruncated
			c.reqErr = d.Close()
		default:
			c.reqState = reqUnknown
		}
		return
	case err != nil && m.Kind != wire.KindRequest:
		// A size of 0xFFFF: no block at all.
		c.reqState, c.reqErr = reqWhole, err
		c.reqBlock, c.reqNoBlock = 2, true
		return
	case err != nil && !up.StartKnown:
		// Without the SYN the first bytes need not be the request's.
		c.reqState = reqUnknown
		return
	}
	c.reqState = reqWhole
	c.reqBlock = len(m.Bytes)
	c.request = m.Request.Clone()
	if err != nil {
		c.reqErr = err
		return
	}
	c.reqOK = true
	c.reqValid = c.request.Validate() == nil
}

// decodeReply reads the server's stream.
func (c *sessionCheck) decodeReply() {
	d := wire.NewDecoder(c.p, wire.Replies)
	d.Feed(c.reply)
	v := &c.rep
	for {
		var m wire.Message
		err := d.Next(&m)
		if err == wire.ErrNeedMore {
			break
		}
		if err != nil {
			var de *wire.DecodeError
			if errors.As(err, &de) && v.fault == nil && !errors.Is(err, wire.ErrAfterEnd) {
				v.fault = de
			}
			if errors.Is(err, wire.ErrAfterEnd) {
				v.after = len(c.reply) - v.endOff - 2
				break
			}
			if m.Kind != wire.KindTrip {
				break
			}
			continue
		}
		switch m.Kind {
		case wire.KindTrip:
			v.trips = append(v.trips, m.Trip.Clone())
		case wire.KindEnd:
			v.ended, v.endOff = true, int(m.Offset)
			if rest := len(c.reply) - int(m.Offset) - 2; rest > 0 {
				v.after = rest
			}
		}
		if v.ended {
			break
		}
	}
	if !v.ended && v.fault == nil && c.replyComplete() && c.s.Down.Closed() {
		var de *wire.DecodeError
		if err := d.Close(); errors.As(err, &de) {
			v.fault = de
		}
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
func (c *sessionCheck) result(check string, status Status, msg, log string) {
	def := passiveChecks[check]
	if c.area == "" {
		c.area = "session[" + strconv.Itoa(c.s.Index) + "]"
	}
	r := Result{
		ID:          c.area + "/" + check,
		Area:        c.area,
		Level:       def.level,
		Requirement: def.requirement,
		Status:      status,
		Required:    def.level == Must || c.o.Strict,
		Message:     msg,
	}
	if status == Fail && c.wire == nil {
		c.wire = SessionWire(c.s)
	}
	if status == Fail {
		r.Wire = c.wire
	}
	if status != Pass || log != "" {
		r.Log = c.sessionHeader()
		if log != "" {
			r.Log += "\n" + strings.TrimRight(log, "\n")
		}
	}
	c.results = append(c.results, r)
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

func (c *sessionCheck) pass(check string)           { c.result(check, Pass, "", "") }
func (c *sessionCheck) skip(check, why string)      { c.result(check, Skip, why, "") }
func (c *sessionCheck) fail(check, msg, log string) { c.result(check, Fail, msg, log) }
func (c *sessionCheck) failf(check, f string, a ...any) {
	c.result(check, Fail, fmt.Sprintf(f, a...), "")
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
		where := Locate(stream, c.p, wdir, last)
		if blk, _, _ := strings.Cut(where, "."); strings.HasSuffix(Locate(stream, c.p, wdir, off), ".size") {
			where = "after " + blk
		} else {
			where = "at " + where
		}
		return fmt.Sprintf("%s, %s offset %d (the stream ends %s)", st.Where(int64(last)), name, off, where)
	}
	s := fmt.Sprintf("%s, %s offset %d", st.Where(int64(off)), name, off)
	if f := Locate(stream, c.p, wdir, off); f != "" {
		s += " (" + f + ")"
	}
	return s
}

// invalid says what Validate found, without the offset it does not know.
func invalid(err error) string {
	var de *wire.DecodeError
	if !errors.As(err, &de) {
		return err.Error()
	}
	s := de.Err.Error()
	if de.Detail != "" {
		s += " (" + de.Detail + ")"
	}
	return s
}

// window shows a stream around an offset.
func (c *sessionCheck) window(dir pcap.Direction, off int) string {
	if dir == pcap.ClientToServer {
		return "    request stream:\n" + HexWindow(c.req, off)
	}
	return "    reply stream:\n" + HexWindow(c.reply, off)
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
		var de *wire.DecodeError
		off := len(c.req)
		if errors.As(c.reqErr, &de) {
			off = int(de.Offset)
		}
		c.fail(framing, fmt.Sprintf("the client closed (%s) inside its request, after %d bytes: %v", flagWhere(c.s.Up), len(c.req), c.reqErr),
			c.window(pcap.ClientToServer, off))
		return
	}
	if c.reqErr != nil {
		var de *wire.DecodeError
		if errors.As(c.reqErr, &de) {
			c.fail(framing, fmt.Sprintf("%s: %v", c.at(pcap.ClientToServer, int(de.Offset)), c.reqErr), c.window(pcap.ClientToServer, int(de.Offset)))
		} else {
			c.fail(framing, c.reqErr.Error(), "")
		}
	} else {
		c.pass(framing)
	}
	if !c.reqOK {
		return
	}
	if err := c.request.Validate(); err != nil {
		off := c.fieldOffset(err)
		c.fail(valid, fmt.Sprintf("%s: %s; the request: %s", c.at(pcap.ClientToServer, off), invalid(err), c.request.String()), c.window(pcap.ClientToServer, off))
	} else {
		c.pass(valid)
	}
}

// fieldOffset finds where the field named by a Validate error lies in the
// request stream.
func (c *sessionCheck) fieldOffset(err error) int {
	var de *wire.DecodeError
	if !errors.As(err, &de) {
		return 0
	}
	name := strings.TrimPrefix(de.Field, "request.")
	for _, sp := range c.p.Spans(wire.KindRequest, c.req[2:c.reqBlock]) {
		if sp.Field == name {
			return 2 + sp.Start
		}
	}
	return 0
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
	if !c.rep.ended {
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
		const check = "reply/no-reply-truncated"
		switch {
		case len(c.reply) > 0:
			c.fail(check, fmt.Sprintf("%s: the server sent %d bytes to a request cut short after %d bytes", c.at(pcap.ServerToClient, 0), len(c.reply), len(c.req)),
				c.window(pcap.ServerToClient, 0))
		case down.Len > 0:
			c.failf(check, "the server sent %d bytes to a request cut short after %d bytes", down.Len, len(c.req))
		default:
			c.pass(check)
		}
		return
	case reqUnknown:
		if len(c.reply) == 0 {
			return
		}
	}
	if bad {
		const check = "reply/refused"
		if down.Len == 0 {
			if down.Closed() || c.s.End == pcap.EndIdle || c.s.End == pcap.EndClosed || c.s.End == pcap.EndReset {
				c.pass(check)
			} else {
				c.skip(check, unknownWhy(down, c.s, "reply"))
			}
			return
		}
		c.fail(check, fmt.Sprintf("%s: the server answered a request it should refuse (%s)", c.at(pcap.ServerToClient, 0), invalid(c.reqErrOrInvalid())), "")
	}
	c.checkFraming()
	if !v.ended {
		return
	}
	const after, closes = "reply/nothing-after-end", "reply/close-after-end"
	if v.after > 0 {
		off := v.endOff + 2
		c.fail(after, fmt.Sprintf("%s: %d bytes after the end marker", c.at(pcap.ServerToClient, off), v.after), c.window(pcap.ServerToClient, off))
	} else if c.replyComplete() {
		c.pass(after)
	} else {
		c.skip(after, unknownWhy(down, c.s, "reply"))
	}
	switch {
	case down.FIN.Seen() && (!down.RST.Seen() || down.FIN.Packet < down.RST.Packet):
		c.pass(closes)
	case down.RST.Seen() && len(c.req) > c.reqBlock:
		// A reset with the client's extra bytes unread is how a socket
		// closes with data pending.
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
	if !c.reqOK || !c.reqValid || v.fault != nil {
		return
	}
	c.checkContent()
}

func (c *sessionCheck) reqErrOrInvalid() error {
	if c.reqErr != nil {
		return c.reqErr
	}
	return c.request.Validate()
}

// checkFraming checks the reply's blocks and end marker.
func (c *sessionCheck) checkFraming() {
	const check = "reply/framing"
	v := &c.rep
	down := c.s.Down
	if v.fault != nil && !down.StartKnown {
		c.skip(check, fmt.Sprintf("%s: %v; but the capture began in the middle of the connection: the start of the reply may not be in it", c.at(pcap.ServerToClient, int(v.fault.Offset)), v.fault))
		return
	}
	if v.fault != nil {
		off := int(v.fault.Offset)
		msg := fmt.Sprintf("%s: %v", c.at(pcap.ServerToClient, off), v.fault)
		if errors.Is(v.fault, wire.ErrNoEndMarker) || errors.Is(v.fault, wire.ErrTruncated) {
			msg += fmt.Sprintf("; the server ended the stream there (%s)", flagWhere(down))
		}
		if p := c.otherProfile(); p != 0 {
			msg += fmt.Sprintf("; the reply reads cleanly in %v: the server answers in another profile than the request's", p)
		}
		c.fail(check, msg, c.window(pcap.ServerToClient, off))
		return
	}
	if v.ended {
		for i := range v.trips {
			if err := v.trips[i].Validate(); err != nil {
				c.failf(check, "%s: trip[%d]: %s", c.at(pcap.ServerToClient, c.tripOffset(i)), i, invalid(err))
				return
			}
		}
		c.pass(check)
		return
	}
	// No end marker, and no fault in the bytes there are.
	switch {
	case !c.replyComplete():
		c.skip(check, unknownWhy(down, c.s, "reply"))
	case down.RST.Seen():
		c.failf(check, "the server reset the connection (RST, packet %d) after %d bytes, before the end marker", down.RST.Packet, len(c.reply))
	case down.FIN.Seen():
		c.failf(check, "the server closed the connection (FIN, packet %d) after %d bytes, without the end marker", down.FIN.Packet, len(c.reply))
	case c.s.End == pcap.EndIdle:
		c.failf(check, "the server went silent after %d bytes, without the end marker, for %v", len(c.reply), pcap.DefaultIdleTimeout)
	case c.s.Up.RST.Seen() || c.s.Up.FIN.Seen() && c.s.End == pcap.EndClosed:
		c.skip(check, fmt.Sprintf("the client ended the connection (%s) before the reply did", flagWhere(c.s.Up)))
	default:
		c.skip(check, unknownWhy(down, c.s, "reply"))
	}
}

// otherProfile returns the other profile if the reply reads cleanly in it.
func (c *sessionCheck) otherProfile() wire.Profile {
	for _, p := range wire.Profiles {
		if p == c.p {
			continue
		}
		d := wire.NewDecoder(p, wire.Replies)
		d.Feed(c.reply)
		for {
			var m wire.Message
			err := d.Next(&m)
			if err == wire.ErrNeedMore {
				break
			}
			if err != nil {
				return 0
			}
			if m.Kind == wire.KindEnd {
				return p
			}
		}
	}
	return 0
}

// checkContent checks the trips against the request (SHOULD).
func (c *sessionCheck) checkContent() {
	req := &c.request
	trips := c.rep.trips
	if !req.Date.IsNull() {
		const check = "reply/consistent"
		ok := true
		for i, t := range trips {
			if d := t.Date.JD() - req.Date.JD(); t.Date.IsNull() || d < 0 || d > 1 {
				c.failf(check, "%s: trip[%d] departs on %v, not on the requested %v or the day after",
					c.at(pcap.ServerToClient, c.tripOffset(i)), i, t.Date, req.Date)
				ok = false
				break
			}
		}
		if ok {
			c.pass(check)
		}
	}
	if !req.Date.IsNull() && !req.Time.IsNull() {
		const check = "reply/no-null"
		ok := true
		for i, t := range trips {
			if t.Date.IsNull() || t.Departure.IsNull() {
				c.failf(check, "%s: trip[%d] has a null date or time: %s", c.at(pcap.ServerToClient, c.tripOffset(i)), i, t.String())
				ok = false
				break
			}
		}
		if ok {
			c.pass(check)
		}
	}
	if c.o.Golden != nil {
		const check = "reply/golden"
		want, err := c.o.Golden(c.p, req)
		switch {
		case err != nil:
			c.skip(check, "no reference reply: "+err.Error())
		case !c.replyComplete():
			c.skip(check, unknownWhy(c.s.Down, c.s, "reply"))
		default:
			if err := Compare(want, c.reply, c.p, wire.Replies); err != nil {
				var m *Mismatch
				if errors.As(err, &m) {
					c.fail(check, fmt.Sprintf("%s: the reply is not the reference's: differs at byte %d (%s)", c.at(pcap.ServerToClient, m.Offset), m.Offset, m.Field), m.Error())
				} else {
					c.fail(check, err.Error(), "")
				}
			} else {
				c.pass(check)
			}
		}
	}
}

// tripOffset is the stream offset of trip i's size field.
func (c *sessionCheck) tripOffset(i int) int {
	return wire.BlockOffset(c.reply, i)
}
