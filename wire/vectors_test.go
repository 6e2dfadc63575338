package wire_test

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"testing"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/wire"
)

func loadVectors(t testing.TB) []qtvectors.Vector {
	t.Helper()
	vs, err := qtvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	return vs
}

// TestVectorsCount guards against a vector file that lost lines: the Qt
// program wrote 227.
func TestVectorsCount(t *testing.T) {
	if n := len(loadVectors(t)); n != 227 {
		t.Fatalf("testdata/vectors/qt-vectors.txt has %d vectors, want 227", n)
	}
}

// statusErr maps a QDataStream status to the error wire returns for it.
func statusErr(status string) error {
	switch status {
	case "ReadPastEnd":
		return wire.ErrPastEnd
	case "ReadCorruptData":
		return wire.ErrCorrupt
	}
	return nil
}

func checkStatus(t *testing.T, err error, status string) {
	t.Helper()
	want := statusErr(status)
	if want == nil && err != nil || want != nil && !errors.Is(err, want) {
		t.Errorf("status: got error %v, want %s (%v)", err, status, want)
	}
}

// TestVectors checks every line of the Qt vectors by its name: encoding the
// value its comment documents gives exactly its bytes, and decoding its bytes
// gives the value and status the comment documents.
func TestVectors(t *testing.T) {
	vs := loadVectors(t)
	for _, v := range vs {
		t.Run(v.Name(), func(t *testing.T) {
			p := v.WireProfile()
			switch v.Kind {
			case "qstring":
				testFieldVector(t, v, func(s string) (any, error) { return qtvectors.String(s) },
					func(b []byte, x any) []byte { return wire.AppendString(b, x.(wire.String)) },
					func(b []byte) (any, int, error) { return wire.ReadString(b, 0) },
					func(x, y any) bool { return x.(wire.String).Equal(y.(wire.String)) })
			case "qdate":
				testFieldVector(t, v, func(s string) (any, error) { return qtvectors.Date(s) },
					func(b []byte, x any) []byte { return p.AppendDate(b, x.(wire.Date)) },
					func(b []byte) (any, int, error) { return p.ReadDate(b, 0) },
					func(x, y any) bool { return x == y })
			case "qtime":
				testFieldVector(t, v, func(s string) (any, error) { return qtvectors.Time(s) },
					func(b []byte, x any) []byte { return wire.AppendTime(b, x.(wire.Time)) },
					func(b []byte) (any, int, error) { return wire.ReadTime(b, 0) },
					func(x, y any) bool { return x == y })
			case "request":
				testRequestVector(t, vs, v, p)
			case "trip":
				testTripVector(t, v, p)
			case "end":
				if got := wire.AppendEnd(nil); !bytes.Equal(got, v.Bytes) {
					t.Errorf("AppendEnd = %x, want %x", got, v.Bytes)
				}
				d := wire.NewDecoder(p, wire.Replies)
				d.Feed(v.Bytes)
				var m wire.Message
				if err := d.Next(&m); err != nil || m.Kind != wire.KindEnd {
					t.Errorf("decode: kind %v, err %v; want the end marker", m.Kind, err)
				}
				if err := d.Close(); err != nil {
					t.Errorf("Close after the end marker: %v", err)
				}
			case "reply":
				testReplyVector(t, vs, v, p)
			case "decode":
				testDecodeVector(t, v, p)
			default:
				t.Fatalf("unknown kind %q", v.Kind)
			}
		})
	}
}

func testFieldVector(t *testing.T, v qtvectors.Vector,
	parse func(string) (any, error),
	appendf func([]byte, any) []byte,
	read func([]byte) (any, int, error),
	equal func(x, y any) bool,
) {
	f, err := qtvectors.ParseField(v.Comment)
	if err != nil {
		t.Fatal(err)
	}
	written, err := parse(f.Written)
	if err != nil {
		t.Fatal(err)
	}
	if got := appendf(nil, written); !bytes.Equal(got, v.Bytes) {
		t.Errorf("encode %s: got %x, want %x", f.Written, got, v.Bytes)
	}
	want, err := parse(f.Read)
	if err != nil {
		t.Fatal(err)
	}
	got, n, err := read(v.Bytes)
	checkStatus(t, err, f.Status)
	if !equal(got, want) {
		t.Errorf("decode: got %v, want %s", got, f.Read)
	}
	if n != len(v.Bytes) {
		t.Errorf("decode consumed %d bytes, want %d", n, len(v.Bytes))
	}
	if f.Hour != "" {
		tm := written.(wire.Time)
		if h := strconv.Itoa(tm.Hour()); h != f.Hour {
			t.Errorf("hour() = %s, want %s", h, f.Hour)
		}
	}
}

