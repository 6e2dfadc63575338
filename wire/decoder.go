package wire

import (
	"encoding/binary"
	"io"
	"strconv"
)

// Direction says which side of a connection a stream comes from, and so what
// its blocks hold.
type Direction uint8

const (
	// Requests is the client's stream: request blocks.
	Requests Direction = iota + 1
	// Replies is the server's stream: trip blocks, then the end marker.
	Replies
)

func (d Direction) String() string {
	switch d {
	case Requests:
		return "requests"
	case Replies:
		return "replies"
	}
	return "Direction(" + strconv.Itoa(int(d)) + ")"
}

// Kind is what a block holds.
type Kind uint8

const (
	KindRequest Kind = iota + 1 // a request block
	KindTrip                    // a trip block
	KindEnd                     // the end marker 0xFFFF
)

func (k Kind) String() string {
	switch k {
	case KindRequest:
		return "request"
	case KindTrip:
		return "trip"
	case KindEnd:
		return "end"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Block is one framed block, before its fields are decoded.
type Block struct {
	// Offset is the stream offset of the block's size field.
	Offset int64
	// Size is the size field: the payload length, or 0xFFFF for the end
	// marker.
	Size int
	// Bytes is the whole block, size field included. It aliases the decoder's
	// input or buffer and is valid until the next call to the decoder.
	Bytes []byte
}

// End reports whether b is the end marker.
func (b Block) End() bool { return b.Size == EndMarker }

// Payload is the block without its size field.
func (b Block) Payload() []byte { return b.Bytes[2:] }

// Message is a decoded block.
type Message struct {
	Block
	Kind Kind
	// Index counts blocks of the same kind in the stream from 0: this is
	// trip[Index].
	Index   int
	Request Request // when Kind is KindRequest
	Trip    Trip    // when Kind is KindTrip
}

// Path names the message in field paths: "request", "trip[2]", "end".
func (m *Message) Path() string { return kindPath(m.Kind, m.Index) }

func kindPath(k Kind, i int) string {
	if k == KindEnd {
		return "end"
	}
	return k.String() + "[" + strconv.Itoa(i) + "]"
}

// Decoder decodes a stream of blocks fed in any split. Feed it bytes, then
// call Next until it returns ErrNeedMore; at the end of the stream call
// Close, which says whether the stream ended cleanly.
//
// Decoding reads the input in place: a Message or Block, and the strings in
// it, alias either the slice given to Feed or the decoder's own buffer, and
// are valid until the next call to Feed, Next, NextBlock or Reset. The
// decoder holds at most one partial block (65 537 bytes) of its own; the
// caller must not modify a fed slice until Next has returned ErrNeedMore.
type Decoder struct {
	profile Profile
	dir     Direction
	in      []byte // caller's unconsumed input
	pbuf    []byte // owned buffer for a block split across Feeds
	pend    []byte // its unconsumed part
	off     int64  // stream offset of the next unconsumed byte
	index   [3]int // blocks framed, by kind: end, request, trip
	kind    int    // the index slot of this direction's blocks: 1 or 2
	ended   bool   // the end marker has been read
	failed  error  // terminal stream error
	strict  bool   // validate decoded values (AllowIllegalReads false)
}

// NewDecoder returns a decoder of one direction of a stream in profile p.
func NewDecoder(p Profile, dir Direction) *Decoder {
	d := &Decoder{}
	d.Reset(p, dir)
	return d
}

// Reset makes d ready for a new stream, keeping its buffer and its
// AllowIllegalReads setting.
func (d *Decoder) Reset(p Profile, dir Direction) {
	*d = Decoder{profile: p, dir: dir, pbuf: d.pbuf[:0], kind: 2, strict: d.strict}
	if dir == Requests {
		d.kind = 1
	}
}

// AllowIllegalReads says whether Next lets through values a conforming peer
// must not send: a request type other than 'S', a flag other than 'D' or
// 'A', a time out of range (the rules of Request.Validate and
// Trip.Validate). It is the read-side mirror of Encoder.AllowIllegalWrites,
// after x/net/http2's Framer.AllowIllegalReads, except for its default: a
// new Decoder allows them, as QDataStream reads them without complaint, and
// as every decoder of this package always has.
//
// With AllowIllegalReads(false), Next validates each message it decodes
// cleanly and returns the first illegal value as a *DecodeError with the
// stream offset of the field's first byte and its path
// ("trip[1].departure", ErrInvalidTime; "request[0].flag", ErrBadFlag). The
// message is still decoded whole into m and the stream goes on, as for a
// corrupt block. No caller needs to find the field's offset afterwards.
func (d *Decoder) AllowIllegalReads(allow bool) { d.strict = !allow }

// Profile is the profile d decodes.
func (d *Decoder) Profile() Profile { return d.profile }

// Offset is the stream offset of the next byte d has not consumed.
func (d *Decoder) Offset() int64 { return d.off }

// Buffered is the number of bytes fed but not yet consumed.
func (d *Decoder) Buffered() int { return len(d.pend) + len(d.in) }

// Ended reports whether the end marker has been read.
func (d *Decoder) Ended() bool { return d.ended }

// Feed gives d more of the stream.
func (d *Decoder) Feed(b []byte) {
	if len(d.in) > 0 {
		// Next did not drain the last input: keep it, in order.
		d.pend = append(d.pend, d.in...)
	}
	d.in = b
}

// NextBlock frames the next block without decoding its fields. It returns
// ErrNeedMore when the input holds no whole block; a *DecodeError with
// ErrReservedSize for a size 0xFFFF in a request stream, or ErrAfterEnd for
// bytes after the end marker; these end the stream, and every later call
// returns the same error.
func (d *Decoder) NextBlock() (Block, error) {
	// The fast path: a whole block at the front of the caller's input.
	if b := d.in; len(b) >= 2 && len(d.pend) == 0 && !d.ended && d.failed == nil {
		size := int(b[0])<<8 | int(b[1])
		if n := size + 2; size != EndMarker && n <= len(b) {
			off := d.off
			d.in = b[n:]
			d.off = off + int64(n)
			d.index[d.kind]++
			return Block{Offset: off, Size: size, Bytes: b[:n:n]}, nil
		}
	}
	return d.nextBlockSlow()
}

// nextBlockSlow handles all but a whole ordinary block in the input.
func (d *Decoder) nextBlockSlow() (Block, error) {
	if d.failed != nil {
		return Block{}, d.failed
	}
	if len(d.pend) == 0 {
		d.pend = d.pbuf[:0]
		b := d.in
		if d.ended && len(b) > 0 {
			return Block{}, d.fail(&DecodeError{Field: "end", Offset: d.off, Err: ErrAfterEnd, Detail: "first byte " + hexByte(b[0])})
		}
		if len(b) >= 2 {
			size := int(binary.BigEndian.Uint16(b))
			n := 2 + size
			if size == EndMarker {
				n = 2
			}
			if n <= len(b) {
				blk := Block{Offset: d.off, Size: size, Bytes: b[:n:n]}
				if err := d.check(blk); err != nil {
					return Block{}, err
				}
				d.in = b[n:]
				d.off += int64(n)
				d.count(blk)
				return blk, nil
			}
		}
		// Keep the partial block; it is at most 65 537 bytes.
		d.pend = append(d.pend, b...)
		d.keepBuffer()
		d.in = nil
		return Block{}, ErrNeedMore
	}
	// A block started in an earlier input: complete it in the buffer.
	if d.ended {
		return Block{}, d.fail(&DecodeError{Field: "end", Offset: d.off, Err: ErrAfterEnd, Detail: "first byte " + hexByte(d.pend[0])})
	}
	if len(d.pend) < 2 {
		d.take(2 - len(d.pend))
		if len(d.pend) < 2 {
			return Block{}, ErrNeedMore
		}
	}
	size := int(binary.BigEndian.Uint16(d.pend))
	n := 2 + size
	if size == EndMarker {
		n = 2
	}
	if len(d.pend) < n {
		d.take(n - len(d.pend))
		if len(d.pend) < n {
			return Block{}, ErrNeedMore
		}
	}
	blk := Block{Offset: d.off, Size: size, Bytes: d.pend[:n:n]}
	if err := d.check(blk); err != nil {
		return Block{}, err
	}
	d.pend = d.pend[n:]
	d.off += int64(n)
	d.count(blk)
	return blk, nil
}

// count counts a framed block by kind.
func (d *Decoder) count(b Block) {
	if b.End() {
		d.index[0]++
		return
	}
	d.index[d.kind]++
}

// take moves up to n bytes from the input to the buffer.
func (d *Decoder) take(n int) {
	n = min(n, len(d.in))
	d.pend = append(d.pend, d.in[:n]...)
	d.keepBuffer()
	d.in = d.in[n:]
}

// keepBuffer keeps a buffer that append has grown, for reuse.
func (d *Decoder) keepBuffer() {
	if cap(d.pend) > cap(d.pbuf) {
		d.pbuf = d.pend[:0]
	}
}

// check applies the stream rules of the size field.
func (d *Decoder) check(b Block) error {
	if b.Size != EndMarker {
		return nil
	}
	if d.dir == Requests {
		return d.fail(&DecodeError{Field: "size", Offset: b.Offset, Err: ErrReservedSize})
	}
	d.ended = true
	return nil
}

func (d *Decoder) fail(err error) error {
	d.failed = err
	d.in, d.pend = nil, nil
	return err
}

func hexByte(c byte) string {
	const digits = "0123456789abcdef"
	return "0x" + string([]byte{digits[c>>4], digits[c&15]})
}

// Next frames and decodes the next block into m. Besides NextBlock's errors
// it returns a *DecodeError for a block whose fields are corrupt (ErrPastEnd,
// ErrOddStringLength) or leave bytes over (ErrTrailingBytes); the block is
// consumed, m holds what was decoded, and the stream goes on: the size field
// still frames the next block.
func (d *Decoder) Next(m *Message) error {
	blk, err := d.NextBlock()
	if err != nil {
		return err
	}
	m.Block = blk
	var fe fieldError
	switch {
	case blk.End():
		m.Kind = KindEnd
		m.Index = d.index[0] - 1
		return nil
	case d.dir == Requests:
		m.Kind = KindRequest
		m.Index = d.index[1] - 1
		fe = d.profile.decodeRequest(blk.Bytes[2:], &m.Request)
	default:
		m.Kind = KindTrip
		m.Index = d.index[2] - 1
		fe = d.profile.decodeTrip(blk.Bytes[2:], &m.Trip)
	}
	if fe.err == nil && d.strict {
		if m.Kind == KindRequest {
			fe = validateRequest(d.profile, &m.Request)
		} else {
			fe = validateTrip(d.profile, &m.Trip)
		}
	}
	if fe.err != nil {
		return fe.asError(m.Path()+".", blk.Offset+2, blk.Size)
	}
	return nil
}

// Close tells d that the stream has ended, and says how: nil for a clean end
// (after the end marker of a reply, or at a block boundary of requests); a
// *DecodeError with ErrTruncated, naming the field the stream ended in, for
// an end inside a block; ErrNoEndMarker for a reply that ended at a block
// boundary before its end marker.
func (d *Decoder) Close() error {
	if d.failed != nil {
		return d.failed
	}
	rest := append(d.pend[:len(d.pend):len(d.pend)], d.in...)
	if len(rest) > 0 {
		field, detail := "size", strconv.Itoa(len(rest))+" of 2 bytes"
		if len(rest) >= 2 {
			size := int(binary.BigEndian.Uint16(rest))
			payload := rest[2:]
			k, idx := KindTrip, d.index[2]
			var fe fieldError
			if d.dir == Requests {
				k, idx = KindRequest, d.index[1]
				fe = d.profile.decodeRequest(payload, new(Request))
			} else {
				fe = d.profile.decodeTrip(payload, new(Trip))
			}
			field = kindPath(k, idx)
			if fe.err != nil && fe.field != fTrailing {
				field += "." + fieldNames[fe.field]
			}
			detail = strconv.Itoa(len(payload)) + " of " + strconv.Itoa(size) + " payload bytes"
		}
		return d.fail(&DecodeError{Field: field, Offset: d.off + int64(len(rest)), Err: ErrTruncated, Detail: detail})
	}
	if d.dir == Replies && !d.ended {
		return d.fail(&DecodeError{Field: "end", Offset: d.off, Err: ErrNoEndMarker})
	}
	return nil
}

// Reader decodes blocks from an io.Reader.
type Reader struct {
	r       io.Reader
	d       Decoder
	buf     []byte
	eof     bool  // the io.Reader has said io.EOF
	pending error // a read error to return once the blocks before it are out
}

// NewReader returns a Reader of one direction of a stream in profile p.
func NewReader(r io.Reader, p Profile, dir Direction) *Reader {
	rd := &Reader{r: r, buf: make([]byte, 32<<10)}
	rd.d.Reset(p, dir)
	return rd
}

// Reset makes rd read a new stream, keeping its buffers.
func (rd *Reader) Reset(r io.Reader, p Profile, dir Direction) {
	rd.r, rd.eof, rd.pending = r, false, nil
	rd.d.Reset(p, dir)
}

// Decoder gives access to the underlying decoder's state (Offset, Ended).
func (rd *Reader) Decoder() *Decoder { return &rd.d }

// Next reads and decodes the next block into m, which is valid until the next
// call. It returns io.EOF when the stream ends cleanly (see Decoder.Close);
// the Decoder's errors for corrupt blocks (the stream goes on); a
// *DecodeError with ErrTruncated or ErrNoEndMarker when the stream ends where
// it must not; and the io.Reader's other errors (a deadline, a reset) as they
// are, after the whole blocks read before them. A deadline error is not
// sticky: after extending the deadline, Next may be called again.
func (rd *Reader) Next(m *Message) error {
	return rd.next(func() error { return rd.d.Next(m) })
}

// NextBlock is Next without decoding the fields.
func (rd *Reader) NextBlock() (Block, error) {
	var blk Block
	err := rd.next(func() (err error) { blk, err = rd.d.NextBlock(); return err })
	return blk, err
}

func (rd *Reader) next(step func() error) error {
	for {
		err := step()
		if err != ErrNeedMore {
			return err
		}
		if rd.pending != nil {
			err, rd.pending = rd.pending, nil
			return err
		}
		if rd.eof {
			if err := rd.d.Close(); err != nil {
				return err
			}
			return io.EOF
		}
		n, err := rd.r.Read(rd.buf)
		rd.d.Feed(rd.buf[:n])
		switch {
		case err == io.EOF:
			rd.eof = true
		case err != nil:
			rd.pending = err
		}
	}
}
