package fakes

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// replyTrips are two trips whose blocks are written out by hand below.
func replyTrips() []wire.Trip {
	return []wire.Trip{
		{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 87, Changes: 0, TrainType: wire.Str("InterCity")},
		{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(10, 30, 0, 0), Duration: 5, Changes: 1, TrainType: wire.Str("IC")},
	}
}

// The blocks of replyTrips, by hand: size, date (qt4 a quint32 Julian Day
// 2461370, qt5 a qint64), time in ms, duration, changes, the train type's
// byte length and UTF-16 code units.
const (
	qt4Trip0 = "0021" + "00258eba" + "01ee6280" + "0057" + "00" + "00000012" + "0049006e0074006500720043006900740079"
	qt4Trip1 = "0013" + "00258eba" + "0240c840" + "0005" + "01" + "00000004" + "00490043"
	qt5Trip0 = "0025" + "0000000000258eba" + "01ee6280" + "0057" + "00" + "00000012" + "0049006e0074006500720043006900740079"
	qt5Trip1 = "0017" + "0000000000258eba" + "0240c840" + "0005" + "01" + "00000004" + "00490043"
	endHex   = "ffff"
)

func unhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Each fault of a Reply, in exact bytes: what Layout lays out and what
// goes out.
func TestReplyFaultBytes(t *testing.T) {
	for _, tc := range []struct {
		name     string
		reply    Reply
		want     string // the bytes that go out
		complete bool
		whole    int
	}{
		{"qt4", Reply{Profile: wire.Qt4}, qt4Trip0 + qt4Trip1 + endHex, true, 2},
		{"qt5-layout", Reply{Profile: wire.Qt5}, qt5Trip0 + qt5Trip1 + endHex, true, 2},
		{"no-trips", Reply{Profile: wire.Qt4, Trips: []wire.Trip{}}, endHex, true, 0},
		{"no-end", Reply{Profile: wire.Qt4, NoEnd: true}, qt4Trip0 + qt4Trip1, false, 2},
		{"size-minus-1", Reply{Profile: wire.Qt4, SizeDelta: -1},
			"0020" + qt4Trip0[4:] + "0012" + qt4Trip1[4:] + endHex, false, 2},
		{"size-plus-2", Reply{Profile: wire.Qt4, SizeDelta: 2},
			"0023" + qt4Trip0[4:] + "0015" + qt4Trip1[4:] + endHex, false, 2},
		{"garbage", Reply{Profile: wire.Qt4, Garbage: []byte{0, 0}}, qt4Trip0 + qt4Trip1 + "0000" + endHex, false, 2},
		{"after", Reply{Profile: wire.Qt4, After: []byte{0, 3, 1, 2, 3}}, qt4Trip0 + qt4Trip1 + endHex + "0003010203", true, 2},
		{"garbage-no-end-after", Reply{Profile: wire.Qt4, Garbage: []byte{0xde}, NoEnd: true, After: []byte{0xad}},
			qt4Trip0 + qt4Trip1 + "de" + "ad", false, 2},
		{"truncate-trip1", Reply{Profile: wire.Qt4, Truncate: "trip[1]"}, qt4Trip0, false, 1},
		{"truncate-trip1.date", Reply{Profile: wire.Qt4, Truncate: "trip[1].date"}, qt4Trip0 + "00130025", false, 1},
		{"truncate-end+1", Reply{Profile: wire.Qt4, Truncate: "end+1"}, qt4Trip0 + qt4Trip1 + "ff", false, 2},
		{"truncate-0", Reply{Profile: wire.Qt4, Truncate: "0"}, "", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.reply
			if r.Trips == nil {
				r.Trips = replyTrips()
			}
			l, err := r.Layout()
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(l.Out()); got != tc.want {
				t.Errorf("out\n got %s\nwant %s", got, tc.want)
			}
			if l.Complete() != tc.complete || l.WholeTrips() != tc.whole {
				t.Errorf("complete %v, whole trips %d; want %v, %d", l.Complete(), l.WholeTrips(), tc.complete, tc.whole)
			}
			// The blocks cover the bytes, in order.
			off := 0
			for _, b := range l.Blocks {
				if b.Start != off || b.End <= b.Start {
					t.Errorf("block %+v after offset %d", b, off)
				}
				off = b.End
			}
			if off != len(l.Bytes) {
				t.Errorf("blocks end at %d of %d bytes", off, len(l.Bytes))
			}
			// What goes out through a ReplyWriter is Out, byte for byte.
			var buf bytes.Buffer
			n, err := (&ReplyWriter{}).Write(context.Background(), &buf, l)
			if err != nil || n != l.Sent || !bytes.Equal(buf.Bytes(), l.Out()) {
				t.Errorf("written %d bytes %x, %v; want %x", n, buf.Bytes(), err, l.Out())
			}
		})
	}
}

