package conformance

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/internal/splitmix"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// serveSpec is what serve sends.
type serveSpec struct {
	trips        int
	fields       []string
	variant      string
	shape        string
	every        string
	splitAt      string
	perBlock     bool
	delay        time.Duration
	otherProfile bool
	garbage      []byte
	noEnd        bool
	truncate     string
	then         string
	stall        bool
	at           []int         // cut points, for sweeps
	after        []byte        // bytes after the end marker
	silence      time.Duration // nothing at all for this long first
	fillTrain    bool          // trip[0]'s train type the longest a block holds
}

// makeTrips builds n trips for the search r, changed by the trip fields.
func (s *clientScript) makeTrips(r *clientRun, n int, fields []string) ([]wire.Trip, error) {
	if n < 0 || n > 5000 {
		return nil, fmt.Errorf("-trips %d: want 0 to 5000", n)
	}
	trips := make([]wire.Trip, n)
	rng := splitmix.Source(s.seed)
	for i := range trips {
		trips[i] = wire.Trip{
			Date: r.values.Date, Departure: r.values.Time,
			Duration: uint16(rng.Next() % 200), Changes: uint8(i % 4), TrainType: wire.Str("InterCity"),
		}
	}
	for _, f := range fields {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not [I.]key=value\n%s", f, tripFieldsHelp)
		}
		lo, hi := 0, n
		if i, rest, ok := strings.Cut(k, "."); ok {
			idx, err := strconv.Atoi(i)
			if err != nil || idx < 0 || idx >= n {
				return nil, fmt.Errorf("%q: no trip %s of %d", f, i, n)
			}
			lo, hi, k = idx, idx+1, rest
		}
		for i := lo; i < hi; i++ {
			t := &trips[i]
			var err error
			switch k {
			case "date":
				t.Date, err = wire.ParseDate(v)
			case "departure", "time":
				t.Departure, err = wire.ParseTime(v)
			case "duration":
				var d uint64
				d, err = strconv.ParseUint(v, 10, 16)
				t.Duration = uint16(d)
			case "changes":
				var c uint64
				c, err = strconv.ParseUint(v, 10, 8)
				t.Changes = uint8(c)
			case "train":
				t.TrainType, err = parseString(v)
			case "train-hex":
				var raw []byte
				raw, err = hex.DecodeString(v)
				t.TrainType = wire.StrRaw(raw)
			default:
				return nil, fmt.Errorf("unknown trip field %q\n%s", k, tripFieldsHelp)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: %v", f, err)
			}
		}
	}
	return trips, nil
}

// tripOffsets is where each trip block of l starts.
func tripOffsets(l *fakes.Layout) []int {
	var at []int
	for _, b := range l.Blocks {
		if b.Kind == fakes.BlockTrip {
			at = append(at, b.Start)
		}
	}
	return at
}

// fragmented is the variant's cut: seeded random pieces, at most about 64
// of them whatever the reply's size, and at least two where it can.
func fragmented(seed int64, n int) shape.Shape {
	hi := max(7, n/64)
	hi = min(hi, max(1, n-1))
	return shape.Shape{Random: true, Seed: seed, RandomMin: 1, RandomMax: hi}
}

