package fuzz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"testing"
	"unicode/utf8"

	"github.com/tripcheck/tripcheck/wire"
)

// short reports whether a field of n bytes at off does not fit in b: the
// readers' ErrPastEnd case.
func short(b []byte, off, n int) bool { return off < 0 || off > len(b) || len(b)-off < n }

// checkNext checks the offset a field reader returns.
func checkNext(t *testing.T, next, want, n int) {
	// No t.Helper: fuzzing calls this for every input, and Helper walks the stack.
	if next != want || next < 0 || next > n {
		t.Fatalf("next offset %d, want %d (input %d bytes)", next, want, n)
	}
}

// FuzzReadString checks ReadString against PROTOCOL.md's QString rules at
// any offset, and the re-encoding and text forms of what it reads.
func FuzzReadString(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, off int) {
		s, next, err := wire.ReadString(data, off)
		if short(data, off, 4) {
			// A length field cut short reads as empty, not null.
			if !errors.Is(err, wire.ErrPastEnd) || s.IsNull() || s.Len() != 0 {
				t.Fatalf("length cut short: %s, %v", s.Quote(), err)
			}
			checkNext(t, next, len(data), len(data))
			return
		}
		n := binary.BigEndian.Uint32(data[off:])
		switch {
		case n == 0xFFFFFFFF:
			if err != nil || !s.IsNull() {
				t.Fatalf("length 0xFFFFFFFF: %s, %v; want null", s.Quote(), err)
			}
			checkNext(t, next, off+4, len(data))
		case n%2 == 1:
			if !errors.Is(err, wire.ErrOddStringLength) || !errors.Is(err, wire.ErrCorrupt) || !s.IsNull() {
				t.Fatalf("odd length %d: %s, %v; want null, ErrOddStringLength", n, s.Quote(), err)
			}
			checkNext(t, next, off+4, len(data))
		case uint64(n) > uint64(len(data)-off-4):
			// QDataStream's readRawData consumes what there is.
			if !errors.Is(err, wire.ErrPastEnd) || !s.IsNull() {
				t.Fatalf("length %d past the end: %s, %v; want null, ErrPastEnd", n, s.Quote(), err)
			}
			checkNext(t, next, len(data), len(data))
		default:
			end := off + 4 + int(n)
			if err != nil || s.IsNull() || !bytes.Equal(s.Raw(), data[off+4:end]) || s.Len() != int(n)/2 {
				t.Fatalf("length %d: %s, %v", n, s.Quote(), err)
			}
			if cap(s.Raw()) != len(s.Raw()) || !within(s.Raw(), data) {
				t.Fatalf("string data does not alias the input exactly")
			}
			checkNext(t, next, end, len(data))
		}
		if err != nil {
			return
		}
		if got := wire.AppendString(nil, s); !bytes.Equal(got, data[off:next]) || s.WireSize() != next-off {
			t.Fatalf("re-encoded %x, read %x", got, data[off:next])
		}
		if s.IsNull() {
			return
		}
		if u := wire.StrUnits(s.Units()); !u.Equal(s) || u.Quote() != s.Quote() {
			t.Fatalf("units round trip: %s, %s", u.Quote(), s.Quote())
		}
		if c := s.Clone(); !c.Equal(s) || (s.Len() > 0 && within(c.Raw(), data)) {
			t.Fatalf("Clone %s of %s does not own an equal copy", c.Quote(), s.Quote())
		}
		if txt := s.String(); !utf8.ValidString(txt) {
			t.Fatalf("String() %q is not UTF-8", txt)
		}
		// Go text of a string without lone surrogates comes back unchanged.
		if !loneSurrogate(s.Units()) {
			if back := wire.Str(s.String()); !back.Equal(s) {
				t.Fatalf("Str(String()) = %s, want %s", back.Quote(), s.Quote())
			}
		}
	})
}

func loneSurrogate(units []uint16) bool {
	for i := 0; i < len(units); i++ {
		switch u := units[i]; {
		case u >= 0xD800 && u < 0xDC00:
			if i+1 >= len(units) || units[i+1] < 0xDC00 || units[i+1] >= 0xE000 {
				return true
			}
			i++
		case u >= 0xDC00 && u < 0xE000:
			return true
		}
	}
	return false
}

