package shape

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
)

// Defaults for a Writer's options.
const (
	// DefaultPause is the least time between two pieces on a TCP
	// connection, so that the kernel sends them as separate segments.
	DefaultPause = time.Millisecond
	// DefaultWriteTimeout bounds the write of every piece to a writer that
	// has a SetWriteDeadline method.
	DefaultWriteTimeout = 10 * time.Second
)

// An Option changes how a Writer or a Conn writes, not what shape it gives.
type Option func(*options)

type options struct {
	pause, timeout       time.Duration
	pauseSet, timeoutSet bool
}

// WithPause sets the least time between two pieces, whatever the writer: by
// default DefaultPause on a TCP connection (a writer with SetNoDelay) and 0
// elsewhere. A Shape's Delay, when longer, wins. 0 turns the pause off.
func WithPause(d time.Duration) Option {
	return func(o *options) { o.pause, o.pauseSet = d, true }
}

// WithWriteTimeout sets the write deadline of each piece, counted from the
// moment the piece is written (default DefaultWriteTimeout). It must be
// positive: there is no way to write without a deadline.
func WithWriteTimeout(d time.Duration) Option {
	return func(o *options) { o.timeout, o.timeoutSet = d, true }
}

// The optional methods a Writer looks for on the writer it shapes.
type (
	noDelayer   interface{ SetNoDelay(bool) error }
	deadliner   interface{ SetWriteDeadline(time.Time) error }
	writeCloser interface{ CloseWrite() error }
	lingerer    interface {
		SetLinger(sec int) error
		io.Closer
	}
)

// A Writer writes to an underlying io.Writer in the shape of a Shape,
// across successive Write calls: cut points, truncation and coalescing limits
// count from the start of the stream.
//
// Without Coalesce a Writer holds no bytes: each Write goes out before it
// returns, cut at the shape's cut points that fall inside it, so the caller's
// own Write boundaries are cut points too. (Give the stream in one Write, or
// coalesce it, to get exactly Shape.Pieces.) With Coalesce, Writes are held
// and go out, cut, on Flush, on Close, at a coalescing limit, or when a
// truncated stream reaches its limit.
//
// A Writer owns the write deadline of its writer, when that has one: it sets
// one before each piece and puts back the one given to Conn.SetWriteDeadline
// (none for a Writer made by NewWriter) when the call returns.
//
// A failed write to the underlying writer is reported by that Write and by
// every later one. A Writer is safe for concurrent use; Close interrupts a
// Write, Flush or pause in progress in another goroutine.
type Writer struct {
	w       io.Writer
	s       Shape
	gap     time.Duration // least time between two pieces
	timeout time.Duration
	dl      deadliner // w's SetWriteDeadline, or nil

	stop     chan struct{} // closed by Close, to interrupt a Write in progress
	stopOnce sync.Once

	dmu      sync.Mutex
	deadline time.Time // the caller's write deadline (Conn.SetWriteDeadline)

	mu         sync.Mutex
	cut        cutter
	off        int64 // bytes taken into the stream: sent or held
	sent       int64 // bytes written to w
	held       []byte
	heldWrites int
	last       time.Time // when the last piece was written
	touched    bool      // a piece deadline is set on w
	err        error     // the first write error; sticky
	ended      bool      // the stream has ended: truncation, Close or CloseWrite
	truncated  bool      // … at the truncation point
	halfClosed bool      // w's write side is shut
	released   bool      // w is closed
	closed     bool      // Close was called
}

