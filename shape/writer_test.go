package shape

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// recorder is a plain io.Writer (no Close, no deadlines, not TCP) that
// records each Write it gets, and when.
type recorder struct {
	mu     sync.Mutex
	pieces []string
	times  []time.Time
	wrote  chan struct{} // if not nil, gets a value after each Write
}

func (r *recorder) Write(p []byte) (int, error) {
	r.mu.Lock()
	r.pieces = append(r.pieces, string(p))
	r.times = append(r.times, time.Now())
	r.mu.Unlock()
	if r.wrote != nil {
		r.wrote <- struct{}{}
	}
	return len(p), nil
}

func (r *recorder) got() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.pieces)
}

// fakeConn is a net.Conn-like writer with every optional method a Writer
// looks for; it logs what is done to it. Methods it does not define (Read,
// addresses) are those of the nil net.Conn it embeds: tests must not call
// them.
type fakeConn struct {
	net.Conn
	mu        sync.Mutex
	events    []string
	deadlines []time.Time // every SetWriteDeadline, in order
}

func (f *fakeConn) log(e string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, e)
}

func (f *fakeConn) Write(p []byte) (int, error) { f.log("write " + string(p)); return len(p), nil }
func (f *fakeConn) Close() error                { f.log("close"); return nil }
func (f *fakeConn) CloseWrite() error           { f.log("close-write"); return nil }
func (f *fakeConn) SetLinger(sec int) error {
	f.log("linger " + string(rune('0'+sec)))
	return nil
}

func (f *fakeConn) SetNoDelay(on bool) error {
	if on {
		f.log("nodelay on")
	} else {
		f.log("nodelay off")
	}
	return nil
}

func (f *fakeConn) SetWriteDeadline(t time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "deadline")
	f.deadlines = append(f.deadlines, t)
	return nil
}

// actions returns the logged events, without deadlines.
func (f *fakeConn) actions() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for _, e := range f.events {
		if e != "deadline" {
			out = append(out, e)
		}
	}
	return out
}

func mustWriter(t *testing.T, w io.Writer, s Shape, opts ...Option) *Writer {
	t.Helper()
	sw, err := NewWriter(w, s, opts...)
	if err != nil {
		t.Fatalf("NewWriter(%v): %v", s, err)
	}
	return sw
}

