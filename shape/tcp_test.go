package shape

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// These tests run over real TCP on the loopback interface and read the raw
// bytes on the other side, to show that each shape does on the wire what it
// says.

const readTimeout = 5 * time.Second

// tcpPair returns the two ends of a fresh loopback TCP connection; both are
// closed when the test ends.
func tcpPair(t *testing.T) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if err := ln.SetDeadline(time.Now().Add(readTimeout)); err != nil {
		t.Fatal(err)
	}
	type accepted struct {
		c   *net.TCPConn
		err error
	}
	ch := make(chan accepted, 1)
	go func() {
		c, err := ln.AcceptTCP()
		ch <- accepted{c, err}
	}()
	d := net.Dialer{Timeout: readTimeout}
	c, err := d.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	a := <-ch
	if a.err != nil {
		c.Close()
		t.Fatal(a.err)
	}
	t.Cleanup(func() {
		c.Close()
		a.c.Close()
	})
	return c.(*net.TCPConn), a.c
}

// readAll reads c to EOF under a deadline.
func readAll(c net.Conn) (string, error) {
	if err := c.SetReadDeadline(time.Now().Add(readTimeout)); err != nil {
		return "", err
	}
	b, err := io.ReadAll(c)
	return string(b), err
}

// lockstep is a TCP connection whose Write waits until the peer has read
// every byte written before. Each piece is then alone in the peer's receive
// queue when it arrives, and the peer's reads are exactly the pieces, on any
// machine and under any load: what is left to prove is that the Writer makes
// one write per piece, with the right bytes, and that nothing joins them on
// the way.
type lockstep struct {
	*net.TCPConn
	read    <-chan int // the reader's running count of bytes read
	written int
	got     int
}

func (l *lockstep) Write(p []byte) (int, error) {
	timeout := time.NewTimer(readTimeout)
	defer timeout.Stop()
	for l.got < l.written {
		select {
		case l.got = <-l.read:
		case <-timeout.C:
			return 0, errors.New("lockstep: the reader stalled")
		}
	}
	n, err := l.TCPConn.Write(p)
	l.written += n
	return n, err
}

// TestTCPPieces shows that each piece reaches the peer as a read of its own.
func TestTCPPieces(t *testing.T) {
	tests := []struct {
		shape  string
		writes []string
		want   []string // the peer's reads
	}{
		{"whole", []string{"hello, trip!"}, []string{"hello, trip!"}},
		{"bytes-1", []string{"hello, trip!"}, strings.Split("hello, trip!", "")},
		{"bytes-5", []string{"hello, trip!"}, []string{"hello", ", tri", "p!"}},
		{"split-at-2,5", []string{"hello, trip!"}, []string{"he", "llo", ", trip!"}},
		{"split-at-2,5", []string{"hel", "lo, trip!"}, []string{"he", "l", "lo", ", trip!"}},
		{"random-seed-42:1-4", []string{"hello, trip!"}, nil}, // want: what Cut says
		{"random-seed-7", []string{strings.Repeat("0123456789", 10)}, nil},
		{"coalesced", []string{"hel", "lo, ", "trip!"}, []string{"hello, trip!"}},
		{"bytes-4+coalesced", []string{"hel", "lo, ", "trip!"}, []string{"hell", "o, t", "rip!"}},
		{"bytes-2+delay-2ms", []string{"hello"}, []string{"he", "ll", "o"}},
		{"truncate-7", []string{"hello, trip!"}, []string{"hello, "}},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%d writes", tt.shape, len(tt.writes)), func(t *testing.T) {
			s := mustParse(t, tt.shape)
			want := tt.want
			if want == nil {
				cut, err := s.Cut([]byte(strings.Join(tt.writes, "")))
				if err != nil {
					t.Fatal(err)
				}
				for _, p := range cut {
					want = append(want, string(p))
				}
			}
			client, server := tcpPair(t)
			read := make(chan int, 1024)
			w := mustWriter(t, &lockstep{TCPConn: client, read: read}, s)
			werr := make(chan error, 1)
			go func() {
				for _, p := range tt.writes {
					if _, err := w.Write([]byte(p)); err != nil && !errors.Is(err, ErrTruncated) {
						werr <- err
						return
					}
				}
				werr <- w.Close()
			}()

			var got []string
			buf := make([]byte, 64<<10)
			total := 0
			for {
				server.SetReadDeadline(time.Now().Add(readTimeout))
				n, err := server.Read(buf)
				if n > 0 {
					got = append(got, string(buf[:n]))
					total += n
					read <- total
				}
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("read: %v", err)
				}
			}
			if err := <-werr; err != nil {
				t.Errorf("writer: %v", err)
			}
			if !slices.Equal(got, want) {
				t.Errorf("reads = %q, want %q", got, want)
			}
		})
	}
}

