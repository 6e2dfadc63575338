package fuzz

import (
	"errors"
	"strings"
	"testing"
	"unsafe"

	"github.com/tripcheck/tripcheck/wire"
)

// sentinels are wire's error sentinels, the more specific before the more
// general (ErrOddStringLength wraps ErrCorrupt).
var sentinels = []error{
	wire.ErrOddStringLength,
	wire.ErrCorrupt,
	wire.ErrPastEnd,
	wire.ErrTruncated,
	wire.ErrNoEndMarker,
	wire.ErrTrailingBytes,
	wire.ErrReservedSize,
	wire.ErrAfterEnd,
	wire.ErrUnknownType,
	wire.ErrBadFlag,
	wire.ErrInvalidTime,
}

// sentinelOf returns the first of wire's sentinels that err matches, or nil.
func sentinelOf(err error) error {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return s
		}
	}
	return nil
}

// payloadSentinels are the errors DecodeRequest and DecodeTrip may give, and
// Decoder.Next for a corrupt block: the stream goes on after them.
var payloadSentinels = []error{wire.ErrOddStringLength, wire.ErrPastEnd, wire.ErrTrailingBytes}

func isPayloadError(err error) bool {
	s := sentinelOf(err)
	for _, p := range payloadSentinels {
		if s == p {
			return true
		}
	}
	return false
}

// decodeError asserts that err is a *wire.DecodeError matching one of want
// (any sentinel of wire if want is empty), with an offset in [lo, hi], and
// returns it.
func decodeError(t testing.TB, err error, lo, hi int64, want ...error) *wire.DecodeError {
	var de *wire.DecodeError
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *wire.DecodeError", err, err)
	}
	s := sentinelOf(err)
	if s == nil {
		t.Fatalf("error %v matches none of wire's sentinels", err)
	}
	if de.Err != s && !errors.Is(de.Err, s) {
		t.Fatalf("error %v: Err %v", err, de.Err)
	}
	if len(want) > 0 {
		ok := false
		for _, w := range want {
			ok = ok || errors.Is(err, w)
		}
		if !ok {
			t.Fatalf("error %v: want one of %v", err, want)
		}
	}
	if de.Offset < lo || de.Offset > hi {
		t.Fatalf("error %v: offset %d outside [%d, %d]", err, de.Offset, lo, hi)
	}
	return de
}

// fieldName is the field of a DecodeError path: "from" for
// "request[0].from" or "request.from", "" for "request[0]".
func fieldName(path string) string {
	i := strings.LastIndexByte(path, '.')
	if i < 0 {
		return ""
	}
	return path[i+1:]
}

// spanField is the field of a FieldAt name: "from" for "from.length" and
// "from[3]".
func spanField(name string) string {
	if i := strings.IndexAny(name, ".["); i >= 0 {
		return name[:i]
	}
	return name
}

// within reports whether sub lies inside b's memory: decoded strings alias
// their input rather than copy it.
func within(sub, b []byte) bool {
	if len(sub) == 0 {
		return true
	}
	s := uintptr(unsafe.Pointer(unsafe.SliceData(sub)))
	lo := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return s >= lo && s+uintptr(len(sub)) <= lo+uintptr(len(b))
}

func profileOf(qt5 bool) wire.Profile {
	if qt5 {
		return wire.Qt5
	}
	return wire.Qt4
}

func directionOf(replies bool) wire.Direction {
	if replies {
		return wire.Replies
	}
	return wire.Requests
}

func kindOf(trip bool) wire.Kind {
	if trip {
		return wire.KindTrip
	}
	return wire.KindRequest
}

// terminal reports whether an error of Decoder.Next, Decoder.Close or
// Reader.Next ends the stream: all but the corrupt-block errors do.
func terminal(err error) bool { return err != nil && !isPayloadError(err) }
