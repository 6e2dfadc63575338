package check

import (
	"errors"
	"fmt"
	"sort"

	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/wire"
)

// Bounds of one session's checker.
const (
	// DefaultBudget is how many bytes of each direction are decoded: 128
	// KiB, two of the largest blocks and some five hundred times the book's
	// longest reply. Bytes past it are counted only.
	DefaultBudget = 128 << 10
	// DefaultMaxFindings is how many findings a session keeps for Next;
	// later ones are counted (Dropped).
	DefaultMaxFindings = 16
	// maxPending is what a direction holds while the profile is not known:
	// one whole block of the largest size.
	maxPending = 2 + 0xFFFF
	// maxPieces is how many fed pieces a direction remembers, to say where
	// a faulty byte came from.
	maxPieces = 256
)

// Options configure a Session.
type Options struct {
	// Profile is the profile of both directions; 0 detects it from the
	// first request block or, failing that, the first trip block (see
	// wire.DetectExchange).
	Profile wire.Profile
	// Budget is how many bytes of each direction are decoded; 0 means
	// DefaultBudget. A reply that runs past it without an end marker is a
	// finding (reply/budget-exceeded).
	Budget int64
	// MaxFindings bounds the findings kept; 0 means DefaultMaxFindings.
	MaxFindings int
	// OnTrip, if set, is called with each trip that decodes cleanly, in
	// order, valid or not; t aliases the checker's input and is valid only
	// during the call (Clone keeps it).
	OnTrip func(index int, offset int64, t *wire.Trip)
}

// Session checks one connection, both directions, as its bytes come. Feed
// it the bytes of each direction in order, with where they came from; End
// each direction when it ends; take the findings with Next. It holds at
// most one block per direction (two while the profile is not known), a
// bounded list of findings and the first request: its memory does not grow
// with what it is fed. A Session is not safe for concurrent use.
type Session struct {
	o        Options
	profile  wire.Profile
	note     string
	dirs     [3]dirState // by wire.Direction
	found    []Finding   // not yet returned by Next
	next     int
	total    int // findings made
	request  wire.Request
	crossed  bool // a cross-direction finding was made
	answered bool // reply bytes came
}

// dirState is what the checker keeps of one direction.
type dirState struct {
	dir     wire.Direction
	d       wire.Decoder
	pending []byte // before the profile is known
	view    View
	pieces  []piece // the last maxPieces pieces fed
	stopped bool    // decoding stopped: a stream fault, the budget
	m       wire.Message
}

// piece says where the bytes from a stream offset on came from.
type piece struct {
	off  int64
	from int
}

// View is what a Session has seen of one direction.
type View struct {
	// Bytes counts the bytes fed, whether decoded or not.
	Bytes int64
	// Blocks counts the whole blocks framed: requests, trips and the end
	// marker.
	Blocks int
	// Trips counts the trips decoded cleanly (replies), those with an
	// illegal value included.
	Trips int
	// Ended says the end marker came (replies), at EndOffset.
	Ended     bool
	EndOffset int64
	// After counts the bytes after the end marker (replies) or after the
	// first request block (requests).
	After int64
	// RequestEnd is the offset after the first request block (requests),
	// 0 before it is whole.
	RequestEnd int64
	// Fault is the first framing or encoding fault; Illegal the first
	// value a conforming peer must not send. Nil when none.
	Fault, Illegal *Finding
	// How is how the direction ended, "" while it is open.
	How ending.How
	// Cut is the block the stream ended (or stalled) in, if it ended
	// inside one before the end marker.
	Cut *wire.Partial
	// OverBudget says more than the budget came.
	OverBudget bool
}

// NewSession returns a checker of one connection.
func NewSession(o Options) *Session {
	if o.Budget <= 0 {
		o.Budget = DefaultBudget
	}
	if o.MaxFindings <= 0 {
		o.MaxFindings = DefaultMaxFindings
	}
	s := &Session{o: o}
	s.dirs[wire.Requests].dir, s.dirs[wire.Replies].dir = wire.Requests, wire.Replies
	if o.Profile != 0 {
		s.setProfile(o.Profile, "given")
	}
	return s
}

