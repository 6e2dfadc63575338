package wire

import (
	"encoding/binary"
	"fmt"
	"strconv"
)

// DetectProfile says which profile a request or trip payload (without its
// size field) was written in, where the bytes decide it: the one profile in
// which the payload decodes with every field inside the block and no byte
// left over. It returns ErrAmbiguousProfile, with the first candidate, where
// both profiles fit (possible for trips, never for requests: their strings
// come before the date), and ErrNoProfile where neither does.
func DetectProfile(k Kind, payload []byte) (Profile, error) {
	var fits []Profile
	for _, p := range Profiles() {
		var fe fieldError
		switch k {
		case KindRequest:
			fe = p.decodeRequest(payload, new(Request))
		case KindTrip:
			fe = p.decodeTrip(payload, new(Trip))
		default:
			return 0, fmt.Errorf("wire: no profile to detect in a %v block", k)
		}
		if fe.err == nil {
			fits = append(fits, p)
		}
	}
	switch len(fits) {
	case 1:
		return fits[0], nil
	case 0:
		return 0, ErrNoProfile
	}
	return fits[0], ErrAmbiguousProfile
}

// Span is where one field lies in a payload.
type Span struct {
	Field string // "from", "trainType", "trailing"
	Start int    // payload offset of its first byte
	End   int    // payload offset after its last byte (clipped to the payload)
	Data  int    // for strings, the offset of the first code unit; else -1
}

// Spans lays out the fields of a request or trip payload in profile p as far
// as the bytes allow: a field cut short by the payload's end is clipped, and
// bytes after the last field are a "trailing" span.
func (p Profile) Spans(k Kind, payload []byte) []Span {
	var spans []Span
	off := 0
	fixed := func(name string, n int) {
		end := min(off+n, len(payload))
		spans = append(spans, Span{Field: name, Start: off, End: end, Data: -1})
		off = end
	}
	str := func(name string) {
		start := off
		n := 0
		if len(payload)-off >= 4 {
			if l := binary.BigEndian.Uint32(payload[off:]); l != nullLength {
				n = int(min(uint64(l), uint64(len(payload))))
			}
		}
		data := min(off+4, len(payload))
		off = min(data+n, len(payload))
		spans = append(spans, Span{Field: name, Start: start, End: off, Data: data})
	}
	switch k {
	case KindRequest:
		fixed("type", 1)
		str("from")
		str("to")
		fixed("date", p.DateSize())
		fixed("time", 4)
		fixed("flag", 1)
	case KindTrip:
		fixed("date", p.DateSize())
		fixed("departure", 4)
		fixed("duration", 2)
		fixed("changes", 1)
		str("trainType")
	}
	if off < len(payload) {
		spans = append(spans, Span{Field: "trailing", Start: off, End: len(payload), Data: -1})
	}
	return spans
}

// FieldAt names the field at payload offset off of a request or trip block
// in profile p: "size" for the two bytes before the payload (off -2 and -1),
// "from.length" for a string's length field, "trainType[3]" for its fourth
// code unit, "date", "trailing"; "" past the payload.
func (p Profile) FieldAt(k Kind, payload []byte, off int) string {
	if off < 0 {
		if off >= -2 {
			return "size"
		}
		return ""
	}
	for _, s := range p.Spans(k, payload) {
		if off < s.Start || off >= s.End {
			continue
		}
		if s.Data < 0 {
			return s.Field
		}
		if off < s.Data {
			return s.Field + ".length"
		}
		return s.Field + "[" + strconv.Itoa((off-s.Data)/2) + "]"
	}
	return ""
}
