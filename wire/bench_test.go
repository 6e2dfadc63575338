package wire_test

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// benchStream is a 1 MiB coalesced qt4 reply stream of book-like trips.
func benchStream(b *testing.B) (stream []byte, trips int) {
	b.Helper()
	const target = 1 << 20
	var tr wire.Trip
	for len(stream) < target-64 {
		tr = wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: uint16(trips % 200), Changes: 1, TrainType: wire.Str("InterCity")}
		var err error
		if stream, err = wire.Qt4.AppendTrip(stream, &tr); err != nil {
			b.Fatal(err)
		}
		trips++
	}
	return wire.AppendEnd(stream), trips
}

// BenchmarkFraming splits a 1 MiB reply into blocks without decoding fields.
// "baseline" is the least any framing can do (a bare loop over the size
// fields); "bufio" is the conventional io.ReadFull loop over a bufio.Reader.
func BenchmarkFraming(b *testing.B) {
	stream, trips := benchStream(b)
	b.Run("decoder", func(b *testing.B) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		d := wire.NewDecoder(wire.Qt4, wire.Replies)
		for b.Loop() {
			d.Reset(wire.Qt4, wire.Replies)
			d.Feed(stream)
			n := 0
			for {
				blk, err := d.NextBlock()
				if err != nil || blk.End() {
					break
				}
				n++
			}
			if n != trips {
				b.Fatalf("%d blocks, want %d", n, trips)
			}
		}
	})
	b.Run("baseline", func(b *testing.B) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		for b.Loop() {
			n := 0
			for off := 0; off+2 <= len(stream); {
				size := int(binary.BigEndian.Uint16(stream[off:]))
				if size == 0xFFFF {
					break
				}
				off += 2 + size
				n++
			}
			if n != trips {
				b.Fatal(n)
			}
		}
	})
	b.Run("bufio", func(b *testing.B) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		br := bufio.NewReaderSize(nil, 32<<10)
		rd := bytes.NewReader(stream)
		buf := make([]byte, 0xFFFF)
		for b.Loop() {
			rd.Reset(stream)
			br.Reset(rd)
			n := 0
			var hdr [2]byte
			for {
				if _, err := io.ReadFull(br, hdr[:]); err != nil {
					b.Fatal(err)
				}
				size := int(binary.BigEndian.Uint16(hdr[:]))
				if size == 0xFFFF {
					break
				}
				if _, err := io.ReadFull(br, buf[:size]); err != nil {
					b.Fatal(err)
				}
				n++
			}
			if n != trips {
				b.Fatal(n)
			}
		}
	})
}

// BenchmarkDecodeTrips decodes every field of a 1 MiB reply, reusing one
// Message: from a byte slice (Decoder) and from an io.Reader (Reader).
func BenchmarkDecodeTrips(b *testing.B) {
	stream, trips := benchStream(b)
	run := func(b *testing.B, next func(m *wire.Message) error, reset func()) {
		b.SetBytes(int64(len(stream)))
		b.ReportAllocs()
		var m wire.Message
		total := 0
		for b.Loop() {
			reset()
			n := 0
			for next(&m) == nil && m.Kind == wire.KindTrip {
				n++
			}
			if n != trips {
				b.Fatalf("%d trips, want %d", n, trips)
			}
			total += n
		}
		b.ReportMetric(float64(total)/b.Elapsed().Seconds(), "trips/s")
	}
	b.Run("decoder", func(b *testing.B) {
		d := wire.NewDecoder(wire.Qt4, wire.Replies)
		run(b, d.Next, func() { d.Reset(wire.Qt4, wire.Replies); d.Feed(stream) })
	})
	b.Run("reader", func(b *testing.B) {
		br := bytes.NewReader(stream)
		rd := wire.NewReader(br, wire.Qt4, wire.Replies)
		run(b, rd.Next, func() { br.Reset(stream); rd.Reset(br, wire.Qt4, wire.Replies) })
	})
}

// BenchmarkEncodeRequest appends the berlin-muenchen request to a reused
// buffer; "binary.Write" is the conventional encoding through encoding/binary
// into a bytes.Buffer, for comparison.
func BenchmarkEncodeRequest(b *testing.B) {
	r := wire.Request{Type: 'S', From: wire.Str("Berlin"), To: wire.Str("München"), Date: wire.DateOf(2026, 11, 25), Time: wire.TimeOf(9, 0, 0, 0), Flag: 'D'}
	want, _ := wire.Qt4.AppendRequest(nil, &r)
	b.Run("append", func(b *testing.B) {
		b.SetBytes(int64(len(want)))
		b.ReportAllocs()
		buf := make([]byte, 0, 64)
		for b.Loop() {
			buf, _ = wire.Qt4.AppendRequest(buf[:0], &r)
		}
		if !bytes.Equal(buf, want) {
			b.Fatal("wrong bytes")
		}
	})
	b.Run("binary.Write", func(b *testing.B) {
		b.SetBytes(int64(len(want)))
		b.ReportAllocs()
		var buf bytes.Buffer
		from, to := r.From.Units(), r.To.Units()
		for b.Loop() {
			buf.Reset()
			binary.Write(&buf, binary.BigEndian, uint16(0))
			binary.Write(&buf, binary.BigEndian, r.Type)
			binary.Write(&buf, binary.BigEndian, uint32(2*len(from)))
			binary.Write(&buf, binary.BigEndian, from)
			binary.Write(&buf, binary.BigEndian, uint32(2*len(to)))
			binary.Write(&buf, binary.BigEndian, to)
			binary.Write(&buf, binary.BigEndian, uint32(r.Date.JD()))
			binary.Write(&buf, binary.BigEndian, r.Time.Wire())
			binary.Write(&buf, binary.BigEndian, r.Flag)
			binary.BigEndian.PutUint16(buf.Bytes(), uint16(buf.Len()-2))
		}
		if !bytes.Equal(buf.Bytes(), want) {
			b.Fatal("wrong bytes")
		}
	})
}
