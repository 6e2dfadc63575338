package wire_test

import (
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

func TestAnnounced(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		size int
		ok   bool
	}{
		{"empty", "", 0, false},
		{"one byte", "00", 0, false},
		{"size", "0064ab", 100, true},
		{"end marker", "ffff", wire.EndMarker, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			size, ok := wire.Announced(unhex(t, c.in))
			if size != c.size || ok != c.ok {
				t.Errorf("Announced(%s) = %d, %v; want %d, %v", c.in, size, ok, c.size, c.ok)
			}
		})
	}
	if n := wire.BlockLen(wire.EndMarker); n != 2 {
		t.Errorf("BlockLen(EndMarker) = %d, want 2", n)
	}
	if n := wire.BlockLen(100); n != 102 {
		t.Errorf("BlockLen(100) = %d, want 102", n)
	}
}

func TestLooksLikeTrip(t *testing.T) {
	trip := wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")}
	for _, p := range wire.Profiles {
		b, err := p.AppendTrip(nil, &trip)
		if err != nil {
			t.Fatal(err)
		}
		payload := b[2:]
		if got, ok := wire.LooksLikeTrip(payload); !ok || got != p {
			t.Errorf("%v trip: LooksLikeTrip = %v, %v; want %v, true", p, got, ok, p)
		}
		// A block one byte too long (a size off by one) still looks like a trip.
		if _, ok := wire.LooksLikeTrip(append(payload[:len(payload):len(payload)], 0xff)); !ok {
			t.Errorf("%v trip with a byte left over: does not look like a trip", p)
		}
	}
	for _, c := range []struct {
		name    string
		payload []byte
	}{
		{"empty", nil},
		{"http", []byte("/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")},
		{"string past the payload", unhex(t, "00258eba01ee6280002c0100000100")},
		{"departure out of range", unhex(t, "00258eba"+"ffff0000"+"002c01"+"00000000")},
	} {
		if p, ok := wire.LooksLikeTrip(c.payload); ok {
			t.Errorf("%s: looks like a %v trip", c.name, p)
		}
	}
}

func TestDecoderPartial(t *testing.T) {
	trip := unhex(t, tripQt4)
	for _, c := range []struct {
		name string
		in   []byte
		want wire.Partial
		ok   bool
	}{
		{"nothing", nil, wire.Partial{}, false},
		{"whole trip", trip, wire.Partial{}, false},
		{"one byte of a size", trip[:1], wire.Partial{Offset: 0, Size: -1}, true},
		{"cut payload", trip[:7], wire.Partial{Offset: 0, Size: len(trip) - 2, Have: 5}, true},
		{"second block cut", append(append([]byte{}, trip...), trip[:4]...), wire.Partial{Offset: int64(len(trip)), Size: len(trip) - 2, Have: 2}, true},
		{"after the end marker", append(append([]byte{}, trip...), 0xff, 0xff), wire.Partial{}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			// Fed whole and fed a byte at a time, the answer is the same.
			for _, step := range []int{len(c.in) + 1, 1} {
				d := wire.NewDecoder(wire.Qt4, wire.Replies)
				for i := 0; i < len(c.in); i += step {
					d.Feed(c.in[i:min(i+step, len(c.in))])
					var m wire.Message
					for d.Next(&m) == nil {
					}
				}
				got, ok := d.Partial()
				if got != c.want || ok != c.ok {
					t.Errorf("fed in steps of %d: Partial() = %+v, %v; want %+v, %v", step, got, ok, c.want, c.ok)
				}
			}
		})
	}
}