// Profile is the session's profile and how it was settled ("given",
// "detected from the request"); 0 while not yet known.
func (s *Session) Profile() (wire.Profile, string) { return s.profile, s.note }

// Request is what the session has seen of the client's stream.
func (s *Session) Request() View { return s.dirs[wire.Requests].view }

// Reply is what the session has seen of the server's stream.
func (s *Session) Reply() View {
	v := s.dirs[wire.Replies].view
	if v.Ended {
		v.After = v.Bytes - v.EndOffset - 2
	}
	return v
}

// FirstRequest is the first request block, decoded (owned), and whether it
// came whole and decoded without a fault (it may still be illegal: see
// Request().Illegal).
func (s *Session) FirstRequest() (wire.Request, bool) {
	v := &s.dirs[wire.Requests].view
	return s.request, v.RequestEnd > 0 && (v.Fault == nil || v.Fault.Offset >= v.RequestEnd)
}

// Dropped counts the findings made beyond MaxFindings, which Next does not
// return.
func (s *Session) Dropped() int { return max(0, s.total-s.o.MaxFindings) }

// Next returns the next finding not yet returned, in the order found.
func (s *Session) Next() (Finding, bool) {
	if s.next >= len(s.found) {
		return Finding{}, false
	}
	f := s.found[s.next]
	s.next++
	return f, true
}

// Findings returns every finding kept, returned by Next or not.
func (s *Session) Findings() []Finding { return append([]Finding(nil), s.found...) }

// Feed gives the session the next bytes of direction dir, which came in
// packet or write from (0 if unknown). The session does not keep b after
// the call.
func (s *Session) Feed(dir wire.Direction, b []byte, from int) {
	st := &s.dirs[dir]
	if len(b) == 0 || st.view.How != "" {
		return
	}
	before := st.view.Bytes
	st.view.Bytes += int64(len(b))
	st.remember(before, from)
	if dir == wire.Replies && !s.answered {
		s.answered = true
		s.cross()
	}
	over := before <= s.o.Budget && st.view.Bytes > s.o.Budget
	if room := s.o.Budget - before; room < int64(len(b)) {
		b = b[:max(room, 0)]
	}
	if len(b) > 0 && s.profile == 0 {
		if n := min(len(b), maxPending-len(st.pending)); n > 0 {
			st.pending = append(st.pending, b[:n]...)
		}
		s.detect(false)
	} else if len(b) > 0 {
		s.decode(st, b)
	}
	if over {
		s.overBudget(st)
	}
}

// overBudget notes that more than the budget came: a finding for a reply
// still without its end marker.
func (s *Session) overBudget(st *dirState) {
	st.view.OverBudget = true
	if st.dir == wire.Replies && !st.view.Ended && !st.stopped {
		f := At(RuleBudget, s.o.Budget, "")
		f.Detail = fmt.Sprintf("the reply runs past %d bytes without an end marker; decoding stopped there", s.o.Budget)
		s.fault(st, f)
	}
	st.stopped = true
}

// End tells the session that direction dir ended, and how: a close
// (FIN), a reset, silence until a deadline, a read error, or the reader's
// byte budget (ending.Budget). It applies the rules of how a stream may end.
func (s *Session) End(dir wire.Direction, how ending.How) {
	st := &s.dirs[dir]
	if st.view.How != "" {
		return
	}
	if s.profile == 0 {
		s.detect(true)
	}
	st.view.How = how
	if how == ending.Budget && !st.view.OverBudget {
		s.overBudget(st)
	}
	if dir == wire.Requests {
		s.endRequests(st, how)
	} else {
		s.endReplies(st, how)
	}
	s.cross()
}

func (s *Session) endRequests(st *dirState, how ending.How) {
	v := &st.view
	if st.stopped || v.RequestEnd > 0 {
		return
	}
	if p, ok := st.d.Partial(); ok {
		v.Cut = &p
	}
	if v.Bytes == 0 {
		f := At(RuleRequestCut, 0, "request[0].size")
		f.Detail = "the client sent nothing (" + string(how) + ")"
		s.fault(st, f)
		return
	}
	if how == ending.Close || how == ending.Reset {
		if err := st.d.Close(); err != nil {
			f := OfError(wire.Requests, err)
			s.fault(st, f)
		}
	}
}