func mustParse(t *testing.T, text string) Shape {
	t.Helper()
	s, err := Parse(text)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestWriterPieces shows what reaches the underlying writer, one Write per
// piece, when a stream is given in several Writes: cut points count from the
// start of the stream, and without coalescing the caller's Write boundaries
// are cut points too.
func TestWriterPieces(t *testing.T) {
	tests := []struct {
		shape  string
		writes []string
		want   []string
	}{
		{"whole", []string{"abc", "de"}, []string{"abc", "de"}},
		{"bytes-1", []string{"abc", "de"}, []string{"a", "b", "c", "d", "e"}},
		{"bytes-2", []string{"abc", "de"}, []string{"ab", "c", "d", "e"}},
		{"bytes-2", []string{"abcdefg"}, []string{"ab", "cd", "ef", "g"}},
		{"split-at-2,5", []string{"abc", "defg"}, []string{"ab", "c", "de", "fg"}},
		{"split-at-2,5", []string{"abcdefg"}, []string{"ab", "cde", "fg"}},
		{"random-seed-42:3-3", []string{"abcd", "ef"}, []string{"abc", "d", "ef"}},
		{"coalesced", []string{"abc", "de", "f"}, []string{"abcdef"}},
		{"bytes-2+coalesced", []string{"abc", "de"}, []string{"ab", "cd", "e"}},
		{"split-at-2,5+coalesced", []string{"abc", "defg"}, []string{"ab", "cde", "fg"}},
		{"coalesce-bytes-4", []string{"ab", "cd", "e"}, []string{"abcd", "e"}},
		{"coalesce-bytes-4", []string{"abcdef", "g"}, []string{"abcdef", "g"}},
		{"coalesce-writes-2", []string{"a", "b", "c"}, []string{"ab", "c"}},
		{"bytes-1+coalesce-writes-2", []string{"a", "bc", "d"}, []string{"a", "b", "c", "d"}},
		{"truncate-4", []string{"ab", "cdef", "gh"}, []string{"ab", "cd"}},
		{"truncate-4+coalesced", []string{"ab", "cdef", "gh"}, []string{"abcd"}},
		{"truncate-0", []string{"ab"}, nil},
		{"bytes-3+truncate-5", []string{"abcdefgh"}, []string{"abc", "de"}},
	}
	for _, tt := range tests {
		t.Run(tt.shape+"/"+strings.Join(tt.writes, ","), func(t *testing.T) {
			var r recorder
			w := mustWriter(t, &r, mustParse(t, tt.shape))
			for _, p := range tt.writes {
				if _, err := w.Write([]byte(p)); err != nil && !errors.Is(err, ErrTruncated) {
					t.Fatalf("Write(%q): %v", p, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if got := r.got(); !slices.Equal(got, tt.want) {
				t.Errorf("pieces = %q, want %q", got, tt.want)
			}
			// One Write, or coalescing, gives exactly Shape.Pieces.
			if len(tt.writes) == 1 || w.s.Coalesce && w.s.CoalesceBytes == 0 && w.s.CoalesceWrites == 0 {
				all := []byte(strings.Join(tt.writes, ""))
				cut, _ := w.s.Cut(all)
				var want []string
				for _, p := range cut {
					want = append(want, string(p))
				}
				if got := r.got(); !slices.Equal(got, want) {
					t.Errorf("pieces = %q, but Cut says %q", got, want)
				}
			}
		})
	}
}

func TestWriterCoalesceFlush(t *testing.T) {
	var r recorder
	w := mustWriter(t, &r, Shape{Coalesce: true})
	for _, p := range []string{"ab", "cd"} {
		if n, err := w.Write([]byte(p)); n != len(p) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", p, n, err)
		}
	}
	if got := r.got(); got != nil {
		t.Fatalf("before Flush, sent %q; want nothing", got)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil { // nothing held: no empty piece
		t.Fatal(err)
	}
	w.Write([]byte("ef"))
	w.Close()
	if got, want := r.got(), []string{"abcd", "ef"}; !slices.Equal(got, want) {
		t.Errorf("pieces = %q, want %q", got, want)
	}
}

// TestWriterTruncate shows what Write reports around the truncation point,
// and how the stream ends there for each Then.
func TestWriterTruncate(t *testing.T) {
	type write struct {
		p       string
		n       int
		wantErr error
	}
	tests := []struct {
		name   string
		shape  string
		writes []write
		want   []string // actions on the conn, in order
	}{
		{"truncate-5", "truncate-5", []write{{"abc", 3, nil}, {"defgh", 2, ErrTruncated}, {"x", 0, ErrTruncated}},
			[]string{"nodelay on", "write abc", "write de", "close"}},
		{"exact fill ends the stream without discarding", "truncate-3", []write{{"abc", 3, nil}, {"d", 0, ErrTruncated}},
			[]string{"nodelay on", "write abc", "close"}},
		{"truncate-0", "truncate-0", []write{{"abc", 0, ErrTruncated}, {"d", 0, ErrTruncated}},
			[]string{"nodelay on", "close"}},
		{"half-close", "truncate-2+then-half-close", []write{{"abc", 2, ErrTruncated}},
			[]string{"nodelay on", "write ab", "close-write"}},
		{"reset", "truncate-2+then-reset", []write{{"abc", 2, ErrTruncated}},
			[]string{"nodelay on", "write ab", "linger 0", "close"}},
		{"keep-open", "truncate-2+then-keep-open", []write{{"abc", 2, ErrTruncated}},
			[]string{"nodelay on", "write ab"}},
		{"coalesced", "truncate-4+coalesced", []write{{"ab", 2, nil}, {"cdef", 2, ErrTruncated}},
			[]string{"nodelay on", "write abcd", "close"}},
		{"bytes-1", "truncate-3+bytes-1", []write{{"abcdef", 3, ErrTruncated}},
			[]string{"nodelay on", "write a", "write b", "write c", "close"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f fakeConn
			w := mustWriter(t, &f, mustParse(t, tt.shape), WithPause(0))
			for _, wr := range tt.writes {
				n, err := w.Write([]byte(wr.p))
				if n != wr.n || !errors.Is(err, wr.wantErr) || (wr.wantErr == nil && err != nil) {
					t.Errorf("Write(%q) = %d, %v; want %d, %v", wr.p, n, err, wr.n, wr.wantErr)
				}
			}
			// Close after a truncation ends nothing twice.
			if err := w.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
			if got := f.actions(); !slices.Equal(got, tt.want) {
				t.Errorf("actions = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestWriterClose shows how Close ends the stream for each Then, on a
// Writer and on a Conn, after sending what coalescing held.
func TestWriterClose(t *testing.T) {
	tests := []struct {
		then     Then
		wantW    []string // Writer.Close
		wantConn []string // Conn.Close
	}{
		{ThenClose, []string{"write held", "close"}, []string{"write held", "close"}},
		{ThenHalfClose, []string{"write held", "close-write"}, []string{"write held", "close-write", "close"}},
		{ThenReset, []string{"write held", "linger 0", "close"}, []string{"write held", "linger 0", "close"}},
		{ThenKeepOpen, []string{"write held"}, []string{"write held", "close"}},
	}
	for _, tt := range tests {
		t.Run(tt.then.String(), func(t *testing.T) {
			s := Shape{Coalesce: true, Then: tt.then}
			for _, conn := range []bool{false, true} {
				f := new(fakeConn)
				var w io.WriteCloser
				want := tt.wantW
				if conn {
					c, err := NewConn(f, s)
					if err != nil {
						t.Fatal(err)
					}
					w, want = c, tt.wantConn
				} else {
					w = mustWriter(t, f, s)
				}
				w.Write([]byte("held"))
				if err := w.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
				if got := f.actions()[1:]; !slices.Equal(got, want) { // [0] is "nodelay on"
					t.Errorf("conn %v: actions = %q, want %q", conn, got, want)
				}
				if err := w.Close(); !errors.Is(err, ErrClosed) || !errors.Is(err, net.ErrClosed) {
					t.Errorf("second Close = %v, want ErrClosed", err)
				}
				if n, err := w.Write([]byte("x")); n != 0 || !errors.Is(err, ErrClosed) {
					t.Errorf("Write after Close = %d, %v; want 0, ErrClosed", n, err)
				}
			}
		})
	}
}

func TestWriterCloseUnsupported(t *testing.T) {
	tests := []struct {
		then    Then
		wantErr error
	}{
		{ThenClose, nil}, // a bytes.Buffer has nothing to close
		{ThenHalfClose, ErrUnsupported},
		{ThenReset, ErrUnsupported},
		{ThenKeepOpen, nil},
	}
	for _, tt := range tests {
		t.Run(tt.then.String(), func(t *testing.T) {
			var b bytes.Buffer
			w := mustWriter(t, &b, Shape{Coalesce: true, Then: tt.then})
			w.Write([]byte("abc"))
			err := w.Close()
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("Close = %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr != nil && !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("Close = %v, does not match errors.ErrUnsupported", err)
			}
			if b.String() != "abc" {
				t.Errorf("wrote %q, want the held bytes first", b.String())
			}
		})
	}
}

func TestHalfCloseResetUnsupported(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if err := HalfClose(a); !errors.Is(err, ErrUnsupported) {
		t.Errorf("HalfClose(pipe) = %v, want ErrUnsupported", err)
	}
	if err := Reset(a); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Reset(pipe) = %v, want ErrUnsupported", err)
	}
	c, err := NewConn(a, Shape{})
	if err != nil {
		t.Fatal(err)
	}
	if err := HalfClose(c); !errors.Is(err, ErrUnsupported) {
		t.Errorf("HalfClose(shaped pipe) = %v, want ErrUnsupported", err)
	}
	if err := Reset(c); !errors.Is(err, ErrUnsupported) {
		t.Errorf("Reset(shaped pipe) = %v, want ErrUnsupported", err)
	}
	// Both left the connection open and writable.
	go io.Copy(io.Discard, b)
	if _, err := c.Write([]byte("still open")); err != nil {
		t.Errorf("Write after failed half-close and reset: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// TestWriterDeadlines shows that every piece is written under a deadline,
// and that the caller's deadline is put back afterwards.
func TestWriterDeadlines(t *testing.T) {
	const timeout = time.Hour
	f := new(fakeConn)
	w := mustWriter(t, f, Shape{Every: 1}, WithWriteTimeout(timeout), WithPause(0))
	start := time.Now()
	if _, err := w.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	var got []string
	di := 0
	for _, e := range f.events {
		if e != "deadline" {
			got = append(got, e)
			continue
		}
		d := f.deadlines[di]
		di++
		switch {
		case d.IsZero():
			got = append(got, "deadline none")
		case d.Before(start.Add(timeout)) || d.After(end.Add(timeout)):
			t.Errorf("deadline %v, want now + %v", d, timeout)
		default:
			got = append(got, "deadline")
		}
	}
	want := []string{"nodelay on", "deadline", "write a", "deadline", "write b", "deadline", "write c", "deadline none"}
	if !slices.Equal(got, want) {
		t.Errorf("events = %q, want %q", got, want)
	}
}

// TestConnWriteDeadline shows that a deadline set on a Conn bounds its
// pieces when it is earlier than their timeout, and is what stays set
// between writes.
func TestConnWriteDeadline(t *testing.T) {
	f := new(fakeConn)
	c, err := NewConn(f, Shape{Every: 2}, WithPause(0))
	if err != nil {
		t.Fatal(err)
	}
	soon := time.Now().Add(DefaultWriteTimeout / 2)
	if err := c.SetWriteDeadline(soon); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write([]byte("abc")); err != nil {
		t.Fatal(err)
	}
	// set by SetWriteDeadline, one per piece, put back after the Write.
	if want := []time.Time{soon, soon, soon, soon}; !slices.EqualFunc(f.deadlines, want, time.Time.Equal) {
		t.Errorf("deadlines = %v, want %v", f.deadlines, want)
	}

	f.deadlines = nil
	before := time.Now()
	c.SetWriteDeadline(time.Time{})
	c.Write([]byte("d"))
	if len(f.deadlines) != 3 {
		t.Fatalf("deadlines = %v, want 3", f.deadlines)
	}
	for _, d := range f.deadlines[:2] { // no deadline given: the timeout bounds the pieces
		if d.Before(before.Add(DefaultWriteTimeout)) || d.After(time.Now().Add(DefaultWriteTimeout)) {
			t.Errorf("deadline %v, want now + %v", d, DefaultWriteTimeout)
		}
	}
	if !f.deadlines[2].IsZero() {
		t.Errorf("deadline after Write = %v, want none", f.deadlines[2])
	}
}

// TestWriterTimeout shows that a peer that does not read fails the write
// instead of hanging it.
func TestWriterTimeout(t *testing.T) {
	a, b := net.Pipe() // nobody reads b
	defer a.Close()
	defer b.Close()
	w := mustWriter(t, a, Shape{Every: 1}, WithWriteTimeout(20*time.Millisecond))
	n, err := w.Write([]byte("ab"))
	if n != 0 || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Write = %d, %v; want 0, a deadline error", n, err)
	}
	if _, err2 := w.Write([]byte("c")); !errors.Is(err2, os.ErrDeadlineExceeded) {
		t.Errorf("next Write = %v, want the same error", err2)
	}
}

// TestWriterGap shows the least time between pieces: the shape's Delay, the
// pause on a TCP-like writer, or nothing elsewhere.
func TestWriterGap(t *testing.T) {
	tests := []struct {
		name string
		w    io.Writer
		s    Shape
		opts []Option
		want time.Duration
	}{
		{"plain writer", new(bytes.Buffer), Shape{Every: 1}, nil, 0},
		{"plain writer with delay", new(bytes.Buffer), Shape{Every: 1, Delay: 5 * time.Millisecond}, nil, 5 * time.Millisecond},
		{"plain writer with pause", new(bytes.Buffer), Shape{Every: 1}, []Option{WithPause(3 * time.Millisecond)}, 3 * time.Millisecond},
		{"tcp", new(fakeConn), Shape{Every: 1}, nil, DefaultPause},
		{"tcp, pause off", new(fakeConn), Shape{Every: 1}, []Option{WithPause(0)}, 0},
		{"tcp, longer delay wins", new(fakeConn), Shape{Delay: 5 * time.Millisecond}, nil, 5 * time.Millisecond},
		{"tcp, longer pause wins", new(fakeConn), Shape{Delay: time.Millisecond}, []Option{WithPause(time.Second)}, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := mustWriter(t, tt.w, tt.s, tt.opts...)
			if w.gap != tt.want {
				t.Errorf("gap = %v, want %v", w.gap, tt.want)
			}
		})
	}
}

// TestWriterDelay measures the time between pieces: never less than the
// delay, within a Write and across Writes.
func TestWriterDelay(t *testing.T) {
	const delay = 5 * time.Millisecond
	var r recorder
	w := mustWriter(t, &r, Shape{Every: 2, Delay: delay})
	w.Write([]byte("abcde"))
	w.Write([]byte("f"))
	if want := []string{"ab", "cd", "e", "f"}; !slices.Equal(r.pieces, want) {
		t.Fatalf("pieces = %q, want %q", r.pieces, want)
	}
	for i := 1; i < len(r.times); i++ {
		if gap := r.times[i].Sub(r.times[i-1]); gap < delay {
			t.Errorf("gap before piece %d = %v, want at least %v", i, gap, delay)
		}
	}
}

// blockingWriter is a writer whose writes block until it is told to stop or
// its write deadline passes, as a connection to a peer that does not read.
type blockingWriter struct {
	entered  chan struct{}
	mu       sync.Mutex
	deadline time.Time
	changed  chan struct{}
}

func newBlockingWriter() *blockingWriter {
	return &blockingWriter{entered: make(chan struct{}, 1), changed: make(chan struct{}, 1)}
}

func (b *blockingWriter) SetWriteDeadline(t time.Time) error {
	b.mu.Lock()
	b.deadline = t
	b.mu.Unlock()
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return nil
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	select {
	case b.entered <- struct{}{}:
	default:
	}
	for {
		b.mu.Lock()
		d := b.deadline
		b.mu.Unlock()
		if !d.IsZero() && !time.Now().Before(d) {
			return 0, os.ErrDeadlineExceeded
		}
		<-b.changed // the test's own timeout bounds this wait
	}
}

// TestWriterCloseInterrupts shows that Close from another goroutine stops a
// Write that waits between pieces or is blocked writing one.
func TestWriterCloseInterrupts(t *testing.T) {
	t.Run("waiting between pieces", func(t *testing.T) {
		r := &recorder{wrote: make(chan struct{}, 10)}
		w := mustWriter(t, r, Shape{Every: 1, Delay: time.Hour})
		done := make(chan error)
		var n int
		go func() {
			var err error
			n, err = w.Write([]byte("ab"))
			done <- err
		}()
		<-r.wrote // the first piece is out; the second waits an hour
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-done:
			if n != 1 || !errors.Is(err, ErrClosed) {
				t.Errorf("Write = %d, %v; want 1, ErrClosed", n, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not interrupt the Write")
		}
	})
	t.Run("blocked in a piece", func(t *testing.T) {
		b := newBlockingWriter()
		w := mustWriter(t, b, Shape{}, WithWriteTimeout(time.Hour))
		done := make(chan error)
		go func() {
			_, err := w.Write([]byte("ab"))
			done <- err
		}()
		<-b.entered
		if err := w.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-done:
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("Write = %v, want a deadline error", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not interrupt the Write")
		}
	})
}

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return len(p) / 2, nil }

func TestWriterShortWrite(t *testing.T) {
	w := mustWriter(t, shortWriter{}, Shape{Every: 4})
	n, err := w.Write([]byte("abcdefgh"))
	if n != 2 || !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Write = %d, %v; want 2, io.ErrShortWrite", n, err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("next Write = %v, want the same error", err)
	}
	if err := w.Flush(); !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("Flush = %v, want the same error", err)
	}
}

// TestWriterConcurrent runs Writes, Flushes and a Close from several
// goroutines, for the race detector.
func TestWriterConcurrent(t *testing.T) {
	var r recorder
	w := mustWriter(t, &r, Shape{Every: 3, Coalesce: true, CoalesceWrites: 5})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				w.Write([]byte("0123456789"))
				w.Flush()
			}
		})
	}
	wg.Wait()
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range r.got() {
		if len(p) > 3 {
			t.Errorf("piece %q longer than 3", p)
		}
		total += len(p)
	}
	if total != 8*50*10 {
		t.Errorf("sent %d bytes, want %d", total, 8*50*10)
	}
}

func TestNewWriterErrors(t *testing.T) {
	tests := []struct {
		name      string
		w         io.Writer
		opts      []Option
		wantParam string
	}{
		{"nil writer", nil, nil, "writer"},
		{"negative pause", new(bytes.Buffer), []Option{WithPause(-1)}, "pause"},
		{"zero timeout", new(bytes.Buffer), []Option{WithWriteTimeout(0)}, "write-timeout"},
		{"negative timeout", new(bytes.Buffer), []Option{WithWriteTimeout(-time.Second)}, "write-timeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewWriter(tt.w, Shape{}, tt.opts...)
			var pe *ParamError
			if !errors.As(err, &pe) || pe.Param != tt.wantParam {
				t.Errorf("NewWriter = %v, want a *ParamError for %q", err, tt.wantParam)
			}
		})
	}
	if _, err := NewConn(nil, Shape{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("NewConn(nil) = %v, want ErrInvalid", err)
	}
}

// TestConnPipe shapes a net.Pipe: each Write on a pipe is met by its own
// reads, so the reader sees exactly the pieces.
func TestConnPipe(t *testing.T) {
	tests := []struct {
		shape string
		want  []string
	}{
		{"whole", []string{"hello, trip!"}},
		{"bytes-1", []string{"h", "e", "l", "l", "o", ",", " ", "t", "r", "i", "p", "!"}},
		{"split-at-2,5", []string{"he", "llo", ", trip!"}},
		{"random-seed-42:2-5", nil}, // want: what Cut says
		{"truncate-5", []string{"hello"}},
	}
	for _, tt := range tests {
		t.Run(tt.shape, func(t *testing.T) {
			data := []byte("hello, trip!")
			s := mustParse(t, tt.shape)
			want := tt.want
			if want == nil {
				cut, _ := s.Cut(data)
				for _, p := range cut {
					want = append(want, string(p))
				}
			}
			a, b := net.Pipe()
			defer b.Close()
			c, err := NewConn(a, s)
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				c.Write(data)
				c.Close()
			}()
			got, err := readPieces(b)
			if err != io.EOF {
				t.Errorf("read error %v, want EOF", err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("reads = %q, want %q", got, want)
			}
		})
	}
}

// readPieces reads c until an error, each read under a deadline, and returns
// what each read got and the error.
func readPieces(c net.Conn) ([]string, error) {
	var got []string
	buf := make([]byte, 64<<10)
	for {
		// A net.Pipe refuses deadlines once closed; its Read then says why.
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := c.Read(buf)
		if n > 0 {
			got = append(got, string(buf[:n]))
		}
		if err != nil {
			return got, err
		}
	}
}

func BenchmarkWriterBytes1(b *testing.B) {
	w := mustWriterB(b, io.Discard, Shape{Every: 1})
	p := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := w.Write(p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriterCoalesced(b *testing.B) {
	w := mustWriterB(b, io.Discard, Shape{Coalesce: true, CoalesceBytes: 4096})
	p := make([]byte, 64)
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if _, err := w.Write(p); err != nil {
			b.Fatal(err)
		}
	}
}

func mustWriterB(b *testing.B, w io.Writer, s Shape) *Writer {
	sw, err := NewWriter(w, s)
	if err != nil {
		b.Fatal(err)
	}
	return sw
}
