package livefuzz

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// Ending is how the server ended a case's connection: one of package
// ending's, or one of the three livefuzz adds.
type Ending = ending.How

const (
	EndClose          = ending.Close   // it closed (FIN), after a reply or without one
	EndReset          = ending.Reset   // it reset the connection (RST)
	EndSilence        = ending.Silence // it neither replied nor closed before the deadline
	EndRefused Ending = "refused"      // the connection was refused: nothing listens
	EndError          = ending.Error   // another failure: a dial timeout, a local error
	EndFlood   Ending = "flood"        // it sent more than MaxReplyBytes: the rest was left unread
)

// Outcome is what the server did with one case.
type Outcome struct {
	Sent     int // bytes written
	Received int // bytes read back
	How      Ending
	Err      error // the error behind How, for people
}

// Abnormal reports whether the outcome calls for a probe at once: the
// server refused the connection or kept it silent.
func (o Outcome) Abnormal() bool { return o.How != EndClose && o.How != EndReset }

// endingOf is how the connection ended given the error of its dial or
// read: refused where nothing listens, else as package ending says.
func endingOf(err error) Ending {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return EndRefused
	}
	return ending.Of(err)
}

// dial connects to addr by the deadline. Keep-alive probes are off: a
// case's or a probe's connection lives for one exchange under a deadline,
// and the four setsockopt calls that turn them on were about 6 % of the
// case loop's CPU profile.
func dial(ctx context.Context, addr string, deadline time.Time) (net.Conn, error) {
	d := net.Dialer{Deadline: deadline, KeepAlive: -1}
	return d.DialContext(ctx, "tcp", addr)
}

// readBufSize is the size of Send's read buffer: a reference server's
// reply in one or two reads rather than one per 4 KiB.
const readBufSize = 64 << 10

// readBufs are Send's read buffers, one per case in flight.
var readBufs = sync.Pool{New: func() any { return new([readBufSize]byte) }}

