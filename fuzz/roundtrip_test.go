package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// FuzzReencode decodes the input as a stream in each profile and encodes
// every block that decodes (bytes left over included, given back as
// Trailing) again: the bytes must be the block's, exactly; and a stream
// that decodes to its clean end re-encodes to the input.
func FuzzReencode(f *testing.F) {
	f.Fuzz(func(t *testing.T, replies bool, data []byte) {
		dir := directionOf(replies)
		for _, p := range wire.Profiles() {
			d := wire.NewDecoder(p, dir)
			d.Feed(data)
			var out []byte
			whole := true // every block re-encoded
			for {
				var m wire.Message
				err := d.Next(&m)
				if err == wire.ErrNeedMore {
					break
				}
				if terminal(err) {
					whole = false
					break
				}
				if err != nil && !errors.Is(err, wire.ErrTrailingBytes) {
					whole = false // a corrupt field: nothing to re-encode
					continue
				}
				var trailing []byte
				if err != nil {
					de := decodeError(t, err, m.Offset+2, m.Offset+int64(len(m.Bytes))-1, wire.ErrTrailingBytes)
					trailing = m.Bytes[de.Offset-m.Offset:]
				}
				b := reencode(t, p, &m, trailing)
				if !bytes.Equal(b, m.Bytes) {
					t.Fatalf("%v: %s at %d re-encodes as\n%x, read\n%x", p, m.Path(), m.Offset, b, m.Bytes)
				}
				out = append(out, b...)
			}
			if whole && d.Close() == nil && !bytes.Equal(out, data) {
				t.Fatalf("%v: the stream re-encodes as\n%x, read\n%x", p, out, data)
			}
		}
	})
}

// reencode encodes a decoded message again, with the bytes that were left
// over in its block, and checks the sizes and the strict encoder.
func reencode(t *testing.T, p wire.Profile, m *wire.Message, trailing []byte) []byte {
	// No t.Helper: fuzzing calls this for every input, and Helper walks the stack.
	enc := wire.Encoder{Profile: p, AllowIllegalWrites: true, Trailing: trailing}
	var b []byte
	var err, invalid, strict error
	var size int
	switch m.Kind {
	case wire.KindEnd:
		return wire.AppendEnd(nil)
	case wire.KindRequest:
		b, err = enc.AppendRequest(nil, &m.Request)
		size, invalid = p.RequestSize(&m.Request), m.Request.Validate()
		_, strict = p.AppendRequest(nil, &m.Request)
	case wire.KindTrip:
		b, err = enc.AppendTrip(nil, &m.Trip)
		size, invalid = p.TripSize(&m.Trip), m.Trip.Validate()
		_, strict = p.AppendTrip(nil, &m.Trip)
	}
	if err != nil {
		t.Fatalf("%v: re-encoding %s: %v", p, m.Path(), err)
	}
	if size+len(trailing) != m.Size {
		t.Fatalf("%v: %s: computed size %d + %d left over, block size %d", p, m.Path(), size, len(trailing), m.Size)
	}
	// The strict encoder refuses exactly what Validate refuses.
	if (invalid != nil) != errors.Is(strict, wire.ErrIllegalWrite) || invalid == nil && strict != nil {
		t.Fatalf("%v: %s: Validate %v, strict encoder %v", p, m.Path(), invalid, strict)
	}
	return b
}

// FuzzEncodeDecode encodes a request or a trip made of any field values,
// and decodes it again: the values come back as QDataStream reads them (a
// qt4 date cut to 32 bits, 0 read as null), or, for an odd string, as
// ErrOddStringLength at that string. The size field is the payload's.
//
// For a request: type c, from a and to b (null if x has bit 0 or bit 1
// set), date, time ms, flag x>>8. For a trip: date, departure ms, duration
// x, changes c, train type a (null if b is one byte long).
func FuzzEncodeDecode(f *testing.F) {
	f.Fuzz(func(t *testing.T, qt5, trip bool, a, b []byte, date int64, ms uint32, x uint16, c byte) {
		p := profileOf(qt5)
		enc := wire.Encoder{Profile: p, AllowIllegalWrites: true}
		str := func(raw []byte, null bool) wire.String {
			if null {
				return wire.NullString()
			}
			return wire.StrRaw(raw)
		}
		var blk []byte
		var err error
		var size, oddAt int
		var odd string
		var r wire.Request
		var tr wire.Trip
		if trip {
			tr = wire.Trip{Date: wire.DateJD(date), Departure: wire.TimeMS(ms), Duration: x, Changes: c, TrainType: str(a, len(b) == 1)}
			size = p.TripSize(&tr)
			blk, err = enc.AppendTrip(nil, &tr)
			if len(tr.TrainType.Raw())%2 == 1 {
				odd, oddAt = "trip.trainType", p.DateSize()+7
			}
		} else {
			r = wire.Request{Type: c, From: str(a, x&1 != 0), To: str(b, x&2 != 0), Date: wire.DateJD(date), Time: wire.TimeMS(ms), Flag: byte(x >> 8)}
			size = p.RequestSize(&r)
			blk, err = enc.AppendRequest(nil, &r)
			switch {
			case len(r.From.Raw())%2 == 1:
				odd, oddAt = "request.from", 1
			case len(r.To.Raw())%2 == 1:
				odd, oddAt = "request.to", 1+r.From.WireSize()
			}
		}
		if size > wire.MaxPayload {
			if !errors.Is(err, wire.ErrBlockTooLarge) || blk != nil {
				t.Fatalf("payload of %d bytes: %v", size, err)
			}
			return
		}
		if err != nil || len(blk) != 2+size || int(binary.BigEndian.Uint16(blk)) != size {
			t.Fatalf("encoded %d bytes, size field %x, for a payload of %d: %v", len(blk), blk[:min(2, len(blk))], size, err)
		}
		// What a reader gets back: the date as the profile carries it.
		want := wire.DateJD(date)
		if p == wire.Qt4 {
			if jd := uint32(date); date == wire.NullDate().JD() || jd == 0 {
				want = wire.NullDate()
			} else {
				want = wire.DateJD(int64(jd))
			}
		}
		var derr error
		var same bool
		if trip {
			var got wire.Trip
			derr = p.DecodeTrip(blk[2:], &got)
			tr.Date = want
			same = got.Equal(&tr)
		} else {
			var got wire.Request
			derr = p.DecodeRequest(blk[2:], &got)
			r.Date = want
			same = got.Equal(&r)
		}
		if odd != "" {
			de := decodeError(t, derr, int64(oddAt), int64(oddAt), wire.ErrOddStringLength)
			if de.Field != odd {
				t.Fatalf("odd string: %v, want it in %s", derr, odd)
			}
			return
		}
		if derr != nil || !same {
			t.Fatalf("%v: decoded with %v; values differ (request %s, trip %s)", p, derr, r.String(), tr.String())
		}
	})
}
