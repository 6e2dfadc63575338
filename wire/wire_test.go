package wire_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// berlin is the qt4 request vector berlin-muenchen-dep.
const berlinQt4 = "002c530000000c004200650072006c0069006e0000000e004d00fc006e006300680065006e00258eba01ee628044"

// A trip of the book's reply, qt4.
const tripQt4 = "002100258eba01ee6280002c01000000120049006e0074006500720043006900740079"

// block prefixes a payload, in hex, with its size.
func block(payload string) string {
	return strconv.FormatUint(uint64(len(payload)/2)|0x10000, 16)[1:] + payload
}

func TestDecoderErrors(t *testing.T) {
	tests := []struct {
		name   string
		p      wire.Profile
		dir    wire.Direction
		stream string
		// the first error from Next or Close
		want   error
		field  string
		offset int64
		// messages decoded before it
		msgs int
	}{
		{"size cut short", wire.Qt4, wire.Requests, "00", wire.ErrTruncated, "size", 1, 0},
		{"request cut in from", wire.Qt4, wire.Requests, berlinQt4[:2*12], wire.ErrTruncated, "request[0].from", 12, 0},
		{"request cut in flag", wire.Qt4, wire.Requests, berlinQt4[:len(berlinQt4)-2], wire.ErrTruncated, "request[0].flag", 45, 0},
		{"request cut at payload start", wire.Qt4, wire.Requests, "002c", wire.ErrTruncated, "request[0].type", 2, 0},
		{"odd string length", wire.Qt4, wire.Requests, block("53" + "00000003" + "004100"), wire.ErrOddStringLength, "request[0].from", 3, 0},
		{"odd string is corrupt data", wire.Qt4, wire.Requests, block("53" + "00000001" + "41" + "00000000"), wire.ErrCorrupt, "request[0].from", 3, 0},
		{"string past its block", wire.Qt4, wire.Requests, block("53" + "00000010" + "00410042"), wire.ErrPastEnd, "request[0].from", 3, 0},
		{"size 0", wire.Qt4, wire.Requests, "0000", wire.ErrPastEnd, "request[0].type", 2, 0},
		{"bytes left over", wire.Qt4, wire.Requests, block("53" + "ffffffff" + "ffffffff" + "00000000" + "ffffffff" + "44" + "beef"), wire.ErrTrailingBytes, "request[0].trailing", 20, 0},
		{"qt5 request read as qt4 leaves 4 bytes", wire.Qt4, wire.Requests, "001653ffffffffffffffff8000000000000000ffffffff44", wire.ErrTrailingBytes, "request[0].trailing", 20, 0},
		{"size 0xFFFF in a request", wire.Qt4, wire.Requests, "ffff", wire.ErrReservedSize, "size", 0, 0},
		{"reply without end marker", wire.Qt4, wire.Replies, tripQt4, wire.ErrNoEndMarker, "end", 35, 1},
		{"reply cut in train type", wire.Qt4, wire.Replies, tripQt4 + tripQt4[:2*30], wire.ErrTruncated, "trip[1].trainType", 65, 1},
		{"bytes after the end marker", wire.Qt4, wire.Replies, tripQt4 + "ffff" + "00", wire.ErrAfterEnd, "end", 37, 2},
		// PROTOCOL.md says a qt5 trip read as qt4 "leaves 4 bytes over"; in
		// fact qt4 reads 0x80007b01 as the train type's length: odd, corrupt.
		{"qt5 trip read as qt4", wire.Qt4, wire.Replies, "00250000000000258eba01ee6280007b01000000120049006e0074006500720043006900740079ffff", wire.ErrOddStringLength, "trip[0].trainType", 13, 0},
		{"odd train type", wire.Qt5, wire.Replies, block("0000000000258eba"+"01ee6280"+"0001"+"01"+"00000001"+"41") + "ffff", wire.ErrOddStringLength, "trip[0].trainType", 17, 0},
		{"trip of size 0", wire.Qt4, wire.Replies, "0000ffff", wire.ErrPastEnd, "trip[0].date", 2, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stream := unhex(t, tt.stream)
			for _, split := range []string{"whole", "bytes"} {
				d := wire.NewDecoder(tt.p, tt.dir)
				var pieces [][]byte
				if split == "whole" {
					pieces = [][]byte{stream}
				} else {
					for i := range stream {
						pieces = append(pieces, stream[i:i+1])
					}
				}
				var err error
				n := 0
			feed:
				for _, piece := range pieces {
					d.Feed(piece)
					for {
						var m wire.Message
						err = d.Next(&m)
						if err == wire.ErrNeedMore {
							err = nil
							break
						}
						if err != nil {
							break feed
						}
						n++
					}
				}
				if err == nil {
					err = d.Close()
				}
				var de *wire.DecodeError
				if !errors.Is(err, tt.want) || !errors.As(err, &de) {
					t.Fatalf("%s: got %v, want %v", split, err, tt.want)
				}
				if de.Field != tt.field || de.Offset != tt.offset || n != tt.msgs {
					t.Errorf("%s: field %q offset %d after %d messages; want %q %d after %d (%v)",
						split, de.Field, de.Offset, n, tt.field, tt.offset, tt.msgs, err)
				}
			}
		})
	}
}