// FuzzReadDate checks ReadDate in the profile qt5 picks against
// PROTOCOL.md's QDate rules at any offset, the re-encoding, the 32-bit cut of
// qt4, and the text and civil forms of what it reads.
func FuzzReadDate(f *testing.F) {
	f.Fuzz(func(t *testing.T, qt5 bool, data []byte, off int) {
		p := profileOf(qt5)
		d, next, err := p.ReadDate(data, off)
		n := p.DateSize()
		if short(data, off, n) {
			// qt4 reads 0, the null date; qt5 reads Julian Day 0, a date.
			if !errors.Is(err, wire.ErrPastEnd) || d.IsNull() != !qt5 || (qt5 && d.JD() != 0) {
				t.Fatalf("date cut short: %v, %v", d, err)
			}
			checkNext(t, next, len(data), len(data))
			return
		}
		if err != nil {
			t.Fatalf("whole date: %v", err)
		}
		checkNext(t, next, off+n, len(data))
		var jd int64
		var null bool
		if qt5 {
			jd = int64(binary.BigEndian.Uint64(data[off:]))
			null = jd == math.MinInt64
		} else {
			jd = int64(binary.BigEndian.Uint32(data[off:]))
			null = jd == 0
		}
		if d.IsNull() != null || (!null && d.JD() != jd) || (null && d.JD() != math.MinInt64) {
			t.Fatalf("read %v (jd %d), wire holds %d", d, d.JD(), jd)
		}
		if got := p.AppendDate(nil, d); !bytes.Equal(got, data[off:next]) {
			t.Fatalf("re-encoded %x, read %x", got, data[off:next])
		}
		// qt4 cuts the Julian Day to 32 bits, and 0 reads back null.
		b4 := wire.Qt4.AppendDate(nil, d)
		d4, _, _ := wire.Qt4.ReadDate(b4, 0)
		if want := uint32(d.JD()); d.IsNull() || want == 0 {
			if !d4.IsNull() {
				t.Fatalf("%v through qt4: %v, want null", d, d4)
			}
		} else if d4.JD() != int64(want) {
			t.Fatalf("%v through qt4: jd %d, want %d", d, d4.JD(), want)
		}
		// The text form reads back.
		back, err := wire.ParseDate(d.String())
		if err != nil || back != d {
			t.Fatalf("ParseDate(%q) = %v, %v; want %v", d.String(), back, err, d)
		}
		if d.IsValid() {
			y, m, day := d.Civil()
			if c := wire.DateOf(int(y), m, day); c != d {
				t.Fatalf("DateOf(Civil()) of %v (jd %d) = %v (jd %d)", d, d.JD(), c, c.JD())
			}
		}
	})
}

// FuzzReadTime checks ReadTime against PROTOCOL.md's QTime rules at any
// offset, the re-encoding, hour() and the text forms.
func FuzzReadTime(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, off int) {
		tm, next, err := wire.ReadTime(data, off)
		if short(data, off, 4) {
			// Cut short, it reads as 00:00:00.000.
			if !errors.Is(err, wire.ErrPastEnd) || tm.IsNull() || tm.Wire() != 0 {
				t.Fatalf("time cut short: %v, %v", tm, err)
			}
			checkNext(t, next, len(data), len(data))
			return
		}
		if err != nil {
			t.Fatalf("whole time: %v", err)
		}
		checkNext(t, next, off+4, len(data))
		ms := binary.BigEndian.Uint32(data[off:])
		valid := ms < 86_400_000
		if tm.Wire() != ms || tm.IsNull() != (ms == 0xFFFFFFFF) || tm.IsValid() != valid {
			t.Fatalf("read %v from %#x", tm, ms)
		}
		wantHour := -1
		if valid {
			wantHour = int(ms / 3_600_000)
		}
		if tm.Hour() != wantHour {
			t.Fatalf("%v: hour %d, want %d", tm, tm.Hour(), wantHour)
		}
		if got := wire.AppendTime(nil, tm); !bytes.Equal(got, data[off:next]) {
			t.Fatalf("re-encoded %x, read %x", got, data[off:next])
		}
		back, err := wire.ParseTime(tm.String())
		if err != nil || back != tm {
			t.Fatalf("ParseTime(%q) = %v, %v; want %v", tm.String(), back, err, tm)
		}
		if valid {
			h, m, s, z := int(ms/3_600_000), int(ms/60_000%60), int(ms/1000%60), int(ms%1000)
			if c := wire.TimeOf(h, m, s, z); c != tm {
				t.Fatalf("TimeOf(%d, %d, %d, %d) = %v, want %v", h, m, s, z, c, tm)
			}
		}
	})
}

// FuzzReadInts checks ReadUint8, ReadUint16, ReadUint32 and ReadInt64 at any
// offset: big-endian, 0 and ErrPastEnd when cut short, re-encoded exactly.
func FuzzReadInts(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, off int) {
		check := func(name string, n int, v uint64, next int, err error, enc []byte) {
			// No t.Helper: fuzzing calls this for every input, and Helper walks the stack.
			if short(data, off, n) {
				if v != 0 || !errors.Is(err, wire.ErrPastEnd) {
					t.Fatalf("%s cut short: %d, %v", name, v, err)
				}
				checkNext(t, next, len(data), len(data))
				return
			}
			var want uint64
			for _, c := range data[off : off+n] {
				want = want<<8 | uint64(c)
			}
			if err != nil || v != want {
				t.Fatalf("%s: %d, %v; want %d", name, v, err, want)
			}
			checkNext(t, next, off+n, len(data))
			if !bytes.Equal(enc, data[off:off+n]) {
				t.Fatalf("%s re-encoded %x, read %x", name, enc, data[off:off+n])
			}
		}
		v8, n8, e8 := wire.ReadUint8(data, off)
		check("quint8", 1, uint64(v8), n8, e8, wire.AppendUint8(nil, v8))
		v16, n16, e16 := wire.ReadUint16(data, off)
		check("quint16", 2, uint64(v16), n16, e16, wire.AppendUint16(nil, v16))
		v32, n32, e32 := wire.ReadUint32(data, off)
		check("quint32", 4, uint64(v32), n32, e32, wire.AppendUint32(nil, v32))
		v64, n64, e64 := wire.ReadInt64(data, off)
		check("qint64", 8, uint64(v64), n64, e64, wire.AppendInt64(nil, v64))
	})
}
