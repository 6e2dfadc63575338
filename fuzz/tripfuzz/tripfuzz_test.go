package tripfuzz

import (
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// checkSeeds runs CheckReplies or CheckRequests over every seed, and
// returns the first mismatch with the seed's name.
func checkSeeds(p wire.Profile, replies bool, u userDecoder, opts ...Option) (string, *Mismatch) {
	if replies {
		for _, s := range ReplySeeds() {
			if m := CheckReplies(p, s.Bytes, u.Replies, opts...); m != nil {
				return s.Name, m
			}
		}
		return "", nil
	}
	for _, s := range RequestSeeds() {
		if m := CheckRequests(p, s.Bytes, u.Requests, opts...); m != nil {
			return s.Name, m
		}
	}
	return "", nil
}

// mutate returns a copy of b changed in one of the ways a fuzzer changes
// inputs: a bit flipped, a byte set, bytes cut off, inserted or removed.
func mutate(r *rand.Rand, b []byte) []byte {
	b = append([]byte(nil), b...)
	if len(b) == 0 {
		return []byte{byte(r.IntN(256))}
	}
	i := r.IntN(len(b))
	switch r.IntN(5) {
	case 0:
		b[i] ^= 1 << r.IntN(8)
	case 1:
		b[i] = []byte{0, 1, 0xFF, 0x7F, 0x80, byte(r.IntN(256))}[r.IntN(6)]
	case 2:
		b = b[:i]
	case 3:
		b = append(b[:i], append([]byte{byte(r.IntN(256))}, b[i:]...)...)
	case 4:
		b = append(b[:i], b[i+1:]...)
	}
	return b
}

// TestModelAgrees: the test's model of a user's decoder, written from
// PROTOCOL.md apart from wire, agrees with wire on every seed and on
// mutations of them, in both profiles and directions. Without it, the
// broken decoders below would prove nothing: a check that also fails
// the right decoder catches nothing.
func TestModelAgrees(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("mutation seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 13))
	n := 3000
	if testing.Short() {
		n = 300
	}
	for _, p := range wire.Profiles() {
		u := userDecoder{profile: p}
		for _, replies := range []bool{true, false} {
			if name, m := checkSeeds(p, replies, u); m != nil {
				t.Fatalf("%v seed %s: %v", p, name, m)
			}
			seeds := RequestSeeds()
			if replies {
				seeds = ReplySeeds()
			}
			for range n {
				b := seeds[r.IntN(len(seeds))].Bytes
				for range 1 + r.IntN(3) {
					b = mutate(r, b)
				}
				var m *Mismatch
				if replies {
					m = CheckReplies(p, b, u.Replies)
				} else {
					m = CheckRequests(p, b, u.Requests)
				}
				if m != nil {
					t.Fatalf("%v %x: %v", p, b, m)
				}
			}
		}
	}
}

// TestBrokenDecodersCaught: each deliberately wrong decoder differs from
// wire on the seeds alone, so that go test (without -fuzz) already fails
// it, and the Mismatch says where.
func TestBrokenDecodersCaught(t *testing.T) {
	for _, c := range []struct {
		name    string
		profile wire.Profile
		replies bool
		u       userDecoder
	}{
		{"little-endian-size/replies", wire.Qt4, true, userDecoder{littleEndianSize: true}},
		{"little-endian-size/requests", wire.Qt5, false, userDecoder{littleEndianSize: true}},
		{"ignores-end-marker", wire.Qt4, true, userDecoder{ignoresEndMarker: true}},
		{"odd-strings/replies", wire.Qt5, true, userDecoder{acceptsOddStrings: true}},
		{"odd-strings/requests", wire.Qt4, false, userDecoder{acceptsOddStrings: true}},
		{"qt5-dates-as-qt4/replies", wire.Qt5, true, userDecoder{qt4Dates: true}},
		{"qt5-dates-as-qt4/requests", wire.Qt5, false, userDecoder{qt4Dates: true}},
		{"ignores-trailing-bytes", wire.Qt4, true, userDecoder{ignoresTrailingBytes: true}},
		{"bytes-after-end-ok", wire.Qt5, true, userDecoder{bytesAfterEndOK: true}},
		{"unclassified-errors", wire.Qt4, true, userDecoder{plainErrors: true}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.u.profile = c.profile
			name, m := checkSeeds(c.profile, c.replies, c.u)
			if m == nil {
				t.Fatalf("no seed tells %s from wire", c.name)
			}
			if m.Field == "" || m.Want == "" || m.Got == "" {
				t.Errorf("mismatch without a place or values: %#v", m)
			}
			t.Logf("seed %s: %v", name, m)
		})
	}
}

// TestMismatchPlace: the Mismatch names the field and its stream offset,
// as the suites do.
func TestMismatchPlace(t *testing.T) {
	seed := func(name string) []byte {
		for _, s := range append(ReplySeeds(), RequestSeeds()...) {
			if s.Name == name {
				return s.Bytes
			}
		}
		t.Fatalf("no seed %s", name)
		return nil
	}
	extra := func(u userDecoder) func([]byte) ([]wire.Trip, error) {
		return func(b []byte) ([]wire.Trip, error) {
			trips, err := u.Replies(b)
			return append(trips, wire.Trip{}), err
		}
	}
	missing := func(u userDecoder) func([]byte) ([]wire.Trip, error) {
		return func(b []byte) ([]wire.Trip, error) {
			trips, err := u.Replies(b)
			return trips[:len(trips)-1], err
		}
	}
	for _, c := range []struct {
		name     string
		profile  wire.Profile
		replies  func(userDecoder) func([]byte) ([]wire.Trip, error)
		requests func(userDecoder) func([]byte) ([]wire.Request, error)
		u        userDecoder
		stream   []byte
		field    string
		offset   int64
	}{
		// A Qt5 date read as 4 bytes (its high half, 0: null) by a decoder
		// that does not mind the 4 bytes left: a value differs, at the
		// date after type (1), from (4+12) and to (4+14).
		{"value", wire.Qt5, nil, userDecoder.requestsOf, userDecoder{qt4Dates: true, ignoresTrailingBytes: true}, seed("qt5-request-berlin-muenchen-dep"), "request[0].date", 2 + 1 + 16 + 18},
		// An odd string taken: the reference's fault, where it found it.
		{"odd-to", wire.Qt4, nil, userDecoder.requestsOf, userDecoder{acceptsOddStrings: true}, seed("qt4-illegal-request-odd-string"), "request[0].to", 2 + 1 + 16},
		{"odd-train-type", wire.Qt4, userDecoder.repliesOf, nil, userDecoder{acceptsOddStrings: true}, seed("qt4-illegal-trip-odd-string"), "trip[0].trainType", 2 + 4 + 4 + 2 + 1},
		// No end marker, taken as a whole reply: the end marker's place.
		{"no-end-marker", wire.Qt4, userDecoder.repliesOf, nil, userDecoder{ignoresEndMarker: true}, seed("qt4-trip-intercity-0900-123"), "end", 35},
		// A trip too many: where the reference found the end marker
		// (after one 35-byte block); a trip missing: that trip's block.
		{"extra-trip", wire.Qt4, extra, nil, userDecoder{}, seed("qt4-reply-berlin-muenchen-dep"), "trip[3]", 3 * 35},
		{"missing-trip", wire.Qt4, missing, nil, userDecoder{}, seed("qt4-reply-berlin-muenchen-dep"), "trip[2]", 2 * 35},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.u.profile = c.profile
			var m *Mismatch
			if c.replies != nil {
				m = CheckReplies(c.profile, c.stream, c.replies(c.u))
			} else {
				m = CheckRequests(c.profile, c.stream, c.requests(c.u))
			}
			if m == nil {
				t.Fatal("no mismatch")
			}
			if m.Field != c.field || m.Offset != c.offset {
				t.Errorf("mismatch at %s offset %d, want %s offset %d: %v", m.Field, m.Offset, c.field, c.offset, m)
			}
			t.Log(m)
		})
	}
}

