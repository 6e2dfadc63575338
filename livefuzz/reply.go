package livefuzz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/tripcheck/tripcheck/wire"
)

// ReplyCase is one reply sent to a client under test, as the answer to
// the search it was given.
type ReplyCase struct {
	Case // the reply's bytes, their mutation and shape
	// Search is what the client is asked to look up (argv-safe: valid
	// UTF-8 without NUL).
	Search wire.Request
}

// searchStr is a search string a command line can carry: null, empty, a
// city or a long name.
func (r *rng) searchStr() wire.String {
	switch r.intn(8) {
	case 0:
		return wire.NullString()
	case 1:
		return wire.Str("")
	case 2:
		return wire.Str(strings.Repeat(pick(r, "x", "ä", "Zug "), 26+r.intn(200)))
	}
	return wire.Str(pick(r, cities...))
}

// date is a null date (one in six), any valid date, or one near 2026.
func (r *rng) date() wire.Date {
	switch r.intn(6) {
	case 0:
		return wire.NullDate()
	case 1:
		return wire.DateJD(1 + int64(r.intn(5_373_484)))
	}
	return wire.DateJD(wire.DateOf(2026, 11, 25).JD() + int64(r.intn(800)) - 400)
}

// clock is a null time (one in six) or a valid one.
func (r *rng) clock() wire.Time {
	if r.intn(6) == 0 {
		return wire.NullTime()
	}
	return wire.TimeMS(uint32(r.intn(86_400_000)))
}

// search is a valid search for a client's command line.
func (r *rng) search() wire.Request {
	return wire.Request{Type: wire.TypeSearch, From: r.searchStr(), To: r.searchStr(),
		Date: r.date(), Time: r.clock(), Flag: pick[byte](r, wire.FlagDeparture, wire.FlagArrival)}
}

// trip is a valid trip. One in eight has a train type that clients get
// wrong though Qt carries it unchanged: U+0000 inside (C strings end
// there) or a lone surrogate (UTF-16 to UTF-8 converters choke on it); the
// choice takes no draw of its own, so the cases around it stay as they were.
func (r *rng) trip() wire.Trip {
	t := wire.Trip{Date: r.date(), Departure: r.clock(), Duration: uint16(r.next()), Changes: byte(r.next()), TrainType: r.str()}
	switch t.Duration % 16 {
	case 0:
		t.TrainType = wire.StrUnits([]uint16{'I', 'C', 0, 'E'})
	case 1:
		t.TrainType = wire.StrUnits([]uint16{'I', 'C', 0xD800, 'E'})
	}
	return t
}

// trips are 0 to 12 valid trips.
func (r *rng) trips() []wire.Trip {
	ts := make([]wire.Trip, pick(r, 0, 0, 1, 1, 2, 3, 3, 5, 7, 12))
	for i := range ts {
		ts[i] = r.trip()
	}
	return ts
}

// encodeReply encodes trips and the end marker; at is where each block
// starts, the end marker's last.
func encodeReply(p wire.Profile, trips []wire.Trip) (b []byte, at []int) {
	enc := wire.Encoder{Profile: p, AllowIllegalWrites: true}
	for i := range trips {
		at = append(at, len(b))
		var err error
		if b, err = enc.AppendTrip(b, &trips[i]); err != nil {
			panic(fmt.Sprintf("livefuzz: encoding %v: %v", &trips[i], err))
		}
	}
	return wire.AppendEnd(b), append(at, len(b))
}

// NewReplyCase returns reply case n of seed in profile p, with the search
// it answers: the same arguments give the same case, byte for byte. The
// mutations are those of NewCase, aimed at a reply's blocks (size-lie on
// any block, the end marker's included; odd-string and huge-string on a
// train type; field on a date or time), and two of its own:
//
//	after-end   bytes after the end marker: a trip block, a whole reply, random bytes
//	cut-block   the reply cut at a block boundary, before the end marker
func NewReplyCase(seed int64, n int, p wire.Profile) ReplyCase {
	r := newRNG(seed, n)
	c := ReplyCase{Case: Case{Seed: seed, N: n, Profile: p}, Search: r.search()}
	trips := r.trips()
	b, at := encodeReply(p, trips)
	var steps []string
	if r.intn(10) < 6 {
		var step string
		b, step = r.structuredReply(p, trips, b, at)
		steps = append(steps, step)
	}
	for i, k := 0, r.intn(3); i < k; i++ {
		var step string
		b, step = r.generic(b, func() []byte {
			ts := r.trips()
			o, _ := encodeReply(p, ts[:min(len(ts), r.intn(3))])
			return o
		})
		steps = append(steps, step)
	}
	if len(steps) == 0 {
		steps = append(steps, "valid")
	}
	c.Mutation = strings.Join(steps, "+")
	c.Bytes = b
	c.Shape = r.shape(len(b))
	return c
}

