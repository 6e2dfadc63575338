package conformance

import (
	"github.com/tripcheck/tripcheck/internal/plural"

	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/wire"
)

// Ending is how a stream from a peer ended, as far as we watched it.
type Ending = ending.How

const (
	EndClose   = ending.Close   // a FIN: the reader saw io.EOF
	EndReset   = ending.Reset   // an RST: the reader saw ECONNRESET
	EndSilence = ending.Silence // nothing more came before the deadline
	EndError   = ending.Error   // another read error
)

// classify maps a read error to an Ending, with package ending. A timeout
// is silence, never a close.
func classify(err error) Ending { return ending.Of(err) }

// ReplyBudget is the most bytes a reader takes from one connection's
// reply: 128 KiB, two of the largest blocks the framing allows and some five
// hundred times the book's longest reply (7 trips, about 250 bytes). A peer
// that sends more is at fault (a reply without end, bytes without end after
// it), and reading stops there, so that no peer can make tripcheck hold
// more than this per connection.
const ReplyBudget = 128 << 10

// ErrOverBudget is wrapped by the errors of a reply that ran past
// ReplyBudget.
var ErrOverBudget = errors.New("the reply runs past the byte budget")

// EndBudget is how a stream "ended" that the reader stopped reading at
// ReplyBudget.
const EndBudget = ending.Budget

// maxFaults is how many decode faults an Observation keeps; later ones are
// counted.
const maxFaults = 16

// Observation is what a reader saw of a reply stream: its bytes, the
// messages decoded from them, the faults found, and how it ended. It is
// bounded: it keeps at most ReplyBudget bytes, the trips in them, and the
// first faults, and counts the rest.
type Observation struct {
	Profile wire.Profile
	// Bytes are the bytes read, ReplyBudget at most.
	Bytes []byte
	// OverBudget says the peer sent more than ReplyBudget bytes: reading
	// stopped there (How is EndBudget).
	OverBudget bool
	// Trips are the trips decoded (owned copies), in order; TripCount
	// counts them too where they are not kept (see exchange).
	Trips     []wire.Trip
	TripCount int
	// Faults are the first decode errors, in stream order
	// (*wire.DecodeError); FaultCount counts them all.
	Faults     []error
	FaultCount int
	// Ended says whether the end marker came, and EndOffset where.
	Ended     bool
	EndOffset int
	// After holds the bytes that came after the end marker (a part of
	// Bytes).
	After []byte
	// Cut is the block the stream ended, stalled or was cut off in, if
	// it did so inside a block before the end marker.
	Cut *wire.Partial
	// How the stream ended, and the read error behind it.
	How     Ending
	ReadErr error
	// Elapsed from the start of reading to the end marker, and to the end.
	ToEndMarker time.Duration
	Elapsed     time.Duration

	keepTrips bool
	invalid   error          // the first trip value that is illegal
	finding   *check.Finding // the checker's first fault of the reply
	afterEnd  *check.Finding // its finding of bytes after the end marker
}

// ObserveReply reads a reply from c until the server ends the stream, the
// deadline passes, or ReplyBudget bytes have come. Once the end marker has
// come it waits at most linger more for a close (or for bytes that must not
// come). Every read has a deadline. logf, if not nil, gets the wire log,
// capped (see wireLog).
func ObserveReply(c net.Conn, p wire.Profile, deadline time.Time, linger time.Duration, logf func(string, ...any)) *Observation {
	return observe(c, p, deadline, linger, logf, true)
}