// TestTCPPiecesFreeRunning writes without waiting for the reader: only the
// pause between pieces keeps them apart. How many reads the peer makes
// depends on how quickly it is scheduled, so the test requires only what
// holds on any machine: the bytes arrive whole and in order, and no read
// ends inside a piece. It logs how many reads there were.
func TestTCPPiecesFreeRunning(t *testing.T) {
	data := "hello, trip!"
	for _, shape := range []string{"bytes-1", "split-at-2,5", "random-seed-42:1-4"} {
		t.Run(shape, func(t *testing.T) {
			s := mustParse(t, shape)
			sizes, _ := s.Pieces(len(data))
			client, server := tcpPair(t)
			w := mustWriter(t, client, s)
			go func() {
				w.Write([]byte(data))
				w.Close()
			}()
			reads, err := readPieces(server)
			if err != io.EOF {
				t.Fatalf("read error %v, want EOF", err)
			}
			if got := strings.Join(reads, ""); got != data {
				t.Fatalf("read %q, want %q", got, data)
			}
			bounds := make(map[int]bool)
			off := 0
			for _, n := range sizes {
				off += n
				bounds[off] = true
			}
			off = 0
			for _, r := range reads {
				off += len(r)
				if !bounds[off] {
					t.Errorf("a read ends at %d, inside a piece; reads %q, pieces %v", off, reads, sizes)
				}
			}
			t.Logf("%d pieces arrived in %d reads", len(sizes), len(reads))
		})
	}
}

