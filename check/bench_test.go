package check_test

import (
	"testing"

	"github.com/tripcheck/tripcheck/check"
	"github.com/tripcheck/tripcheck/wire"
)

// benchReply is a long reply of the book's trips: many whole blocks, so that
// the per-block cost is what is measured.
func benchReply(b *testing.B) []byte {
	trips := vector(b, "qt4", "reply", "berlin-muenchen-dep")
	var out []byte
	for len(out) < 100<<10 {
		out = append(out, trips[:105]...)
	}
	return append(out, 0xff, 0xff)
}

// BenchmarkDecoderBaseline is the baseline: a bare wire.Decoder's Feed and
// Next over the same bytes, in 1 460-byte pieces (one TCP segment).
func BenchmarkDecoderBaseline(b *testing.B) {
	reply := benchReply(b)
	b.SetBytes(int64(len(reply)))
	b.ReportAllocs()
	d := wire.NewDecoder(wire.Qt4, wire.Replies)
	for b.Loop() {
		d.Reset(wire.Qt4, wire.Replies)
		for at := 0; at < len(reply); at += 1460 {
			d.Feed(reply[at:min(at+1460, len(reply))])
			for {
				var m wire.Message
				if err := d.Next(&m); err != nil {
					if err != wire.ErrNeedMore {
						b.Fatal(err)
					}
					break
				}
			}
		}
	}
}

// BenchmarkSessionFeed is the checker over the same bytes: decoding,
// validating every trip, and keeping the session's state.
func BenchmarkSessionFeed(b *testing.B) {
	reply := benchReply(b)
	b.SetBytes(int64(len(reply)))
	b.ReportAllocs()
	for b.Loop() {
		s := check.NewSession(check.Options{Profile: wire.Qt4})
		for at, n := 0, 1; at < len(reply); at, n = at+1460, n+1 {
			s.Feed(wire.Replies, reply[at:min(at+1460, len(reply))], n)
		}
		if _, ok := s.Next(); ok {
			b.Fatal("a finding in the book's trips")
		}
	}
}
