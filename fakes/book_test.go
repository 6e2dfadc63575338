package fakes

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// Every reply vector of every profile, reproduced by the fake over TCP for
// the request vector with the same label, sent whole and in 1-byte pieces.
// The qt4 replies are what the book's own server sent (testdata/vectors).
func TestBookReplyVectors(t *testing.T) {
	vs := loadVectors(t)
	for _, profile := range []string{"qt4", "qt5", "qt6"} {
		t.Run(profile, func(t *testing.T) {
			p, err := wire.ParseProfile(profile)
			if err != nil {
				t.Fatal(err)
			}
			s := startServer(t, WithProfile(p))
			n := 0
			for _, v := range vs {
				if v.Profile != profile || v.Kind != "reply" {
					continue
				}
				n++
				t.Run(v.Label, func(t *testing.T) {
					req := vector(t, profile, "request", v.Label)
					for _, split := range []string{"whole", "bytes-1"} {
						got := exchangeShaped(t, s.Addr(), req, split)
						if !bytes.Equal(got, v.Bytes) {
							t.Errorf("%s: reply differs from %s\n got %x\nwant %x", split, v.Name(), got, v.Bytes)
						}
					}
				})
			}
			if n < 13 {
				t.Errorf("%s: only %d reply vectors", profile, n)
			}
		})
	}
}

// exchangeShaped sends req in the given shape and returns the whole reply.
func exchangeShaped(t *testing.T, addr string, req []byte, sh string) []byte {
	t.Helper()
	s, err := shape.Parse(sh)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, addr)
	w, err := shape.NewWriter(c, s, shape.WithPause(0))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(req); err != nil {
		t.Fatalf("%s: write: %v", sh, err)
	}
	got, err := readAll(c)
	if err != nil {
		t.Fatalf("%s: read: %v", sh, err)
	}
	return got
}

// The reply comments say which srand seed and how many trips; BookSeed and
// Book agree with each, by label.
func TestBookSeedVectors(t *testing.T) {
	for _, v := range loadVectors(t) {
		if v.Kind != "reply" {
			continue
		}
		t.Run(v.Name(), func(t *testing.T) {
			want, err := qtvectors.ParseReply(v.Comment)
			if err != nil {
				t.Fatal(err)
			}
			rv, ok := qtvectors.Find(loadVectors(t), v.Profile, "request", want.Request)
			if !ok {
				t.Fatalf("no request vector %s", want.Request)
			}
			var req wire.Request
			if err := v.WireProfile().DecodeRequest(rv.Bytes[2:], &req); err != nil {
				t.Fatal(err)
			}
			if got := BookSeed(&req); got != want.Seed {
				t.Errorf("BookSeed = %d, vector says srand(%d)", got, want.Seed)
			}
			if got := len(Book{}.Trips(&req)); got != want.Trips {
				t.Errorf("%d trips, vector says %d", got, want.Trips)
			}
		})
	}
}

// Random requests, answered by the fake, against an independent
// computation: the seed from the book's formula written out, rand from the
// reference generator of rand_test.go (and from the C library when gcc is
// there), the blocks written byte by byte here rather than by package wire.
func TestBookReplyProperty(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const n = 150
	for _, p := range wire.Profiles() {
		t.Run(p.String(), func(t *testing.T) {
			s := startServer(t, WithProfile(p))
			var seeds []uint32
			type tc struct {
				req  wire.Request
				seed uint32
			}
			var cases []tc
			for range n {
				req := randomRequest(rng)
				units := func(x wire.String) uint32 { return uint32(len(x.Raw()) / 2) }
				hour := uint32(0xFFFFFFFF) // -1
				if !req.Time.IsNull() && req.Time.Wire() < 86_400_000 {
					hour = req.Time.Wire() / 3_600_000
				}
				sd := units(req.From)*3600 + units(req.To)*60 + hour
				cases = append(cases, tc{req, sd})
				seeds = append(seeds, sd)
			}
			var fromC map[uint32][]int32
			if testing.Short() {
				t.Log("short: no comparison with the C library")
			} else if bin, ok := buildGlibc(t); ok {
				fromC = glibcSequences(t, bin, 8, seeds)
			} else {
				t.Log("gcc not found: rand checked against the reference only")
			}
			for i, c := range cases {
				ref := newRefRand(c.seed)
				draws := make([]int32, 8)
				for j := range draws {
					draws[j] = ref.next()
				}
				if fromC != nil && !equalInt32(fromC[c.seed], draws) {
					t.Fatalf("case %d: reference rand %v, glibc %v for srand(%d)", i, draws, fromC[c.seed], c.seed)
				}
				want := bookReplyByHand(p, &c.req, draws)
				got, err := exchange(t, s.Addr(), encodeRequest(t, p, &c.req))
				if err != nil {
					t.Fatalf("case %d: %v", i, err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("case %d, %v: reply\n got %x\nwant %x", i, &c.req, got, want)
				}
			}
		})
	}
}

func equalInt32(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// bookReplyByHand writes the book's reply from rand draws, field by field.
func bookReplyByHand(p wire.Profile, req *wire.Request, draws []int32) []byte {
	var out []byte
	be := binary.BigEndian
	numTrips := int(draws[0] % 8)
	for i := range numTrips {
		var blk []byte
		if p == wire.Qt4 {
			var jd uint32
			if !req.Date.IsNull() {
				jd = uint32(req.Date.JD())
			}
			blk = be.AppendUint32(blk, jd)
		} else {
			blk = be.AppendUint64(blk, uint64(req.Date.JD()))
		}
		blk = be.AppendUint32(blk, req.Time.Wire())
		blk = be.AppendUint16(blk, uint16(draws[1+i]%200))
		blk = append(blk, 1)
		blk = be.AppendUint32(blk, 18)
		for _, r := range "InterCity" {
			blk = be.AppendUint16(blk, uint16(r))
		}
		out = be.AppendUint16(out, uint16(len(blk)))
		out = append(out, blk...)
	}
	return append(out, 0xFF, 0xFF)
}

// randomRequest draws a valid request: strings of 0 to 40 code units
// (some outside the BMP, some null), any date including null, any time of
// day or null, flag D or A.
func randomRequest(rng *rand.Rand) wire.Request {
	str := func() wire.String {
		if rng.IntN(10) == 0 {
			return wire.NullString()
		}
		var b strings.Builder
		for range rng.IntN(41) {
			switch rng.IntN(8) {
			case 0:
				b.WriteRune(rune(0x1F680 + rng.IntN(64))) // two code units
			case 1:
				b.WriteRune(rune(0xC0 + rng.IntN(64)))
			default:
				b.WriteRune(rune('a' + rng.IntN(26)))
			}
		}
		return wire.Str(b.String())
	}
	r := wire.Request{Type: wire.TypeSearch, From: str(), To: str(), Flag: wire.FlagDeparture}
	if rng.IntN(2) == 0 {
		r.Flag = wire.FlagArrival
	}
	if rng.IntN(8) != 0 {
		r.Date = wire.DateJD(1 + rng.Int64N(5_000_000))
	}
	if rng.IntN(8) != 0 {
		r.Time = wire.TimeMS(rng.Uint32N(86_400_000))
	}
	return r
}
