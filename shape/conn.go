package shape

import (
	"fmt"
	"net"
	"time"
)

// A Conn is a net.Conn whose writes are shaped by a Writer; reads, addresses
// and read deadlines pass through to the connection it wraps. It also has
// the Writer's Flush, and CloseWrite; HalfClose and Reset work on it.
type Conn struct {
	c net.Conn
	w *Writer
}

// NewConn returns c with its writes in the shape s (see NewWriter, whose
// options it takes). If c is a *net.TCPConn, TCP_NODELAY is turned on.
func NewConn(c net.Conn, s Shape, opts ...Option) (*Conn, error) {
	if c == nil {
		return nil, paramError("conn", "nil", "no connection to shape")
	}
	w, err := NewWriter(c, s, opts...)
	if err != nil {
		return nil, err
	}
	return &Conn{c: c, w: w}, nil
}

// NetConn returns the connection c wraps.
func (c *Conn) NetConn() net.Conn { return c.c }

// Writer returns the Writer that shapes c's writes.
func (c *Conn) Writer() *Writer { return c.w }

// Read reads from the wrapped connection.
func (c *Conn) Read(p []byte) (int, error) { return c.c.Read(p) }

// Write writes p in c's shape, as Writer.Write does.
func (c *Conn) Write(p []byte) (int, error) { return c.w.Write(p) }

// Flush sends the bytes a coalescing shape holds.
func (c *Conn) Flush() error { return c.w.Flush() }

// Close sends the held bytes, ends the stream as the shape's Then says
// (unless a truncation has ended it already), and then closes the
// connection if it is still open: a Conn whose shape ends with ThenHalfClose
// or ThenKeepOpen is still closed by Close. To half-close, use CloseWrite.
// Close interrupts a Write in progress in another goroutine. A second Close
// returns ErrClosed.
func (c *Conn) Close() error { return c.w.finish(true) }

// CloseWrite sends the held bytes and shuts the write side of the
// connection: the peer reads EOF, and c can still read its reply. Later
// writes return ErrClosed.
func (c *Conn) CloseWrite() error { return c.w.closeWrite() }

// LocalAddr returns the wrapped connection's local address.
func (c *Conn) LocalAddr() net.Addr { return c.c.LocalAddr() }

// RemoteAddr returns the wrapped connection's remote address.
func (c *Conn) RemoteAddr() net.Addr { return c.c.RemoteAddr() }

// SetDeadline sets the read and write deadlines, as SetReadDeadline and
// SetWriteDeadline do.
func (c *Conn) SetDeadline(t time.Time) error {
	if err := c.c.SetReadDeadline(t); err != nil {
		return err
	}
	return c.SetWriteDeadline(t)
}

// SetReadDeadline sets the wrapped connection's read deadline.
func (c *Conn) SetReadDeadline(t time.Time) error { return c.c.SetReadDeadline(t) }

// SetWriteDeadline sets a deadline for writes: each piece gets the earlier
// of t and its own write timeout. A zero t means no deadline beyond the
// write timeout. A piece being written sees the new deadline at once, but
// never a later one than its timeout.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.w.dmu.Lock()
	c.w.deadline = t
	c.w.dmu.Unlock()
	bound := time.Now().Add(c.w.timeout)
	if t.IsZero() || t.After(bound) {
		t = bound
	}
	return c.c.SetWriteDeadline(t)
}

// HalfClose shuts the write side of c (CloseWrite, as *net.TCPConn and *Conn
// have): the peer reads EOF, and c can still read the peer's reply. It
// returns an error matching ErrUnsupported if c has no CloseWrite.
func HalfClose(c net.Conn) error { return halfClose(c) }

// Reset closes c with an RST instead of a FIN: SetLinger(0), then Close, as
// a *net.TCPConn (or any conn with SetLinger) allows; on a *Conn, whatever
// its shape's Then, after dropping the bytes it holds. The peer's next read
// fails with ECONNRESET, and bytes not yet sent are dropped. It returns an
// error matching ErrUnsupported, and leaves c open, if c cannot reset.
func Reset(c net.Conn) error {
	if sc, ok := c.(*Conn); ok {
		return sc.w.reset()
	}
	return reset(c)
}

func halfClose(w any) error {
	cw, ok := w.(writeCloser)
	if !ok {
		return fmt.Errorf("%w: %T cannot half-close", ErrUnsupported, w)
	}
	return cw.CloseWrite()
}

func reset(w any) error {
	l, ok := w.(lingerer)
	if !ok {
		return fmt.Errorf("%w: %T cannot reset", ErrUnsupported, w)
	}
	if err := l.SetLinger(0); err != nil {
		l.Close()
		return fmt.Errorf("shape: reset: %w", err)
	}
	return l.Close()
}
