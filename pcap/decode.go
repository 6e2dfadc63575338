package pcap

import (
	"errors"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// SessionProfile is the profile of a session's blocks: given (when not 0),
// or detected with wire.DetectExchange from the request, or failing that
// from the first trip; qt4 when nothing decides. The note says which.
func SessionProfile(s *Session, given wire.Profile) (wire.Profile, string) {
	if given != 0 {
		return given, "given"
	}
	e := wire.DetectExchange(s.Up.Contiguous(), s.Down.Contiguous())
	switch {
	case e.By == wire.KindRequest:
		return e.Profile, "detected from the request"
	case e.By == wire.KindTrip && e.Ambiguous:
		return e.Profile, "the first trip fits both; " + e.Profile.String() + " taken"
	case e.By == wire.KindTrip:
		return e.Profile, "detected from the first trip"
	}
	return wire.Qt4, "not detectable; qt4 assumed"
}

// Message is one block of a session, decoded.
type Message struct {
	Dir  Direction
	Kind wire.Kind
	// Index counts blocks of the kind in the stream from 0: trip[Index].
	Index int
	// Offset is the stream offset of the block's size field, Size its
	// value (0xFFFF for the end marker).
	Offset int64
	Size   int
	// Packet carried the block's first byte, Last its last one.
	Packet, Last int64
	Time         time.Time
	// Request or Trip holds the fields, by Kind; with Err, those read
	// before the fault. Their strings alias the session's stream bytes.
	Request wire.Request
	Trip    wire.Trip
	// Err is a fault of the block's fields (a *wire.DecodeError): a field
	// past the block, an odd string, bytes left over.
	Err error
}

// StreamFault is a fault of a stream as a whole: one that stops its
// decoding (a size of 0xFFFF in a request, bytes after the end marker), or
// how it ended (inside a block, before the end marker).
type StreamFault struct {
	Dir    Direction
	Offset int64
	Packet int64 // 0 when no packet holds the offset
	Err    error // a *wire.DecodeError
}

// Decoded is a session's streams, decoded.
type Decoded struct {
	Profile     wire.Profile
	ProfileNote string
	// Messages of both directions, in the order their last byte was
	// captured.
	Messages []Message
	Faults   []StreamFault
}

// Decode decodes both streams of s in profile p (0: SessionProfile
// detects it), up to each stream's first gap. A stream that the capture
// holds whole and that its side ended is also checked for how it ended.
func Decode(s *Session, p wire.Profile) *Decoded {
	d := &Decoded{}
	d.Decode(s, p)
	return d
}

// Decode is the package's Decode into d, reusing its memory: d's messages
// from an earlier call are overwritten.
func (d *Decoded) Decode(s *Session, p wire.Profile) {
	d.Messages, d.Faults = d.Messages[:0], d.Faults[:0]
	d.Profile, d.ProfileNote = SessionProfile(s, p)
	d.decode(s.Up, ClientToServer, wire.Requests)
	d.decode(s.Down, ServerToClient, wire.Replies)
	// Merge by the packet that completed each message.
	msgs := d.Messages
	for i := 1; i < len(msgs); i++ {
		for j := i; j > 0 && msgs[j].Last < msgs[j-1].Last; j-- {
			msgs[j], msgs[j-1] = msgs[j-1], msgs[j]
		}
	}
}

func (d *Decoded) decode(st *Stream, dir Direction, wdir wire.Direction) {
	data := st.Contiguous()
	dec := wire.NewDecoder(d.Profile, wdir)
	dec.Feed(data)
	packet := func(off int64) int64 {
		if seg, ok := st.PacketAt(off); ok {
			return seg.Packet
		}
		return 0
	}
	for {
		var m wire.Message
		err := dec.Next(&m)
		if err == wire.ErrNeedMore {
			break
		}
		if err != nil && m.Kind == 0 {
			// The stream cannot be framed further.
			d.Faults = append(d.Faults, d.fault(dir, err, packet))
			return
		}
		msg := Message{Dir: dir, Kind: m.Kind, Index: m.Index, Offset: m.Offset, Size: m.Size, Err: err,
			Packet: packet(m.Offset), Last: packet(m.Offset + int64(len(m.Bytes)) - 1)}
		if seg, ok := st.PacketAt(m.Offset + int64(len(m.Bytes)) - 1); ok {
			msg.Time = seg.Time
		}
		switch m.Kind {
		case wire.KindRequest:
			msg.Request = m.Request
		case wire.KindTrip:
			msg.Trip = m.Trip
		}
		d.Messages = append(d.Messages, msg)
	}
	if int64(len(data)) == st.Len && !st.Truncated && st.Closed() {
		if err := dec.Close(); err != nil && !(wdir == wire.Replies && len(data) == 0) {
			d.Faults = append(d.Faults, d.fault(dir, err, packet))
		}
	}
}

func (d *Decoded) fault(dir Direction, err error, packet func(int64) int64) StreamFault {
	f := StreamFault{Dir: dir, Err: err}
	var de *wire.DecodeError
	if errors.As(err, &de) {
		f.Offset = de.Offset
		f.Packet = packet(de.Offset)
		if f.Packet == 0 && de.Offset > 0 {
			f.Packet = packet(de.Offset - 1)
		}
	}
	return f
}