// NewWriter returns a Writer that writes to w in the shape s. If w has a
// SetNoDelay(bool) error method (a *net.TCPConn), NewWriter calls
// SetNoDelay(true). It returns a *ParamError if s or an option is invalid.
func NewWriter(w io.Writer, s Shape, opts ...Option) (*Writer, error) {
	if w == nil {
		return nil, paramError("writer", "nil", "no writer to shape")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	o := options{timeout: DefaultWriteTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.pause < 0 {
		return nil, paramError("pause", o.pause.String(), "must not be negative")
	}
	if o.timeoutSet && o.timeout <= 0 {
		return nil, paramError("write-timeout", o.timeout.String(), "must be positive")
	}
	if nd, ok := w.(noDelayer); ok {
		if err := nd.SetNoDelay(true); err != nil {
			return nil, fmt.Errorf("shape: set TCP_NODELAY: %w", err)
		}
		if !o.pauseSet {
			o.pause = DefaultPause
		}
	}
	s.At = slices.Clone(s.At)
	sw := &Writer{
		w:       w,
		s:       s,
		gap:     max(s.Delay, o.pause),
		timeout: o.timeout,
		stop:    make(chan struct{}),
		cut:     newCutter(s),
	}
	if dl, ok := w.(deadliner); ok {
		sw.dl = dl
	}
	return sw, nil
}

// Shape returns the Writer's shape.
func (w *Writer) Shape() Shape {
	s := w.s
	s.At = slices.Clone(s.At)
	return s
}

// Write writes p in the Writer's shape. When a truncated stream reaches its
// limit, Write sends what it holds, ends the stream as the shape's Then says,
// and returns the bytes it kept; if it had to discard some, it returns
// ErrTruncated (joined with any error from ending the stream). Writes after
// that return 0 and ErrTruncated. After Close or CloseWrite, Write returns
// ErrClosed.
func (w *Writer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.restoreDeadlineLocked()
	if err := w.usableLocked(); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	keep := p
	if w.s.Truncate {
		if room := int64(w.s.TruncateAfter) - w.off; int64(len(p)) > room {
			keep = p[:room]
		}
	}
	var n int
	var err error
	if w.s.Coalesce {
		n, err = w.holdLocked(keep)
	} else {
		n, err = w.sendLocked(keep, w.stop)
		w.off += int64(n)
	}
	if err != nil {
		return n, err
	}
	if w.s.Truncate && w.off >= int64(w.s.TruncateAfter) {
		w.truncated = true
		endErr := w.endLocked(w.s.Then, w.stop)
		if len(keep) < len(p) {
			return n, errors.Join(ErrTruncated, endErr)
		}
		return n, endErr
	}
	return n, nil
}

// usableLocked returns the error a Write gets on a stream that can take no
// more bytes, or nil.
func (w *Writer) usableLocked() error {
	switch {
	case w.closed:
		return ErrClosed
	case w.truncated:
		return ErrTruncated
	case w.ended:
		return ErrClosed
	}
	return w.err
}

// holdLocked adds p to the held bytes, flushes them at a coalescing limit,
// and returns how many bytes of p were taken (held, or written by the flush).
func (w *Writer) holdLocked(p []byte) (int, error) {
	w.held = append(w.held, p...)
	w.heldWrites++
	w.off += int64(len(p))
	full := (w.s.CoalesceBytes > 0 && len(w.held) >= w.s.CoalesceBytes) ||
		(w.s.CoalesceWrites > 0 && w.heldWrites >= w.s.CoalesceWrites)
	if !full {
		return len(p), nil
	}
	before := len(w.held) - len(p)
	sent, err := w.flushLocked(w.stop)
	if err != nil {
		return max(0, sent-before), err
	}
	return len(p), nil
}

// flushLocked sends the held bytes and returns how many went out.
func (w *Writer) flushLocked(stop <-chan struct{}) (int, error) {
	if len(w.held) == 0 {
		return 0, nil
	}
	n, err := w.sendLocked(w.held, stop)
	w.held, w.heldWrites = w.held[:0], 0
	return n, err
}

// sendLocked writes b to w, one Write per piece, and returns how many bytes
// of b went out. A closed stop interrupts it with ErrClosed; a nil stop does
// not.
func (w *Writer) sendLocked(b []byte, stop <-chan struct{}) (int, error) {
	done := 0
	for done < len(b) {
		n := len(b) - done
		if cut := w.cut.after(w.sent); cut >= 0 && cut-w.sent < int64(n) {
			n = int(cut - w.sent)
		}
		m, err := w.pieceLocked(b[done:done+n], stop)
		done += m
		if err != nil {
			w.err = err
			return done, err
		}
	}
	return done, nil
}

// pieceLocked waits for the gap after the previous piece, then writes p to w
// in one Write, under a deadline.
func (w *Writer) pieceLocked(p []byte, stop <-chan struct{}) (int, error) {
	if w.sent > 0 && w.gap > 0 {
		if wait := time.Until(w.last.Add(w.gap)); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-stop:
				t.Stop()
				return 0, ErrClosed
			}
		}
	}
	select {
	case <-stop:
		return 0, ErrClosed
	default:
	}
	if w.dl != nil {
		d := time.Now().Add(w.timeout)
		if u := w.callerDeadline(); !u.IsZero() && u.Before(d) {
			d = u
		}
		w.touched = true
		if err := w.dl.SetWriteDeadline(d); err != nil {
			return 0, err
		}
	}
	n, err := w.w.Write(p)
	w.sent += int64(n)
	w.last = time.Now()
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	return n, err
}