// TestTCPCoalesce shows that held writes arrive as one read.
func TestTCPCoalesce(t *testing.T) {
	client, server := tcpPair(t)
	w := mustWriter(t, client, Shape{Coalesce: true})
	for _, p := range []string{"\x00\x05", "hello", "\xff\xff"} {
		if _, err := w.Write([]byte(p)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	server.SetReadDeadline(time.Now().Add(readTimeout))
	n, err := server.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(buf[:n]), "\x00\x05hello\xff\xff"; got != want {
		t.Errorf("first read = %q, want %q", got, want)
	}
	w.Close()
	if rest, err := readAll(server); rest != "" || err != nil {
		t.Errorf("after the read: %q, %v; want EOF", rest, err)
	}
}

// TestTCPTruncate shows that the peer gets exactly n bytes and then EOF.
func TestTCPTruncate(t *testing.T) {
	for _, coalesce := range []bool{false, true} {
		s := Shape{Every: 2, Coalesce: coalesce, Truncate: true, TruncateAfter: 5}
		t.Run(s.String(), func(t *testing.T) {
			client, server := tcpPair(t)
			c, err := NewConn(client, s)
			if err != nil {
				t.Fatal(err)
			}
			werr := make(chan error, 1)
			go func() {
				n, err := c.Write([]byte("hello, trip!"))
				if n != 5 || !errors.Is(err, ErrTruncated) {
					werr <- errors.New("Write did not report the truncation")
					return
				}
				if _, err := c.Write([]byte("more")); !errors.Is(err, ErrTruncated) {
					werr <- errors.New("a later Write did not report the truncation")
					return
				}
				werr <- c.Close()
			}()
			got, err := readAll(server)
			if got != "hello" || err != nil {
				t.Errorf("peer read %q, %v; want \"hello\" then EOF", got, err)
			}
			if err := <-werr; err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTCPHalfClose shows that a half-close gives the peer EOF while the
// writer can still read the peer's reply.
func TestTCPHalfClose(t *testing.T) {
	tests := []struct {
		name     string
		shape    Shape
		end      func(w *Writer, c *Conn) error // how the client ends its stream
		wantPeer string
	}{
		{"Writer.Close with then-half-close", Shape{Then: ThenHalfClose},
			func(w *Writer, c *Conn) error { return w.Close() }, "request"},
		{"truncate-4+then-half-close", Shape{Truncate: true, TruncateAfter: 4, Then: ThenHalfClose},
			func(w *Writer, c *Conn) error { return nil }, "requ"},
		{"Conn.CloseWrite", Shape{Every: 3},
			func(w *Writer, c *Conn) error { return c.CloseWrite() }, "request"},
		{"HalfClose on a Conn", Shape{Coalesce: true},
			func(w *Writer, c *Conn) error { return HalfClose(c) }, "request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			c, err := NewConn(client, tt.shape)
			if err != nil {
				t.Fatal(err)
			}
			w := c.Writer()
			if _, err := w.Write([]byte("request")); err != nil && !errors.Is(err, ErrTruncated) {
				t.Fatal(err)
			}
			if err := tt.end(w, c); err != nil {
				t.Fatalf("ending the stream: %v", err)
			}
			got, err := readAll(server) // returns at EOF
			if got != tt.wantPeer || err != nil {
				t.Fatalf("peer read %q, %v; want %q then EOF", got, err, tt.wantPeer)
			}
			if _, err := server.Write([]byte("reply")); err != nil {
				t.Fatal(err)
			}
			server.Close()
			reply, err := readAll(c)
			if reply != "reply" || err != nil {
				t.Errorf("after the half-close, read %q, %v; want \"reply\"", reply, err)
			}
			if _, err := c.Write([]byte("x")); err == nil {
				t.Errorf("Write after the half-close succeeded")
			}
		})
	}
	t.Run("HalfClose on a TCPConn", func(t *testing.T) {
		client, server := tcpPair(t)
		client.Write([]byte("request"))
		if err := HalfClose(client); err != nil {
			t.Fatal(err)
		}
		if got, err := readAll(server); got != "request" || err != nil {
			t.Fatalf("peer read %q, %v", got, err)
		}
		server.Write([]byte("reply"))
		server.Close()
		if reply, err := readAll(client); reply != "reply" || err != nil {
			t.Errorf("read %q, %v; want \"reply\"", reply, err)
		}
	})
}

// TestTCPReset shows that a reset makes the peer's read fail with
// ECONNRESET.
func TestTCPReset(t *testing.T) {
	tests := []struct {
		name  string
		shape Shape
		end   func(c *Conn, raw *net.TCPConn) error
	}{
		{"Conn.Close with then-reset", Shape{Every: 2, Then: ThenReset},
			func(c *Conn, raw *net.TCPConn) error { return c.Close() }},
		{"truncate-3+then-reset", Shape{Truncate: true, TruncateAfter: 3, Then: ThenReset},
			func(c *Conn, raw *net.TCPConn) error { return nil }},
		{"Reset on a Conn", Shape{Coalesce: true, Then: ThenHalfClose},
			func(c *Conn, raw *net.TCPConn) error { return Reset(c) }},
		{"Reset on a TCPConn", Shape{},
			func(c *Conn, raw *net.TCPConn) error { return Reset(raw) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			client, server := tcpPair(t)
			c, err := NewConn(client, tt.shape)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Write([]byte("bye now")); err != nil && !errors.Is(err, ErrTruncated) {
				t.Fatal(err)
			}
			if err := tt.end(c, client); err != nil {
				t.Fatalf("reset: %v", err)
			}
			got, err := readPieces(server) // the bytes may come before the reset, or be dropped by it
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("peer read %q, then %v; want ECONNRESET", got, err)
			}
		})
	}
}

// TestConnPassThrough shows that a Conn is its connection for everything
// but writes.
func TestConnPassThrough(t *testing.T) {
	client, server := tcpPair(t)
	c, err := NewConn(client, Shape{Coalesce: true})
	if err != nil {
		t.Fatal(err)
	}
	if c.NetConn() != client {
		t.Errorf("NetConn() is not the wrapped connection")
	}
	if c.LocalAddr().String() != client.LocalAddr().String() || c.RemoteAddr().String() != server.LocalAddr().String() {
		t.Errorf("addresses %v → %v, want %v → %v", c.LocalAddr(), c.RemoteAddr(), client.LocalAddr(), server.LocalAddr())
	}
	if got := c.Writer().Shape().String(); got != "coalesced" {
		t.Errorf("Writer().Shape() = %q", got)
	}
	server.Write([]byte("ping"))
	buf := make([]byte, 8)
	if err := c.SetDeadline(time.Now().Add(readTimeout)); err != nil {
		t.Fatal(err)
	}
	if n, err := io.ReadFull(c, buf[:4]); n != 4 || err != nil || string(buf[:4]) != "ping" {
		t.Fatalf("Read = %q, %v", buf[:n], err)
	}
	c.SetReadDeadline(time.Now().Add(-time.Second))
	if _, err := c.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("Read past the deadline = %v", err)
	}
	c.Write([]byte("po"))
	c.Write([]byte("ng"))
	if err := c.Flush(); err != nil {
		t.Fatal(err)
	}
	server.SetReadDeadline(time.Now().Add(readTimeout))
	if n, err := server.Read(buf); string(buf[:n]) != "pong" || err != nil {
		t.Errorf("peer read %q, %v; want \"pong\" in one read", buf[:n], err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); err != nil {
		t.Errorf("second CloseWrite = %v, want nil", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.CloseWrite(); !errors.Is(err, ErrClosed) {
		t.Errorf("CloseWrite after Close = %v, want ErrClosed", err)
	}
	if err := Reset(c); !errors.Is(err, ErrClosed) {
		t.Errorf("Reset after Close = %v, want ErrClosed", err)
	}
}
