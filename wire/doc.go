// Package wire is the Trip protocol codec, exact to real QDataStream.
//
// The Trip protocol (shared PROTOCOL.md) is the block-oriented TCP protocol of
// the Qt book's Trip Planner and Trip Server. Every message is a block: a
// big-endian quint16 size, then that many bytes of payload. The client sends
// one [Request]; the server answers with zero or more [Trip] blocks and the
// end marker 0xFFFF, then closes.
//
// Fields are written by QDataStream, whose stream version changes one field,
// QDate. The package calls the two layouts profiles: [Qt4] (QDataStream
// Qt_4_0 … Qt_4_9, the book's Qt_4_3: 32-bit Julian Days) and [Qt5] (Qt_5_0
// and later, Qt 6 included: 64-bit Julian Days).
//
// The package works on byte slices and io.Reader, never on sockets. Field
// codecs come in pairs, AppendX(b, v) []byte and ReadX(b, off) (v, int,
// error), and mirror QDataStream exactly, including what it reads back from
// short or corrupt input. Message encoders append to the caller's buffer.
// An [Encoder] with AllowIllegalWrites writes what a conforming peer must not
// send (wrong sizes, bad flags, odd string lengths, trailing bytes), because a
// conformance toolkit must be able to.
//
// [Decoder] and [Reader] decode a stream given in any split. They know the
// stream offset of every block and field and tell apart: more bytes needed
// ([ErrNeedMore]), a stream that ended inside a block ([ErrTruncated]), a
// corrupt block ([ErrCorrupt], [ErrPastEnd], ...) and bytes left over in a
// block ([ErrTrailingBytes]). Errors are [*DecodeError] values carrying a field
// path such as "trip[2].trainType" and an offset; compare them with errors.Is
// against the sentinels, never by message. No input makes the decoder panic or
// hold more than one block.
//
// A Decoder with AllowIllegalReads(false), the read-side mirror of the
// Encoder's door, also validates each message it decodes (the rules of
// Request.Validate and Trip.Validate) and names an illegal value by its
// stream offset and field path; Profile.ValidateRequest and
// Profile.ValidateTrip give the payload offset of a value built in memory.
// Callers never rebuild an offset from Spans.
package wire