// serve writes the reply to r's search as spec says, through fakes.
func (s *clientScript) serve(logf func(string, ...any), r *clientRun, spec serveSpec) error {
	if r.reply != nil {
		return errors.New("serve: this search has been answered already")
	}
	trips, err := s.makeTrips(r, spec.trips, spec.fields)
	if err != nil {
		return err
	}
	reply := fakes.Reply{Profile: r.profile, Garbage: spec.garbage, NoEnd: spec.noEnd, After: spec.after, Truncate: spec.truncate}
	if spec.otherProfile {
		reply.Profile = wire.Qt5
		if r.profile == wire.Qt5 {
			reply.Profile = wire.Qt4
		}
	}
	if spec.stall {
		trips, reply.NoEnd, spec.then = nil, true, "keep-open"
	}
	if spec.fillTrain && len(trips) > 0 {
		trips[0].TrainType = longestTrain(reply.Profile)
	}
	reply.Trips = trips
	l, err := reply.Layout()
	if err != nil {
		return err
	}
	sh, perBlock, err := s.replyShape(spec, l)
	if err != nil {
		return err
	}
	rw := fakes.ReplyWriter{Shape: sh, PerBlock: perBlock, Silence: spec.silence, WriteTimeout: s.suite.timeout}
	switch spec.then {
	case "close":
		// A FIN, as the book's server's close sends; tripcheck keeps
		// reading to see what the client does next.
		rw.Shape.Then = shape.ThenHalfClose
	case "reset":
		rw.Shape.Then = shape.ThenReset
	case "keep-open":
		rw.Shape.Then = shape.ThenKeepOpen
	default:
		return fmt.Errorf("-then %q: want close, reset or keep-open", spec.then)
	}
	served := &servedReply{
		profile: l.Profile, trips: trips, bytes: l.Out(), tripAt: tripOffsets(l),
		complete: l.Complete(), whole: l.WholeTrips(),
	}
	r.reply = served
	served.what = describeReply(spec, l, sh, perBlock)
	if spec.silence > 0 {
		served.what = fmt.Sprintf("nothing for %v, then ", spec.silence) + served.what
	}
	logf("> reply: %s", served.what)
	s.logReply(logf, l)
	if spec.silence > 0 {
		logf("> nothing for %v", spec.silence)
	}
	_, werr := rw.Write(s.suite.ctx, s.replyConn(r), l)
	served.ended = time.Now()
	if ctxErr := s.suite.ctx.Err(); ctxErr != nil && errors.Is(werr, ctxErr) {
		return ctxErr
	}
	s.tell(served, spec)
	if werr != nil {
		logf("writing the reply stopped: %v (the client may have closed)", werr)
	}
	return nil
}

// longestTrain is the longest train type a trip block of profile p can
// hold: a payload of at most 65 534 bytes.
func longestTrain(p wire.Profile) wire.String {
	room := largestPayload - p.TripSize(&wire.Trip{TrainType: wire.Str("")})
	return wire.Str(strings.Repeat("x", room/2))
}

// describeReply says in words what serve sends: "7 trips in qt4 (247
// bytes), cut bytes-1 into 247 pieces, then close".
func describeReply(spec serveSpec, l *fakes.Layout, sh shape.Shape, perBlock bool) string {
	if spec.stall {
		return "no reply at all, the connection kept open (a stall)"
	}
	how := fmt.Sprintf("%d trips in %v", l.Trips(), l.Profile)
	if spec.otherProfile {
		how += " (the other profile's layout)"
	}
	if len(spec.garbage) > 0 {
		how += fmt.Sprintf(", then the bytes %x", spec.garbage)
	}
	if spec.noEnd {
		how += ", no end marker"
	}
	if len(spec.after) > 0 {
		how += fmt.Sprintf(", then after the end marker the bytes %x", spec.after)
	}
	how += fmt.Sprintf(" (%d bytes)", len(l.Bytes))
	if l.Sent < len(l.Bytes) {
		how += fmt.Sprintf(", cut at %s after %d bytes", spec.truncate, l.Sent)
	}
	pieces, _ := sh.Pieces(l.Sent)
	switch {
	case len(pieces) > 1 || sh.Delay > 0:
		how += fmt.Sprintf(", cut %v into %d pieces", sh, len(pieces))
		if len(pieces) <= 16 {
			how += fmt.Sprint(" ", pieces)
		}
	case perBlock:
		how += ", one write per block"
	case l.Sent > 0:
		how += ", in one write"
	}
	switch spec.then {
	case "keep-open":
		how += ", then the connection kept open"
	default:
		how += ", then " + spec.then
	}
	return how
}

