package proxy

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// validation decodes both directions of a connection as they pass and
// reports the faults. The profile is given, or detected from the first
// request block (or, failing that, the first trip block); until it is
// known the bytes wait, at most one block's worth.
type validation struct {
	mu      sync.Mutex
	c       *pconn
	profile wire.Profile
	note    string
	dirs    [2]dirState // requests, replies
	found   int
}

type dirState struct {
	dir     pcap.Direction
	d       *wire.Decoder
	pending []byte // before the profile is known
	bytes   int64
	blocks  int
	trips   int
	ended   bool // the end marker came (replies)
	closed  bool // the peer ended the stream
	faulted bool // a fault that ends the stream's decoding
	// For requests: the first one decoded valid, or the stream was cut
	// inside it.
	valid     bool
	truncated bool
	answered  bool // a reply to a truncated request was reported
}

const maxPending = 2 + 0xFFFF

// Bounds of the validation of one connection, so that a peer sending
// without end keeps the proxy's memory and event log flat: a direction is
// decoded for its first streamBudget bytes (a Trip request is one block, a
// reply a few hundred bytes; 128 KiB is two of the largest blocks), then
// only counted; at most maxFindings findings are reported, then counted.
const (
	streamBudget = 128 << 10
	maxFindings  = 16
)

func (v *validation) init(c *pconn, p wire.Profile) {
	v.c = c
	v.dirs[0].dir, v.dirs[1].dir = pcap.ClientToServer, pcap.ServerToClient
	if p != 0 {
		v.setProfile(p, "given")
	}
}

func (v *validation) setProfile(p wire.Profile, note string) {
	v.profile, v.note = p, note
	v.dirs[0].d = wire.NewDecoder(p, wire.Requests)
	v.dirs[1].d = wire.NewDecoder(p, wire.Replies)
	for i := range v.dirs {
		if b := v.dirs[i].pending; len(b) > 0 {
			v.dirs[i].pending = nil
			v.decode(&v.dirs[i], b)
		}
	}
}

func (v *validation) state(dir pcap.Direction) *dirState {
	if dir == pcap.ClientToServer {
		return &v.dirs[0]
	}
	return &v.dirs[1]
}

// feed takes bytes read from one side.
func (v *validation) feed(dir pcap.Direction, b []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.state(dir)
	before := st.bytes
	st.bytes += int64(len(b))
	if room := streamBudget - before; room < int64(len(b)) {
		if room <= 0 {
			return // past the budget: counted only
		}
		b = b[:room]
	}
	if v.profile == 0 {
		if len(st.pending) < maxPending {
			st.pending = append(st.pending, b[:min(len(b), maxPending-len(st.pending))]...)
		}
		v.detect(false)
		return
	}
	v.decode(st, b)
	v.checkAnswered()
	if before < streamBudget && st.bytes >= streamBudget && !st.ended && !st.faulted {
		st.faulted = true
		v.findingText(st, streamBudget, "", fmt.Sprintf("the stream runs past %d bytes without ending: longer than any Trip %s; validation stopped there", streamBudget, map[bool]string{true: "request", false: "reply"}[dir == pcap.ClientToServer]))
	}
}

// detect tries to settle the profile; final says no more bytes will help.
// A whole request decides alone: if it fits no profile, qt4 is assumed
// rather than trusting the reply.
func (v *validation) detect(final bool) {
	e := wire.DetectExchange(v.dirs[0].pending, v.dirs[1].pending)
	switch {
	case e.By == wire.KindRequest:
		v.setProfile(e.Profile, "detected from the request")
		return
	case e.RequestWhole:
		v.setProfile(wire.Qt4, "the request fits no profile: qt4 assumed")
		return
	case e.By == wire.KindTrip:
		v.setProfile(e.Profile, "detected from the first trip")
		return
	}
	if final || len(v.dirs[0].pending) >= maxPending || len(v.dirs[1].pending) >= maxPending {
		v.setProfile(wire.Qt4, "not detectable: qt4 assumed")
	}
}

