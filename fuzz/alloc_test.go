package fuzz

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// TestDecodeAllocs: decoding reads its input in place. DecodeRequest and
// DecodeTrip allocate nothing for any Qt vector (the seeds of
// FuzzDecodeRequest and FuzzDecodeTrip), and a reused Decoder decodes a
// whole reply, or a request fed one byte at a time, without allocating
// (the seeds of FuzzReencode).
func TestDecodeAllocs(t *testing.T) {
	if testing.CoverMode() != "" {
		t.Skip("coverage counters allocate")
	}
	d := wire.NewDecoder(wire.Qt4, wire.Replies)
	n := 0
	for _, target := range []string{"FuzzDecodeRequest", "FuzzDecodeTrip", "FuzzReencode"} {
		for name, args := range qtSeeds(t, target) {
			p := wire.Qt4
			if strings.HasPrefix(name, "qt5-") {
				p = wire.Qt5
			}
			b := args[1].([]byte)
			var allocs float64
			switch {
			case target == "FuzzDecodeRequest" && strings.Contains(name, "-request-"):
				var r wire.Request
				allocs = testing.AllocsPerRun(20, func() { _ = p.DecodeRequest(b, &r) })
			case target == "FuzzDecodeTrip" && strings.Contains(name, "-trip-"):
				var tr wire.Trip
				allocs = testing.AllocsPerRun(20, func() { _ = p.DecodeTrip(b, &tr) })
			case target == "FuzzReencode" && strings.Contains(name, "-reply-"):
				allocs = streamAllocs(d, p, wire.Replies, b, len(b))
			case target == "FuzzReencode" && strings.Contains(name, "-request-"):
				allocs = streamAllocs(d, p, wire.Requests, b, 1)
			default:
				continue
			}
			n++
			if allocs != 0 {
				t.Errorf("%s %s: %v allocations per decode, want 0", target, name, allocs)
			}
		}
	}
	// 26 requests twice, 10 trips and 26 replies: every qt4 and qt5 one.
	if n != 88 {
		t.Fatalf("%d Qt vector seeds checked, want 88", n)
	}
}

// qtSeeds reads the seeds of a target made from the Qt vectors: file name
// → values. Only bool and []byte values are read.
func qtSeeds(t *testing.T, target string) map[string][]any {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "fuzz", target, "qt[45]-*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]any{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if lines[0] != "go test fuzz v1" {
			t.Fatalf("%s: not a corpus file", f)
		}
		var args []any
		for _, l := range lines[1:] {
			switch {
			case l == "bool(true)", l == "bool(false)":
				args = append(args, l == "bool(true)")
			case strings.HasPrefix(l, "[]byte(") && strings.HasSuffix(l, ")"):
				v, err := strconv.Unquote(l[len("[]byte(") : len(l)-1])
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				args = append(args, []byte(v))
			default:
				args = append(args, l)
			}
		}
		out[filepath.Base(f)] = args
	}
	return out
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
