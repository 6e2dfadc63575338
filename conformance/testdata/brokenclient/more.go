package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"unicode/utf8"

	"github.com/tripcheck/tripcheck/wire"
)

// moreModes are the faults at the end of the stream, in sizes, counts,
// printing and time.
var moreModes = map[string]string{
	"waits-for-close":  "after the end marker reads on until the server closes, and fails on a reset or a timeout",
	"signed-size":      "reads the size fields as signed 16-bit numbers and fails on sizes from 0x8000 on",
	"max-1000-trips":   "keeps at most 1000 trips and fails on more",
	"wtf8":             "prints a lone surrogate as its three WTF-8 bytes instead of U+FFFD",
	"nul-terminated":   "prints a train type only up to its first U+0000, as a C string",
	"deadline-1s":      "gives the whole search 1s",
	"refused-is-empty": "takes a refused connection for an answer with no trips",
	"time-wraps":       "prints a time as its milliseconds modulo a day: 86 400 000 ms as 00:00:00.000",
}

// maxTrips is max-1000-trips's table.
const maxTrips = 1000

// dialFailed is what a failed connection gives.
func (c *client) dialFailed(err error) ([]wire.Trip, error) {
	if c.mode == "refused-is-empty" && errors.Is(err, syscall.ECONNREFUSED) {
		return nil, nil
	}
	return nil, err
}

// checkSize is signed-size's fault.
func (c *client) checkSize(sz [2]byte) error {
	if c.mode == "signed-size" {
		if n := int16(binary.BigEndian.Uint16(sz[:])); n < 0 && n != -1 {
			return fmt.Errorf("negative block size %d", n)
		}
	}
	return nil
}

// afterEnd is what the client does once it has the end marker.
func (c *client) afterEnd(conn net.Conn, trips []wire.Trip) ([]wire.Trip, error) {
	switch c.mode {
	case "max-1000-trips":
		if len(trips) > maxTrips {
			return nil, fmt.Errorf("more than %d trips", maxTrips)
		}
	case "waits-for-close":
		buf := make([]byte, 512)
		for {
			_, err := conn.Read(buf)
			if errors.Is(err, io.EOF) {
				return trips, nil
			}
			if err != nil {
				return nil, fmt.Errorf("waiting for the close: %v", err)
			}
		}
	}
	return trips, nil
}

// trainText is how the mode prints a train type, when it prints it its own
// way (ok false: as the contract says).
func (c *client) trainText(s wire.String) (string, bool) {
	switch c.mode {
	case "nul-terminated":
		t, _, _ := strings.Cut(s.String(), "\x00")
		return t, true
	case "wtf8":
		var b []byte
		for i := 0; i < s.Len(); i++ {
			u := s.Unit(i)
			if u >= 0xd800 && u < 0xdc00 && i+1 < s.Len() && s.Unit(i+1) >= 0xdc00 && s.Unit(i+1) < 0xe000 {
				b = utf8.AppendRune(b, 0x10000+(rune(u)-0xd800)<<10+rune(s.Unit(i+1))-0xdc00)
				i++
				continue
			}
			if u >= 0xd800 && u < 0xe000 {
				b = append(b, 0xe0|byte(u>>12), 0x80|byte(u>>6)&0x3f, 0x80|byte(u)&0x3f)
				continue
			}
			b = utf8.AppendRune(b, rune(u))
		}
		return string(b), true
	}
	return "", false
}

// adjust is how the mode changes a trip before printing it.
func (c *client) adjust(t *wire.Trip) *wire.Trip {
	if c.mode == "time-wraps" && !t.Departure.IsNull() {
		u := *t
		u.Departure = wire.TimeMS(t.Departure.Wire() % 86_400_000)
		return &u
	}
	return t
}
