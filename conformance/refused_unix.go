//go:build unix

package conformance

import (
	"fmt"
	"syscall"
)

// refusingAddr returns a loopback address where connections are refused,
// and a function that frees it. The port is bound and never listened on,
// so that no other listener (a scenario beside this one, another program)
// can take it while the client runs: a port bound and released could be
// reused at once and answer.
func refusingAddr() (string, func(), error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return "", nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return "", nil, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		syscall.Close(fd)
		return "", nil, err
	}
	in, ok := sa.(*syscall.SockaddrInet4)
	if !ok {
		syscall.Close(fd)
		return "", nil, fmt.Errorf("bound to %v, not IPv4", sa)
	}
	return fmt.Sprintf("127.0.0.1:%d", in.Port), func() { syscall.Close(fd) }, nil
}
