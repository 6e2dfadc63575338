package fuzz

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// frame is what PROTOCOL.md's framing says comes next in a stream: a block
// of n bytes whose size field is size, or an error.
type frame struct {
	size, n int
	err     error // nil, wire.ErrNeedMore, wire.ErrReservedSize or wire.ErrAfterEnd
}

// modelFrame is the framing of PROTOCOL.md written out plainly, independent
// of wire: at offset off of b, after the end marker or not, what comes?
func modelFrame(dir wire.Direction, b []byte, off int, ended bool) frame {
	rest := b[off:]
	switch {
	case ended && len(rest) > 0:
		return frame{err: wire.ErrAfterEnd}
	case len(rest) < 2:
		return frame{err: wire.ErrNeedMore}
	}
	size := int(rest[0])<<8 | int(rest[1])
	if size == wire.EndMarker {
		if dir == wire.Requests {
			return frame{err: wire.ErrReservedSize}
		}
		return frame{size: size, n: 2}
	}
	if len(rest) < 2+size {
		return frame{err: wire.ErrNeedMore}
	}
	return frame{size: size, n: 2 + size}
}

// FuzzFraming checks NextBlock on a whole input against modelFrame, block by
// block, and Close against what the model says of the stream's end.
func FuzzFraming(f *testing.F) {
	f.Fuzz(func(t *testing.T, replies bool, data []byte) { checkFraming(t, replies, data) })
}

// checkFraming is FuzzFraming's property, for one input.
func checkFraming(t testing.TB, replies bool, data []byte) {
	dir := directionOf(replies)
	var d wire.Decoder
	d.Reset(wire.Qt4, dir)
	d.Feed(data)
	off, ended := 0, false
	for {
		want := modelFrame(dir, data, off, ended)
		blk, err := d.NextBlock()
		switch want.err {
		case nil:
			if err != nil {
				t.Fatalf("block at %d: %v; want a block of size %#x", off, err, want.size)
			}
			if blk.Offset != int64(off) || blk.Size != want.size || len(blk.Bytes) != want.n {
				t.Fatalf("block at %d: offset %d size %#x %d bytes; want size %#x %d bytes", off, blk.Offset, blk.Size, len(blk.Bytes), want.size, want.n)
			}
			if cap(blk.Bytes) != len(blk.Bytes) {
				t.Fatalf("block at %d: cap %d > len %d: an append by the caller would overwrite the stream", off, cap(blk.Bytes), len(blk.Bytes))
			}
			if !bytes.Equal(blk.Bytes, data[off:off+want.n]) || len(blk.Payload()) != want.n-2 || blk.End() != (want.size == wire.EndMarker) {
				t.Fatalf("block at %d: bytes %x, want %x", off, blk.Bytes, data[off:off+want.n])
			}
			off += want.n
			if d.Offset() != int64(off) || d.Buffered() != len(data)-off {
				t.Fatalf("after block: decoder offset %d buffered %d; want %d and %d", d.Offset(), d.Buffered(), off, len(data)-off)
			}
			ended = ended || blk.End()
			if d.Ended() != ended {
				t.Fatalf("Ended() = %v after block at %d", d.Ended(), blk.Offset)
			}
			continue
		case wire.ErrNeedMore:
			if err != wire.ErrNeedMore {
				t.Fatalf("at %d: %v; want ErrNeedMore", off, err)
			}
			checkClose(t, &d, dir, data, off, ended)
		default:
			de := decodeError(t, err, int64(off), int64(off), want.err)
			wantField := "size"
			if want.err == wire.ErrAfterEnd {
				wantField = "end"
			}
			if de.Field != wantField {
				t.Fatalf("%v: field %q, want %q", err, de.Field, wantField)
			}
			// The error ends the stream: it sticks.
			if _, again := d.NextBlock(); again != err {
				t.Fatalf("NextBlock after %v: %v", err, again)
			}
			if cerr := d.Close(); cerr != err {
				t.Fatalf("Close after %v: %v", err, cerr)
			}
		}
		return
	}
}

// checkClose checks what Close says of a stream whose whole input has been
// framed up to off.
//
// It does not call t.Helper: FuzzFraming calls it for every input, and
// Helper walks the stack each time (a fifth of the property's cost).
func checkClose(t testing.TB, d *wire.Decoder, dir wire.Direction, data []byte, off int, ended bool) {
	err := d.Close()
	rest := len(data) - off
	switch {
	case rest > 0:
		de := decodeError(t, err, int64(len(data)), int64(len(data)), wire.ErrTruncated)
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("%v does not match io.ErrUnexpectedEOF", err)
		}
		// The block the stream ended in. Its index is not checked here:
		// wire counts only the blocks Next decodes (see
		// TestCloseIndexAfterNextBlock); FuzzSplit checks it through Next.
		want := "size"
		if rest >= 2 {
			want = "request["
			if dir == wire.Replies {
				want = "trip["
			}
		}
		if de.Field != want && !strings.HasPrefix(de.Field, want) {
			t.Fatalf("%v: field %q, want %q or a field of it", err, de.Field, want)
		}
	case dir == wire.Replies && !ended:
		de := decodeError(t, err, int64(off), int64(off), wire.ErrNoEndMarker)
		if de.Field != "end" {
			t.Fatalf("%v: field %q, want \"end\"", err, de.Field)
		}
	default:
		if err != nil {
			t.Fatalf("Close at a clean end: %v", err)
		}
	}
	if again := d.Close(); again != err {
		t.Fatalf("second Close: %v, first %v", again, err)
	}
}