func (u userDecoder) repliesOf() func([]byte) ([]wire.Trip, error)     { return u.Replies }
func (u userDecoder) requestsOf() func([]byte) ([]wire.Request, error) { return u.Requests }

// TestOptions: each option makes the comparison accept what the decoder
// does not model, and only that: without the option the same decoder is
// caught; with it, it agrees on every seed and on mutations.
func TestOptions(t *testing.T) {
	mine := errors.New("my decoder's own error")
	for _, c := range []struct {
		name string
		u    userDecoder
		opts []Option
	}{
		{"StopAtEndMarker", userDecoder{bytesAfterEndOK: true}, []Option{StopAtEndMarker()}},
		{"AnyError", userDecoder{plainErrors: true}, []Option{AnyError()}},
		// A decoder whose errors are its own: Classify reads them. Here
		// the model's plain errors all read as cut short, which is wrong
		// for corrupt blocks, so the option must still fail.
		{"Classify", userDecoder{plainErrors: true}, []Option{Classify(func(error) Class { return CutShort })}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for _, p := range wire.Profiles() {
				c.u.profile = p
				if _, m := checkSeeds(p, true, c.u); m == nil {
					t.Fatalf("%v: without %s, no seed tells the decoder from wire", p, c.name)
				}
				name, m := checkSeeds(p, true, c.u, c.opts...)
				if c.name == "Classify" {
					if m == nil || m.Got == "" {
						t.Fatalf("%v: Classify reading every error as cut short: no mismatch", p)
					}
					t.Logf("%v seed %s: %v", p, name, m)
					continue
				}
				if m != nil {
					t.Errorf("%v with %s: seed %s: %v", p, c.name, name, m)
				}
			}
		})
	}
	// Classify, used right: a decoder whose errors are its own values.
	u := userDecoder{profile: wire.Qt4}
	decode := func(stream []byte) ([]wire.Trip, error) {
		trips, err := u.Replies(stream)
		if err != nil {
			return trips, errors.Join(mine, &classedErr{ClassOf(err)})
		}
		return trips, nil
	}
	read := Classify(func(err error) Class {
		var ce *classedErr
		if errors.As(err, &ce) {
			return ce.c
		}
		return Unclassified
	})
	for _, s := range ReplySeeds() {
		if m := CheckReplies(wire.Qt4, s.Bytes, decode, read); m != nil {
			t.Fatalf("Classify: seed %s: %v", s.Name, m)
		}
	}
}

type classedErr struct{ c Class }

func (e *classedErr) Error() string { return e.c.String() }