func testRequestVector(t *testing.T, vs []qtvectors.Vector, v qtvectors.Vector, p wire.Profile) {
	r, blockLen, err := qtvectors.Request(v.Comment)
	if err != nil {
		t.Fatal(err)
	}
	if blockLen != len(v.Bytes) {
		t.Errorf("comment says block=%d, vector has %d bytes", blockLen, len(v.Bytes))
	}
	got, err := p.AppendRequest(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, v.Bytes) {
		t.Errorf("encode:\n got %x\nwant %x", got, v.Bytes)
	}
	if n := 2 + p.RequestSize(&r); n != len(v.Bytes) {
		t.Errorf("RequestSize+2 = %d, want %d", n, len(v.Bytes))
	}
	// What QDataStream reads back: the date as the qdate vector of the same
	// written value documents it (Julian Day 0 reads back null in qt4).
	want := r
	dateText := qtvectors.Fields(v.Comment)["date"]
	for _, dv := range vs {
		if f, err := qtvectors.ParseField(dv.Comment); dv.Profile == v.Profile && dv.Kind == "qdate" && err == nil && f.Written == dateText {
			if want.Date, err = qtvectors.Date(f.Read); err != nil {
				t.Fatal(err)
			}
		}
	}
	msgs := decodeAll(t, p, wire.Requests, v.Bytes)
	if len(msgs) != 1 || msgs[0].Kind != wire.KindRequest || !msgs[0].Request.Equal(&want) {
		t.Errorf("decode: got %v, want %v", msgs, want.String())
	}
	if pd, err := wire.DetectProfile(wire.KindRequest, v.Bytes[2:]); err != nil || pd != p {
		t.Errorf("DetectProfile = %v, %v; want %v", pd, err, p)
	}
	testSplits(t, p, wire.Requests, v.Bytes)
}

func testTripVector(t *testing.T, v qtvectors.Vector, p wire.Profile) {
	tr, blockLen, err := qtvectors.Trip(v.Comment)
	if err != nil {
		t.Fatal(err)
	}
	if blockLen != len(v.Bytes) {
		t.Errorf("comment says block=%d, vector has %d bytes", blockLen, len(v.Bytes))
	}
	got, err := p.AppendTrip(nil, &tr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, v.Bytes) {
		t.Errorf("encode:\n got %x\nwant %x", got, v.Bytes)
	}
	if n := 2 + p.TripSize(&tr); n != len(v.Bytes) {
		t.Errorf("TripSize+2 = %d, want %d", n, len(v.Bytes))
	}
	stream := wire.AppendEnd(bytes.Clone(v.Bytes))
	msgs := decodeAll(t, p, wire.Replies, stream)
	if len(msgs) != 2 || msgs[0].Kind != wire.KindTrip || !msgs[0].Trip.Equal(&tr) || msgs[1].Kind != wire.KindEnd {
		t.Errorf("decode: got %v, want %v then the end marker", msgs, tr.String())
	}
	testSplits(t, p, wire.Replies, stream)
}

func testReplyVector(t *testing.T, vs []qtvectors.Vector, v qtvectors.Vector, p wire.Profile) {
	rep, err := qtvectors.ParseReply(v.Comment)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != len(v.Bytes) {
		t.Errorf("comment says %d bytes, vector has %d", rep.Bytes, len(v.Bytes))
	}
	rv, ok := qtvectors.Find(vs, v.Profile, "request", rep.Request)
	if !ok {
		t.Fatalf("no request vector %q", rep.Request)
	}
	var req wire.Request
	if err := p.DecodeRequest(rv.Bytes[2:], &req); err != nil {
		t.Fatal(err)
	}
	if req.From.Len() != rep.FromLen || req.To.Len() != rep.ToLen || req.Time.Hour() != rep.Hour {
		t.Errorf("request %s: from.length()=%d to.length()=%d hour()=%d; comment says %d %d %d",
			rep.Request, req.From.Len(), req.To.Len(), req.Time.Hour(), rep.FromLen, rep.ToLen, rep.Hour)
	}
	if seed := uint32(rep.FromLen*3600 + rep.ToLen*60 + rep.Hour); seed != rep.Seed {
		t.Errorf("seed %d, comment says srand(%d)", seed, rep.Seed)
	}
	msgs := decodeAll(t, p, wire.Replies, v.Bytes)
	if len(msgs) != rep.Trips+1 {
		t.Fatalf("decoded %d messages, want %d trips and the end marker", len(msgs), rep.Trips)
	}
	var again []byte
	for i, m := range msgs[:rep.Trips] {
		tr := m.Trip
		if m.Kind != wire.KindTrip || tr.Date != req.Date || tr.Departure != req.Time || tr.Changes != 1 ||
			tr.TrainType.String() != "InterCity" || tr.Duration >= 200 {
			t.Errorf("trip[%d] = %v: want the request's date and time, 1 change, InterCity, duration < 200", i, tr.String())
		}
		if again, err = p.AppendTrip(again, &tr); err != nil {
			t.Fatal(err)
		}
	}
	if msgs[rep.Trips].Kind != wire.KindEnd {
		t.Errorf("last message %v, want the end marker", msgs[rep.Trips].Kind)
	}
	if again = wire.AppendEnd(again); !bytes.Equal(again, v.Bytes) {
		t.Errorf("re-encoded reply differs:\n got %x\nwant %x", again, v.Bytes)
	}
	testSplits(t, p, wire.Replies, v.Bytes)
}