// A point names a place in the reply: an offset, a block, the middle of a
// field as package wire lays it out, the end marker, plus or minus N.
func TestLayoutPoint(t *testing.T) {
	trips := make([]wire.Trip, 3)
	for i := range trips {
		trips[i] = wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), TrainType: wire.Str("InterCity")}
	}
	l, err := (&Reply{Profile: wire.Qt4, Trips: trips}).Layout()
	if err != nil {
		t.Fatal(err)
	}
	// qt4 InterCity blocks are 35 bytes: size 2, date 4, time 4, duration
	// 2, changes 1, trainType 4+18.
	for spec, want := range map[string]int{
		"0": 0, "17": 17, "trip[0]": 0, "trip[1]": 35, "trip[2]+1": 71, "trip[1].size": 35,
		"trip[0].date": 4, "trip[1].departure": 35 + 8, "trip[2].changes": 70 + 12,
		"trip[0].duration": 11, "trip[0].trainType": 17 + 9, "end": 105, "end+1": 106, "end-1": 104, "107": 107,
	} {
		got, err := l.Point(spec)
		if err != nil || got != want {
			t.Errorf("Point(%q) = %d, %v; want %d", spec, got, err, want)
		}
	}
	for _, bad := range []string{"trip[3]", "108", "trip[0].nonsense", "end+9", "trip[0]-1", "", "trip", "99999999999999999999999"} {
		if got, err := l.Point(bad); err == nil {
			t.Errorf("Point(%q) = %d, want an error", bad, got)
		}
	}
	// In the other layout the same trips' fields lie elsewhere: qt5's
	// date is 8 bytes.
	l5, err := (&Reply{Profile: wire.Qt5, Trips: trips}).Layout()
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := l5.Point("trip[1].departure"); got != 39+2+8+2 {
		t.Errorf("qt5 trip[1].departure at %d, want %d", got, 39+2+8+2)
	}
	noEnd, err := (&Reply{Profile: wire.Qt4, Trips: trips, NoEnd: true}).Layout()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := noEnd.Point("end"); err == nil {
		t.Error("Point(end) without an end marker: no error")
	}
}

func TestReplyLayoutErrors(t *testing.T) {
	huge := wire.Trip{TrainType: wire.Str(strings.Repeat("x", 40000))}
	for _, tc := range []struct {
		name  string
		reply Reply
	}{
		{"no-profile", Reply{}},
		{"bad-profile", Reply{Profile: 7}},
		{"size-delta", Reply{Profile: wire.Qt4, SizeDelta: 70000}},
		{"size-out-of-quint16", Reply{Profile: wire.Qt4, SizeDelta: -40, Trips: replyTrips()}},
		{"trip-too-large", Reply{Profile: wire.Qt4, Trips: []wire.Trip{huge}}},
		{"bad-point", Reply{Profile: wire.Qt4, Truncate: "trip[9]"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if l, err := tc.reply.Layout(); err == nil {
				t.Errorf("Layout = %x, want an error", l.Bytes)
			}
		})
	}
}

// writeRecorder records each Write and how the stream ended, and has the
// methods shape uses on a connection.
type writeRecorder struct {
	writes [][]byte
	ends   []string
	fail   int // writes from this one (counted from 1) fail; 0: none
}

func (w *writeRecorder) Write(b []byte) (int, error) {
	if w.fail > 0 && len(w.writes)+1 >= w.fail {
		return 0, errors.New("the client closed")
	}
	w.writes = append(w.writes, bytes.Clone(b))
	return len(b), nil
}
func (w *writeRecorder) CloseWrite() error       { w.ends = append(w.ends, "half-close"); return nil }
func (w *writeRecorder) SetLinger(sec int) error { w.ends = append(w.ends, "linger"); return nil }
func (w *writeRecorder) Close() error            { w.ends = append(w.ends, "close"); return nil }

