package fakes

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// Outcomes of a connection, as logged in the "outcome" attribute.
const (
	OutcomeReplied   = "replied"    // a reply was written (as the Fault shaped it)
	OutcomeRejected  = "rejected"   // the request was malformed: closed without a reply
	OutcomeStalled   = "stalled"    // Fault.Stall: read the request, never replied
	OutcomeNoRequest = "no-request" // the client closed before sending a byte
	OutcomeFailed    = "failed"     // reading or writing failed: timeout, reset, ...
)

// errNoRequest: the client closed the connection without sending anything.
var errNoRequest = errors.New("fakes: connection closed before a request")

// Reason names why a connection was rejected or failed, for the "reason"
// attribute of its log line: a stable word per protocol meaning, so that
// tests and scripts need not read error messages.
func Reason(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, wire.ErrTruncated):
		return "truncated"
	case errors.Is(err, wire.ErrReservedSize):
		return "reserved-size"
	case errors.Is(err, wire.ErrOddStringLength):
		return "odd-string-length"
	case errors.Is(err, wire.ErrPastEnd):
		return "past-end"
	case errors.Is(err, wire.ErrTrailingBytes):
		return "trailing-bytes"
	case errors.Is(err, wire.ErrUnknownType):
		return "unknown-type"
	case errors.Is(err, wire.ErrBadFlag):
		return "bad-flag"
	case errors.Is(err, wire.ErrInvalidTime):
		return "invalid-time"
	case errors.Is(err, wire.ErrBlockTooLarge):
		return "block-too-large"
	case errors.Is(err, errNoRequest):
		return "no-request"
	case ending.Timeout(err):
		return "timeout"
	case errors.Is(err, syscall.ECONNRESET):
		return "reset-by-peer"
	case errors.Is(err, syscall.EPIPE):
		return "broken-pipe"
	case errors.Is(err, net.ErrClosed), errors.Is(err, shape.ErrClosed):
		return "closed"
	}
	return "error"
}

// record is what the log line of a connection says.
type record struct {
	request string // the request, decoded and readable; "" if none was decoded
	trips   int    // trip blocks in the reply
	in, out int64  // bytes read and written
	outcome string
	err     error
}

// handle serves one connection and logs it.
func (s *Server) handle(c *conn) {
	var rec record
	if s.connState != nil {
		s.connState(c.info())
	}
	s.exchange(c, &rec)
	c.nc.Close()
	s.logConn(c, &rec)
	s.untrack(c)
	s.setPhase(c, PhaseClosed)
	s.release()
	s.wg.Done()
}

// exchange reads one request and answers it as the server's settings say.
func (s *Server) exchange(c *conn, rec *record) {
	buf := make([]byte, 512)
	payload, err := s.readRequest(c, buf, rec)
	if err != nil {
		rec.err = err
		switch {
		case errors.Is(err, errNoRequest):
			rec.outcome = OutcomeNoRequest
		case isWireError(err):
			rec.outcome = OutcomeRejected
		default:
			rec.outcome = OutcomeFailed
		}
		return
	}
	req, err := s.decode(payload)
	if s.log.Enabled(context.Background(), slog.LevelInfo) && (err == nil || len(payload) > 0) {
		rec.request = req.String()
	}
	if err != nil {
		rec.outcome, rec.err = OutcomeRejected, err
		return
	}
	if s.fault.Stall {
		rec.outcome = OutcomeStalled
		rec.err = s.hold(c, buf, rec)
		return
	}
	rec.outcome = OutcomeReplied
	var trips []wire.Trip
	if !s.fault.GarbageOnly {
		trips = s.gen.Trips(&req)
	}
	// Layout copies: trips may alias the request, which aliases buf.
	l, err := s.reply(trips).Layout()
	if err != nil {
		rec.outcome, rec.err = OutcomeFailed, err
		return
	}
	rec.trips = len(trips)
	s.setPhase(c, PhaseWriting)
	rec.err = s.write(c, l, rec)
}

// isWireError reports whether err is the client's fault on the wire: a
// malformed or truncated request.
func isWireError(err error) bool {
	var de *wire.DecodeError
	return errors.As(err, &de)
}

// readRequest reads one block under the timeout, in whatever pieces it
// comes, into buf or the decoder's own buffer, and returns its payload.
func (s *Server) readRequest(c *conn, buf []byte, rec *record) ([]byte, error) {
	if err := c.nc.SetReadDeadline(time.Now().Add(s.timeout)); err != nil {
		return nil, err
	}
	var d wire.Decoder
	d.Reset(s.profile, wire.Requests)
	for {
		n, err := c.nc.Read(buf)
		rec.in += int64(n)
		if n > 0 {
			d.Feed(buf[:n])
			blk, berr := d.NextBlock()
			if berr == nil {
				return blk.Payload(), nil
			}
			if berr != wire.ErrNeedMore {
				return nil, berr
			}
		}
		switch {
		case err == io.EOF && rec.in == 0:
			return nil, errNoRequest
		case err == io.EOF:
			return nil, d.Close() // a block cut short: ErrTruncated
		case err != nil:
			return nil, err
		}
	}
}

