package fuzz

import (
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// event is one answer of a decoder, as the split property compares them:
// the message (kind, index, offset, bytes, values) and the error (its
// sentinel, field and offset), never the error's text.
type event struct {
	kind     wire.Kind
	index    int
	offset   int64
	bytes    string
	value    string
	sentinel error
	field    string
	errOff   int64
	eof      bool // the stream ended cleanly (Close nil, Reader io.EOF)
}

func (e event) String() string {
	s := fmt.Sprintf("%v[%d]@%d %x values %x", e.kind, e.index, e.offset, e.bytes, e.value)
	switch {
	case e.eof:
		s += " EOF"
	case e.sentinel != nil:
		s += fmt.Sprintf(" err %v in %q at %d", e.sentinel, e.field, e.errOff)
	}
	return s
}

// valueEncoder writes a decoded message's values, whatever they are, so
// that two can be compared exactly and cheaply.
var valueEncoder = wire.Encoder{Profile: wire.Qt5, AllowIllegalWrites: true}

// newEvent records m and err. It fails on an error that is not one of
// wire's typed errors.
func newEvent(t *testing.T, m *wire.Message, err error, n int) event {
	e := event{kind: m.Kind, index: m.Index, offset: m.Offset, bytes: string(m.Bytes)}
	var v []byte
	switch m.Kind {
	case wire.KindRequest:
		v, _ = valueEncoder.AppendRequest(nil, &m.Request)
	case wire.KindTrip:
		v, _ = valueEncoder.AppendTrip(nil, &m.Trip)
	}
	e.value = string(v)
	switch {
	case err == nil:
	case err == io.EOF:
		e.eof = true
	default:
		de := decodeError(t, err, 0, int64(n))
		e.sentinel, e.field, e.errOff = sentinelOf(err), de.Field, de.Offset
	}
	if m.Kind != 0 && (m.Offset < 0 || m.Offset+int64(len(m.Bytes)) > int64(n)) {
		t.Fatalf("message at %d, %d bytes: outside the input of %d", m.Offset, len(m.Bytes), n)
	}
	return e
}

// decodePieces feeds the pieces one by one and records every answer of
// Next and then Close's. It checks the decoder's bookkeeping on the way:
// offsets that only grow, every byte fed either consumed or buffered, and
// never more than one partial block buffered.
func decodePieces(t *testing.T, p wire.Profile, dir wire.Direction, pieces [][]byte, n int) []event {
	// No t.Helper: fuzzing calls this for every input, and Helper walks the stack.
	d := wire.NewDecoder(p, dir)
	var events []event
	fed := 0
	last := int64(-1)
	for _, piece := range pieces {
		d.Feed(piece)
		fed += len(piece)
		for {
			var m wire.Message
			err := d.Next(&m)
			if err == wire.ErrNeedMore {
				if d.Offset()+int64(d.Buffered()) != int64(fed) {
					t.Fatalf("after %d bytes fed: offset %d + buffered %d", fed, d.Offset(), d.Buffered())
				}
				if d.Buffered() > 2+wire.MaxPayload-1 {
					t.Fatalf("needs more with %d bytes buffered: more than one partial block", d.Buffered())
				}
				break
			}
			e := newEvent(t, &m, err, n)
			if m.Kind != 0 {
				if m.Offset <= last {
					t.Fatalf("message at %d after one at %d", m.Offset, last)
				}
				last = m.Offset
			}
			events = append(events, e)
			if terminal(err) {
				return append(events, newEvent(t, &wire.Message{}, d.Close(), n))
			}
			if d.Offset()+int64(d.Buffered()) != int64(fed) {
				t.Fatalf("after %d bytes fed: offset %d + buffered %d", fed, d.Offset(), d.Buffered())
			}
		}
	}
	err := d.Close()
	if err == nil {
		return append(events, newEvent(t, &wire.Message{}, io.EOF, n))
	}
	// The end of the stream sticks.
	events = append(events, newEvent(t, &wire.Message{}, err, n))
	return append(events, newEvent(t, &wire.Message{}, d.Close(), n))
}

// pieceReader returns its pieces one Read at a time, empty ones included.
type pieceReader struct{ pieces [][]byte }

func (r *pieceReader) Read(b []byte) (int, error) {
	if len(r.pieces) == 0 {
		return 0, io.EOF
	}
	n := copy(b, r.pieces[0])
	if n == len(r.pieces[0]) {
		r.pieces = r.pieces[1:]
	} else {
		r.pieces[0] = r.pieces[0][n:]
	}
	return n, nil
}

// decodeReader reads the pieces through a wire.Reader.
func decodeReader(t *testing.T, p wire.Profile, dir wire.Direction, pieces [][]byte, n int) []event {
	// No t.Helper: fuzzing calls this for every input, and Helper walks the stack.
	rd := wire.NewReader(&pieceReader{pieces: pieces}, p, dir)
	var events []event
	for {
		var m wire.Message
		err := rd.Next(&m)
		events = append(events, newEvent(t, &m, err, n))
		if err == io.EOF {
			return events
		}
		if terminal(err) {
			// The end of the stream sticks.
			var again wire.Message
			return append(events, newEvent(t, &again, rd.Next(&again), n))
		}
	}
}

// cut splits data into pieces whose lengths are the bytes of cuts (0: an
// empty piece); the rest of data is the last piece.
func cut(data, cuts []byte) [][]byte {
	var pieces [][]byte
	for _, c := range cuts {
		n := min(int(c), len(data))
		pieces = append(pieces, data[:n:n])
		data = data[n:]
	}
	return append(pieces, data)
}

// FuzzSplit checks that the streaming decoder decodes any split of the
// input like the whole input: the split the cuts argument draws, one byte
// at a time, and the same split through a Reader.
func FuzzSplit(f *testing.F) {
	f.Fuzz(func(t *testing.T, replies, qt5 bool, cuts, data []byte) {
		p, dir := profileOf(qt5), directionOf(replies)
		whole := decodePieces(t, p, dir, [][]byte{data}, len(data))
		// The whole input, then the Close that ends it, with an empty Feed
		// before it: nothing changes.
		variants := map[string][][]byte{
			"cuts":   cut(data, cuts),
			"empty+": {{}, data, {}},
		}
		if len(data) <= 300 { // a request or a short reply; more is slow
			variants["bytes"] = cut(data, []byte(strings.Repeat("\x01", len(data))))
		}
		for name, pieces := range variants {
			compareEvents(t, name, whole, decodePieces(t, p, dir, pieces, len(data)), pieces)
		}
		compareEvents(t, "reader", whole, decodeReader(t, p, dir, cut(data, cuts), len(data)), cut(data, cuts))
	})
}

func compareEvents(t *testing.T, name string, want, got []event, pieces [][]byte) {
	// No t.Helper: fuzzing calls this for every input, and Helper walks the stack.
	same := len(want) == len(got)
	for i := 0; same && i < len(want); i++ {
		same = want[i] == got[i]
	}
	if same {
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "split %q (pieces of", name)
	for _, p := range pieces {
		fmt.Fprintf(&b, " %d", len(p))
	}
	b.WriteString(") decodes unlike the whole input\nwhole:\n")
	for _, e := range want {
		fmt.Fprintf(&b, "  %v\n", e)
	}
	b.WriteString("split:\n")
	for _, e := range got {
		fmt.Fprintf(&b, "  %v\n", e)
	}
	t.Fatal(b.String())
}
