package main

import (
	"encoding/binary"
	"errors"
	"io"
	"net"
	"time"
	"unicode/utf16"

	"github.com/tripcheck/tripcheck/wire"
)

// moreModes are the faults of lifecycle, timing and values.
var moreModes = map[string]string{
	"crash-on-empty":      "exits (code 3) when a client closes a connection before sending a byte",
	"stops-after-500":     "leaks a descriptor per connection: from the 501st on it closes every connection without a reply",
	"drops-halfclosed":    "reads once more, 20ms, after the request and takes a FIN for a client that gave up: no reply",
	"waits-on-eof":        "on a FIN before any byte keeps the connection open until its 30s read timeout",
	"read-deadline-800ms": "gives the whole request 800ms from the accept",
	"signed-size":         "reads the size as a signed 16-bit number and refuses sizes from 0x8000 on",
	"validates-names":     "refuses names with a lone surrogate or U+0000",
	"validates-per-read":  "refuses a request when a read ends between the two surrogates of a pair",
	"date-range":          "refuses dates outside 0001-01-01 to 9999-12-31, and the null date",
}

const (
	leakLimit    = 500                    // stops-after-500
	requestLimit = 800 * time.Millisecond // read-deadline-800ms
	finWatch     = 20 * time.Millisecond  // drops-halfclosed
)

// turnAway is stops-after-500's fault: it counts connections (accept runs
// in one goroutine) and closes every one past its limit.
func (s *server) turnAway(c net.Conn) bool {
	if s.mode != "stops-after-500" {
		return false
	}
	s.conns++
	if s.conns <= leakLimit {
		return false
	}
	c.Close()
	return true
}

// validateMore is the request check of the value modes.
func (s *server) validateMore(r *wire.Request) error {
	switch s.mode {
	case "validates-names":
		for _, name := range []wire.String{r.From, r.To} {
			for i := 0; i < name.Len(); i++ {
				u := name.Unit(i)
				switch {
				case u == 0:
					return errors.New("U+0000 in a name")
				case utf16.IsSurrogate(rune(u)) && u < 0xdc00 && i+1 < name.Len() && name.Unit(i+1) >= 0xdc00 && name.Unit(i+1) < 0xe000:
					i++
				case utf16.IsSurrogate(rune(u)):
					return errors.New("a lone surrogate in a name")
				}
			}
		}
	case "date-range":
		if r.Date.IsNull() || r.Date.JD() < 1721426 || r.Date.JD() > 5373484 {
			return errors.New("date out of range")
		}
	}
	return nil
}

// serveMore serves one connection in the modes whose fault is in how the
// request is read.
func (s *server) serveMore(c net.Conn) {
	var cuts []int // validates-per-read: stream offsets where a read ended
	deadline := time.Now().Add(readTimeout)
	if s.mode == "read-deadline-800ms" {
		deadline = time.Now().Add(requestLimit)
	}
	c.SetReadDeadline(deadline)
	var got []byte
	buf := make([]byte, 4096)
	need := 2
	for len(got) < need {
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if n > 0 {
			cuts = append(cuts, len(got))
		}
		if len(got) >= 2 {
			size := int(binary.BigEndian.Uint16(got))
			if size == wire.EndMarker {
				return
			}
			need = 2 + size
		}
		if err != nil && len(got) < need {
			if s.mode == "waits-on-eof" && len(got) == 0 && errors.Is(err, io.EOF) {
				time.Sleep(readTimeout) // the fault: holds the half-closed connection
			}
			return
		}
	}
	r, err := s.decode(got[2:need])
	if err != nil {
		return
	}
	switch s.mode {
	case "validates-per-read":
		if cutsPair(got[:need], cuts) {
			s.logf("a read ended inside a surrogate pair: refused")
			return
		}
	case "drops-halfclosed":
		c.SetReadDeadline(time.Now().Add(finWatch))
		var one [1]byte
		if _, err := c.Read(one[:]); errors.Is(err, io.EOF) {
			s.logf("a FIN after the request: the client gave up, no reply")
			return
		}
	}
	s.answer(c, &r)
}

// cutsPair reports whether a read ended between the high and the low
// surrogate of a pair in one of the request's names. block is the request,
// size included.
func cutsPair(block []byte, cuts []int) bool {
	off := 3 // size and type
	for range 2 {
		if off+4 > len(block) {
			return false
		}
		n := int(binary.BigEndian.Uint32(block[off:]))
		off += 4
		if off+n > len(block) { // the null string too
			continue
		}
		for _, k := range cuts {
			if k > off && k < off+n && (k-off)%2 == 0 {
				u := binary.BigEndian.Uint16(block[k-2:])
				if u >= 0xd800 && u < 0xdc00 {
					return true
				}
			}
		}
		off += n
	}
	return false
}