func testDecodeVector(t *testing.T, v qtvectors.Vector, p wire.Profile) {
	d, err := qtvectors.ParseDecode(v.Comment)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	var rerr, perr error
	switch d.Type {
	case "QString":
		var s wire.String
		s, _, rerr = wire.ReadString(v.Bytes, 0)
		got = s.Quote()
		var w wire.String
		w, perr = qtvectors.String(d.Value)
		want = w.Quote()
	case "QDate":
		got, _, rerr = p.ReadDate(v.Bytes, 0)
		want, perr = qtvectors.Date(d.Value)
	case "QTime":
		var tm wire.Time
		tm, _, rerr = wire.ReadTime(v.Bytes, 0)
		got = tm
		var w wire.Time
		w, perr = qtvectors.Time(d.Value)
		want = w
		if !tm.IsNull() && !tm.IsValid() && (tm.Hour() != -1) {
			t.Errorf("invalid time hour() = %d, want -1", tm.Hour())
		}
	}
	if perr != nil {
		t.Fatal(perr)
	}
	checkStatus(t, rerr, d.Status)
	if got != want {
		t.Errorf("read %x as %s: got %v, want %v (%s)", v.Bytes, d.Type, got, want, d.Value)
	}
}

// decodeAll decodes a whole stream given in one piece.
func decodeAll(t *testing.T, p wire.Profile, dir wire.Direction, stream []byte) []wire.Message {
	t.Helper()
	msgs, err := decodeSplit(p, dir, stream, nil)
	if err != nil {
		t.Fatalf("decode %x: %v", stream, err)
	}
	return msgs
}

// decodeSplit feeds stream cut at the given offsets and returns every
// message, cloned, and the first error other than ErrNeedMore (Close's
// included).
func decodeSplit(p wire.Profile, dir wire.Direction, stream []byte, cuts []int) ([]wire.Message, error) {
	d := wire.NewDecoder(p, dir)
	var out []wire.Message
	prev := 0
	for _, c := range append(cuts, len(stream)) {
		// A fresh copy per piece proves the decoder keeps what it needs.
		d.Feed(bytes.Clone(stream[prev:c]))
		prev = c
		for {
			var m wire.Message
			err := d.Next(&m)
			if err == wire.ErrNeedMore {
				break
			}
			if err != nil {
				return out, err
			}
			m.Request, m.Trip = m.Request.Clone(), m.Trip.Clone()
			m.Block.Bytes = bytes.Clone(m.Block.Bytes)
			out = append(out, m)
		}
	}
	return out, d.Close()
}

// testSplits checks that the stream decodes identically split at every
// offset, one byte per piece, and coalesced twice over in one piece.
func testSplits(t *testing.T, p wire.Profile, dir wire.Direction, stream []byte) {
	t.Helper()
	whole, err := decodeSplit(p, dir, stream, nil)
	if err != nil {
		t.Fatal(err)
	}
	same := func(name string, got []wire.Message) {
		t.Helper()
		if len(got) != len(whole) {
			t.Fatalf("%s: %d messages, want %d", name, len(got), len(whole))
		}
		for i := range got {
			g, w := got[i], whole[i]
			if g.Kind != w.Kind || g.Offset != w.Offset || g.Index != w.Index || !bytes.Equal(g.Block.Bytes, w.Block.Bytes) ||
				!g.Request.Equal(&w.Request) || !g.Trip.Equal(&w.Trip) {
				t.Fatalf("%s: message %d differs: %+v, want %+v", name, i, g, w)
			}
		}
	}
	for cut := 1; cut < len(stream); cut++ {
		got, err := decodeSplit(p, dir, stream, []int{cut})
		if err != nil {
			t.Fatalf("split at %d: %v", cut, err)
		}
		same("split at "+strconv.Itoa(cut), got)
	}
	var every []int
	for i := 1; i < len(stream); i++ {
		every = append(every, i)
	}
	got, err := decodeSplit(p, dir, stream, every)
	if err != nil {
		t.Fatalf("one byte per piece: %v", err)
	}
	same("one byte per piece", got)

	// Reader over the same bytes, one byte per Read.
	rd := wire.NewReader(&oneByteReader{b: stream}, p, dir)
	for i := 0; ; i++ {
		var m wire.Message
		err := rd.Next(&m)
		if err != nil {
			if !errors.Is(err, io.EOF) || i != len(whole) {
				t.Fatalf("Reader: message %d: %v", i, err)
			}
			break
		}
		if i >= len(whole) || m.Offset != whole[i].Offset || !bytes.Equal(m.Block.Bytes, whole[i].Block.Bytes) {
			t.Fatalf("Reader: message %d differs", i)
		}
	}
	if dir == wire.Requests {
		// Coalesced: two requests in one piece decode as two, offsets apart.
		two := append(bytes.Clone(stream), stream...)
		got, err := decodeSplit(p, dir, two, nil)
		if err != nil || len(got) != 2 || got[1].Offset != int64(len(stream)) || got[1].Index != 1 {
			t.Fatalf("coalesced pair: %d messages, %v", len(got), err)
		}
	}
}

type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}
