package fakes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/tripcheck/tripcheck/internal/ending"
	"github.com/tripcheck/tripcheck/wire"
)

// DefaultQueryTimeout bounds a whole query unless told otherwise.
const DefaultQueryTimeout = 10 * time.Second

// Kinds of query failure, for errors.Is on a *QueryError.
var (
	// ErrClosedByServer: the stream ended (or was reset) before the end
	// marker, at a block boundary or inside a block.
	ErrClosedByServer = errors.New("fakes: connection closed by server")
	// ErrQueryTimeout: the query did not finish within its timeout.
	ErrQueryTimeout = errors.New("fakes: query timed out")
	// ErrRefused: nothing listens at the address.
	ErrRefused = errors.New("fakes: connection refused")
	// ErrMalformedReply: a trip block whose fields do not fill it exactly
	// (a field past the block, an odd string length, bytes left over).
	ErrMalformedReply = errors.New("fakes: malformed trip block")
	// ErrReplyTooLong: the reply ran past the client's MaxReply bytes
	// without its end marker.
	ErrReplyTooLong = errors.New("fakes: reply too long")
)

// QueryError is a failed query.
type QueryError struct {
	// Kind is ErrClosedByServer, ErrQueryTimeout, ErrRefused,
	// ErrMalformedReply, or nil for another failure (see Err).
	Kind error
	// Err is the cause: a *wire.DecodeError, a net error, ...
	Err error
	// Timeout is the query's timeout, for the reason of ErrQueryTimeout.
	Timeout time.Duration
}

// Reason is the one-line reason the client exec contract prints after
// "ERROR ": "connection closed by server", "timeout after 10s", "connection
// refused", "malformed trip block", or the cause's message.
func (e *QueryError) Reason() string {
	switch e.Kind {
	case ErrClosedByServer:
		return "connection closed by server"
	case ErrQueryTimeout:
		return "timeout after " + e.Timeout.String()
	case ErrRefused:
		return "connection refused"
	case ErrMalformedReply:
		return "malformed trip block"
	case ErrReplyTooLong:
		return "reply too long"
	}
	return strings.Join(strings.Fields(e.Err.Error()), " ")
}

func (e *QueryError) Error() string {
	if e.Kind == nil {
		return "fakes: query: " + e.Err.Error()
	}
	return "fakes: query: " + e.Reason() + ": " + e.Err.Error()
}

// Unwrap gives both the kind and the cause to errors.Is and errors.As.
func (e *QueryError) Unwrap() []error {
	if e.Kind == nil {
		return []error{e.Err}
	}
	return []error{e.Kind, e.Err}
}

// Client is the reference Trip client: one request per connection, the
// reply read up to the end marker, no partial answer ever. A Client reuses
// its buffers from query to query, so it is not safe for concurrent use:
// make one per goroutine. The zero Client queries in wire.Qt4 with
// DefaultQueryTimeout.
type Client struct {
	Profile wire.Profile  // 0: wire.Qt4
	Timeout time.Duration // bounds the whole query (dial, write, read); 0: DefaultQueryTimeout
	// MaxReply bounds the bytes of a reply: a reply that runs past it
	// fails with ErrReplyTooLong. 0: no bound but the timeout.
	MaxReply int

	rd  *wire.Reader
	buf []byte
	msg wire.Message
}

// Query sends req to the server at addr in profile p and returns the trips
// of the reply, within timeout (0: DefaultQueryTimeout) and ctx.
func Query(ctx context.Context, addr string, req *wire.Request, p wire.Profile, timeout time.Duration) ([]wire.Trip, error) {
	c := Client{Profile: p, Timeout: timeout}
	return c.Query(ctx, addr, req)
}

// Query sends req to the server at addr and returns the trips of its
// reply, which it owns. It returns them only once the end marker has
// arrived, and does not wait for the server to close after it. Any failure
// is a *QueryError, except a request the client must not send (an error
// matching wire.ErrIllegalWrite) and the end of ctx (ctx.Err()).
func (c *Client) Query(ctx context.Context, addr string, req *wire.Request) ([]wire.Trip, error) {
	p, timeout := c.Profile, c.Timeout
	if p == 0 {
		p = wire.Qt4
	}
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	b, err := wire.Encoder{Profile: p}.AppendRequest(c.buf[:0], req)
	if err != nil {
		return nil, err
	}
	c.buf = b
	deadline := time.Now().Add(timeout)
	d := net.Dialer{Deadline: deadline}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, c.fail(ctx, err, timeout)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.SetDeadline(time.Now()) })
	defer stop()
	if err := nc.SetDeadline(deadline); err != nil {
		return nil, c.fail(ctx, err, timeout)
	}
	if _, err := nc.Write(b); err != nil {
		return nil, c.fail(ctx, err, timeout)
	}
	if c.rd == nil {
		c.rd = wire.NewReader(nc, p, wire.Replies)
	} else {
		c.rd.Reset(nc, p, wire.Replies)
	}
	var trips []wire.Trip
	for {
		if err := c.rd.Next(&c.msg); err != nil {
			return nil, c.fail(ctx, err, timeout)
		}
		switch c.msg.Kind {
		case wire.KindEnd:
			if trips == nil {
				trips = []wire.Trip{}
			}
			return trips, nil
		case wire.KindTrip:
			if c.MaxReply > 0 && c.rd.Decoder().Offset() > int64(c.MaxReply) {
				return nil, &QueryError{Kind: ErrReplyTooLong, Err: fmt.Errorf("more than %d bytes without the end marker", c.MaxReply)}
			}
			trips = append(trips, c.msg.Trip.Clone())
		}
	}
}

// fail turns the error of a query step into the error Query returns.
func (c *Client) fail(ctx context.Context, err error, timeout time.Duration) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		// The context's deadline has passed, and its timer not yet fired.
		return context.DeadlineExceeded
	}
	return &QueryError{Kind: queryErrorKind(err), Err: err, Timeout: timeout}
}

func queryErrorKind(err error) error {
	var de *wire.DecodeError
	switch how := ending.Of(err); {
	case errors.Is(err, wire.ErrTruncated), errors.Is(err, wire.ErrNoEndMarker),
		how == ending.Close, how == ending.Reset:
		// Qt's client too takes a reset for the server closing.
		return ErrClosedByServer
	case how == ending.Silence:
		return ErrQueryTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrRefused
	case errors.As(err, &de):
		return ErrMalformedReply
	}
	return nil
}
