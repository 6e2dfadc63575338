package wire

import "encoding/binary"

// Announced reads the size field at the start of b: the payload length the
// block there announces, or EndMarker for the end marker. ok is false when b
// holds less than the two bytes of the size field. Code that needs to know
// what a stream announces, outside a Decoder, asks here rather than reading
// the field by hand.
func Announced(b []byte) (size int, ok bool) {
	if len(b) < 2 {
		return 0, false
	}
	return int(binary.BigEndian.Uint16(b)), true
}

// BlockLen is the length on the wire of a block whose size field is size:
// the size field and the payload, or 2 for the end marker.
func BlockLen(size int) int {
	if size == EndMarker {
		return 2
	}
	return 2 + size
}

// LooksLikeTrip reports whether payload (a block without its size field)
// begins with the fields of a trip in some profile, and which: every field
// inside the payload, the departure a valid or null time. Bytes left over
// after the last field are allowed, so a peer that speaks Trip with a wrong
// block size still looks like one; text (an HTTP status line) and random
// bytes almost never do, since the train type's length field must fit the
// payload. A payload that fits both profiles gives the first.
func LooksLikeTrip(payload []byte) (Profile, bool) {
	for _, p := range Profiles {
		var t Trip
		fe := p.decodeTrip(payload, &t)
		if fe.err != nil && fe.err != ErrTrailingBytes {
			continue
		}
		if t.Departure.IsNull() || t.Departure.IsValid() {
			return p, true
		}
	}
	return 0, false
}

// Partial is a block a Decoder holds in part: the stream ended, stalled or
// was cut off inside it.
type Partial struct {
	// Offset is the stream offset of the block's size field.
	Offset int64
	// Size is the payload length the block announces, or -1 when the size
	// field itself is incomplete.
	Size int
	// Have is how many of the announced payload bytes came.
	Have int
}

// Partial describes the block d holds in part, if any: bytes fed that do
// not complete a block. It does not consume anything. After the end marker,
// or after a stream error, there is no partial block.
func (d *Decoder) Partial() (Partial, bool) {
	if d.failed != nil || d.ended {
		return Partial{}, false
	}
	n := len(d.pend) + len(d.in)
	if n == 0 {
		return Partial{}, false
	}
	var head [2]byte
	k := copy(head[:], d.pend)
	copy(head[k:], d.in)
	size, ok := Announced(head[:min(n, 2)])
	if !ok {
		return Partial{Offset: d.off, Size: -1}, true
	}
	if n >= BlockLen(size) {
		// A whole block is buffered: Next has not been called for it.
		return Partial{}, false
	}
	return Partial{Offset: d.off, Size: size, Have: n - 2}, true
}