// structuredReply mutates a block of the encoded reply b, whose blocks
// start at at (the end marker last).
func (r *rng) structuredReply(p wire.Profile, trips []wire.Trip, b []byte, at []int) ([]byte, string) {
	k := r.intn(6)
	if len(trips) == 0 && k >= 1 && k <= 3 {
		k = 4
	}
	i := 0
	if len(trips) > 0 {
		i = r.intn(len(trips))
	}
	train := 0 // offset of trip i's train type length
	if len(trips) > 0 {
		train = at[i] + 2 + p.DateSize() + 4 + 3
	}
	switch k {
	case 0:
		blk := r.intn(len(at))
		size := 0xFFFF
		if blk < len(trips) {
			size = at[blk+1] - at[blk] - 2
		}
		v := pick(r, 0, 1, 0xFFFE, 0xFFFF, size+1, size-1, size+1+r.intn(64), max(0, size-1-r.intn(size+1)), r.intn(0x10000))
		binary.BigEndian.PutUint16(b[at[blk]:], uint16(v))
		return b, "size-lie"
	case 1:
		s := trips[i].TrainType
		n := int64(s.Len() * 2)
		if s.IsNull() {
			n = 100
		}
		v := pick(r, 1, 3, n+1, max(1, n-1), 101, 2*int64(r.intn(1000))+1, 0xFFFFFFFD, 0x7FFFFFFF)
		binary.BigEndian.PutUint32(b[train:], uint32(v)|1)
		return b, "odd-string"
	case 2:
		if r.intn(2) == 0 {
			binary.BigEndian.PutUint32(b[train:], pick[uint32](r, 0x7FFFFFFE, 0xFFFFFFFE, 0x80000000, 0xFFFFFFF0, 0x00010000))
			return b, "huge-string"
		}
		// A train type that fills the block, or most of it.
		t := &trips[i]
		room := wire.MaxPayload - (p.TripSize(t) - t.TrainType.WireSize() + 4)
		n := room / 2
		if r.intn(2) == 0 {
			n = r.intn(n + 1)
		}
		t.TrainType = wire.Str(strings.Repeat(pick(r, "a", "ü"), n))
		b, _ = encodeReply(p, trips)
		return b, "huge-string"
	case 3:
		off := at[i] + 2
		switch r.intn(3) {
		case 0:
			for j := off; j < off+p.DateSize(); j++ {
				b[j] = byte(r.next())
			}
		case 1:
			binary.BigEndian.PutUint32(b[off+p.DateSize():], pick(r, 86_400_000, 0xFFFFFFFE, 0x7FFFFFFF, uint32(r.next())))
		default:
			for j := off + p.DateSize() + 4; j < off+p.DateSize()+7; j++ {
				b[j] = byte(r.next())
			}
		}
		return b, "field"
	case 4:
		switch r.intn(4) {
		case 0:
			t := r.trip()
			o, _ := encodeReply(p, []wire.Trip{t})
			return append(b, o[:len(o)-2]...), "after-end"
		case 1:
			o, _ := encodeReply(p, r.trips())
			return append(b, o...), "after-end"
		case 2:
			return append(b, 0), "after-end"
		}
		for j, m := 0, 1+r.intn(64); j < m; j++ {
			b = append(b, byte(r.next()))
		}
		return b, "after-end"
	}
	return b[:at[r.intn(len(at))]], "cut-block"
}

// Expectation is what the reference decoder (package wire) makes of a
// reply: the answer a client must print.
type Expectation struct {
	// Complete: the reply decodes, trip by trip, to an end marker. The
	// client must print Trips and "END n", and exit 0. Bytes after the end
	// marker are not part of the answer.
	Complete bool
	// Trips are all the trips (Complete), or else those of the blocks
	// before the first fault, each received whole and valid: a failing
	// client may print these, in order, before its ERROR line, and no
	// other.
	Trips []wire.Trip
	// Err says why the reply is no answer (nil when Complete).
	Err error
}

// Expect decodes a reply as the reference does.
func Expect(p wire.Profile, reply []byte) Expectation {
	rd := wire.NewReader(bytes.NewReader(reply), p, wire.Replies)
	var m wire.Message
	var e Expectation
	for {
		if err := rd.Next(&m); err != nil {
			e.Err = err
			return e
		}
		switch m.Kind {
		case wire.KindEnd:
			e.Complete = true
			return e
		case wire.KindTrip:
			e.Trips = append(e.Trips, m.Trip.Clone())
		}
	}
}