func (v *validation) decode(st *dirState, b []byte) {
	if st.faulted || len(b) == 0 {
		return
	}
	st.d.Feed(b)
	for {
		var m wire.Message
		err := st.d.Next(&m)
		if err == wire.ErrNeedMore {
			return
		}
		if err != nil {
			v.finding(st, err)
			var de *wire.DecodeError
			if !errors.As(err, &de) || errors.Is(err, wire.ErrAfterEnd) || errors.Is(err, wire.ErrReservedSize) {
				st.faulted = true
				return
			}
			if m.Kind == 0 {
				return
			}
		}
		st.blocks++
		switch m.Kind {
		case wire.KindRequest:
			if err == nil {
				if verr := m.Request.Validate(); verr != nil {
					v.findingAt(st, m.Offset, verr, "the request: "+m.Request.String())
				} else if m.Index == 0 {
					st.valid = true
				}
			}
			if m.Index == 1 {
				v.findingText(st, m.Offset, "request[1]", "a second request: the client MUST send one request per connection")
			}
		case wire.KindTrip:
			st.trips++
			if err == nil {
				if verr := m.Trip.Validate(); verr != nil {
					v.findingAt(st, m.Offset, verr, m.Trip.String())
				}
			}
		case wire.KindEnd:
			st.ended = true
		}
	}
}

// closed says a side ended its stream (FIN or RST).
func (v *validation) closed(dir pcap.Direction) {
	v.mu.Lock()
	defer v.mu.Unlock()
	st := v.state(dir)
	if st.closed {
		return
	}
	st.closed = true
	if v.profile == 0 {
		v.detect(true)
	}
	if st.faulted {
		return
	}
	err := st.d.Close()
	switch {
	case err == nil:
	case dir == pcap.ClientToServer && st.blocks == 0:
		st.truncated = true
		v.findingText(st, st.d.Offset(), errField(err), "the client closed inside its request: "+err.Error())
	case dir == pcap.ClientToServer:
		v.findingText(st, st.d.Offset(), errField(err), "bytes after the request: the client MUST send one request per connection")
	case st.bytes == 0:
		// No reply: right for a bad or truncated request, wrong for a
		// valid one.
		if up := &v.dirs[0]; up.valid {
			v.findingText(st, 0, "", "the server closed without replying to a valid request")
		}
	default:
		v.finding(st, err)
	}
	v.checkAnswered()
}

// checkAnswered reports a reply to a truncated request, once.
func (v *validation) checkAnswered() {
	up, down := &v.dirs[0], &v.dirs[1]
	if up.truncated && down.bytes > 0 && !up.answered {
		up.answered = true
		v.findingText(down, 0, "", "the server replied to a request the client cut short: it MUST NOT")
	}
}

// finish ends the validation when the connection is over.
func (v *validation) finish() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.profile == 0 {
		v.detect(true)
	}
	up := &v.dirs[0]
	if up.blocks == 0 && up.bytes == 0 {
		v.findingText(up, 0, "", "the client sent nothing")
	}
}

func errField(err error) string {
	var de *wire.DecodeError
	if errors.As(err, &de) {
		return de.Field
	}
	return ""
}

func (v *validation) finding(st *dirState, err error) {
	var de *wire.DecodeError
	off := st.d.Offset()
	field := ""
	if errors.As(err, &de) {
		off, field = de.Offset, de.Field
	}
	v.report(st, off, field, err, err.Error())
}

func (v *validation) findingAt(st *dirState, blockOff int64, err error, what string) {
	var de *wire.DecodeError
	field := ""
	if errors.As(err, &de) {
		field = de.Field
	}
	v.report(st, blockOff, field, err, fmt.Sprintf("%v; %s", err, what))
}

func (v *validation) findingText(st *dirState, off int64, field, text string) {
	v.report(st, off, field, nil, text)
}

func (v *validation) report(st *dirState, off int64, field string, err error, text string) {
	v.found++
	if v.found > maxFindings {
		return
	}
	v.c.p.event(Event{Conn: v.c.id, Kind: EventFinding, Dir: st.dir, Offset: off, Field: field, Err: err, Text: text})
}

// summary says what passed, for the close event.
func (v *validation) summary() string {
	v.mu.Lock()
	defer v.mu.Unlock()
	up, down := &v.dirs[0], &v.dirs[1]
	var parts []string
	parts = append(parts, fmt.Sprintf("profile %v (%s)", v.profile, v.note))
	parts = append(parts, fmt.Sprintf("request %d bytes", up.bytes))
	reply := fmt.Sprintf("reply %d bytes, %d trips", down.bytes, down.trips)
	if down.ended {
		reply += ", end marker"
	} else {
		reply += ", no end marker"
	}
	parts = append(parts, reply)
	if v.found == 0 {
		parts = append(parts, "no fault found")
	} else {
		parts = append(parts, fmt.Sprintf("%d faults found", v.found))
		if v.found > maxFindings {
			parts[len(parts)-1] += fmt.Sprintf(" (the first %d shown)", maxFindings)
		}
	}
	return strings.Join(parts, "; ")
}
