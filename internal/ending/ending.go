// Package ending says how a connection ended from the error its read
// returned: the peer closed it (FIN), reset it (RST), went silent until
// the deadline, or something else failed. It is the one place that maps
// read errors to endings; the suites, livefuzz, fakes and the proxy ask it.
package ending

import (
	"errors"
	"io"
	"net"
	"os"
	"syscall"
)

// How is how a stream from a peer ended, as far as it was watched.
type How string

const (
	Close   How = "close"   // a FIN: the read returned io.EOF
	Reset   How = "reset"   // an RST: the read returned ECONNRESET (or EPIPE)
	Silence How = "silence" // nothing more came before the deadline
	Error   How = "error"   // another error
	// Budget: the reader stopped at its byte budget; the peer had sent
	// more than any Trip stream needs.
	Budget How = "budget"
)

// Of maps a read error to how the stream ended. A timeout is silence,
// never a close; nil is Error, since a read that did not fail ended
// nothing.
func Of(err error) How {
	switch {
	case err == nil:
		return Error
	case errors.Is(err, io.EOF):
		return Close
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return Reset
	case Timeout(err):
		return Silence
	}
	return Error
}

// Timeout reports whether err is a deadline passing: os.ErrDeadlineExceeded
// or any net.Error that says it timed out.
func Timeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}
