package conformance

import (
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net"
	"regexp"
	"strconv"
	"strings"
	"time"

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
func (s *clientSession) makeTrips(r *clientRun, n int, fields []string) ([]wire.Trip, error) {
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

// reply is a reply laid out block by block.
type reply struct {
	bytes  []byte
	ends   []int // end offset of each block (and of the garbage)
	tripAt []int
	endAt  int // offset of the end marker, or -1
	p      wire.Profile
}

func buildReply(p wire.Profile, trips []wire.Trip, garbage []byte, end bool) (*reply, error) {
	rp := &reply{endAt: -1, p: p}
	// Illegal writes too: a time past the day is a scenario's to send.
	enc := wire.Encoder{Profile: p, AllowIllegalWrites: true}
	var err error
	for i := range trips {
		rp.tripAt = append(rp.tripAt, len(rp.bytes))
		if rp.bytes, err = enc.AppendTrip(rp.bytes, &trips[i]); err != nil {
			return nil, fmt.Errorf("cannot encode trip[%d]: %v", i, err)
		}
		rp.ends = append(rp.ends, len(rp.bytes))
	}
	if len(garbage) > 0 {
		rp.bytes = append(rp.bytes, garbage...)
		rp.ends = append(rp.ends, len(rp.bytes))
	}
	if end {
		rp.endAt = len(rp.bytes)
		rp.bytes = wire.AppendEnd(rp.bytes)
		rp.ends = append(rp.ends, len(rp.bytes))
	}
	return rp, nil
}

var rePoint = regexp.MustCompile(`^(?:(\d+)|trip\[(\d+)\](?:\.(size|date|departure|duration|changes|trainType))?|end)([+-]\d+)?$`)

// point resolves a POINT of serve: a byte offset, trip[i], trip[i].field
// (its middle; a string's middle of its data), or end, plus or minus N.
func (rp *reply) point(spec string) (int, error) {
	m := rePoint.FindStringSubmatch(spec)
	if m == nil {
		return 0, fmt.Errorf("point %q: want N, trip[I], trip[I].FIELD or end, then optionally +N or -N", spec)
	}
	var off int
	switch {
	case m[1] != "":
		off, _ = strconv.Atoi(m[1])
	case strings.HasPrefix(spec, "end"):
		if rp.endAt < 0 {
			return 0, fmt.Errorf("point %q: the reply has no end marker", spec)
		}
		off = rp.endAt
	default:
		i, _ := strconv.Atoi(m[2])
		if i >= len(rp.tripAt) {
			return 0, fmt.Errorf("point %q: the reply has %d trips", spec, len(rp.tripAt))
		}
		off = rp.tripAt[i]
		if f := m[3]; f != "" && f != "size" {
			start := off + 2
			end := rp.ends[i]
			for _, sp := range rp.p.Spans(wire.KindTrip, rp.bytes[start:end]) {
				if sp.Field != f {
					continue
				}
				if sp.Data >= 0 && sp.End > sp.Data {
					off = start + sp.Data + (sp.End-sp.Data)/2
				} else {
					off = start + sp.Start + (sp.End-sp.Start)/2
				}
			}
		}
	}
	if m[4] != "" {
		d, _ := strconv.Atoi(m[4])
		off += d
	}
	if off < 0 || off > len(rp.bytes) {
		return 0, fmt.Errorf("point %q is byte %d, outside the %d-byte reply", spec, off, len(rp.bytes))
	}
	return off, nil
}

// fragmented is the variant's cut: seeded random pieces, at most about 64
// of them whatever the reply's size, and at least two where it can.
func fragmented(seed int64, n int) shape.Shape {
	hi := max(7, n/64)
	hi = min(hi, max(1, n-1))
	return shape.Shape{Random: true, Seed: seed, RandomMin: 1, RandomMax: hi}
}

// serve writes the reply to r's search as spec says.
func (s *clientSession) serve(logf func(string, ...any), r *clientRun, spec serveSpec) error {
	if r.reply != nil {
		return errors.New("serve: this search has been answered already")
	}
	trips, err := s.makeTrips(r, spec.trips, spec.fields)
	if err != nil {
		return err
	}
	layout := r.profile
	if spec.otherProfile {
		layout = wire.Qt5
		if r.profile == wire.Qt5 {
			layout = wire.Qt4
		}
	}
	if spec.stall {
		trips, spec.noEnd, spec.then = nil, true, "keep-open"
	}
	if spec.fillTrain && len(trips) > 0 {
		trips[0].TrainType = longestTrain(layout)
	}
	rp, err := buildReply(layout, trips, spec.garbage, !spec.noEnd)
	if err != nil {
		return err
	}
	if len(spec.after) > 0 {
		// Bytes after the end marker: a block of their own in the layout.
		rp.bytes = append(rp.bytes, spec.after...)
		rp.ends = append(rp.ends, len(rp.bytes))
	}
	out := rp.bytes
	if spec.truncate != "" {
		k, err := rp.point(spec.truncate)
		if err != nil {
			return err
		}
		out = out[:k]
	}
	sh, perBlock, err := s.replyShape(spec, rp, len(out))
	if err != nil {
		return err
	}
	served := &servedReply{
		profile: layout, trips: trips, bytes: out, tripAt: rp.tripAt,
		complete: len(out) == len(rp.bytes) && !spec.noEnd && len(spec.garbage) == 0,
	}
	for i := range trips {
		if rp.ends[i] <= len(out) {
			served.whole = i + 1
		}
	}
	r.reply = served
	served.what = describeReply(spec, rp, out, sh, perBlock)
	if spec.silence > 0 {
		served.what = fmt.Sprintf("nothing for %v, then ", spec.silence) + served.what
	}
	how := served.what
	logf("> reply: %s", how)
	s.logReply(logf, rp, len(out))

	opts := []shape.Option{shape.WithWriteTimeout(s.suite.timeout)}
	if perBlock && len(rp.ends) > maxPacedBlocks {
		// Hundreds of paced writes take seconds; the book's server does
		// not pause between blocks either.
		opts = append(opts, shape.WithPause(0))
	}
	conn := s.replyConn(r)
	w, err := shape.NewWriter(conn, sh, opts...)
	if err != nil {
		return err
	}
	if spec.silence > 0 {
		logf("> nothing for %v", spec.silence)
		t := time.NewTimer(spec.silence)
		select {
		case <-t.C:
		case <-s.suite.ctx.Done():
			t.Stop()
			return s.suite.ctx.Err()
		}
	}
	var werr error
	if perBlock {
		start := 0
		for _, end := range rp.ends {
			if werr != nil || start >= len(out) {
				break
			}
			_, werr = w.Write(out[start:min(end, len(out))])
			start = end
		}
	} else if len(out) > 0 {
		_, werr = w.Write(out)
	}
	if werr == nil {
		werr = w.Flush()
	}
	served.ended = time.Now()
	s.tell(served, spec)
	if werr != nil {
		logf("writing the reply stopped: %v (the client may have closed)", werr)
	}
	switch spec.then {
	case "close":
		// A FIN, as the book's server's close sends; tripcheck keeps
		// reading to see what the client does next.
		if cw, ok := conn.(interface{ CloseWrite() error }); !ok {
			logf("close: %T cannot half-close", conn)
		} else if err := cw.CloseWrite(); err != nil {
			logf("close: %v", err)
		}
	case "reset":
		if err := shape.Reset(conn); err != nil {
			logf("reset: %v", err)
		}
	case "keep-open":
	default:
		return fmt.Errorf("-then %q: want close, reset or keep-open", spec.then)
	}
	return nil
}

// longestTrain is the longest train type a trip block of profile p can
// hold: a payload of at most 65 534 bytes.
func longestTrain(p wire.Profile) wire.String {
	room := largestPayload - p.TripSize(&wire.Trip{TrainType: wire.Str("")})
	return wire.Str(strings.Repeat("x", room/2))
}

// maxPacedBlocks is the most blocks written one per write with a pause
// between them (shape.DefaultPause), so that a client reading as they come
// reads them one by one; longer replies go without the pause.
const maxPacedBlocks = 64

// describeReply says in words what serve sends: "7 trips in qt4 (247
// bytes), cut bytes-1 into 247 pieces, then close".
func describeReply(spec serveSpec, rp *reply, out []byte, sh shape.Shape, perBlock bool) string {
	if spec.stall {
		return "no reply at all, the connection kept open (a stall)"
	}
	how := fmt.Sprintf("%d trips in %v", len(rp.tripAt), rp.p)
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
	how += fmt.Sprintf(" (%d bytes)", len(rp.bytes))
	if len(out) < len(rp.bytes) {
		how += fmt.Sprintf(", cut at %s after %d bytes", spec.truncate, len(out))
	}
	pieces, _ := sh.Pieces(len(out))
	switch {
	case len(pieces) > 1 || sh.Delay > 0:
		how += fmt.Sprintf(", cut %v into %d pieces", sh, len(pieces))
		if len(pieces) <= 16 {
			how += fmt.Sprint(" ", pieces)
		}
	case perBlock:
		how += ", one write per block"
	case len(out) > 0:
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
func (s *clientSession) replyShape(spec serveSpec, rp *reply, n int) (shape.Shape, bool, error) {
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
			sh = fragmented(s.seed, n)
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
		if x, ok := strings.CutSuffix(spec.every, "blocks"); ok && len(rp.tripAt) > 0 {
			f, err := strconv.ParseFloat(x, 64)
			if err != nil || f <= 0 {
				return sh, false, fmt.Errorf("-every %q: want N or Xblocks", spec.every)
			}
			sh.Every = max(1, int(math.Round(f*float64(rp.ends[0]))))
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
			off, err := rp.point(strings.TrimSpace(p))
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

// logReply logs the reply block by block: the first 16 blocks, or all in
// verbose mode.
func (s *clientSession) logReply(logf func(string, ...any), rp *reply, n int) {
	start := 0
	for i, end := range rp.ends {
		if start >= n {
			break
		}
		if i == 16 && !s.suite.verbose {
			logf("> … %d more blocks (-v shows them all)", len(rp.ends)-i)
			break
		}
		b := rp.bytes[start:min(end, n)]
		what := "garbage"
		switch {
		case i < len(rp.tripAt):
			what = fmt.Sprintf("trip[%d]", i)
		case start == rp.endAt:
			what = "end marker"
		}
		cut := ""
		if end > n {
			cut = fmt.Sprintf(", cut after %d of %d bytes", n-start, end-start)
		}
		logf("> %s at %d%s: %s", what, start, cut, hexSnippet(b, s.suite.snip(256)))
		start = end
	}
}

// replyTapKey is the context key of a test's tap on the replies the client
// suite writes: a func(scenario string, c net.Conn) net.Conn that wraps the
// connection each reply goes to (see served_golden_test.go).
type replyTapKey struct{}

// replyConn is the connection r's reply is written to: traced, and tapped
// when the run's context carries a tap.
func (s *clientSession) replyConn(r *clientRun) net.Conn {
	var c net.Conn = s.trace.Conn("", r.conn)
	if tap, ok := s.suite.ctx.Value(replyTapKey{}).(func(string, net.Conn) net.Conn); ok {
		return tap(s.sc.ID, c)
	}
	return c
}
