//go:build !unix

package conformance

import "net"

// refusingAddr returns a loopback address where nothing listens: here a
// port bound and released, which another listener could take before the
// client connects (on Unix the port stays bound, never listened on).
func refusingAddr() (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr, func() {}, nil
}
