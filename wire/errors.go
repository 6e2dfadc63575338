package wire

import (
	"errors"
	"fmt"
	"io"
)

// Stream statuses of QDataStream. Field readers return these (or errors that
// wrap them) exactly where QDataStream would set the status.
var (
	// ErrPastEnd is QDataStream::ReadPastEnd: a field needs more bytes than
	// its input (or its block) holds.
	ErrPastEnd = errors.New("wire: field runs past the end of its input")
	// ErrCorrupt is QDataStream::ReadCorruptData.
	ErrCorrupt = errors.New("wire: corrupt data")
)

// Sentinels for errors.Is. Each names one protocol meaning.
var (
	// ErrNeedMore is returned by Decoder.Next when the bytes fed so far do not
	// complete a block. It is not a fault of the stream.
	ErrNeedMore = errors.New("wire: need more bytes")
	// ErrTruncated: the stream ended inside a block. It wraps
	// io.ErrUnexpectedEOF.
	ErrTruncated = fmt.Errorf("wire: stream ended inside a block: %w", io.ErrUnexpectedEOF)
	// ErrNoEndMarker: a reply stream ended at a block boundary before the end
	// marker 0xFFFF.
	ErrNoEndMarker = errors.New("wire: stream ended before the end marker")
	// ErrOddStringLength: a QString byte length that is odd. It wraps
	// ErrCorrupt, as QDataStream reports it.
	ErrOddStringLength = &sentinel{"wire: odd string byte length", ErrCorrupt}
	// ErrTrailingBytes: a block holds bytes after its last field.
	ErrTrailingBytes = errors.New("wire: bytes left over in block")
	// ErrReservedSize: the size 0xFFFF where a block is expected (it is only
	// the end marker of a reply).
	ErrReservedSize = errors.New("wire: reserved block size 0xFFFF")
	// ErrAfterEnd: bytes follow the end marker of a reply.
	ErrAfterEnd = errors.New("wire: bytes after the end marker")
	// ErrBlockTooLarge: an encoder was asked for a payload over 65 534 bytes.
	ErrBlockTooLarge = errors.New("wire: payload larger than 65534 bytes")
	// ErrIllegalWrite: an encoder was asked to write something a conforming
	// peer must not send, without AllowIllegalWrites.
	ErrIllegalWrite = errors.New("wire: illegal write")
	// ErrUnknownType: a request type other than 'S'.
	ErrUnknownType = errors.New("wire: request type is not 'S'")
	// ErrBadFlag: a request flag other than 'D' or 'A'.
	ErrBadFlag = errors.New("wire: flag is neither 'D' nor 'A'")
	// ErrInvalidTime: a QTime value of 86 400 000 or more that is not the null
	// value 0xFFFFFFFF. QDataStream reads it without error; no Qt writer
	// produces it.
	ErrInvalidTime = errors.New("wire: time out of range")
	// ErrAmbiguousProfile: the bytes decode cleanly in more than one profile.
	ErrAmbiguousProfile = errors.New("wire: profile ambiguous")
	// ErrNoProfile: the bytes decode cleanly in no profile.
	ErrNoProfile = errors.New("wire: bytes fit no profile")
	// ErrUnknownProfile: a profile name other than qt4, qt5 or qt6.
	ErrUnknownProfile = errors.New("wire: unknown profile")
)

// sentinel is an error value that also matches a more general one.
type sentinel struct {
	msg    string
	parent error
}

func (e *sentinel) Error() string { return e.msg }
func (e *sentinel) Unwrap() error { return e.parent }

// DecodeError is a fault in a stream or block, located by field and offset.
type DecodeError struct {
	// Field is the path of the field at fault: "size", "request.from",
	// "trip[2].trainType". Empty where no field applies.
	Field string
	// Offset is the offset of the first byte at fault: in the stream for the
	// streaming decoders, in the payload for DecodeRequest and DecodeTrip.
	Offset int64
	// Err is one of the package's sentinels.
	Err error
	// Detail says more, for people: "needs 18 bytes, 4 left".
	Detail string
}

func (e *DecodeError) Error() string {
	s := e.Err.Error()
	if e.Field != "" {
		s += " in " + e.Field
	}
	s += fmt.Sprintf(" at offset %d", e.Offset)
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

func (e *DecodeError) Unwrap() error { return e.Err }