// observe is ObserveReply; keepTrips false keeps only the count of trips
// (their validity is still checked), for probes that make many exchanges.
// The bytes go to the session checker (package check) as they are read,
// one read at a time; the observation is its view of the reply.
func observe(c net.Conn, p wire.Profile, deadline time.Time, linger time.Duration, logf func(string, ...any), keepTrips bool) *Observation {
	o := &Observation{Profile: p, keepTrips: keepTrips}
	log := newWireLog(logf)
	sess := check.NewSession(check.Options{Profile: p, Budget: ReplyBudget, MaxFindings: maxFaults,
		OnTrip: func(i int, off int64, t *wire.Trip) {
			o.TripCount++
			if o.keepTrips {
				o.Trips = append(o.Trips, t.Clone())
			}
			log.trip(i, off, t)
		}})
	buf := make([]byte, 16<<10)
	start := time.Now()
	reads := 0
	for {
		dl := deadline
		if o.Ended {
			dl = time.Now().Add(linger)
			if dl.After(deadline) {
				dl = deadline
			}
		}
		c.SetReadDeadline(dl)
		room := ReplyBudget - len(o.Bytes)
		n, err := c.Read(buf[:min(len(buf), room+1)])
		if n > room {
			// One byte past the budget: the peer sent too much.
			n, err = room, nil
			o.OverBudget = true
		}
		if n > 0 {
			chunk := buf[:n]
			log.chunk(len(o.Bytes), chunk)
			o.Bytes = append(o.Bytes, chunk...)
			reads++
			sess.Feed(wire.Replies, chunk, reads)
			o.collect(sess, log)
			if v := sess.Reply(); v.Ended && !o.Ended {
				o.Ended, o.EndOffset = true, int(v.EndOffset)
				o.ToEndMarker = time.Since(start)
				log.printf("< end marker at %d", v.EndOffset)
			}
		}
		if o.OverBudget {
			o.How = EndBudget
			break
		}
		if err != nil {
			o.How, o.ReadErr = classify(err), err
			break
		}
	}
	o.Elapsed = time.Since(start)
	sess.End(wire.Replies, o.How)
	o.collect(sess, log)
	v := sess.Reply()
	if o.Ended {
		o.After = o.Bytes[o.EndOffset+2:]
	}
	o.Cut = v.Cut
	o.finding = v.Fault
	if f := v.Illegal; f != nil {
		o.invalid = f.Err
		if o.finding == nil {
			o.finding = f
		}
	}
	log.finish(o)
	return o
}

// collect takes the checker's new findings: the faults of the reply's
// framing and encodings are the observation's Faults, and go to the log.
func (o *Observation) collect(sess *check.Session, log *wireLog) {
	for {
		f, ok := sess.Next()
		if !ok {
			return
		}
		if f.Check == check.RuleAfterEnd && o.afterEnd == nil {
			o.afterEnd = &f
		}
		if f.Err == nil || f.Illegal() || f.Check == check.RuleAfterEnd {
			continue
		}
		o.fault(f.Err)
		log.fault(f.Err)
	}
}

func (o *Observation) fault(err error) {
	o.FaultCount++
	if len(o.Faults) < maxFaults {
		o.Faults = append(o.Faults, err)
	}
}

// FramingError explains the first fault of the reply's framing and field
// encodings, or a missing end marker, or nil: the MUST of every reply.
// A stream cut inside a block is named as cut; a reply that ran past
// ReplyBudget wraps ErrOverBudget; a field fault whose blocks would decode
// in the other profile says so.
func (o *Observation) FramingError() error {
	if o.Cut != nil && o.How != EndBudget && (len(o.Faults) == 0 || errors.Is(o.Faults[0], wire.ErrTruncated)) {
		return fmt.Errorf("%s\n%s", o.cutMessage(), HexWindow(o.Bytes, int(o.Cut.Offset)))
	}
	if len(o.Faults) > 0 {
		err := o.Faults[0]
		var de *wire.DecodeError
		if errors.As(err, &de) {
			return fmt.Errorf("%v%s\n%s", err, o.profileHint(), HexWindow(o.Bytes, int(de.Offset)))
		}
		return err
	}
	if !o.Ended {
		switch o.How {
		case EndBudget:
			return fmt.Errorf("%w (%d bytes): %s and no end marker, more than any reply needs; reading stopped", ErrOverBudget, ReplyBudget, plural.Count(o.TripCount, "trip", "trips"))
		case EndSilence:
			return fmt.Errorf("no end marker after %d bytes: the server went silent for %v", len(o.Bytes), o.Elapsed.Round(time.Millisecond))
		case EndError:
			return fmt.Errorf("no end marker after %d bytes: %v", len(o.Bytes), o.ReadErr)
		}
		return fmt.Errorf("the stream ended (%s) after %d bytes without the end marker", o.How, len(o.Bytes))
	}
	return o.invalid
}

// cutMessage names the block the stream ended in: "the block at offset 29
// announces 100 bytes; the stream ended after 29 of them".
func (o *Observation) cutMessage() string {
	c := o.Cut
	var how string
	switch o.How {
	case EndClose:
		how = "the stream ended"
	case EndReset:
		how = "the connection was reset"
	case EndSilence:
		how = fmt.Sprintf("the server went silent for %v", o.Elapsed.Round(time.Millisecond))
	default:
		how = fmt.Sprintf("reading failed (%v)", o.ReadErr)
	}
	if c.Size < 0 {
		return fmt.Sprintf("no end marker: %s inside the size field of the block at offset %d (1 of its 2 bytes came)", how, c.Offset)
	}
	return fmt.Sprintf("no end marker: the block at offset %d announces %d bytes; %s after %d of them", c.Offset, c.Size, how, c.Have)
}