func TestTruncatedWrapsUnexpectedEOF(t *testing.T) {
	d := wire.NewDecoder(wire.Qt4, wire.Replies)
	d.Feed([]byte{0, 33, 0})
	if err := d.Next(new(wire.Message)); err != wire.ErrNeedMore {
		t.Fatalf("Next = %v, want ErrNeedMore", err)
	}
	if err := d.Close(); !errors.Is(err, io.ErrUnexpectedEOF) || !errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("Close = %v, want ErrTruncated wrapping io.ErrUnexpectedEOF", err)
	}
}

// A corrupt block does not lose the framing: the next block decodes.
func TestDecoderGoesOnAfterCorruptBlock(t *testing.T) {
	// An odd train type length, then a good trip, then the end marker.
	stream := unhex(t, block("00258eba"+"01ee6280"+"0001"+"01"+"00000001"+"41")+tripQt4+"ffff")
	d := wire.NewDecoder(wire.Qt4, wire.Replies)
	d.Feed(stream)
	var m wire.Message
	if err := d.Next(&m); !errors.Is(err, wire.ErrOddStringLength) {
		t.Fatalf("first block: %v, want ErrOddStringLength", err)
	}
	if err := d.Next(&m); err != nil || m.Kind != wire.KindTrip || m.Index != 1 || m.Trip.Duration != 44 {
		t.Fatalf("second block: %v %v", err, m.Trip.String())
	}
	if err := d.Next(&m); err != nil || m.Kind != wire.KindEnd {
		t.Fatalf("third block: %v %v", err, m.Kind)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTrailingBytesKeepMessage(t *testing.T) {
	var r wire.Request
	err := wire.Qt4.DecodeRequest(unhex(t, berlinQt4[4:]+"0000"), &r)
	if !errors.Is(err, wire.ErrTrailingBytes) {
		t.Fatalf("got %v", err)
	}
	if r.From.String() != "Berlin" || r.To.String() != "München" || r.Flag != 'D' {
		t.Errorf("request not decoded: %v", r.String())
	}
}

func TestEncoderIllegalWrites(t *testing.T) {
	good := wire.Request{Type: 'S', From: wire.Str("A"), To: wire.Str("B"), Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
	bad := map[string]func(*wire.Request){
		"type":        func(r *wire.Request) { r.Type = 'X' },
		"flag":        func(r *wire.Request) { r.Flag = 'Z' },
		"odd string":  func(r *wire.Request) { r.From = wire.StrRaw([]byte{0x41}) },
		"time 24:00+": func(r *wire.Request) { r.Time = wire.TimeMS(86_400_000) },
	}
	for name, mutate := range bad {
		t.Run(name, func(t *testing.T) {
			r := good
			mutate(&r)
			if _, err := wire.Qt4.AppendRequest(nil, &r); !errors.Is(err, wire.ErrIllegalWrite) {
				t.Fatalf("strict encoder: %v, want ErrIllegalWrite", err)
			}
			b, err := wire.Encoder{Profile: wire.Qt4, AllowIllegalWrites: true}.AppendRequest(nil, &r)
			if err != nil {
				t.Fatal(err)
			}
			if got := int(b[0])<<8 | int(b[1]); got != len(b)-2 {
				t.Errorf("size %d, payload %d", got, len(b)-2)
			}
		})
	}
	t.Run("size delta and trailing", func(t *testing.T) {
		if _, err := (wire.Encoder{Profile: wire.Qt4, SizeDelta: 1}).AppendRequest(nil, &good); !errors.Is(err, wire.ErrIllegalWrite) {
			t.Fatalf("strict SizeDelta: %v", err)
		}
		e := wire.Encoder{Profile: wire.Qt4, AllowIllegalWrites: true, SizeDelta: -1, Trailing: []byte{0xEE}}
		b, err := e.AppendRequest([]byte{0x99}, &good)
		if err != nil {
			t.Fatal(err)
		}
		if b[0] != 0x99 || b[len(b)-1] != 0xEE {
			t.Errorf("prefix or trailing byte lost: %x", b)
		}
		if size := int(b[1])<<8 | int(b[2]); size != len(b)-3-1 {
			t.Errorf("size %d, want payload-1 = %d", size, len(b)-3-1)
		}
	})
	t.Run("too large", func(t *testing.T) {
		r := good
		r.From = wire.Str(string(bytes.Repeat([]byte{'x'}, 40000)))
		b, err := wire.Qt4.AppendRequest([]byte{1}, &r)
		if !errors.Is(err, wire.ErrBlockTooLarge) || len(b) != 1 {
			t.Fatalf("got %v, %d bytes", err, len(b))
		}
	})
	t.Run("bad profile", func(t *testing.T) {
		if _, err := wire.Profile(7).AppendRequest(nil, &good); !errors.Is(err, wire.ErrUnknownProfile) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestDetectProfile(t *testing.T) {
	qt5trip := unhex(t, "00250000000000258eba01ee6280007b01000000120049006e0074006500720043006900740079")[2:]
	if p, err := wire.DetectProfile(wire.KindTrip, qt5trip); p != wire.Qt5 || err != nil {
		t.Errorf("qt5 trip: %v %v", p, err)
	}
	if p, err := wire.DetectProfile(wire.KindTrip, unhex(t, tripQt4)[2:]); p != wire.Qt4 || err != nil {
		t.Errorf("qt4 trip: %v %v", p, err)
	}
	if _, err := wire.DetectProfile(wire.KindTrip, []byte{1, 2, 3}); !errors.Is(err, wire.ErrNoProfile) {
		t.Errorf("3 bytes: %v, want ErrNoProfile", err)
	}
}

// TestDetectAmbiguous pins one payload that both layouts frame cleanly.
func TestDetectAmbiguous(t *testing.T) {
	// qt4: date 00000000, time 00000000, duration 0000, changes 00,
	//      trainType length 00000004, data 0000 0000 -> 19 bytes.
	// qt5: date 0000000000000000, time 00000000, duration 0000, changes 00,
	//      trainType length 00000000 -> 19 bytes.
	b := unhex(t, "00000000"+"00000000"+"0000"+"00"+"00000004"+"00000000")
	if len(b) != 19 {
		t.Fatal(len(b))
	}
	p, err := wire.DetectProfile(wire.KindTrip, b)
	if !errors.Is(err, wire.ErrAmbiguousProfile) {
		t.Fatalf("DetectProfile = %v, %v; want ErrAmbiguousProfile", p, err)
	}
	// Requests are never ambiguous: the string lengths fix the date's size.
	for _, p := range wire.Profiles() {
		r := wire.Request{Type: 'S', From: wire.Str("ab"), To: wire.NullString(), Flag: 'A'}
		b, _ := p.AppendRequest(nil, &r)
		if got, err := wire.DetectProfile(wire.KindRequest, b[2:]); got != p || err != nil {
			t.Errorf("%v request: %v %v", p, got, err)
		}
	}
}

func TestFieldAt(t *testing.T) {
	payload := unhex(t, tripQt4)[2:]
	cases := map[int]string{-2: "size", -1: "size", 0: "date", 3: "date", 4: "departure", 8: "duration", 10: "changes",
		11: "trainType.length", 15: "trainType[0]", 16: "trainType[0]", 17: "trainType[1]", 32: "trainType[8]", 33: "", -3: ""}
	for off, want := range cases {
		if got := wire.Qt4.FieldAt(wire.KindTrip, payload, off); got != want {
			t.Errorf("FieldAt(%d) = %q, want %q", off, got, want)
		}
	}
	req := unhex(t, berlinQt4)[2:]
	if got := wire.Qt4.FieldAt(wire.KindRequest, append(req, 0), len(req)); got != "trailing" {
		t.Errorf("trailing byte: %q", got)
	}
	if got := wire.Qt4.FieldAt(wire.KindRequest, req, 5); got != "from[0]" {
		t.Errorf("from[0]: %q", got)
	}
}

func TestDateCivil(t *testing.T) {
	cases := []struct {
		y    int64
		m, d int
		jd   int64
	}{
		{1970, 1, 1, 2440588}, {2026, 11, 25, 2461370}, {9999, 12, 31, 5373484}, {1, 1, 1, 1721426},
		{-1, 12, 31, 1721425}, {-4713, 1, 1, 38}, {-4714, 11, 24, 0}, {-4714, 11, 23, -1}, {2000, 2, 29, 2451604},
	}
	for _, c := range cases {
		d := wire.DateOf(int(c.y), c.m, c.d)
		if d.JD() != c.jd {
			t.Errorf("DateOf(%d,%d,%d).JD() = %d, want %d", c.y, c.m, c.d, d.JD(), c.jd)
		}
		if y, m, dd := wire.DateJD(c.jd).Civil(); y != c.y || m != c.m || dd != c.d {
			t.Errorf("DateJD(%d).Civil() = %d-%d-%d", c.jd, y, m, dd)
		}
		back, err := wire.ParseDate(d.String())
		if err != nil || back != d {
			t.Errorf("ParseDate(%q) = %v, %v", d.String(), back, err)
		}
	}
	for _, bad := range [][3]int{{2026, 2, 30}, {0, 1, 1}, {2026, 13, 1}, {2026, 0, 1}, {2025, 2, 29}, {-1, 2, 30}} {
		if d := wire.DateOf(bad[0], bad[1], bad[2]); !d.IsNull() {
			t.Errorf("DateOf(%v) = %v, want null", bad, d)
		}
	}
	if !wire.DateOf(-1, 2, 29).IsValid() {
		t.Error("1 BC is a leap year in the proleptic Gregorian calendar")
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	for i := 0; i < 20000; i++ {
		jd := rng.Int64N(2*784354017364) - 784350574879
		y, m, d := wire.DateJD(jd).Civil()
		if got := wire.DateOf(int(y), m, d).JD(); got != jd {
			t.Fatalf("seed %d: jd %d -> %d-%d-%d -> %d", seed, jd, y, m, d, got)
		}
	}
	if wire.DateJD(math.MinInt64) != wire.NullDate() || wire.NullDate().JD() != math.MinInt64 {
		t.Error("null date is not Julian Day math.MinInt64")
	}
	for _, s := range []string{"2026-02-30", "26-01-01", "x", "2026-1-01", "@jd(x)"} {
		if _, err := wire.ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted", s)
		}
	}
	if d, err := wire.ParseDate("@jd(-784350574880)"); err != nil || d.IsValid() || d.IsNull() || d.String() != "@jd(-784350574880)" {
		t.Errorf("out of range jd: %v %v", d, err)
	}
}

func TestTime(t *testing.T) {
	for s, ms := range map[string]uint32{"09:00": 32400000, "09:00:01": 32401000, "23:59:59.999": 86399999, "00:00:00.000": 0} {
		tm, err := wire.ParseTime(s)
		if err != nil || tm.Wire() != ms {
			t.Errorf("ParseTime(%q) = %v, %v", s, tm.Wire(), err)
		}
	}
	for _, s := range []string{"24:00", "9:00", "12:60", "aa:bb", "12:00:00.1", "@ms(1)x"} {
		if _, err := wire.ParseTime(s); err == nil {
			t.Errorf("ParseTime(%q) accepted", s)
		}
	}
	inv := wire.TimeMS(86_400_000)
	if inv.IsNull() || inv.IsValid() || inv.Hour() != -1 || inv.String() != "@ms(86400000)" {
		t.Errorf("invalid time: %v", inv)
	}
	if back, err := wire.ParseTime(inv.String()); err != nil || back != inv {
		t.Errorf("ParseTime(%q) = %v %v", inv.String(), back, err)
	}
	if !wire.TimeOf(24, 0, 0, 0).IsNull() || wire.NullTime().Wire() != 0xFFFFFFFF || !wire.TimeMS(0xFFFFFFFF).IsNull() {
		t.Error("24:00 and 0xFFFFFFFF must be null")
	}
}

func TestStringForms(t *testing.T) {
	cases := []struct {
		s            wire.String
		quote, plain string
		units        int
	}{
		{wire.NullString(), "null", "", 0},
		{wire.Str(""), `""`, "", 0},
		{wire.Str("Zürich🚆"), `"Zürich🚆"`, "Zürich🚆", 8},
		{wire.StrUnits([]uint16{0xD800}), `"\ud800"`, "\uFFFD", 1},
		{wire.StrUnits([]uint16{0x41, 0, 0x42}), `"A\x00B"`, "A\x00B", 3},
		{wire.StrRaw([]byte{0, 0x41, 0x42}), `"A\x42"`, "A", 1},
		{wire.Str(`say "hi", it's \ fine`), `"say \"hi\", it's \\ fine"`, `say "hi", it's \ fine`, 21},
	}
	for _, c := range cases {
		if c.s.Quote() != c.quote || c.s.String() != c.plain || c.s.Len() != c.units {
			t.Errorf("%v: Quote %s String %q Len %d; want %s %q %d", c.s.Raw(), c.s.Quote(), c.s.String(), c.s.Len(), c.quote, c.plain, c.units)
		}
	}
	if wire.NullString().Equal(wire.Str("")) {
		t.Error("null equals empty")
	}
}

func TestReaderErrors(t *testing.T) {
	stream := unhex(t, tripQt4+"ffff")
	// A read error after some bytes: blocks before it come out, then the
	// error, as it is; it is not sticky.
	timeout := errors.New("i/o timeout")
	r := &scriptReader{steps: []step{{stream[:36], timeout}, {stream[36:], nil}, {nil, io.EOF}}}
	rd := wire.NewReader(r, wire.Qt4, wire.Replies)
	var m wire.Message
	if err := rd.Next(&m); err != nil || m.Kind != wire.KindTrip {
		t.Fatalf("first: %v", err)
	}
	if err := rd.Next(&m); err != timeout {
		t.Fatalf("second: %v, want the reader's error", err)
	}
	if err := rd.Next(&m); err != nil || m.Kind != wire.KindEnd {
		t.Fatalf("after the error: %v %v", err, m.Kind)
	}
	if err := rd.Next(&m); err != io.EOF {
		t.Fatalf("end: %v, want io.EOF", err)
	}
	// A stream cut inside a block.
	rd.Reset(bytes.NewReader(stream[:20]), wire.Qt4, wire.Replies)
	if err := rd.Next(&m); !errors.Is(err, wire.ErrTruncated) {
		t.Fatalf("cut: %v", err)
	}
}

type step struct {
	b   []byte
	err error
}

type scriptReader struct{ steps []step }

func (r *scriptReader) Read(p []byte) (int, error) {
	if len(r.steps) == 0 {
		return 0, io.EOF
	}
	s := r.steps[0]
	r.steps = r.steps[1:]
	return copy(p, s.b), s.err
}

// TestDecodeAllocs: decoding a coalesced reply in a reused Message allocates
// nothing per trip.
func TestDecodeAllocs(t *testing.T) {
	stream := replyStream(t, wire.Qt4, 1000)
	d := wire.NewDecoder(wire.Qt4, wire.Replies)
	var m wire.Message
	allocs := testing.AllocsPerRun(20, func() {
		d.Reset(wire.Qt4, wire.Replies)
		d.Feed(stream)
		for d.Next(&m) == nil {
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 1000-trip stream, want 0", allocs)
	}
	rd := wire.NewReader(bytes.NewReader(stream), wire.Qt4, wire.Replies)
	br := bytes.NewReader(stream)
	allocs = testing.AllocsPerRun(20, func() {
		br.Reset(stream)
		rd.Reset(br, wire.Qt4, wire.Replies)
		for rd.Next(&m) == nil {
		}
	})
	if allocs != 0 {
		t.Errorf("Reader: %v allocations per 1000-trip stream, want 0", allocs)
	}
}

// replyStream is a reply of n book-like trips and the end marker.
func replyStream(t testing.TB, p wire.Profile, n int) []byte {
	var b []byte
	var err error
	for i := 0; i < n; i++ {
		tr := wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: uint16(i % 200), Changes: 1, TrainType: wire.Str("InterCity")}
		if b, err = p.AppendTrip(b, &tr); err != nil {
			t.Fatal(err)
		}
	}
	return wire.AppendEnd(b)
}

// TestRandomBytes feeds random streams in random splits: whatever the bytes,
// the decoder neither panics nor disagrees with itself between splits.
func TestRandomBytes(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("WIRE_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (set WIRE_SEED to replay)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := 0; i < 2000; i++ {
		n := rng.IntN(80)
		b := make([]byte, n)
		for j := range b {
			b[j] = byte(rng.IntN(256))
			if rng.IntN(4) == 0 {
				b[j] = 0
			}
		}
		for _, p := range wire.Profiles() {
			for _, dir := range []wire.Direction{wire.Requests, wire.Replies} {
				whole, werr := decodeSplit(p, dir, b, nil)
				var cuts []int
				for c := 1; c < n; c++ {
					if rng.IntN(3) == 0 {
						cuts = append(cuts, c)
					}
				}
				split, serr := decodeSplit(p, dir, b, cuts)
				if len(whole) != len(split) || errString(werr) != errString(serr) {
					t.Fatalf("seed %d: %x %v %v cut %v: whole %d msgs %v, split %d msgs %v", seed, b, p, dir, cuts, len(whole), werr, len(split), serr)
				}
			}
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// TestReadStringPositions pins where each QString outcome leaves the read
// position, as QDataStream leaves its device.
func TestReadStringPositions(t *testing.T) {
	for _, c := range []struct {
		hex  string
		want int
		err  error
	}{
		{"ffffffff00", 4, nil},                         // null: after the length
		{"0000000000410042", 4, nil},                   // empty: after the length
		{"00000003004100", 4, wire.ErrOddStringLength}, // odd: after the length
		{"0000000a00410042", 8, wire.ErrPastEnd},       // past the end: all consumed
		{"0000", 2, wire.ErrPastEnd},                   // length cut short: all consumed
	} {
		_, n, err := wire.ReadString(unhex(t, c.hex), 0)
		if n != c.want || !errors.Is(err, c.err) || (c.err == nil && err != nil) {
			t.Errorf("%s: offset %d, %v; want %d, %v", c.hex, n, err, c.want, c.err)
		}
	}
}