// decode reads a request payload, strictly or as the book does.
func (s *Server) decode(payload []byte) (wire.Request, error) {
	var req wire.Request
	if s.lenient {
		req = decodeLikeQt(s.profile, payload)
		if req.Type != wire.TypeSearch {
			return req, &wire.DecodeError{Field: "request.type", Err: wire.ErrUnknownType}
		}
		return req, nil
	}
	err := s.profile.DecodeRequest(payload, &req)
	if len(payload) > 0 && req.Type != wire.TypeSearch {
		// The type decides first, as in the book's server.
		return req, &wire.DecodeError{Field: "request.type", Err: wire.ErrUnknownType}
	}
	if err != nil {
		return req, err
	}
	return req, req.Validate()
}

// decodeLikeQt reads a request payload as the book's server reads it with
// QDataStream: field by field, each field going on from where QDataStream
// leaves the stream after a short or corrupt read, with the value it gives
// then. Bytes left over are ignored. It stops after a type other than 'S'.
func decodeLikeQt(p wire.Profile, b []byte) wire.Request {
	var r wire.Request
	off := 0
	r.Type, off, _ = wire.ReadUint8(b, off)
	if r.Type != wire.TypeSearch {
		return r
	}
	r.From, off = readStringLikeQt(b, off)
	r.To, off = readStringLikeQt(b, off)
	r.Date, off, _ = p.ReadDate(b, off)
	r.Time, off, _ = wire.ReadTime(b, off)
	r.Flag, _, _ = wire.ReadUint8(b, off)
	return r
}

// readStringLikeQt is wire.ReadString, except that a string whose data runs
// past the end consumes the rest, as QDataStream's readRawData does.
func readStringLikeQt(b []byte, off int) (wire.String, int) {
	s, next, err := wire.ReadString(b, off)
	if errors.Is(err, wire.ErrPastEnd) {
		next = len(b)
	}
	return s, next
}

// reply is the Reply to trips, as the Fault says: the garbage goes after
// the end marker, or after the last trip where there is none.
func (s *Server) reply(trips []wire.Trip) *Reply {
	f := &s.fault
	r := &Reply{Profile: s.replyProfile, Trips: trips, SizeDelta: f.SizeDelta, NoEnd: f.NoEnd || f.GarbageOnly}
	if r.NoEnd {
		r.Garbage = f.Garbage
	} else {
		r.After = f.Garbage
	}
	return r
}

// write sends the reply and ends the connection as the Fault says.
func (s *Server) write(c *conn, l *Layout, rec *record) error {
	if !s.shaped {
		// The well-behaved server: one write, and handle closes.
		if err := c.nc.SetWriteDeadline(time.Now().Add(s.timeout)); err != nil {
			return err
		}
		n, err := c.nc.Write(l.Out())
		rec.out += int64(n)
		return err
	}
	rw := ReplyWriter{Shape: s.fault.Shape, PerBlock: s.fault.PerBlock, WriteTimeout: s.timeout}
	n, err := rw.Write(context.Background(), c.nc, l)
	rec.out += int64(n)
	if err != nil {
		return err
	}
	switch s.fault.Shape.Then {
	case shape.ThenKeepOpen, shape.ThenHalfClose:
		return s.hold(c, nil, rec)
	}
	return nil
}

// hold keeps the connection open, reading and discarding, until the client
// closes it, the timeout ends it, or the server shuts down. The end of the
// hold is not an error, unless the read fails otherwise.
func (s *Server) hold(c *conn, buf []byte, rec *record) error {
	if !s.setPhase(c, PhaseHolding) {
		return nil // shutting down
	}
	if err := c.nc.SetReadDeadline(time.Now().Add(s.timeout)); err != nil {
		if errors.Is(err, net.ErrClosed) {
			return nil // Shutdown ended the hold already
		}
		return err
	}
	if buf == nil {
		buf = make([]byte, 512)
	}
	for {
		n, err := c.nc.Read(buf)
		rec.in += int64(n)
		switch {
		case err == nil:
		case err == io.EOF, errors.Is(err, net.ErrClosed), errors.Is(err, os.ErrDeadlineExceeded):
			return nil
		default:
			return err
		}
	}
}

// logConn writes the connection's one log line.
func (s *Server) logConn(c *conn, rec *record) {
	level := slog.LevelInfo
	if rec.outcome != OutcomeReplied && rec.outcome != OutcomeStalled {
		level = slog.LevelWarn
	}
	ctx := context.Background()
	if !s.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 10)
	attrs = append(attrs,
		slog.Uint64("conn", c.id),
		slog.String("peer", c.peer),
		slog.String("outcome", rec.outcome),
	)
	if rec.request != "" {
		attrs = append(attrs, slog.String("request", rec.request))
	}
	attrs = append(attrs,
		slog.Int("trips", rec.trips),
		slog.Int64("in", rec.in),
		slog.Int64("out", rec.out),
		slog.Duration("duration", time.Since(c.start)),
	)
	if rec.err != nil {
		attrs = append(attrs, slog.String("reason", Reason(rec.err)), slog.String("err", rec.err.Error()))
	}
	s.log.LogAttrs(ctx, level, "conn", attrs...)
}