func (w *Writer) callerDeadline() time.Time {
	w.dmu.Lock()
	defer w.dmu.Unlock()
	return w.deadline
}

// restoreDeadlineLocked puts back the caller's write deadline after pieces
// have set their own.
func (w *Writer) restoreDeadlineLocked() {
	if w.touched && w.dl != nil && !w.released {
		w.dl.SetWriteDeadline(w.callerDeadline()) // a failure here leaves only a later deadline
	}
	w.touched = false
}

// endLocked sends what is held and ends the stream with how.
func (w *Writer) endLocked(how Then, stop <-chan struct{}) error {
	var err error
	if w.err == nil {
		_, err = w.flushLocked(stop)
	}
	w.ended = true
	switch how {
	case ThenClose:
		if c, ok := w.w.(io.Closer); ok {
			w.released = true
			err = errors.Join(err, c.Close())
		}
	case ThenHalfClose:
		if e := halfClose(w.w); e != nil {
			err = errors.Join(err, e)
		} else {
			w.halfClosed = true
		}
	case ThenReset:
		e := reset(w.w)
		err = errors.Join(err, e)
		w.released = !errors.Is(e, errors.ErrUnsupported)
	}
	return err
}

// Flush sends the held bytes, cut as the shape says. Without Coalesce there
// is nothing to send.
func (w *Writer) Flush() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.restoreDeadlineLocked()
	if w.err != nil {
		return w.err
	}
	_, err := w.flushLocked(w.stop)
	return err
}

// Close sends the held bytes, then ends the stream as the shape's Then says
// (unless a truncation has ended it already). ThenClose and ThenReset close
// the underlying writer; after ThenHalfClose and ThenKeepOpen it stays open,
// and closing it is the caller's. Close interrupts a Write in progress in
// another goroutine, which returns ErrClosed or a deadline error. A second
// Close returns ErrClosed.
func (w *Writer) Close() error {
	return w.finish(false)
}

// finish is Close; release also closes the underlying writer if the end of
// the stream left it open.
func (w *Writer) finish(release bool) error {
	w.interrupt()
	w.mu.Lock()
	defer w.mu.Unlock()
	w.touched = true
	defer w.restoreDeadlineLocked()
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	var err error
	if !w.ended {
		err = w.endLocked(w.s.Then, nil)
	}
	if release && !w.released {
		if c, ok := w.w.(io.Closer); ok {
			w.released = true
			err = errors.Join(err, c.Close())
		}
	}
	return err
}

// interrupt stops a Write in progress: one waiting between pieces, at once;
// one blocked writing a piece, by its deadline.
func (w *Writer) interrupt() {
	w.stopOnce.Do(func() { close(w.stop) })
	if w.dl != nil {
		// A piece that sets its deadline after this one sees stop closed
		// before it writes.
		w.dl.SetWriteDeadline(time.Now())
	}
}

// reset drops the held bytes and resets the underlying writer, whatever the
// shape's Then; it closes the Writer.
func (w *Writer) reset() error {
	if _, ok := w.w.(lingerer); !ok {
		return fmt.Errorf("%w: %T cannot reset", ErrUnsupported, w.w)
	}
	w.interrupt()
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return ErrClosed
	}
	w.closed, w.ended = true, true
	w.held, w.heldWrites = nil, 0
	if w.released {
		return nil
	}
	w.released = true
	return reset(w.w)
}

// closeWrite sends the held bytes and shuts the write side of the
// underlying writer, if that has not been done.
func (w *Writer) closeWrite() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	defer w.restoreDeadlineLocked()
	if _, ok := w.w.(writeCloser); !ok {
		return fmt.Errorf("%w: %T cannot half-close", ErrUnsupported, w.w)
	}
	switch {
	case w.closed || w.released:
		return ErrClosed
	case !w.ended:
		return w.endLocked(ThenHalfClose, w.stop)
	case !w.halfClosed:
		if err := halfClose(w.w); err != nil {
			return err
		}
		w.halfClosed = true
	}
	return nil
}
