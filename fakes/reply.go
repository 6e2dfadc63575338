package fakes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// Reply is what a server sends for one search, misbehaving as its fields
// say: the trip blocks in a profile's layout (a client reading the other
// profile sees the other-profile fault), a lying size field, garbage, no
// end marker, bytes after the end marker, the stream cut at a point. A
// Reply with only Profile and Trips set is the well-formed answer.
//
// A Reply says what the bytes are; a [ReplyWriter] says how they go on a
// connection. [Reply.Layout] encodes it once, block by block, so that a
// caller can name places in it (see [Layout.Point]) before choosing the
// shape of the writes.
type Reply struct {
	// Profile is the layout the trip blocks are written in.
	Profile wire.Profile
	// Trips are encoded as they are, illegal values included (a time past
	// the day, a train type of lone surrogates).
	Trips []wire.Trip
	// SizeDelta is added to the size field of every trip block, so that
	// it lies about the payload (-1: one byte short). The end marker is
	// left alone.
	SizeDelta int
	// Garbage are raw bytes after the trips, before the end marker: a
	// block of the layout of its own (0000 is a block of size 0, 0003010203
	// a block that is no trip).
	Garbage []byte
	// NoEnd leaves out the end marker 0xFFFF.
	NoEnd bool
	// After are raw bytes after the end marker (after the trips and the
	// garbage, with NoEnd).
	After []byte
	// Truncate, if set, is a point of the layout (see [Layout.Point]):
	// only the bytes before it are sent.
	Truncate string
}

// BlockKind says what a block of a [Layout] is.
type BlockKind int

// The kinds of block of a reply, in the order they come.
const (
	BlockTrip    BlockKind = iota + 1 // a trip block, Reply.Trips[Block.Trip]
	BlockGarbage                      // Reply.Garbage
	BlockEnd                          // the end marker
	BlockAfter                        // Reply.After
)

func (k BlockKind) String() string {
	switch k {
	case BlockTrip:
		return "trip"
	case BlockGarbage:
		return "garbage"
	case BlockEnd:
		return "end marker"
	case BlockAfter:
		return "after the end marker"
	}
	return fmt.Sprintf("BlockKind(%d)", int(k))
}

// Block is one block of a [Layout]: where it lies in Layout.Bytes.
type Block struct {
	Kind BlockKind
	// Trip is the index of a BlockTrip's trip, else -1.
	Trip int
	// Start and End are the offsets of its first byte and after its last.
	Start, End int
	// Payload is the offset of a BlockTrip's payload (after its size
	// field), else -1.
	Payload int
}

// Layout is a [Reply] encoded, block by block.
type Layout struct {
	Profile wire.Profile
	// Bytes are the whole reply, as if not truncated.
	Bytes []byte
	// Blocks are the blocks of Bytes, in order, covering all of it.
	Blocks []Block
	// Sent is how many of Bytes go out: len(Bytes), or fewer where the
	// Reply truncates.
	Sent int

	clean bool     // trips only, honest sizes, and the end marker
	small [6]Block // Blocks of a short reply, without an allocation of their own
}

