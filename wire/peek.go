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
	for _, p := range Profiles() {
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

// FirstBlock returns the first whole block at the start of b, size field
// included (the end marker alone is a block of two bytes); ok is false when
// b does not hold all of it yet.
func FirstBlock(b []byte) (block []byte, ok bool) {
	size, ok := Announced(b)
	if !ok || BlockLen(size) > len(b) {
		return nil, false
	}
	return b[:BlockLen(size)], true
}

// BlockOffset is the stream offset of the size field of block i (from 0)
// of stream b, walking the size fields of the blocks before it. Where b
// does not hold the size field of a block before i, the walk stops there
// and returns that block's offset.
func BlockOffset(b []byte, i int) int {
	off := 0
	for k := 0; k < i; k++ {
		size, ok := Announced(b[min(off, len(b)):])
		if !ok {
			break
		}
		off += BlockLen(size)
	}
	return off
}

// minRequestSize is the payload size of the smallest request: the type,
// two null strings, the qt4 date and the time and flag.
const minRequestSize = 1 + 4 + 4 + 4 + 4 + 1

// LooksLikeRequest says whether stream b starts like a Trip request: a
// size of at least the smallest request's and not the end marker, the type
// 'S', and a first string length that is null or fits the block. decided
// is false while b is too short to say and more bytes may come; ended says
// none will, and then the answer is always decided.
func LooksLikeRequest(b []byte, ended bool) (looks, decided bool) {
	size, ok := Announced(b)
	if ok && (size < minRequestSize || size == EndMarker) {
		return false, true
	}
	if len(b) >= 3 && b[2] != TypeSearch {
		return false, true
	}
	if len(b) < 7 {
		return false, ended
	}
	if l, _, _ := ReadUint32(b, 3); l != nullLength && int64(l) > int64(size) {
		return false, true
	}
	return true, true
}

// Exchange is what the first blocks of an exchange say about its profile;
// see DetectExchange.
type Exchange struct {
	// Profile is the profile detected, 0 when nothing decides.
	Profile Profile
	// By is the kind of block that decided: KindRequest or KindTrip; 0
	// when neither did.
	By Kind
	// Ambiguous says the first trip (By is KindTrip) fits both profiles;
	// Profile is then the first of Profiles.
	Ambiguous bool
	// RequestWhole says the request stream holds a whole first block,
	// whether or not it fits a profile (the end marker is a whole block).
	RequestWhole bool
}

// DetectExchange detects the profile of an exchange from the start of both
// its directions: up, the client's stream, and down, the server's. A whole
// first request that fits one profile decides; failing that, a whole first
// trip block that fits one or both (Ambiguous). A request decides where it
// can since its strings come before its date, which a trip's do not.
func DetectExchange(up, down []byte) Exchange {
	var e Exchange
	if b, ok := FirstBlock(up); ok {
		e.RequestWhole = true
		if len(b) > 2 {
			if p, err := DetectProfile(KindRequest, b[2:]); err == nil {
				e.Profile, e.By = p, KindRequest
				return e
			}
		}
	}
	if b, ok := FirstBlock(down); ok && len(b) > 2 {
		p, err := DetectProfile(KindTrip, b[2:])
		if err == nil || err == ErrAmbiguousProfile {
			e.Profile, e.By, e.Ambiguous = p, KindTrip, err != nil
		}
	}
	return e
}