// replyShape is the shape of the reply's writes, and whether each block is
// its own write.
func (s *clientScript) replyShape(spec serveSpec, l *fakes.Layout) (shape.Shape, bool, error) {
	var sh shape.Shape
	perBlock := spec.perBlock
	ways := 0
	v := spec.variant
	if v == "" {
		v = s.variant
	}
	if spec.variant != "" || (spec.shape == "" && spec.every == "" && spec.splitAt == "" && spec.at == nil) {
		ways++
		switch v {
		case "", "whole":
			perBlock = true
		case "fragmented":
			sh = fragmented(s.seed, l.Sent)
		case "coalesced":
		default:
			return sh, false, fmt.Errorf("-variant %q: want whole, fragmented or coalesced", v)
		}
	}
	if spec.shape != "" {
		ways++
		var err error
		if sh, err = shape.Parse(spec.shape); err != nil {
			return sh, false, err
		}
	}
	if spec.every != "" {
		ways++
		if x, ok := strings.CutSuffix(spec.every, "blocks"); ok && l.Trips() > 0 {
			f, err := strconv.ParseFloat(x, 64)
			if err != nil || f <= 0 {
				return sh, false, fmt.Errorf("-every %q: want N or Xblocks", spec.every)
			}
			sh.Every = max(1, int(math.Round(f*float64(l.Blocks[0].End))))
		} else {
			k, err := strconv.Atoi(spec.every)
			if err != nil || k < 1 {
				return sh, false, fmt.Errorf("-every %q: want N or Xblocks", spec.every)
			}
			sh.Every = k
		}
	}
	if spec.splitAt != "" {
		ways++
		for _, p := range strings.Split(spec.splitAt, ",") {
			off, err := l.Point(strings.TrimSpace(p))
			if err != nil {
				return sh, false, err
			}
			sh.At = append(sh.At, off)
		}
	}
	if spec.at != nil {
		ways++
		sh.At = spec.at
	}
	if ways > 1 {
		return sh, false, errors.New("serve: give one of -variant, -shape, -every, -split-at")
	}
	if spec.delay > 0 {
		sh.Delay = spec.delay
	}
	if err := sh.Validate(); err != nil {
		return sh, false, err
	}
	return sh, perBlock, nil
}

// logReply logs the reply block by block as far as it goes out: the first
// 16 blocks, or all in verbose mode.
func (s *clientScript) logReply(logf func(string, ...any), l *fakes.Layout) {
	for i, b := range l.Blocks {
		if b.Start >= l.Sent {
			break
		}
		if i == 16 && !s.suite.verbose {
			logf("> … %d more blocks (-v shows them all)", len(l.Blocks)-i)
			break
		}
		what := "garbage"
		switch b.Kind {
		case fakes.BlockTrip:
			what = fmt.Sprintf("trip[%d]", b.Trip)
		case fakes.BlockEnd:
			what = "end marker"
		}
		cut := ""
		if b.End > l.Sent {
			cut = fmt.Sprintf(", cut after %d of %d bytes", l.Sent-b.Start, b.End-b.Start)
		}
		logf("> %s at %d%s: %s", what, b.Start, cut, hexSnippet(l.Bytes[b.Start:min(b.End, l.Sent)], s.suite.snip(256)))
	}
}

// replyTapKey is the context key of a test's tap on the replies the client
// suite writes: a func(scenario string, c net.Conn) net.Conn that wraps the
// connection each reply goes to (see served_golden_test.go).
type replyTapKey struct{}

// replyConn is the connection r's reply is written to: traced, and tapped
// when the run's context carries a tap.
func (s *clientScript) replyConn(r *clientRun) net.Conn {
	var c net.Conn = s.trace.Conn("", r.conn)
	if tap, ok := s.suite.ctx.Value(replyTapKey{}).(func(string, net.Conn) net.Conn); ok {
		return tap(s.sc.ID, c)
	}
	return c
}
