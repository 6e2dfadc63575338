package conformance

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// Ending is how a stream from a peer ended, as far as we watched it.
type Ending string

const (
	EndClose   Ending = "close"   // a FIN: the reader saw io.EOF
	EndReset   Ending = "reset"   // an RST: the reader saw ECONNRESET
	EndSilence Ending = "silence" // nothing more came before the deadline
	EndError   Ending = "error"   // another read error
)

// classify maps a read error to an Ending. A timeout is silence, never a
// close.
func classify(err error) Ending {
	switch {
	case errors.Is(err, io.EOF):
		return EndClose
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return EndReset
	case errors.Is(err, os.ErrDeadlineExceeded):
		return EndSilence
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return EndSilence
	}
	return EndError
}

// Observation is what a reader saw of a reply stream: its bytes, the
// messages decoded from them, the faults found, and how it ended.
type Observation struct {
	Profile wire.Profile
	Bytes   []byte
	// Trips are the trips decoded (owned copies), in order.
	Trips []wire.Trip
	// Faults are the decode errors, in stream order (*wire.DecodeError).
	Faults []error
	// Ended says whether the end marker came, and EndOffset where.
	Ended     bool
	EndOffset int
	// After holds bytes that came after the end marker.
	After []byte
	// How the stream ended, and the read error behind it.
	How     Ending
	ReadErr error
	// Elapsed from the start of reading to the end marker, and to the end.
	ToEndMarker time.Duration
	Elapsed     time.Duration
}

// ObserveReply reads a reply from c until the server ends the stream or
// the deadline passes. Once the end marker has come it waits at most linger
// more for a close (or for bytes that must not come). Every read has a
// deadline. logf, if not nil, gets the wire log.
func ObserveReply(c net.Conn, p wire.Profile, deadline time.Time, linger time.Duration, logf func(string, ...any)) *Observation {
	o := &Observation{Profile: p}
	d := wire.NewDecoder(p, wire.Replies)
	buf := make([]byte, 64<<10)
	start := time.Now()
	for {
		dl := deadline
		if o.Ended {
			dl = time.Now().Add(linger)
			if dl.After(deadline) {
				dl = deadline
			}
		}
		c.SetReadDeadline(dl)
		n, err := c.Read(buf)
		if n > 0 {
			chunk := buf[:n]
			if logf != nil {
				logf("< %d bytes at %d: %x", n, len(o.Bytes), chunk)
			}
			if o.Ended {
				o.After = append(o.After, chunk...)
			}
			o.Bytes = append(o.Bytes, chunk...)
			if !o.Ended {
				d.Feed(chunk)
				o.drain(d, logf, start)
			}
		}
		if err != nil {
			o.How, o.ReadErr = classify(err), err
			break
		}
	}
	o.Elapsed = time.Since(start)
	if !o.Ended && (o.How == EndClose || o.How == EndReset) {
		if err := d.Close(); err != nil && !errors.Is(err, wire.ErrAfterEnd) {
			o.Faults = append(o.Faults, err)
		}
	}
	return o
}

func (o *Observation) drain(d *wire.Decoder, logf func(string, ...any), start time.Time) {
	for {
		var m wire.Message
		err := d.Next(&m)
		if err == wire.ErrNeedMore {
			return
		}
		if err != nil {
			o.Faults = append(o.Faults, err)
			if logf != nil {
				logf("< fault: %v", err)
			}
			var de *wire.DecodeError
			if errors.As(err, &de) && (errors.Is(err, wire.ErrAfterEnd) || errors.Is(err, wire.ErrReservedSize)) {
				return
			}
			if m.Kind != wire.KindTrip {
				continue
			}
		}
		switch m.Kind {
		case wire.KindTrip:
			if err == nil {
				o.Trips = append(o.Trips, m.Trip.Clone())
			}
			if logf != nil && err == nil {
				logf("< trip[%d] at %d: %s", m.Index, m.Offset, m.Trip.String())
			}
		case wire.KindEnd:
			o.Ended, o.EndOffset = true, int(m.Offset)
			o.ToEndMarker = time.Since(start)
			if logf != nil {
				logf("< end marker at %d", m.Offset)
			}
			// Whatever is already buffered comes after the end marker.
			if rest := o.Bytes[m.Offset+2:]; len(rest) > 0 {
				o.After = append(o.After, rest...)
			}
			return
		}
	}
}

// FramingError explains the first fault of the reply's framing and field
// encodings, or a missing end marker, or nil: the MUST of every reply.
func (o *Observation) FramingError() error {
	if len(o.Faults) > 0 {
		err := o.Faults[0]
		var de *wire.DecodeError
		if errors.As(err, &de) {
			return fmt.Errorf("%v\n%s", err, HexWindow(o.Bytes, int(de.Offset)))
		}
		return err
	}
	if !o.Ended {
		switch o.How {
		case EndSilence:
			return fmt.Errorf("no end marker after %d bytes: the server went silent for %v", len(o.Bytes), o.Elapsed.Round(time.Millisecond))
		case EndError:
			return fmt.Errorf("no end marker after %d bytes: %v", len(o.Bytes), o.ReadErr)
		}
		return fmt.Errorf("the stream ended (%s) after %d bytes without the end marker", o.How, len(o.Bytes))
	}
	for i := range o.Trips {
		if err := o.Trips[i].Validate(); err != nil {
			return fmt.Errorf("trip[%d]: %v", i, err)
		}
	}
	return nil
}

// AfterEndError is non-nil if bytes followed the end marker.
func (o *Observation) AfterEndError() error {
	if len(o.After) == 0 {
		return nil
	}
	return fmt.Errorf("%d bytes after the end marker at %d:\n%s", len(o.After), o.EndOffset, HexWindow(o.Bytes, o.EndOffset+2))
}

// Summary is a one-line account of the observation, for logs.
func (o *Observation) Summary() string {
	var parts []string
	parts = append(parts, fmt.Sprintf("%d bytes", len(o.Bytes)), fmt.Sprintf("%d trips", len(o.Trips)))
	if o.Ended {
		parts = append(parts, "end marker at "+fmt.Sprint(o.EndOffset))
	} else {
		parts = append(parts, "no end marker")
	}
	parts = append(parts, "then "+string(o.How))
	if len(o.Faults) > 0 {
		parts = append(parts, fmt.Sprintf("%d faults", len(o.Faults)))
	}
	return strings.Join(parts, ", ")
}
