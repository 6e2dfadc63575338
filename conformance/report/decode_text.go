package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// DecodeText writes the sessions of `pcap decode` for people, one line per
// message. A request and a trip read as wire's String methods write them
// (TestDecodeTextIsWireString holds the two together); the fields are
// wire's String and Quote forms, kept in bounded caches because a large
// capture has millions of lines and the same names, dates and times again
// and again. The zero value is ready to use.
type DecodeText struct {
	b      []byte
	quoted map[string]string // raw UTF-16 → Quote, for repeated names
	dates  map[wire.Date]string
	times  map[wire.Time]string
}

// Session is the text of s, decoded as d: a header line, a line per
// message, the faults, how each side closed, the notes, and an empty line.
// It is valid until the next call.
func (w *DecodeText) Session(s *pcap.Session, d *pcap.Decoded) []byte {
	b := w.b[:0]
	dur := s.Last.Sub(s.First)
	b = fmt.Appendf(b, "session %d  %v → %v  %s  +%s  %d packets (%d–%d)  %s\n", s.Index, s.Client, s.Server,
		s.First.UTC().Format("2006-01-02 15:04:05.000000"), dur.Round(time.Microsecond), s.Packets, s.FirstPacket, s.LastPacket, s.End)
	b = fmt.Appendf(b, "  profile  %v (%s)\n", d.Profile, d.ProfileNote)
	last := pcap.Direction(0)
	for i := range d.Messages {
		m := &d.Messages[i]
		name := "request"
		if m.Dir == pcap.ServerToClient {
			name = "reply"
		}
		if m.Dir == last {
			name = ""
		}
		last = m.Dir
		b = append(b, "  "...)
		start := len(b)
		b = append(b, name...)
		b = pad(b, len(b)-start, 8)
		b = append(b, "packet "...)
		start = len(b)
		b = strconv.AppendInt(b, m.Packet, 10)
		b = pad(b, len(b)-start, 6)
		b = append(b, "offset "...)
		start = len(b)
		b = strconv.AppendInt(b, m.Offset, 10)
		b = pad(b, len(b)-start, 6)
		switch m.Kind {
		case wire.KindRequest:
			if m.Index > 0 {
				b = fmt.Appendf(b, "request[%d] ", m.Index)
			}
			b = w.request(b, &m.Request)
			if err := invalidRequest(d.Profile, &m.Request, m.Offset); err != nil && m.Err == nil {
				b = append(b, "  invalid: "...)
				b = append(b, err.Error()...)
			}
		case wire.KindTrip:
			b = append(b, "trip["...)
			b = strconv.AppendInt(b, int64(m.Index), 10)
			b = append(b, "] "...)
			b = w.trip(b, &m.Trip)
		case wire.KindEnd:
			b = append(b, "end marker"...)
		}
		if m.Err != nil {
			b = append(b, "  fault: "...)
			b = append(b, m.Err.Error()...)
		}
		b = append(b, '\n')
	}
	for _, f := range d.Faults {
		b = fmt.Appendf(b, "  %-8s packet %-6d offset %-6d %v: %v\n", "fault", f.Packet, f.Offset, f.Dir, f.Err)
	}
	b = fmt.Appendf(b, "  %-8s client %s; server %s\n", "close", closeText(s.Up), closeText(s.Down))
	for _, n := range s.Notes {
		b = fmt.Appendf(b, "  %-8s %v\n", "note", n)
	}
	if s.NotesDropped > 0 {
		b = fmt.Appendf(b, "  %-8s and %d more\n", "note", s.NotesDropped)
	}
	b = append(b, '\n')
	w.b = b
	return b
}

// invalidRequest says why r, whose block starts at stream offset off in
// profile p, is a request a conforming client must not send, naming the
// stream offset of the field at fault; nil when it is valid.
func invalidRequest(p wire.Profile, r *wire.Request, off int64) error {
	err := p.ValidateRequest(r)
	var de *wire.DecodeError
	if !errors.As(err, &de) {
		return err
	}
	at := *de
	at.Offset += off + 2 // past the size field
	return &at
}

// pad appends spaces to b, whose last n bytes are a field, up to width,
// then one more: fmt's "%-8s ".
func pad(b []byte, n, width int) []byte {
	for ; n < width; n++ {
		b = append(b, ' ')
	}
	return append(b, ' ')
}

// The fields, as wire's String methods write them.

func (w *DecodeText) request(b []byte, r *wire.Request) []byte {
	b = append(b, "request{type "...)
	b = appendByte(b, r.Type)
	b = append(b, ", from "...)
	b = w.quote(b, r.From)
	b = append(b, ", to "...)
	b = w.quote(b, r.To)
	b = append(b, ", date "...)
	b = w.date(b, r.Date)
	b = append(b, ", time "...)
	b = w.time(b, r.Time)
	b = append(b, ", flag "...)
	b = appendByte(b, r.Flag)
	return append(b, '}')
}

func (w *DecodeText) trip(b []byte, t *wire.Trip) []byte {
	b = append(b, "{date "...)
	b = w.date(b, t.Date)
	b = append(b, ", departure "...)
	b = w.time(b, t.Departure)
	b = append(b, ", duration "...)
	b = strconv.AppendUint(b, uint64(t.Duration), 10)
	b = append(b, ", changes "...)
	b = strconv.AppendUint(b, uint64(t.Changes), 10)
	b = append(b, ", trainType "...)
	b = w.quote(b, t.TrainType)
	return append(b, '}')
}

func (w *DecodeText) quote(b []byte, s wire.String) []byte {
	if s.IsNull() {
		return append(b, "null"...)
	}
	if q, ok := w.quoted[string(s.Raw())]; ok {
		return append(b, q...)
	}
	q := s.Quote()
	if w.quoted == nil {
		w.quoted = make(map[string]string)
	}
	if len(w.quoted) < maxCached {
		w.quoted[string(s.Raw())] = q
	}
	return append(b, q...)
}

func (w *DecodeText) date(b []byte, d wire.Date) []byte {
	return append(b, cachedString(&w.dates, d, wire.Date.String)...)
}

func (w *DecodeText) time(b []byte, t wire.Time) []byte {
	return append(b, cachedString(&w.times, t, wire.Time.String)...)
}

// maxCached bounds each cache of DecodeText.
const maxCached = 4096

// cachedString is str(k), from *m when it is there, kept in *m while it
// holds fewer than maxCached.
func cachedString[K comparable](m *map[K]string, k K, str func(K) string) string {
	if v, ok := (*m)[k]; ok {
		return v
	}
	v := str(k)
	if *m == nil {
		*m = make(map[K]string)
	}
	if len(*m) < maxCached {
		(*m)[k] = v
	}
	return v
}

// appendByte is a byte as wire's Request.String shows the type and flag:
// quoted when printable, else 0x.. .
func appendByte(b []byte, c byte) []byte {
	if c >= 0x20 && c < 0x7f {
		return strconv.AppendQuoteRune(b, rune(c))
	}
	return fmt.Appendf(b, "0x%02x", c)
}

func closeText(st *pcap.Stream) string {
	var parts []string
	if st.FIN.Seen() {
		parts = append(parts, fmt.Sprintf("FIN packet %d at offset %d", st.FIN.Packet, st.FIN.Offset))
	}
	if st.RST.Seen() {
		parts = append(parts, fmt.Sprintf("RST packet %d", st.RST.Packet))
	}
	if len(parts) == 0 {
		return "no FIN or RST"
	}
	return strings.Join(parts, ", ")
}
