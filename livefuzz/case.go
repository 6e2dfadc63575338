package livefuzz

import (
	"encoding/binary"
	"fmt"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/internal/splitmix"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// Case is one input sent to the server on its own connection.
type Case struct {
	Seed    int64
	N       int // the case number, from 0
	Profile wire.Profile
	// Mutation names what was done to a valid request, "+" between steps
	// ("odd-string+bit-flip"); "valid" for none.
	Mutation string
	// Bytes is what is written, in Shape.
	Bytes []byte
	Shape shape.Shape
}

func (c *Case) String() string {
	return fmt.Sprintf("case %d (%s, %d bytes, %s)", c.N, c.Mutation, len(c.Bytes), c.Shape)
}

// rng is SplitMix64 (package internal/splitmix), so that a seed gives the
// same cases on any Go version.
type rng struct{ s splitmix.Source }

func newRNG(seed int64, n int) *rng {
	r := &rng{s: splitmix.Source(seed)}
	r.s = splitmix.Source(r.next() ^ uint64(n)*0xD1B54A32D192ED03)
	return r
}

func (r *rng) next() uint64 { return r.s.Next() }

// intn returns a number in [0, n); n must be positive.
func (r *rng) intn(n int) int { return int(r.next() % uint64(n)) }

// pick returns one of the values.
func pick[T any](r *rng, vs ...T) T { return vs[r.intn(len(vs))] }

var cities = []string{
	"Berlin", "München", "Hamburg", "Frankfurt am Main", "Köln", "Düsseldorf",
	"Zürich🚆", "Bonn", "Bremen", "X", "InterCity",
}

// str is a valid QString: null, empty, a city, a long name, or random
// UTF-16 (lone surrogates and U+0000 included, which Qt carries unchanged).
func (r *rng) str() wire.String {
	switch r.intn(12) {
	case 0:
		return wire.NullString()
	case 1:
		return wire.Str("")
	case 2, 3:
		return wire.Str(strings.Repeat(pick(r, "x", "ä", "Zug "), 26+r.intn(200)))
	case 4:
		units := make([]uint16, r.intn(40))
		for i := range units {
			units[i] = uint16(r.next())
		}
		return wire.StrUnits(units)
	}
	return wire.Str(pick(r, cities...))
}

// request is a valid request.
func (r *rng) request() wire.Request {
	req := wire.Request{Type: wire.TypeSearch, From: r.str(), To: r.str(), Flag: pick[byte](r, wire.FlagDeparture, wire.FlagArrival)}
	switch r.intn(5) {
	case 0:
		req.Date = wire.NullDate()
	case 1:
		req.Date = wire.DateJD(1 + int64(r.intn(5_373_484)))
	default:
		req.Date = wire.DateJD(wire.DateOf(2026, 11, 25).JD() + int64(r.intn(800)) - 400)
	}
	switch r.intn(6) {
	case 0:
		req.Time = wire.NullTime()
	default:
		req.Time = wire.TimeMS(uint32(r.intn(86_400_000)))
	}
	return req
}

// layout is where the fields of an encoded request lie in its block.
type layout struct {
	from, to, date, time, flag, end int
}

func layoutOf(p wire.Profile, req *wire.Request) layout {
	var l layout
	l.from = 3
	l.to = l.from + req.From.WireSize()
	l.date = l.to + req.To.WireSize()
	l.time = l.date + p.DateSize()
	l.flag = l.time + 4
	l.end = l.flag + 1
	return l
}

// encode encodes a request the case generator built; only requests too
// large for a block fail, and the generator makes none.
func encode(p wire.Profile, req *wire.Request) []byte {
	b, err := wire.Encoder{Profile: p, AllowIllegalWrites: true}.AppendRequest(nil, req)
	if err != nil {
		panic(fmt.Sprintf("livefuzz: encoding %v: %v", req, err))
	}
	return b
}

// NewCase returns case n of seed in profile p: the same arguments give the
// same case, byte for byte.
func NewCase(seed int64, n int, p wire.Profile) Case {
	r := newRNG(seed, n)
	c := Case{Seed: seed, N: n, Profile: p}
	req := r.request()
	b := encode(p, &req)
	var steps []string
	// One mutation of a field, where the layout is known...
	if r.intn(10) < 6 {
		var step string
		b, step = r.structured(p, &req, b)
		steps = append(steps, step)
	}
	// ... then up to two anywhere.
	for i, n := 0, r.intn(3); i < n; i++ {
		var step string
		b, step = r.generic(b, func() []byte {
			other := r.request()
			return encode(p, &other)
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

// structured mutates a field of the encoded request b.
func (r *rng) structured(p wire.Profile, req *wire.Request, b []byte) ([]byte, string) {
	l := layoutOf(p, req)
	put32 := func(off int, v uint32) { binary.BigEndian.PutUint32(b[off:], v) }
	strAt := func() (int, wire.String) {
		if r.intn(2) == 0 {
			return l.from, req.From
		}
		return l.to, req.To
	}
	switch r.intn(4) {
	case 0:
		size := len(b) - 2
		v := pick(r, 0, 1, 0xFFFF, 0xFFFE, size+1, size-1, size+1+r.intn(64), max(0, size-1-r.intn(size+1)), r.intn(0x10000))
		binary.BigEndian.PutUint16(b, uint16(v))
		return b, "size-lie"
	case 1:
		off, s := strAt()
		n := int64(s.Len() * 2)
		if s.IsNull() {
			n = 100
		}
		v := pick(r, 1, 3, n+1, max(1, n-1), 101, 2*int64(r.intn(1000))+1, 0xFFFFFFFD, 0x7FFFFFFF)
		put32(off, uint32(v)|1)
		return b, "odd-string"
	case 2:
		if r.intn(2) == 0 {
			off, _ := strAt()
			put32(off, pick[uint32](r, 0x7FFFFFFE, 0xFFFFFFFE, 0x80000000, 0xFFFFFFF0, 0x00010000))
			return b, "huge-string"
		}
		// A string that fills the block, or most of it.
		room := wire.MaxPayload - (p.RequestSize(req) - req.From.WireSize() + 4)
		n := room / 2
		if r.intn(2) == 0 {
			n = r.intn(n + 1)
		}
		req.From = wire.Str(strings.Repeat(pick(r, "a", "ü"), n))
		return encode(p, req), "huge-string"
	}
	switch r.intn(4) {
	case 0:
		b[2] = byte(r.next())
	case 1:
		b[l.flag] = byte(r.next())
	case 2:
		for i := l.date; i < l.time; i++ {
			b[i] = byte(r.next())
		}
	default:
		put32(l.time, pick(r, 86_400_000, 0xFFFFFFFE, 0x7FFFFFFF, uint32(r.next())))
	}
	return b, "field"
}

var interesting = []byte{0x00, 0xFF, 0x7F, 0x80, 0x01, 0xFE, 'S', 'D', 'A'}

// generic mutates b anywhere; donor makes another valid message (a request
// or a reply) for splices.
func (r *rng) generic(b []byte, donor func() []byte) ([]byte, string) {
	switch k := r.intn(20); {
	case k < 5 && len(b) > 0:
		for i, n := 0, 1+r.intn(4); i < n; i++ {
			b[r.intn(len(b))] ^= 1 << r.intn(8)
		}
		return b, "bit-flip"
	case k < 9 && len(b) > 0:
		for i, n := 0, 1+r.intn(3); i < n; i++ {
			b[r.intn(len(b))] = pick(r, interesting...)
		}
		return b, "byte-set"
	case k < 12 && len(b) > 0:
		return b[:r.intn(len(b))], "truncate"
	case k < 14:
		for i, n := 0, 1+r.intn(64); i < n; i++ {
			b = append(b, byte(r.next()))
		}
		return b, "extend"
	case k < 16:
		o := donor()
		return append(b[:r.intn(len(b)+1)], o[r.intn(len(o)):]...), "splice"
	case k < 19:
		return append(b, donor()...), "double"
	}
	b = make([]byte, r.intn(300))
	for i := range b {
		b[i] = byte(r.next())
	}
	return b, "random"
}

// shape says how a case of n bytes goes on the wire.
func (r *rng) shape(n int) shape.Shape {
	switch k := r.intn(100); {
	case k < 55:
		return shape.Shape{}
	case k < 67:
		return shape.Shape{Every: max(1+r.intn(8), n/256+1)}
	case k < 79:
		return shape.Shape{Random: true, Seed: int64(r.next() >> 1), RandomMin: 1, RandomMax: max(16, n/128)}
	case k < 87:
		return shape.Shape{At: pick(r, []int{1}, []int{2}, []int{2, 3}, []int{max(1, n/2)})}
	case k < 90:
		return shape.Shape{At: []int{2}, Delay: time.Millisecond}
	}
	return shape.Shape{Coalesce: true}
}