func (w *writeRecorder) hexWrites() []string {
	var s []string
	for _, b := range w.writes {
		s = append(s, hex.EncodeToString(b))
	}
	return s
}

// A ReplyWriter writes the layout in the writes its shape and PerBlock
// say, and ends the stream as Shape.Then says.
func TestReplyWriterWrites(t *testing.T) {
	l, err := (&Reply{Profile: wire.Qt4, Trips: replyTrips(), Garbage: []byte{0, 0}, After: []byte{1}}).Layout()
	if err != nil {
		t.Fatal(err)
	}
	all := qt4Trip0 + qt4Trip1 + "0000" + endHex + "01"
	cut, err := (&Reply{Profile: wire.Qt4, Trips: replyTrips(), Truncate: "trip[1].date"}).Layout()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		rw     ReplyWriter
		l      *Layout
		writes []string
		ends   string
	}{
		{"one-write-close", ReplyWriter{}, l, []string{all}, "close"},
		{"per-block-half-close", ReplyWriter{PerBlock: true, Shape: shape.Shape{Then: shape.ThenHalfClose}}, l,
			[]string{qt4Trip0, qt4Trip1, "0000", endHex, "01"}, "half-close"},
		{"per-block-cut", ReplyWriter{PerBlock: true, Shape: shape.Shape{Then: shape.ThenKeepOpen}}, cut,
			[]string{qt4Trip0, "00130025"}, ""},
		{"every-20-reset", ReplyWriter{Shape: shape.Shape{Every: 20, Then: shape.ThenReset}}, cut,
			[]string{qt4Trip0[:40], qt4Trip0[40:] + "00130025"}, "linger,close"},
		{"split-at-end", ReplyWriter{Shape: shape.Shape{At: []int{35 + 21 + 2}}}, l,
			[]string{all[:2*58], all[2*58:]}, "close"},
		{"shape-truncate", ReplyWriter{Shape: shape.Shape{Truncate: true, TruncateAfter: 3, Then: shape.ThenHalfClose}}, l,
			[]string{all[:6]}, "half-close"},
		{"coalesced-per-block", ReplyWriter{PerBlock: true, Shape: shape.Shape{Coalesce: true, Then: shape.ThenKeepOpen}}, l,
			[]string{all}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w writeRecorder
			n, err := tc.rw.Write(context.Background(), &w, tc.l)
			if err != nil {
				t.Fatal(err)
			}
			if got := w.hexWrites(); strings.Join(got, " ") != strings.Join(tc.writes, " ") {
				t.Errorf("writes\n got %q\nwant %q", got, tc.writes)
			}
			if got := strings.Join(w.ends, ","); got != tc.ends {
				t.Errorf("ended %q, want %q", got, tc.ends)
			}
			if want := len(strings.Join(tc.writes, "")) / 2; n != want {
				t.Errorf("wrote %d bytes, want %d", n, want)
			}
		})
	}
}

// A write the client refuses stops the reply, and the stream is still
// ended as Then says.
func TestReplyWriterFailedWrite(t *testing.T) {
	l, err := (&Reply{Profile: wire.Qt4, Trips: replyTrips()}).Layout()
	if err != nil {
		t.Fatal(err)
	}
	w := writeRecorder{fail: 2}
	n, err := (&ReplyWriter{PerBlock: true, Shape: shape.Shape{Then: shape.ThenHalfClose}}).Write(context.Background(), &w, l)
	if err == nil || n != len(unhex(t, qt4Trip0)) || len(w.writes) != 1 {
		t.Errorf("wrote %d bytes in %d writes, %v; want the first block, then an error", n, len(w.writes), err)
	}
	if strings.Join(w.ends, ",") != "half-close" {
		t.Errorf("ended %q, want half-close", w.ends)
	}
}

