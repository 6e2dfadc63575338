package wire_test

import (
	"encoding/hex"
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
	for _, p := range wire.Profiles() {
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

func TestFirstBlock(t *testing.T) {
	for _, c := range []struct {
		name, in, want string
		ok             bool
	}{
		{"empty", "", "", false},
		{"one byte", "00", "", false},
		{"end marker", "ffff00", "ffff", true},
		{"whole", "0002abcd01", "0002abcd", true},
		{"cut short", "0003abcd", "", false},
		{"empty block", "0000ff", "0000", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			b, ok := wire.FirstBlock(unhex(t, c.in))
			if ok != c.ok || hex.EncodeToString(b) != c.want {
				t.Errorf("FirstBlock(%s) = %x, %v; want %s, %v", c.in, b, ok, c.want, c.ok)
			}
		})
	}
}

func TestBlockOffset(t *testing.T) {
	stream := unhex(t, "0001aa"+"0002bbbb"+"ffff")
	for _, c := range []struct {
		b    []byte
		i    int
		want int
	}{
		{stream, 0, 0},
		{stream, 1, 3},
		{stream, 2, 7},
		{stream, 3, 9},
		{stream, 9, 9},     // past the end: stops after the last size field
		{stream[:8], 3, 7}, // the third size field is cut: stops at it
		{stream[:5], 3, 7}, // the second block is cut: its size still counts
		{nil, 2, 0},
	} {
		if got := wire.BlockOffset(c.b, c.i); got != c.want {
			t.Errorf("BlockOffset(%x, %d) = %d, want %d", c.b, c.i, got, c.want)
		}
	}
}

func TestLooksLikeRequest(t *testing.T) {
	req := wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("Hamburg"), Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
	for _, p := range wire.Profiles() {
		b, err := p.AppendRequest(nil, &req)
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n <= len(b); n++ {
			looks, decided := wire.LooksLikeRequest(b[:n], false)
			want := n >= 7
			if looks != want || decided != want {
				t.Errorf("%v request, first %d bytes: LooksLikeRequest = %v, %v; want %v, %v", p, n, looks, decided, want, want)
			}
		}
		if looks, decided := wire.LooksLikeRequest(b[:6], true); looks || !decided {
			t.Errorf("%v request cut at 6 bytes, ended: = %v, %v; want false, true", p, looks, decided)
		}
	}
	for _, c := range []struct{ name, in string }{
		{"too small", "0011530000"},
		{"end marker", "ffff"},
		{"not S", "00205400000000"},
		{"http", hex.EncodeToString([]byte("GET / HTTP/1.1\r\n"))},
		{"string longer than the block", "00205300000021"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if looks, decided := wire.LooksLikeRequest(unhex(t, c.in), false); looks || !decided {
				t.Errorf("LooksLikeRequest(%s) = %v, %v; want false, true", c.in, looks, decided)
			}
		})
	}
	if looks, _ := wire.LooksLikeRequest(unhex(t, "0020"+"53"+"ffffffff"), false); !looks {
		t.Error("a null first string: does not look like a request")
	}
}

func TestDetectExchange(t *testing.T) {
	req := wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("Hamburg"), Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
	trip := wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")}
	for _, p := range wire.Profiles() {
		up, err := p.AppendRequest(nil, &req)
		if err != nil {
			t.Fatal(err)
		}
		down, err := p.AppendTrip(nil, &trip)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			name     string
			up, down []byte
			want     wire.Exchange
		}{
			{"request", up, nil, wire.Exchange{Profile: p, By: wire.KindRequest, RequestWhole: true}},
			{"request decides over the trip", up, []byte{0, 0}, wire.Exchange{Profile: p, By: wire.KindRequest, RequestWhole: true}},
			{"request cut, trip", up[:len(up)-1], down, wire.Exchange{Profile: p, By: wire.KindTrip}},
			{"end marker as request, trip", []byte{0xff, 0xff}, down, wire.Exchange{Profile: p, By: wire.KindTrip, RequestWhole: true}},
			{"request fits none, trip", append(up[:len(up):len(up)], 0), down, wire.Exchange{Profile: p, By: wire.KindTrip, RequestWhole: true}},
			{"nothing", nil, down[:len(down)-1], wire.Exchange{}},
		} {
			t.Run(p.String()+"/"+c.name, func(t *testing.T) {
				if c.name == "request fits none, trip" {
					c.up[1]++ // the size covers the extra byte: a trailing byte fits no profile
				}
				if got := wire.DetectExchange(c.up, c.down); got != c.want {
					t.Errorf("DetectExchange = %+v, want %+v", got, c.want)
				}
			})
		}
	}
	// The trip of TestDetectAmbiguous fits both profiles: it decides, with
	// Ambiguous set and the first profile taken.
	both := unhex(t, "0013"+"00000000"+"00000000"+"0000"+"00"+"00000004"+"00000000")
	want := wire.Exchange{Profile: wire.Profiles()[0], By: wire.KindTrip, Ambiguous: true}
	if got := wire.DetectExchange(nil, both); got != want {
		t.Errorf("ambiguous trip: DetectExchange = %+v, want %+v", got, want)
	}
}
