//go:build linux || darwin

package shape

import (
	"syscall"
	"testing"
)

// TestNoDelay shows that shaping a TCP connection turns TCP_NODELAY on, as
// the socket option itself reports, even when it was off.
func TestNoDelay(t *testing.T) {
	client, _ := tcpPair(t)
	if err := client.SetNoDelay(false); err != nil {
		t.Fatal(err)
	}
	if got := noDelay(t, client); got != 0 {
		t.Fatalf("TCP_NODELAY = %d after SetNoDelay(false)", got)
	}
	if _, err := NewConn(client, Shape{Every: 1}); err != nil {
		t.Fatal(err)
	}
	if got := noDelay(t, client); got == 0 {
		t.Errorf("TCP_NODELAY is off on a shaped connection")
	}
}

func noDelay(t *testing.T, c syscall.Conn) int {
	t.Helper()
	raw, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var serr error
	if err := raw.Control(func(fd uintptr) {
		v, serr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_NODELAY)
	}); err != nil {
		t.Fatal(err)
	}
	if serr != nil {
		t.Fatal(serr)
	}
	return v
}
