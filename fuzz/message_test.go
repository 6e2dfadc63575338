package fuzz

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// FuzzDecodeRequest checks DecodeRequest on any payload, in the profile the
// first argument picks.
func FuzzDecodeRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, qt5 bool, payload []byte) {
		checkPayload(t, profileOf(qt5), wire.KindRequest, payload)
	})
}

// FuzzDecodeTrip checks DecodeTrip on any payload, in the profile the first
// argument picks.
func FuzzDecodeTrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, qt5 bool, payload []byte) {
		checkPayload(t, profileOf(qt5), wire.KindTrip, payload)
	})
}

// layout is the field names of a payload of kind k, in order.
func layout(k wire.Kind) []string {
	if k == wire.KindRequest {
		return []string{"type", "from", "to", "date", "time", "flag"}
	}
	return []string{"date", "departure", "duration", "changes", "trainType"}
}

// widths is how many bytes each field of a decoded message takes.
func widths(p wire.Profile, k wire.Kind, r *wire.Request, tr *wire.Trip) []int {
	if k == wire.KindRequest {
		return []int{1, r.From.WireSize(), r.To.WireSize(), p.DateSize(), 4, 1}
	}
	return []int{p.DateSize(), 4, 2, 1, tr.TrainType.WireSize()}
}

// checkPayload decodes payload as a message of kind k in profile p and
// checks the error, the layout (Spans, FieldAt, sizes), the aliasing of the
// strings, and that the streaming decoder agrees on the same block.
func checkPayload(t *testing.T, p wire.Profile, k wire.Kind, payload []byte) {
	var r wire.Request
	var tr wire.Trip
	var err error
	var size int
	var strs []wire.String
	prefix := "request."
	if k == wire.KindRequest {
		err = p.DecodeRequest(payload, &r)
		size = p.RequestSize(&r)
		strs = []wire.String{r.From, r.To}
	} else {
		prefix = "trip."
		err = p.DecodeTrip(payload, &tr)
		size = p.TripSize(&tr)
		strs = []wire.String{tr.TrainType}
	}
	for _, s := range strs {
		if !within(s.Raw(), payload) {
			t.Fatalf("string %s does not alias the payload", s.Quote())
		}
	}
	spans := p.Spans(k, payload)
	checkSpans(t, k, spans, len(payload))
	names := layout(k)
	field := ""
	var de *wire.DecodeError
	if err == nil {
		if size != len(payload) {
			t.Fatalf("decoded cleanly, but its size is %d for a payload of %d", size, len(payload))
		}
		if len(spans) != len(names) {
			t.Fatalf("decoded cleanly, but %d spans: %v", len(spans), spans)
		}
		// The spans are where the decoded fields lie.
		at := 0
		for i, w := range widths(p, k, &r, &tr) {
			if spans[i].Start != at || spans[i].End != at+w {
				t.Fatalf("span %v: the decoded %s lies at [%d, %d)", spans[i], names[i], at, at+w)
			}
			at += w
		}
	} else {
		de = decodeError(t, err, 0, int64(len(payload)), payloadSentinels...)
		field = strings.TrimPrefix(de.Field, prefix)
		if field == de.Field || !validField(k, field) {
			t.Fatalf("%v: field %q is not a field of a %v", err, de.Field, k)
		}
		off := int(de.Offset)
		switch {
		case errors.Is(err, wire.ErrTrailingBytes):
			last := spans[len(spans)-1]
			if field != "trailing" || size != off || last.Field != "trailing" || last.Start != off || off >= len(payload) {
				t.Fatalf("%v: size %d, last span %v", err, size, last)
			}
		case field == "trailing":
			t.Fatalf("%v: only ErrTrailingBytes is in the trailing bytes", err)
		case errors.Is(err, wire.ErrOddStringLength):
			// The length field is whole and odd.
			if off+4 > len(payload) || binary.BigEndian.Uint32(payload[off:])%2 != 1 {
				t.Fatalf("%v: no odd length at %d", err, off)
			}
		}
		if off < len(payload) {
			if got := spanField(p.FieldAt(k, payload, off)); got != field {
				t.Fatalf("%v: FieldAt(%d) = %q", err, off, p.FieldAt(k, payload, off))
			}
		} else if !errors.Is(err, wire.ErrPastEnd) {
			t.Fatalf("%v at the end of the payload", err)
		}
	}
	if got := p.FieldAt(k, payload, -1); got != "size" {
		t.Fatalf("FieldAt(-1) = %q", got)
	}
	if got := p.FieldAt(k, payload, len(payload)); got != "" {
		t.Fatalf("FieldAt(len) = %q", got)
	}
	if len(payload) > wire.MaxPayload {
		return
	}
	// The streaming decoder reads the same block the same way.
	blk := binary.BigEndian.AppendUint16(make([]byte, 0, 2+len(payload)), uint16(len(payload)))
	blk = append(blk, payload...)
	dir := wire.Requests
	if k == wire.KindTrip {
		dir = wire.Replies
	}
	d := wire.NewDecoder(p, dir)
	d.Feed(blk)
	var m wire.Message
	serr := d.Next(&m)
	if m.Kind != k || m.Index != 0 || m.Offset != 0 || m.Size != len(payload) {
		t.Fatalf("stream: %v %d at %d size %d, error %v", m.Kind, m.Index, m.Offset, m.Size, serr)
	}
	if k == wire.KindRequest && !m.Request.Equal(&r) || k == wire.KindTrip && !m.Trip.Equal(&tr) {
		t.Fatalf("stream decoded %s / %s, DecodeX %s / %s", m.Request.String(), m.Trip.String(), r.String(), tr.String())
	}
	if err == nil {
		if serr != nil {
			t.Fatalf("stream: %v; DecodeX: nil", serr)
		}
		return
	}
	sde := decodeError(t, serr, 2, int64(len(blk)), sentinelOf(err))
	if want := m.Path() + "." + field; sde.Field != want || sde.Offset != de.Offset+2 {
		t.Fatalf("stream: %v; DecodeX: %v (want field %q offset %d)", serr, err, want, de.Offset+2)
	}
}

