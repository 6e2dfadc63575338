package ending_test

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/internal/ending"
)

type timeoutError struct{}

func (timeoutError) Error() string   { return "i/o timeout" }
func (timeoutError) Timeout() bool   { return true }
func (timeoutError) Temporary() bool { return true }

func TestOf(t *testing.T) {
	for _, c := range []struct {
		name string
		err  error
		want ending.How
	}{
		{"eof", io.EOF, ending.Close},
		{"wrapped eof", fmt.Errorf("read: %w", io.EOF), ending.Close},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, ending.Reset},
		{"broken pipe", syscall.EPIPE, ending.Reset},
		{"deadline", &net.OpError{Op: "read", Err: os.ErrDeadlineExceeded}, ending.Silence},
		{"net timeout", timeoutError{}, ending.Silence},
		{"unexpected eof", io.ErrUnexpectedEOF, ending.Error},
		{"closed here", net.ErrClosed, ending.Error},
		{"other", errors.New("boom"), ending.Error},
		{"nil", nil, ending.Error},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := ending.Of(c.err); got != c.want {
				t.Errorf("Of(%v) = %q, want %q", c.err, got, c.want)
			}
		})
	}
}

// TestOfOverLoopback reads the real errors of a closed, a reset and a
// silent TCP peer.
func TestOfOverLoopback(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, c := range []struct {
		name string
		end  func(net.Conn)
		wait time.Duration // the read deadline: long where the peer acts
		want ending.How
	}{
		{"close", func(c net.Conn) { c.Close() }, 10 * time.Second, ending.Close},
		{"reset", func(c net.Conn) { c.(*net.TCPConn).SetLinger(0); c.Close() }, 10 * time.Second, ending.Reset},
		{"silence", func(net.Conn) {}, 50 * time.Millisecond, ending.Silence},
	} {
		t.Run(c.name, func(t *testing.T) {
			cl, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer cl.Close()
			sv, err := ln.Accept()
			if err != nil {
				t.Fatal(err)
			}
			defer sv.Close()
			c.end(sv)
			cl.SetReadDeadline(time.Now().Add(c.wait))
			_, err = cl.Read(make([]byte, 1))
			if got := ending.Of(err); got != c.want {
				t.Errorf("read error %v: Of = %q, want %q", err, got, c.want)
			}
		})
	}
}