func (s *Session) endReplies(st *dirState, how ending.How) {
	v := &st.view
	if v.Ended {
		switch how {
		case ending.Reset:
			// A reset with the client's extra bytes unread is how a
			// socket closes with data pending.
			if s.dirs[wire.Requests].view.After == 0 {
				s.add(st, At(RuleResetAfterReply, NoPlace, ""))
			}
		case ending.Silence:
			s.add(st, At(RuleOpenAfterReply, NoPlace, ""))
		}
		return
	}
	if st.stopped || v.OverBudget {
		return
	}
	if p, ok := st.d.Partial(); ok {
		v.Cut = &p
	}
	switch {
	case v.Bytes == 0 && !s.mustAnswer():
		// No reply: right for a cut or bad request.
	case v.Bytes == 0 && how == ending.Silence:
		s.fault(st, At(RuleSilent, NoPlace, ""))
	case how == ending.Close || how == ending.Reset:
		if err := st.d.Close(); err != nil && !errors.Is(err, wire.ErrAfterEnd) {
			s.fault(st, OfError(wire.Replies, err))
		}
	case v.Cut != nil && v.Cut.Size >= 0:
		f := At(RuleCutBlock, v.Cut.Offset, "")
		f.Detail = "the reply stops inside a block"
		s.fault(st, f)
	default:
		s.fault(st, At(RuleNoEndMarker, v.Bytes, "end"))
	}
}

// mustAnswer says whether the request, as far as it was seen, asks for a
// reply: a whole, clean, legal one, or one the session was not shown.
func (s *Session) mustAnswer() bool {
	up := &s.dirs[wire.Requests].view
	if up.Bytes == 0 && up.How == "" {
		return true // the request was not fed: take it as valid
	}
	_, clean := s.FirstRequest()
	return clean && (up.Illegal == nil || up.Illegal.Offset >= up.RequestEnd)
}

// cross applies the rules that need both directions: no reply to a request
// cut short or to none, and (SHOULD) none to a bad one.
func (s *Session) cross() {
	if s.crossed || !s.answered {
		return
	}
	up := &s.dirs[wire.Requests].view
	down := &s.dirs[wire.Replies]
	switch {
	case up.RequestEnd == 0 && (up.How == ending.Close || up.How == ending.Reset):
		s.crossed = true
		s.add(down, At(RuleToCutRequest, 0, ""))
	case up.RequestEnd > 0 && !s.mustAnswer():
		s.crossed = true
		f := At(RuleAnsweredBad, 0, "")
		if bad := s.requestFault(); bad != nil {
			f.Detail = bad.Detail
		}
		s.add(down, f)
	}
}

// requestFault is the fault or illegal value of the first request, if any.
func (s *Session) requestFault() *Finding {
	v := &s.dirs[wire.Requests].view
	for _, f := range []*Finding{v.Fault, v.Illegal} {
		if f != nil && (v.RequestEnd == 0 || f.Offset < v.RequestEnd) {
			return f
		}
	}
	return nil
}

// detect tries to settle the profile; final says no more bytes will help.
// A whole request decides alone: if it fits no profile, qt4 is assumed
// rather than trusting the reply.
func (s *Session) detect(final bool) {
	up, down := &s.dirs[wire.Requests], &s.dirs[wire.Replies]
	e := wire.DetectExchange(up.pending, down.pending)
	switch {
	case e.By == wire.KindRequest:
		s.setProfile(e.Profile, "detected from the request")
	case e.RequestWhole:
		s.setProfile(wire.Qt4, "the request fits no profile: qt4 assumed")
	case e.By == wire.KindTrip:
		s.setProfile(e.Profile, "detected from the first trip")
	case final || len(up.pending) >= maxPending || len(down.pending) >= maxPending:
		s.setProfile(wire.Qt4, "not detectable: qt4 assumed")
	}
}

func (s *Session) setProfile(p wire.Profile, note string) {
	s.profile, s.note = p, note
	for _, dir := range []wire.Direction{wire.Requests, wire.Replies} {
		st := &s.dirs[dir]
		st.d.Reset(p, dir)
		st.d.AllowIllegalReads(false)
		if b := st.pending; len(b) > 0 {
			st.pending = nil
			s.decode(st, b)
		}
	}
}

