package fakes

import (
	"fmt"

	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// Fault is how a Server misbehaves towards its clients, on purpose, so that
// client tests can see what a client does with a broken server. The zero
// Fault is the well-behaved server. A Fault applies to every reply; a
// malformed request is always just closed.
type Fault struct {
	// Shape is how the reply goes on the wire (see package shape): cut
	// every n bytes, at offsets or at sizes drawn from a seed; coalesced;
	// delayed between pieces; truncated after n bytes; and how the
	// connection ends (Then): close (a FIN, the default), half-close,
	// reset (an RST instead of a FIN: the client's read fails with
	// ECONNRESET) or keep-open (the server holds the connection after the
	// reply until the client closes it, the timeout ends it or the server
	// shuts down). Without PerBlock the reply is one Write, so the pieces
	// on the wire are exactly Shape.Pieces(len(reply)).
	Shape shape.Shape

	// PerBlock writes the reply one block per Write (each trip, the end
	// marker, the garbage), as the book's server does. The shape then also
	// cuts at block boundaries (with TCP_NODELAY and a pause, one block
	// per segment, up to MaxPacedBlocks blocks; longer replies go without
	// the pause), and coalescing (coalesce-writes-N) joins blocks again.
	// See ReplyWriter, which writes every reply the Fault shapes.
	PerBlock bool

	// NoEnd leaves out the end marker 0xFFFF.
	NoEnd bool

	// SizeDelta is added to the size field of every trip block, so that it
	// lies about the payload (-1: one byte short, +1: one byte long). The
	// end marker is left alone.
	SizeDelta int

	// Garbage is sent after the reply (after the end marker, or after the
	// last trip with NoEnd), or instead of the whole reply with
	// GarbageOnly.
	Garbage     []byte
	GarbageOnly bool

	// Stall reads the request and never replies: the server holds the
	// connection, reading and discarding, until the client closes it, the
	// timeout ends it or the server shuts down; then it closes.
	Stall bool

	// ReplyProfile writes the trip blocks in this profile's layout, not
	// the server's (the request is still read in the server's profile):
	// a qt4 server with ReplyProfile wire.Qt5 answers a qt4 client with
	// 37-byte InterCity blocks. 0 means the server's profile.
	ReplyProfile wire.Profile
}

// Validate reports a Fault that cannot be applied.
func (f *Fault) Validate() error {
	if err := f.Shape.Validate(); err != nil {
		return err
	}
	if f.ReplyProfile != 0 && !f.ReplyProfile.Valid() {
		return fmt.Errorf("fakes: reply profile: %w %v", wire.ErrUnknownProfile, f.ReplyProfile)
	}
	if f.SizeDelta < -wire.EndMarker || f.SizeDelta > wire.EndMarker {
		return fmt.Errorf("fakes: size delta %d is more than a quint16 can be off by", f.SizeDelta)
	}
	if f.GarbageOnly && len(f.Garbage) == 0 {
		return fmt.Errorf("fakes: GarbageOnly without Garbage")
	}
	return nil
}

// shaped reports whether the reply goes through a shape.Writer: the shape
// cuts, holds, delays or truncates it, or ends the connection otherwise
// than with a plain close, or the reply is written block by block.
func (f *Fault) shaped() bool {
	return f.PerBlock || f.Shape.String() != (shape.Shape{}).String()
}