func validField(k wire.Kind, f string) bool {
	if f == "trailing" {
		return true
	}
	for _, n := range layout(k) {
		if n == f {
			return true
		}
	}
	return false
}

// checkSpans checks that the spans lie end to end over the whole payload,
// in the field order of k, with an optional trailing span.
func checkSpans(t *testing.T, k wire.Kind, spans []wire.Span, n int) {
	// No t.Helper: fuzzing calls this for every input, and Helper walks the stack.
	names := layout(k)
	if len(spans) < len(names) || len(spans) > len(names)+1 {
		t.Fatalf("%d spans for %d fields: %v", len(spans), len(names), spans)
	}
	at := 0
	for i, s := range spans {
		want := "trailing"
		if i < len(names) {
			want = names[i]
		}
		if s.Field != want || s.Start != at || s.End < s.Start || s.End > n {
			t.Fatalf("span %d %+v: want %s from %d (payload %d bytes): %v", i, s, want, at, n, spans)
		}
		str := want == "from" || want == "to" || want == "trainType"
		if str && (s.Data < s.Start || s.Data > s.End || s.Data > s.Start+4) || !str && s.Data != -1 {
			t.Fatalf("span %+v: data offset", s)
		}
		at = s.End
	}
	if at != n {
		t.Fatalf("spans end at %d, payload %d bytes: %v", at, n, spans)
	}
	if last := spans[len(spans)-1]; last.Field == "trailing" && last.Start == last.End {
		t.Fatalf("empty trailing span: %v", spans)
	}
}

// FuzzDetectProfile checks that DetectProfile agrees with decoding: a
// profile it names decodes cleanly and the other does not;
// ErrAmbiguousProfile only when both do (never for a request), ErrNoProfile
// only when neither does.
func FuzzDetectProfile(f *testing.F) {
	f.Fuzz(func(t *testing.T, trip bool, payload []byte) {
		k := kindOf(trip)
		clean := map[wire.Profile]bool{}
		for _, p := range wire.Profiles() {
			var err error
			if trip {
				err = p.DecodeTrip(payload, new(wire.Trip))
			} else {
				err = p.DecodeRequest(payload, new(wire.Request))
			}
			clean[p] = err == nil
		}
		p, err := wire.DetectProfile(k, payload)
		switch {
		case clean[wire.Qt4] && clean[wire.Qt5]:
			if !errors.Is(err, wire.ErrAmbiguousProfile) || p != wire.Qt4 {
				t.Fatalf("both profiles decode; DetectProfile = %v, %v", p, err)
			}
			if !trip {
				t.Fatalf("a request that decodes in both profiles")
			}
		case clean[wire.Qt4] || clean[wire.Qt5]:
			if err != nil || !clean[p] {
				t.Fatalf("only one profile decodes (qt4 %v); DetectProfile = %v, %v", clean[wire.Qt4], p, err)
			}
		default:
			if !errors.Is(err, wire.ErrNoProfile) {
				t.Fatalf("no profile decodes; DetectProfile = %v, %v", p, err)
			}
		}
		if _, err := wire.DetectProfile(wire.KindEnd, payload); err == nil {
			t.Fatalf("DetectProfile of an end marker: no error")
		}
	})
}