// decode feeds b to the direction's decoder and applies the rules to each
// message.
func (s *Session) decode(st *dirState, b []byte) {
	v := &st.view
	if st.stopped {
		return
	}
	if st.dir == wire.Requests && v.RequestEnd > 0 {
		s.extra(st, int64(len(b)))
		return
	}
	st.d.Feed(b)
	m := &st.m
	for {
		err := st.d.Next(m)
		if err == wire.ErrNeedMore {
			return
		}
		if err != nil {
			f := OfError(st.dir, err)
			if errors.Is(err, wire.ErrAfterEnd) {
				f.Field = "after end"
				s.add(st, f)
				st.stopped = true
				return
			}
			if st.dir == wire.Requests && errors.Is(err, wire.ErrReservedSize) {
				// A whole "block" of two bytes, and a bad request.
				f.Field = "request[0].size"
				v.RequestEnd = 2
			}
			if isIllegal(err) {
				s.illegal(st, f)
			} else {
				s.fault(st, f)
			}
			if m.Kind == 0 {
				st.stopped = true // the stream cannot go on
				return
			}
		}
		v.Blocks++
		switch m.Kind {
		case wire.KindRequest:
			v.RequestEnd = m.Offset + int64(len(m.Bytes))
			s.request = m.Request.Clone()
			// Whatever follows the first request is extra.
			s.extra(st, int64(st.d.Buffered()))
			return
		case wire.KindTrip:
			if err == nil || isIllegal(err) {
				v.Trips++
				if s.o.OnTrip != nil {
					s.o.OnTrip(m.Index, m.Offset, &m.Trip)
				}
			}
		case wire.KindEnd:
			v.Ended, v.EndOffset = true, m.Offset
			if st.d.Buffered() > 0 {
				s.add(st, s.placed(st, At(RuleAfterEnd, m.Offset+2, "after end")))
				st.stopped = true
			}
			return
		}
	}
}

// extra counts n bytes after the first request: the first of them is a
// finding.
func (s *Session) extra(st *dirState, n int64) {
	if n <= 0 {
		return
	}
	v := &st.view
	if v.After == 0 {
		s.add(st, s.placed(st, At(RuleAfterRequest, v.RequestEnd, "request[1]")))
	}
	v.After += n
}

func isIllegal(err error) bool {
	return errors.Is(err, wire.ErrInvalidTime) || errors.Is(err, wire.ErrBadFlag) || errors.Is(err, wire.ErrUnknownType)
}

// fault records a framing or encoding fault.
func (s *Session) fault(st *dirState, f Finding) {
	if st.view.Fault == nil {
		f := s.placed(st, f)
		st.view.Fault = &f
	}
	s.add(st, f)
}

// illegal records an illegal value.
func (s *Session) illegal(st *dirState, f Finding) {
	if st.view.Illegal == nil {
		f := s.placed(st, f)
		st.view.Illegal = &f
	}
	s.add(st, f)
}

// placed fills in a finding's direction and provenance.
func (s *Session) placed(st *dirState, f Finding) Finding {
	f.Dir = st.dir
	if f.From == 0 && f.Offset >= 0 {
		f.From = st.from(f.Offset)
	}
	return f
}

func (s *Session) add(st *dirState, f Finding) {
	s.total++
	if len(s.found) >= s.o.MaxFindings {
		return
	}
	s.found = append(s.found, s.placed(st, f))
}

// remember notes that the bytes from stream offset off came from from.
func (st *dirState) remember(off int64, from int) {
	if n := len(st.pieces); n > 0 && st.pieces[n-1].from == from {
		return
	}
	if len(st.pieces) == maxPieces {
		copy(st.pieces, st.pieces[1:])
		st.pieces = st.pieces[:maxPieces-1]
	}
	st.pieces = append(st.pieces, piece{off, from})
}

// from says where the byte at stream offset off came from; 0 when it is
// older than the pieces remembered. An offset at the end of the stream
// (a missing end marker) is the last piece's.
func (st *dirState) from(off int64) int {
	i := sort.Search(len(st.pieces), func(i int) bool { return st.pieces[i].off > off })
	if i == 0 {
		return 0
	}
	return st.pieces[i-1].from
}