// profileHint is a hint, when the reply's whole blocks would all decode in
// the other profile, that the profile is wrong rather than the fields.
func (o *Observation) profileHint() string {
	for _, p := range wire.Profiles() {
		if p == o.Profile || !decodesIn(o.Bytes, p) {
			continue
		}
		return fmt.Sprintf("\nhint: the reply's blocks decode in %v: is the server speaking %v? (run with --profile %v, or auto)", p, p, p)
	}
	return ""
}

// decodesIn reports whether every whole block of reply decodes cleanly in
// profile p, and there is at least one trip.
func decodesIn(reply []byte, p wire.Profile) bool {
	sess := check.NewSession(check.Options{Profile: p, Budget: int64(len(reply)) + 1})
	sess.Feed(wire.Replies, reply, 0)
	v := sess.Reply()
	return v.Fault == nil && v.Illegal == nil && v.Trips > 0
}

// AfterEndError is non-nil if bytes followed the end marker.
func (o *Observation) AfterEndError() error {
	if len(o.After) == 0 {
		return nil
	}
	if o.OverBudget {
		return fmt.Errorf("%w: %d bytes after the end marker at %d, and more:\n%s", ErrOverBudget, len(o.After), o.EndOffset, HexWindow(o.Bytes, o.EndOffset+2))
	}
	return fmt.Errorf("%d bytes after the end marker at %d:\n%s", len(o.After), o.EndOffset, HexWindow(o.Bytes, o.EndOffset+2))
}

// Summary is a one-line account of the observation, for logs.
func (o *Observation) Summary() string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%d bytes", len(o.Bytes)), plural.Count(o.TripCount, "trip", "trips"))
	if o.Ended {
		parts = append(parts, "end marker at "+fmt.Sprint(o.EndOffset))
	} else {
		parts = append(parts, "no end marker")
	}
	parts = append(parts, "then "+string(o.How))
	if len(o.Faults) > 0 {
		parts = append(parts, plural.Count(o.FaultCount, "fault", "faults"))
	}
	return strings.Join(parts, ", ")
}

// Caps of the wire log of one reply.
const (
	logHeadBytes = 2048 // bytes shown in hex from the start
	logTailBytes = 256  // bytes shown from the end, once the head is full
	logMessages  = 32   // trips and faults shown
)

// wireLog writes the wire log of one reply, capped: the first logHeadBytes
// bytes in hex, then only the last logTailBytes ("… N bytes not shown"),
// and the first logMessages trips and faults, then a count. A peer that
// sends without end makes a log of a few kilobytes, not of everything.
type wireLog struct {
	logf     func(string, ...any)
	shown    int    // bytes shown in the head
	hidden   int    // bytes past the head
	tail     []byte // the last logTailBytes of them
	tailAt   int    // the stream offset of tail[0]
	messages int    // trips and faults shown
	unshown  int    // trips and faults not shown
}

func newWireLog(logf func(string, ...any)) *wireLog { return &wireLog{logf: logf} }

func (l *wireLog) printf(format string, args ...any) {
	if l.logf != nil {
		l.logf(format, args...)
	}
}

// chunk logs the bytes read at stream offset off.
func (l *wireLog) chunk(off int, b []byte) {
	if l.logf == nil {
		return
	}
	if n := min(len(b), logHeadBytes-l.shown); n > 0 {
		l.logf("< %d bytes at %d: %x", n, off, b[:n])
		l.shown += n
		off, b = off+n, b[n:]
	}
	if len(b) == 0 {
		return
	}
	l.hidden += len(b)
	l.tail = append(l.tail, b...)
	if over := len(l.tail) - logTailBytes; over > 0 {
		l.tail = append(l.tail[:0], l.tail[over:]...)
	}
	l.tailAt = off + len(b) - len(l.tail)
}

func (l *wireLog) message(format string, args ...any) {
	if l.messages >= logMessages {
		l.unshown++
		return
	}
	l.messages++
	l.printf(format, args...)
}

func (l *wireLog) fault(err error) {
	if l.logf != nil {
		l.message("< fault: %v", err)
	}
}

func (l *wireLog) trip(i int, off int64, t *wire.Trip) {
	if l.logf != nil {
		l.message("< trip[%d] at %d: %s", i, off, t.String())
	}
}

// finish logs what the caps left out, and the tail.
func (l *wireLog) finish(o *Observation) {
	if l.logf == nil {
		return
	}
	if l.unshown > 0 {
		l.logf("< … %d more trips and faults not shown", l.unshown)
	}
	if l.hidden > 0 {
		l.logf("< … %d bytes not shown; the last %d, at %d: %x", l.hidden-len(l.tail), len(l.tail), l.tailAt, l.tail)
	}
	if o.OverBudget {
		l.logf("< reading stopped at the budget of %d bytes", ReplyBudget)
	}
}
