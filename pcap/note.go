package pcap

import (
	"fmt"
	"strconv"
)

// NoteKind is what a note says about the capture, as a stable name.
type NoteKind string

// Notes about a session's TCP streams.
const (
	NoteMissingSYN     NoteKind = "missing-syn"    // the capture began mid-connection
	NoteOutOfOrder     NoteKind = "out-of-order"   // bytes came ahead of those before them
	NoteRetransmission NoteKind = "retransmission" // bytes came again, the same
	NoteOverlap        NoteKind = "overlap"        // bytes came again, different
	NoteGap            NoteKind = "gap"            // bytes the capture lost
	NoteBeforeStart    NoteKind = "before-start"   // bytes from before the first captured byte
	NoteOutOfWindow    NoteKind = "out-of-window"  // bytes too far ahead to be real
	NoteSnapped        NoteKind = "snapped"        // a packet captured shorter than it was
	NoteCapped         NoteKind = "capped"         // a stream over Options.MaxStreamBytes
	NoteEnded          NoteKind = "ended"          // how the session was cut off: idle, reuse, limits, end of capture
)

// Notes about the file, not about one session.
const (
	NoteLinkType    NoteKind = "link-type"   // records of a link type not decoded
	NoteNotIP       NoteKind = "not-ip"      // frames without IP
	NoteNotTCP      NoteKind = "not-tcp"     // IP packets that are not TCP
	NoteFragment    NoteKind = "fragment"    // IP fragments, not reassembled
	NoteUndecodable NoteKind = "undecodable" // headers that do not parse
	NoteLate        NoteKind = "late"        // packets of a session already over
	NoteTruncated   NoteKind = "file-truncated"
)

// Note is something the reader noticed in the capture, at a packet.
type Note struct {
	Kind NoteKind `json:"kind"`
	// Packet is the packet it concerns (numbered from 1 in file order).
	Packet int64 `json:"packet"`
	// Dir is the stream it concerns; 0 for the session or the file.
	Dir Direction `json:"-"`
	// Offset is the stream offset it concerns; -1 for none.
	Offset int64  `json:"offset"`
	Text   string `json:"text"`
}

// String reads "packet 7, server→client offset 35: retransmission of bytes 35–69 (first in packet 6)".
func (n Note) String() string {
	s := "packet " + strconv.FormatInt(n.Packet, 10)
	if n.Dir != 0 {
		s += ", " + n.Dir.String()
		if n.Offset >= 0 {
			s += " offset " + strconv.FormatInt(n.Offset, 10)
		}
	}
	return s + ": " + n.Text
}

// maxNotes bounds the notes kept per session; later ones are counted.
const maxNotes = 64

// notes collects a session's notes, up to maxNotes.
type notes struct {
	list    []Note
	dropped int
}

func (ns *notes) add(n Note) {
	if len(ns.list) >= maxNotes {
		ns.dropped++
		return
	}
	ns.list = append(ns.list, n)
}

func (h *half) note(kind NoteKind, pkt, off int64, format string, args ...any) {
	if len(h.notes.list) >= maxNotes {
		h.notes.dropped++
		return
	}
	h.notes.add(Note{Kind: kind, Packet: pkt, Dir: h.dir, Offset: off, Text: fmt.Sprintf(format, args...)})
}