// Send sends one case on a new connection to addr: it writes the bytes in
// the case's shape, half-closes, and reads until the server closes the
// connection, timeout passes or MaxReplyBytes came. Every step has a
// deadline.
func Send(ctx context.Context, addr string, c *Case, timeout time.Duration) Outcome {
	deadline := time.Now().Add(timeout)
	nc, err := dial(ctx, addr, deadline)
	if err != nil {
		how := endingOf(err)
		if how == EndSilence {
			how = EndError // a dial that times out is not a silent connection
		}
		return Outcome{How: how, Err: err}
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	if err := nc.SetDeadline(deadline); err != nil {
		return Outcome{How: EndError, Err: err}
	}
	var o Outcome
	sc, err := shape.NewConn(nc, c.Shape, shape.WithPause(0), shape.WithWriteTimeout(timeout))
	if err != nil {
		return Outcome{How: EndError, Err: err}
	}
	werr := writeCase(sc, c, &o)
	if werr == nil {
		werr = sc.CloseWrite()
	}
	bp := readBufs.Get().(*[readBufSize]byte)
	defer readBufs.Put(bp)
	buf := bp[:]
	for {
		if o.Received >= MaxReplyBytes {
			o.How, o.Err = EndFlood, fmt.Errorf("more than %d bytes", MaxReplyBytes)
			break
		}
		n, err := nc.Read(buf[:min(len(buf), MaxReplyBytes-o.Received)])
		o.Received += n
		if err != nil {
			o.How, o.Err = endingOf(err), err
			break
		}
	}
	if werr != nil && o.How == EndClose && o.Received == 0 {
		// The server closed before taking the whole case: say why the
		// write stopped.
		o.How, o.Err = endingOf(werr), werr
		if o.How != EndReset {
			o.How = EndClose
		}
	}
	return o
}

// writeCase writes the case's bytes through the shaped connection: in one
// Write, or in two for a coalescing shape (which sends them as one).
func writeCase(sc *shape.Conn, c *Case, o *Outcome) error {
	b := c.Bytes
	if c.Shape.Coalesce && len(b) > 1 {
		n, err := sc.Write(b[:len(b)/2])
		o.Sent += n
		if err != nil {
			return err
		}
		b = b[len(b)/2:]
	}
	if len(b) > 0 {
		n, err := sc.Write(b)
		o.Sent = n + o.Sent
		if err != nil {
			return err
		}
	}
	return sc.Flush()
}

// Verdict is what a probe says of the server.
type Verdict int

const (
	// Survived: the server answered the probe whole.
	Survived Verdict = iota
	// Crash: the server no longer accepts connections.
	Crash
	// Hang: it accepts, but the probe got no whole reply before the
	// deadline; or, fuzzing a client, the client did not finish in time.
	Hang
	// Wrong: fuzzing a client, the client gave a wrong answer: not the
	// trips the reply holds, no ERROR where the reply is no answer, a
	// malformed request, or bytes after its request.
	Wrong
)

func (v Verdict) String() string {
	switch v {
	case Survived:
		return "survived"
	case Crash:
		return "crash"
	case Hang:
		return "hang"
	case Wrong:
		return "wrong"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// ParseVerdict reads "survived", "crash", "hang" or "wrong".
func ParseVerdict(s string) (Verdict, error) {
	for v := Survived; v <= Wrong; v++ {
		if v.String() == s {
			return v, nil
		}
	}
	return 0, fmt.Errorf("livefuzz: verdict %q: want survived, crash, hang or wrong", s)
}

// ProbeRequest is the request of the liveness probe: the book's example.
func ProbeRequest() *wire.Request { return fakes.DefaultRequest() }

// Probe sends the probe request to addr in profile p and reads the reply:
// Survived if it ends with the end marker within timeout, Crash if the
// connection is refused, Hang otherwise. The string says what the probe
// saw.
//
// A probe that is reset or cut short is made again, up to three times in
// all, because that is how a dying server looks for an instant (its
// listener closes after its connections): a refused connection then makes
// it a Crash. Otherwise it is a Hang, even if a later attempt is answered:
// the server failed a valid request.
func Probe(ctx context.Context, addr string, p wire.Profile, timeout time.Duration) (Verdict, string) {
	req, err := wire.Encoder{Profile: p}.AppendRequest(nil, ProbeRequest())
	if err != nil {
		return Hang, err.Error() // a profile the caller did not check
	}
	var first string
	for attempt := 1; ; attempt++ {
		r, what := probeOnce(ctx, addr, p, req, timeout)
		switch {
		case r == probeOK && attempt == 1:
			return Survived, what
		case r == probeOK:
			return Hang, first + "; the next attempt was answered"
		case r == probeRefused && attempt == 1:
			return Crash, what
		case r == probeRefused:
			return Crash, first + "; then " + what
		case r == probeSilent:
			return Hang, what
		}
		if attempt == 1 {
			first = what
		}
		if attempt == 3 || ctx.Err() != nil {
			return Hang, first
		}
	}
}

// Results of one probe attempt.
const (
	probeOK      = iota
	probeRefused // the connection was refused
	probeSilent  // nothing whole before the deadline
	probeBroken  // reset, or closed before the end marker
)

func probeOnce(ctx context.Context, addr string, p wire.Profile, req []byte, timeout time.Duration) (int, string) {
	deadline := time.Now().Add(timeout)
	nc, err := dial(ctx, addr, deadline)
	if err != nil {
		switch endingOf(err) {
		case EndRefused:
			return probeRefused, "connection refused"
		case EndReset:
			return probeBroken, fmt.Sprintf("connection reset while connecting: %v", err)
		}
		return probeSilent, fmt.Sprintf("no connection within %v: %v", timeout, err)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	if err := nc.SetDeadline(deadline); err != nil {
		return probeBroken, err.Error()
	}
	if _, err := nc.Write(req); err != nil {
		if endingOf(err) == EndSilence {
			return probeSilent, fmt.Sprintf("the probe could not be written within %v", timeout)
		}
		return probeBroken, fmt.Sprintf("writing the probe: %v", err)
	}
	rd := wire.NewReader(io.LimitReader(nc, MaxReplyBytes), p, wire.Replies)
	var m wire.Message
	trips := 0
	for {
		err := rd.Next(&m)
		if err == nil && m.Kind == wire.KindEnd {
			return probeOK, fmt.Sprintf("%d trips and the end marker", trips)
		}
		if err == nil || !stops(err) {
			trips++
			continue
		}
		at := rd.Decoder().Offset() + int64(rd.Decoder().Buffered())
		if endingOf(err) == EndSilence {
			return probeSilent, fmt.Sprintf("no whole reply within %v (%d bytes)", timeout, at)
		}
		if at >= MaxReplyBytes {
			return probeBroken, fmt.Sprintf("the probe's reply had no end marker in its first %d bytes", at)
		}
		return probeBroken, fmt.Sprintf("the probe's reply ended after %d bytes without the end marker: %v", at, err)
	}
}

// stops reports whether an error of Reader.Next ends the reply: all but a
// corrupt trip block do.
func stops(err error) bool {
	return !errors.Is(err, wire.ErrPastEnd) && !errors.Is(err, wire.ErrOddStringLength) && !errors.Is(err, wire.ErrTrailingBytes)
}