// Layout encodes r. It fails on an invalid profile, a trip that does not
// fit a block, a size delta out of a quint16's range, or a Truncate point
// that does not resolve.
func (r *Reply) Layout() (*Layout, error) {
	if !r.Profile.Valid() {
		return nil, fmt.Errorf("reply profile: %w %v", wire.ErrUnknownProfile, r.Profile)
	}
	if r.SizeDelta < -wire.EndMarker || r.SizeDelta > wire.EndMarker {
		return nil, fmt.Errorf("size delta %d is more than a quint16 can be off by", r.SizeDelta)
	}
	size := len(r.Garbage) + len(wire.AppendEnd(nil)) + len(r.After)
	for i := range r.Trips {
		size += wire.BlockLen(r.Profile.TripSize(&r.Trips[i]))
	}
	l := &Layout{Profile: r.Profile, Bytes: make([]byte, 0, size)}
	l.Blocks = l.small[:0]
	if n := len(r.Trips) + 3; n > len(l.small) {
		l.Blocks = make([]Block, 0, n)
	}
	l.clean = r.SizeDelta == 0 && len(r.Garbage) == 0 && !r.NoEnd
	// Illegal writes too: a time past the day is a fault to send.
	enc := wire.Encoder{Profile: r.Profile, AllowIllegalWrites: true, SizeDelta: r.SizeDelta}
	var err error
	for i := range r.Trips {
		start := len(l.Bytes)
		if l.Bytes, err = enc.AppendTrip(l.Bytes, &r.Trips[i]); err != nil {
			return nil, fmt.Errorf("cannot encode trip[%d]: %w", i, err)
		}
		// The payload is the last TripSize bytes of the block: the
		// encoder writes no trailing bytes here.
		payload := len(l.Bytes) - r.Profile.TripSize(&r.Trips[i])
		l.Blocks = append(l.Blocks, Block{Kind: BlockTrip, Trip: i, Start: start, End: len(l.Bytes), Payload: payload})
	}
	l.add(BlockGarbage, r.Garbage)
	if !r.NoEnd {
		start := len(l.Bytes)
		l.Bytes = wire.AppendEnd(l.Bytes)
		l.Blocks = append(l.Blocks, Block{Kind: BlockEnd, Trip: -1, Start: start, End: len(l.Bytes), Payload: -1})
	}
	l.add(BlockAfter, r.After)
	l.Sent = len(l.Bytes)
	if r.Truncate != "" {
		if l.Sent, err = l.Point(r.Truncate); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// RawLayout lays out bytes as they are, a captured or a mutated reply, in
// the blocks package wire frames in them: a trip block for each whole block
// before the end marker, the end marker, then the bytes after it as one
// block; bytes before the end marker that hold no whole block are garbage.
// The bytes are not copied. It is Complete when every trip block decodes in
// profile p and the end marker comes.
func RawLayout(p wire.Profile, b []byte) *Layout {
	l := &Layout{Profile: p, Bytes: b, Sent: len(b), clean: true}
	off, trips := 0, 0
	var t wire.Trip
	for off < len(b) {
		blk, ok := wire.FirstBlock(b[off:])
		if !ok {
			l.Blocks = append(l.Blocks, Block{Kind: BlockGarbage, Trip: -1, Start: off, End: len(b), Payload: -1})
			l.clean = false
			return l
		}
		size, _ := wire.Announced(blk)
		if size == wire.EndMarker {
			l.Blocks = append(l.Blocks, Block{Kind: BlockEnd, Trip: -1, Start: off, End: off + len(blk), Payload: -1})
			if off += len(blk); off < len(b) {
				l.Blocks = append(l.Blocks, Block{Kind: BlockAfter, Trip: -1, Start: off, End: len(b), Payload: -1})
			}
			return l
		}
		// The payload is the last size bytes of the block.
		if p.DecodeTrip(blk[len(blk)-size:], &t) != nil {
			l.clean = false
		}
		l.Blocks = append(l.Blocks, Block{Kind: BlockTrip, Trip: trips, Start: off, End: off + len(blk), Payload: off + len(blk) - size})
		trips++
		off += len(blk)
	}
	l.clean = false // no end marker
	return l
}

// add appends raw bytes as a block of kind k, if there are any.
func (l *Layout) add(k BlockKind, b []byte) {
	if len(b) == 0 {
		return
	}
	start := len(l.Bytes)
	l.Bytes = append(l.Bytes, b...)
	l.Blocks = append(l.Blocks, Block{Kind: k, Trip: -1, Start: start, End: len(l.Bytes), Payload: -1})
}

// Out is what goes out: Bytes[:Sent].
func (l *Layout) Out() []byte { return l.Bytes[:l.Sent] }

// Trips is the number of trip blocks in the layout.
func (l *Layout) Trips() int {
	n := 0
	for _, b := range l.Blocks {
		if b.Kind == BlockTrip {
			n++
		}
	}
	return n
}

// WholeTrips is the number of first trip blocks that go out entire.
func (l *Layout) WholeTrips() int {
	n := 0
	for _, b := range l.Blocks {
		if b.Kind == BlockTrip && b.End <= l.Sent {
			n++
		}
	}
	return n
}

// Complete reports whether what goes out is a whole, valid answer: every
// trip block with an honest size, nothing else before the end marker, and
// the end marker. Bytes after it are no part of the answer.
func (l *Layout) Complete() bool {
	return l.clean && l.Sent == len(l.Bytes)
}

// end is the offset of the end marker, or -1.
func (l *Layout) end() int {
	for _, b := range l.Blocks {
		if b.Kind == BlockEnd {
			return b.Start
		}
	}
	return -1
}

// trip is the block of trip i, or nil.
func (l *Layout) trip(i int) *Block {
	for k := range l.Blocks {
		if b := &l.Blocks[k]; b.Kind == BlockTrip && b.Trip == i {
			return b
		}
	}
	return nil
}

var rePoint = regexp.MustCompile(`^(?:(\d+)|trip\[(\d+)\](?:\.(size|date|departure|duration|changes|trainType))?|end)([+-]\d+)?$`)

// Point resolves a point of the reply to a byte offset of Bytes: a byte
// offset N; trip[I] or trip[I].size, the first byte of trip I's block;
// trip[I].FIELD (date, departure, duration, changes, trainType), the
// middle of that field (of a string's data, where it has any), as
// package wire lays the payload out; end, the end marker's first byte;
// each optionally followed by +N or -N. The offset must lie in the reply
// (len(Bytes) is its end).
func (l *Layout) Point(spec string) (int, error) {
	m := rePoint.FindStringSubmatch(spec)
	if m == nil {
		return 0, fmt.Errorf("point %q: want N, trip[I], trip[I].FIELD or end, then optionally +N or -N", spec)
	}
	var off int
	switch {
	case m[1] != "":
		var err error
		if off, err = strconv.Atoi(m[1]); err != nil {
			return 0, fmt.Errorf("point %q: %v", spec, err)
		}
	case strings.HasPrefix(spec, "end"):
		if off = l.end(); off < 0 {
			return 0, fmt.Errorf("point %q: the reply has no end marker", spec)
		}
	default:
		i, err := strconv.Atoi(m[2])
		b := l.trip(i)
		if err != nil || b == nil {
			return 0, fmt.Errorf("point %q: the reply has %d trips", spec, l.Trips())
		}
		off = b.Start
		if f := m[3]; f != "" && f != "size" {
			payload := l.Bytes[b.Payload:b.End]
			for _, sp := range l.Profile.Spans(wire.KindTrip, payload) {
				if sp.Field != f {
					continue
				}
				if sp.Data >= 0 && sp.End > sp.Data {
					off = b.Payload + sp.Data + (sp.End-sp.Data)/2
				} else {
					off = b.Payload + sp.Start + (sp.End-sp.Start)/2
				}
			}
		}
	}
	if m[4] != "" {
		d, err := strconv.Atoi(m[4])
		if err != nil {
			return 0, fmt.Errorf("point %q: %v", spec, err)
		}
		off += d
	}
	if off < 0 || off > len(l.Bytes) {
		return 0, fmt.Errorf("point %q is byte %d, outside the %d-byte reply", spec, off, len(l.Bytes))
	}
	return off, nil
}

// ReplyWriter writes a [Layout] on a connection, shaped: silence first,
// then the bytes in one write or one write per block, cut, coalesced and
// delayed as its Shape says, then the stream ended as Shape.Then says
// (close, half-close, reset, keep-open). The zero ReplyWriter writes the
// reply in one write and closes the connection, as a well-behaved server
// does. It holds no state: one ReplyWriter may write any number of
// replies, at once.
type ReplyWriter struct {
	// Shape is how the bytes go on the wire (see package shape) and how
	// the stream ends. Its truncation (truncate-N) cuts the bytes sent
	// further; a Reply's Truncate point is applied before the shape.
	Shape shape.Shape
	// PerBlock writes each block of the layout with its own Write, as the
	// book's server does; the shape then also cuts at block boundaries.
	// Up to MaxPacedBlocks blocks, the writes on a TCP connection are
	// paced (shape.DefaultPause) so that each leaves as its own segment;
	// longer replies go without the pause, as the book's server does.
	PerBlock bool
	// Silence sends nothing at all for this long first.
	Silence time.Duration
	// WriteTimeout bounds the write of every piece (default
	// shape.DefaultWriteTimeout).
	WriteTimeout time.Duration
}

// MaxPacedBlocks is the most blocks a ReplyWriter writes one per write
// with a pause between them.
const MaxPacedBlocks = 64

// Write writes l's bytes to w and ends the stream, as rw says, and
// returns the bytes written. w is usually a net.Conn (a *net.TCPConn for
// the pacing, the half-close and the reset); any io.Writer will do where
// the shape needs nothing more of it. ctx ends the silence early (Write
// returns ctx.Err() then, having written nothing). A failed write stops the
// reply, and the stream is still ended as Shape.Then says; the error says
// why, often that the client closed first. A shape's truncation is no
// error.
func (rw *ReplyWriter) Write(ctx context.Context, w io.Writer, l *Layout) (int, error) {
	if rw.Silence > 0 {
		t := time.NewTimer(rw.Silence)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, ctx.Err()
		}
	}
	var opts []shape.Option
	if rw.WriteTimeout > 0 {
		opts = append(opts, shape.WithWriteTimeout(rw.WriteTimeout))
	}
	if rw.PerBlock && len(l.Blocks) > MaxPacedBlocks {
		opts = append(opts, shape.WithPause(0))
	}
	sw, err := shape.NewWriter(w, rw.Shape, opts...)
	if err != nil {
		return 0, err
	}
	out := l.Out()
	var n int
	var werr error
	if rw.PerBlock {
		for _, b := range l.Blocks {
			if b.Start >= len(out) {
				break
			}
			var k int
			k, werr = sw.Write(out[b.Start:min(b.End, len(out))])
			n += k
			if werr != nil {
				break
			}
		}
	} else if len(out) > 0 {
		n, werr = sw.Write(out)
	}
	if errors.Is(werr, shape.ErrTruncated) {
		werr = nil // the shape ended the stream where it was told to
	}
	return n, errors.Join(werr, sw.Close())
}
