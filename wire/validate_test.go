package wire_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/wire"
)

// TestIllegalReadsOffsets takes real Qt encodings, makes one value illegal
// in place, and checks that a Decoder with AllowIllegalReads(false) names
// the field at its exact stream offset, in every split of the stream, and
// that the default decoder lets the value through. The offsets are counted
// by hand from the vectors' layouts: they differ by profile because the
// qt5 date is 4 bytes longer.
func TestIllegalReadsOffsets(t *testing.T) {
	vec := func(profile, kind, label string) []byte {
		v, err := qtvectors.Lookup(profile, kind, label)
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Clone(v.Bytes)
	}
	put32 := func(b []byte, off int, v uint32) []byte { binary.BigEndian.PutUint32(b[off:], v); return b }
	put8 := func(b []byte, off int, v byte) []byte { b[off] = v; return b }
	cases := []struct {
		name   string
		p      wire.Profile
		dir    wire.Direction
		stream []byte
		field  string
		off    int64
		err    error
	}{
		// qt4 request: size 2, type 1, from 4+12, to 4+14, date 4, time 4, flag 1.
		{"qt4/request/flag", wire.Qt4, wire.Requests, put8(vec("qt4", "request", "berlin-muenchen-dep"), 45, 'X'), "request[0].flag", 45, wire.ErrBadFlag},
		{"qt4/request/time", wire.Qt4, wire.Requests, put32(vec("qt4", "request", "berlin-muenchen-dep"), 41, 86400000), "request[0].time", 41, wire.ErrInvalidTime},
		{"qt4/request/type", wire.Qt4, wire.Requests, put8(vec("qt4", "request", "berlin-muenchen-dep"), 2, 'Q'), "request[0].type", 2, wire.ErrUnknownType},
		{"qt5/request/flag", wire.Qt5, wire.Requests, put8(vec("qt5", "request", "berlin-muenchen-dep"), 49, 'X'), "request[0].flag", 49, wire.ErrBadFlag},
		{"qt5/request/time", wire.Qt5, wire.Requests, put32(vec("qt5", "request", "berlin-muenchen-dep"), 45, 86400000), "request[0].time", 45, wire.ErrInvalidTime},
		// qt4 reply: trips of 35 bytes; trip[1] at 35, its departure after
		// the size and the 4-byte date. qt5: 39-byte trips, 8-byte date.
		{"qt4/reply/departure", wire.Qt4, wire.Replies, put32(vec("qt4", "reply", "berlin-muenchen-dep"), 35+2+4, 86400000), "trip[1].departure", 41, wire.ErrInvalidTime},
		{"qt5/reply/departure", wire.Qt5, wire.Replies, put32(vec("qt5", "reply", "berlin-muenchen-dep"), 39+2+8, 0xFFFFFFFE), "trip[1].departure", 49, wire.ErrInvalidTime},
		{"qt6/reply/departure", wire.Qt5, wire.Replies, put32(vec("qt6", "reply", "berlin-muenchen-dep"), 2*39+2+8, 86400000), "trip[2].departure", 88, wire.ErrInvalidTime},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, step := range []int{len(c.stream), 1, 3} {
				var faults []*wire.DecodeError
				messages := 0
				d := wire.NewDecoder(c.p, c.dir)
				d.AllowIllegalReads(false)
				for at := 0; at < len(c.stream); at += step {
					d.Feed(c.stream[at:min(at+step, len(c.stream))])
					for {
						var m wire.Message
						err := d.Next(&m)
						if err == wire.ErrNeedMore {
							break
						}
						messages++
						var de *wire.DecodeError
						if !errors.As(err, &de) {
							if err != nil {
								t.Fatalf("step %d: %v", step, err)
							}
							continue
						}
						faults = append(faults, de)
					}
				}
				if err := d.Close(); err != nil && c.dir == wire.Replies {
					t.Fatalf("step %d: close: %v", step, err)
				}
				if len(faults) != 1 {
					t.Fatalf("step %d: %d faults %v, want 1", step, len(faults), faults)
				}
				f := faults[0]
				if f.Field != c.field || f.Offset != c.off || !errors.Is(f, c.err) {
					t.Errorf("step %d: got %s %d %v, want %s %d %v", step, f.Field, f.Offset, f.Err, c.field, c.off, c.err)
				}
				if want := map[wire.Direction]int{wire.Requests: 1, wire.Replies: 4}[c.dir]; messages != want {
					t.Errorf("step %d: %d messages, want %d: the stream must go on after an illegal value", step, messages, want)
				}
			}
			// The default decoder reads the value as QDataStream does.
			if _, err := decodeSplit(c.p, c.dir, c.stream, nil); err != nil {
				t.Fatalf("default decoder: %v", err)
			}
		})
	}
}

// TestValidateOffsets checks that Profile.ValidateRequest/ValidateTrip
// give the payload offset of the field at fault, by profile, and that the
// profile-free Validate gives the field with offset -1.
func TestValidateOffsets(t *testing.T) {
	r := wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("München"), Date: wire.DateOf(2026, 11, 25), Time: wire.TimeMS(32400000), Flag: 'X'}
	tr := wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeMS(86400000), TrainType: wire.Str("ICE")}
	odd := wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeMS(0), TrainType: wire.StrRaw([]byte{0, 'I', 0})}
	cases := []struct {
		name  string
		err   error
		field string
		off   int64
		is    error
	}{
		{"qt4 flag", wire.Qt4.ValidateRequest(&r), "request.flag", 43, wire.ErrBadFlag},
		{"qt5 flag", wire.Qt5.ValidateRequest(&r), "request.flag", 47, wire.ErrBadFlag},
		{"no profile flag", r.Validate(), "request.flag", -1, wire.ErrBadFlag},
		{"qt4 departure", wire.Qt4.ValidateTrip(&tr), "trip.departure", 4, wire.ErrInvalidTime},
		{"qt5 departure", wire.Qt5.ValidateTrip(&tr), "trip.departure", 8, wire.ErrInvalidTime},
		{"qt4 odd train type", wire.Qt4.ValidateTrip(&odd), "trip.trainType", 11, wire.ErrOddStringLength},
		{"qt5 odd train type", wire.Qt5.ValidateTrip(&odd), "trip.trainType", 15, wire.ErrOddStringLength},
	}
	for _, c := range cases {
		var de *wire.DecodeError
		if !errors.As(c.err, &de) {
			t.Errorf("%s: %v, want a *DecodeError", c.name, c.err)
			continue
		}
		if de.Field != c.field || de.Offset != c.off || !errors.Is(de, c.is) {
			t.Errorf("%s: got %s %d %v, want %s %d %v", c.name, de.Field, de.Offset, de.Err, c.field, c.off, c.is)
		}
	}
	// Offsets agree with the encoding: the byte there is the field's.
	b, err := wire.Encoder{Profile: wire.Qt5, AllowIllegalWrites: true}.AppendRequest(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	if b[2+47] != 'X' {
		t.Errorf("byte at the flag's offset is %#x, want 'X'", b[2+47])
	}
}
