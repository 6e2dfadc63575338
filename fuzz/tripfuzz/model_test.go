package tripfuzz

import (
	"encoding/binary"
	"errors"
	"io"

	"github.com/tripcheck/tripcheck/wire"
)

// userDecoder is what a user of the package writes: a decoder of whole Trip
// streams of its own, deliberately not built on wire's Decoder (only wire's
// value types and sentinels), as the book's Qt client reads a reply. Its
// zero value decodes as PROTOCOL.md says; each flag breaks it in one way
// that users' decoders get wrong, so that the tests can show that
// differential fuzzing against wire catches it.
type userDecoder struct {
	profile wire.Profile
	// littleEndianSize reads the block size field little-endian.
	littleEndianSize bool
	// ignoresEndMarker does not need the end marker: a reply that ends
	// at a block boundary without it is taken as whole.
	ignoresEndMarker bool
	// acceptsOddStrings reads a string of odd byte length, dropping the
	// odd byte, where QDataStream reports corrupt data.
	acceptsOddStrings bool
	// qt4Dates reads 4-byte dates whatever the profile: Qt5 dates read as
	// Qt4 ones.
	qt4Dates bool
	// ignoresTrailingBytes does not check that a block's fields fill it.
	ignoresTrailingBytes bool
	// bytesAfterEndOK stops at the end marker without looking further.
	bytesAfterEndOK bool
	// plainErrors returns errors.New errors that name no class.
	plainErrors bool
}

var errModel = errors.New("bad stream")

func (u userDecoder) fail(err error) error {
	if u.plainErrors {
		return errModel
	}
	return err
}

// blocks frames stream, calling each for every payload; it returns after
// the end marker (replies) or at the stream's end.
func (u userDecoder) blocks(stream []byte, replies bool, each func(payload []byte) error) error {
	off := 0
	for {
		if off == len(stream) {
			if replies && !u.ignoresEndMarker {
				return u.fail(wire.ErrNoEndMarker)
			}
			return nil
		}
		if len(stream)-off < 2 {
			return u.fail(io.ErrUnexpectedEOF)
		}
		size := int(binary.BigEndian.Uint16(stream[off:]))
		if u.littleEndianSize {
			size = int(binary.LittleEndian.Uint16(stream[off:]))
		}
		off += 2
		if size == 0xFFFF {
			if !replies {
				return u.fail(wire.ErrReservedSize)
			}
			if off != len(stream) && !u.bytesAfterEndOK {
				return u.fail(wire.ErrAfterEnd)
			}
			return nil
		}
		if len(stream)-off < size {
			return u.fail(io.ErrUnexpectedEOF)
		}
		if err := each(stream[off : off+size]); err != nil {
			return err
		}
		off += size
	}
}

// payload reads the fields of one block.
type payload struct {
	u   userDecoder
	b   []byte
	off int
	err error
}

func (p *payload) take(n int) []byte {
	if p.err == nil && len(p.b)-p.off < n {
		p.err = p.u.fail(wire.ErrPastEnd)
	}
	if p.err != nil {
		return make([]byte, 8)[:n] // fields of 8 bytes at most
	}
	p.off += n
	return p.b[p.off-n : p.off]
}

func (p *payload) u8() uint8   { return p.take(1)[0] }
func (p *payload) u16() uint16 { return binary.BigEndian.Uint16(p.take(2)) }
func (p *payload) u32() uint32 { return binary.BigEndian.Uint32(p.take(4)) }

func (p *payload) str() wire.String {
	n := p.u32()
	if p.err != nil || n == 0xFFFFFFFF {
		return wire.NullString()
	}
	if n%2 == 1 && !p.u.acceptsOddStrings {
		p.err = p.u.fail(wire.ErrOddStringLength)
		return wire.NullString()
	}
	if uint32(len(p.b)-p.off) < n {
		p.err = p.u.fail(wire.ErrPastEnd)
		return wire.NullString()
	}
	raw := p.b[p.off : p.off+int(n)]
	p.off += int(n)
	return wire.StrRaw(append([]byte{}, raw[:len(raw)&^1]...))
}

func (p *payload) date() wire.Date {
	if p.u.profile == wire.Qt4 || p.u.qt4Dates {
		if v := p.u32(); v != 0 {
			return wire.DateJD(int64(v))
		}
		return wire.NullDate()
	}
	return wire.DateJD(int64(binary.BigEndian.Uint64(p.take(8))))
}

func (p *payload) done() error {
	if p.err == nil && p.off != len(p.b) && !p.u.ignoresTrailingBytes {
		p.err = p.u.fail(wire.ErrTrailingBytes)
	}
	return p.err
}

// Replies decodes a reply stream.
func (u userDecoder) Replies(stream []byte) ([]wire.Trip, error) {
	var trips []wire.Trip
	err := u.blocks(stream, true, func(b []byte) error {
		p := &payload{u: u, b: b}
		var t wire.Trip
		t.Date = p.date()
		t.Departure = wire.TimeMS(p.u32())
		t.Duration = p.u16()
		t.Changes = p.u8()
		t.TrainType = p.str()
		if err := p.done(); err != nil {
			return err
		}
		trips = append(trips, t)
		return nil
	})
	return trips, err
}

// Requests decodes a request stream.
func (u userDecoder) Requests(stream []byte) ([]wire.Request, error) {
	var reqs []wire.Request
	err := u.blocks(stream, false, func(b []byte) error {
		p := &payload{u: u, b: b}
		var r wire.Request
		r.Type = p.u8()
		r.From = p.str()
		r.To = p.str()
		r.Date = p.date()
		r.Time = wire.TimeMS(p.u32())
		r.Flag = p.u8()
		if err := p.done(); err != nil {
			return err
		}
		reqs = append(reqs, r)
		return nil
	})
	return reqs, err
}
