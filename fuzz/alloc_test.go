package fuzz

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/wire"
)

// TestDecodeAllocs: decoding reads its input in place. DecodeRequest and
// DecodeTrip allocate nothing for any Qt vector, and a reused Decoder
// decodes a whole reply, or a request fed one byte at a time, without
// allocating.
func TestDecodeAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters allocate")
	}
	vs, err := qtvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	d := wire.NewDecoder(wire.Qt4, wire.Replies)
	for _, v := range vs {
		p := v.WireProfile()
		b := v.Bytes
		var allocs float64
		switch v.Kind {
		case "request":
			var r wire.Request
			allocs = testing.AllocsPerRun(20, func() { _ = p.DecodeRequest(b[2:], &r) })
			if a := streamAllocs(d, p, wire.Requests, b, 1); a > allocs {
				allocs = a
			}
		case "trip":
			var tr wire.Trip
			allocs = testing.AllocsPerRun(20, func() { _ = p.DecodeTrip(b[2:], &tr) })
		case "reply":
			allocs = streamAllocs(d, p, wire.Replies, b, len(b))
		default:
			continue
		}
		if allocs != 0 {
			t.Errorf("%s: %v allocations per decode, want 0", v.Name(), allocs)
		}
	}
}

// streamAllocs is the allocations of decoding b with d, reset and reused,
// fed in pieces of n bytes.
func streamAllocs(d *wire.Decoder, p wire.Profile, dir wire.Direction, b []byte, n int) float64 {
	var m wire.Message
	return testing.AllocsPerRun(20, func() {
		d.Reset(p, dir)
		for off := 0; off < len(b); off += n {
			d.Feed(b[off:min(off+n, len(b))])
			for d.Next(&m) == nil {
			}
		}
		_ = d.Close()
	})
}

// TestDecoderMemoryBounded: the decoder holds at most one block. A stream
// of 8 MiB of the largest blocks, fed in pieces that never hold a whole
// block, costs a few hundred KiB of allocation at most, not the stream.
func TestDecoderMemoryBounded(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters allocate")
	}
	// The largest request: from fills the block.
	r := wire.Request{Type: 'S', From: wire.StrRaw(bytes.Repeat([]byte{0, 'x'}, (wire.MaxPayload-1-4-4-4-4-1)/2)), To: wire.Str(""), Flag: 'D'}
	blk, err := wire.Qt4.AppendRequest(nil, &r)
	if err != nil {
		t.Fatal(err)
	}
	if len(blk) < wire.MaxPayload {
		t.Fatalf("block of %d bytes", len(blk))
	}
	const blocks = 128
	piece := make([]byte, 1000)
	d := wire.NewDecoder(wire.Qt4, wire.Requests)
	var m wire.Message
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	n := 0
	for i := 0; i < blocks*len(blk); i += len(piece) {
		for j := range piece {
			piece[j] = blk[(i+j)%len(blk)]
		}
		d.Feed(piece)
		for {
			err := d.Next(&m)
			if err == wire.ErrNeedMore {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
	runtime.ReadMemStats(&after)
	if n < blocks-1 {
		t.Fatalf("%d requests decoded, want %d", n, blocks)
	}
	if got := after.TotalAlloc - before.TotalAlloc; got > 512<<10 {
		t.Errorf("decoding %d KiB allocated %d KiB: more than one block", blocks*len(blk)>>10, got>>10)
	}
}
