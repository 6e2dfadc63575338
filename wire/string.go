package wire

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// nullLength is the QString byte length of a null string.
const nullLength = 0xFFFFFFFF

// String is a QString as it travels: null, or a sequence of UTF-16 code
// units kept as raw big-endian bytes, so that lone surrogates and U+0000
// round-trip exactly. The zero value is the null string, as QString() is.
//
// A String decoded by ReadString or a decoder aliases the decoder's input:
// it is valid as long as that input is (see the decoder's doc). Clone copies.
type String struct {
	raw []byte // big-endian UTF-16; an odd length only by StrRaw
	set bool   // false: null
}

// NullString returns the null QString (the zero String).
func NullString() String { return String{} }

// Str returns the QString of a Go (UTF-8) string. Characters outside the BMP
// become surrogate pairs; invalid UTF-8 becomes U+FFFD. Str("") is the empty,
// non-null string.
func Str(s string) String {
	raw := make([]byte, 0, 2*len(s))
	for _, r := range s {
		if r >= 0x10000 {
			hi, lo := utf16.EncodeRune(r)
			raw = binary.BigEndian.AppendUint16(raw, uint16(hi))
			raw = binary.BigEndian.AppendUint16(raw, uint16(lo))
			continue
		}
		raw = binary.BigEndian.AppendUint16(raw, uint16(r))
	}
	return String{raw: raw, set: true}
}

// StrUnits returns the QString of the given UTF-16 code units, unchanged.
func StrUnits(units []uint16) String {
	raw := make([]byte, 0, 2*len(units))
	for _, u := range units {
		raw = binary.BigEndian.AppendUint16(raw, u)
	}
	return String{raw: raw, set: true}
}

// StrRaw returns a non-null QString whose data is raw, big-endian UTF-16
// bytes, not copied. An odd length makes a string that only an Encoder with
// AllowIllegalWrites will write.
func StrRaw(raw []byte) String {
	if raw == nil {
		raw = []byte{}
	}
	return String{raw: raw, set: true}
}

// IsNull reports whether s is the null QString.
func (s String) IsNull() bool { return !s.set }

// Len is QString::length(): the number of UTF-16 code units (0 when null).
func (s String) Len() int { return len(s.raw) / 2 }

// Raw returns the big-endian UTF-16 bytes (nil when null). Do not modify.
func (s String) Raw() []byte { return s.raw }

// Units returns the UTF-16 code units.
func (s String) Units() []uint16 {
	u := make([]uint16, len(s.raw)/2)
	for i := range u {
		u[i] = binary.BigEndian.Uint16(s.raw[2*i:])
	}
	return u
}

// Unit returns code unit i.
func (s String) Unit(i int) uint16 { return binary.BigEndian.Uint16(s.raw[2*i:]) }

// String converts to Go text for display: lone surrogates become U+FFFD and
// the null string becomes "". Use Quote to see null and lone surrogates.
func (s String) String() string {
	var b strings.Builder
	b.Grow(len(s.raw) / 2)
	n := len(s.raw) / 2
	for i := 0; i < n; i++ {
		u := s.Unit(i)
		if utf16.IsSurrogate(rune(u)) && i+1 < n {
			if r := utf16.DecodeRune(rune(u), rune(s.Unit(i+1))); r != utf8.RuneError {
				b.WriteRune(r)
				i++
				continue
			}
		}
		if utf16.IsSurrogate(rune(u)) {
			b.WriteRune(utf8.RuneError)
			continue
		}
		b.WriteRune(rune(u))
	}
	return b.String()
}

// Quote is an exact, readable form: null for the null string, otherwise a Go
// quoted string with lone surrogates written \ud800 and a stray odd byte
// written \x.., so that two Strings differ exactly when their Quotes do.
func (s String) Quote() string {
	if !s.set {
		return "null"
	}
	var b strings.Builder
	b.WriteByte('"')
	n := len(s.raw) / 2
	for i := 0; i < n; i++ {
		u := s.Unit(i)
		r := rune(u)
		if utf16.IsSurrogate(r) {
			if i+1 < n {
				if d := utf16.DecodeRune(r, rune(s.Unit(i+1))); d != utf8.RuneError {
					b.WriteString(strconv.QuoteRune(d)[1 : len(strconv.QuoteRune(d))-1])
					i++
					continue
				}
			}
			b.WriteString(`\u` + strconv.FormatUint(uint64(u), 16))
			continue
		}
		switch r {
		case '"': // QuoteRune leaves it bare, inside single quotes
			b.WriteString(`\"`)
		case '\'': // and escapes this one, which needs no escape here
			b.WriteByte('\'')
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	if len(s.raw)%2 == 1 {
		b.WriteString(`\x` + strconv.FormatUint(uint64(s.raw[len(s.raw)-1])|0x100, 16)[1:])
	}
	b.WriteByte('"')
	return b.String()
}

// Equal reports whether s and t are the same QString: both null, or both
// non-null with the same code units.
func (s String) Equal(t String) bool {
	return s.set == t.set && bytes.Equal(s.raw, t.raw)
}

// Clone returns a copy that owns its bytes.
func (s String) Clone() String {
	if !s.set {
		return s
	}
	return String{raw: bytes.Clone(s.raw), set: true}
}

// ByteLen is the QString length field: 0xFFFFFFFF when null.
func (s String) ByteLen() uint32 {
	if !s.set {
		return nullLength
	}
	return uint32(len(s.raw))
}

// WireSize is the number of bytes AppendString writes.
func (s String) WireSize() int { return 4 + len(s.raw) }

// AppendString appends a QString: the quint32 byte length (0xFFFFFFFF for
// null), then the UTF-16 units big-endian.
func AppendString(b []byte, s String) []byte {
	b = binary.BigEndian.AppendUint32(b, s.ByteLen())
	return append(b, s.raw...)
}

// ReadString reads a QString at b[off:] the way QDataStream does, and returns
// the offset after it. The result aliases b.
//   - 0xFFFFFFFF: the null string.
//   - an odd byte length: null, ErrOddStringLength (ReadCorruptData); the
//     returned offset is after the length field.
//   - data running past len(b): null, ErrPastEnd; offset len(b), for
//     QDataStream's readRawData consumes what there is.
//   - a length field cut short: empty (not null), ErrPastEnd; offset len(b).
func ReadString(b []byte, off int) (String, int, error) {
	if off < 0 || len(b)-off < 4 {
		return String{raw: []byte{}, set: true}, len(b), ErrPastEnd
	}
	n := binary.BigEndian.Uint32(b[off:])
	off += 4
	if n == nullLength {
		return String{}, off, nil
	}
	if n%2 != 0 {
		return String{}, off, ErrOddStringLength
	}
	if uint64(n) > uint64(len(b)-off) {
		return String{}, len(b), ErrPastEnd
	}
	end := off + int(n)
	return String{raw: b[off:end:end], set: true}, end, nil
}