// Silence sends nothing for its time; a context done ends it early, with
// nothing written and the stream left as it was.
func TestReplyWriterSilence(t *testing.T) {
	l, err := (&Reply{Profile: wire.Qt4, Trips: replyTrips()}).Layout()
	if err != nil {
		t.Fatal(err)
	}
	var w writeRecorder
	start := time.Now()
	if _, err := (&ReplyWriter{Silence: 20 * time.Millisecond}).Write(context.Background(), &w, l); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond || len(w.writes) != 1 {
		t.Errorf("wrote %d times after %v, want once after the silence", len(w.writes), d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	w = writeRecorder{}
	n, err := (&ReplyWriter{Silence: time.Hour}).Write(ctx, &w, l)
	if !errors.Is(err, context.Canceled) || n != 0 || len(w.writes) != 0 || len(w.ends) != 0 {
		t.Errorf("cancelled silence: %d bytes, %d writes, ends %q, %v", n, len(w.writes), w.ends, err)
	}
}

// A raw layout frames bytes as package wire does: a reply laid out from
// trips gives the same blocks; a cut one ends in garbage; a block that is
// no trip makes it incomplete.
func TestRawLayout(t *testing.T) {
	for _, r := range []Reply{
		{Profile: wire.Qt4, Trips: replyTrips()},
		{Profile: wire.Qt5, Trips: replyTrips(), After: []byte{0, 3, 1, 2, 3}},
		{Profile: wire.Qt4},
	} {
		l, err := r.Layout()
		if err != nil {
			t.Fatal(err)
		}
		raw := RawLayout(r.Profile, l.Bytes)
		if fmt.Sprint(raw.Blocks) != fmt.Sprint(l.Blocks) || !raw.Complete() || raw.Sent != len(l.Bytes) {
			t.Errorf("%v: raw blocks %v complete %v, want %v", r.Profile, raw.Blocks, raw.Complete(), l.Blocks)
		}
		if got, err := raw.Point("end"); err != nil || got != l.Blocks[len(r.Trips)].Start {
			t.Errorf("raw Point(end) = %d, %v", got, err)
		}
	}
	for _, tc := range []struct {
		name, hex string
		blocks    string
	}{
		{"cut", qt4Trip0 + qt4Trip1[:10], "[{trip 0 0 35 2} {garbage -1 35 40 -1}]"},
		{"no-end", qt4Trip0, "[{trip 0 0 35 2}]"},
		{"not-a-trip", "000301020" + "3" + endHex, "[{trip 0 0 5 2} {end marker -1 5 7 -1}]"},
		{"cut-size", qt4Trip0 + "ff", "[{trip 0 0 35 2} {garbage -1 35 36 -1}]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := RawLayout(wire.Qt4, unhex(t, tc.hex))
			if got := fmt.Sprint(raw.Blocks); got != tc.blocks || raw.Complete() {
				t.Errorf("blocks %s complete %v, want %s, incomplete", got, raw.Complete(), tc.blocks)
			}
		})
	}
}

// BenchmarkReplyLayout is the cost of laying out a reply (the server's
// every reply goes through Reply.Layout), side by side with the least it
// can cost: wire.Encoder appending the same blocks to a buffer of the
// right size, as the server did before Reply existed.
//
//	go test ./fakes -run '^$' -bench ReplyLayout -count 3
func BenchmarkReplyLayout(b *testing.B) {
	req := wire.Request{Type: wire.TypeSearch, From: wire.Str("Berlin"), To: wire.Str("München"),
		Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: wire.FlagDeparture}
	trips := (Book{}).Trips(&req)
	l, err := (&Reply{Profile: wire.Qt4, Trips: trips}).Layout()
	if err != nil {
		b.Fatal(err)
	}
	size := len(l.Bytes)
	b.Run("layout", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := (&Reply{Profile: wire.Qt4, Trips: trips}).Layout(); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoder", func(b *testing.B) {
		b.SetBytes(int64(size))
		b.ReportAllocs()
		enc := wire.Encoder{Profile: wire.Qt4, AllowIllegalWrites: true}
		for i := 0; i < b.N; i++ {
			out := make([]byte, 0, size)
			for k := range trips {
				if out, err = enc.AppendTrip(out, &trips[k]); err != nil {
					b.Fatal(err)
				}
			}
			out = wire.AppendEnd(out)
			if len(out) != size {
				b.Fatalf("%d bytes, want %d", len(out), size)
			}
		}
	})
}
