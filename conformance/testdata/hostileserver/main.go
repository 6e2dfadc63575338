// Command hostileserver is a server that is not a working Trip server at
// all, in one of several ways chosen by -mode. It exists for
// conformance/hostile_test.go, which runs `tripcheck server` against each
// and requires a verdict, an exit status, a time bound and a memory bound;
// it lives under testdata so that go build ./... leaves it out.
//
//	hostileserver -mode MODE [-seed N] [-profile qt4|qt5]
//
// It listens on 127.0.0.1:0, prints "listening on ADDR" on stdout and serves
// until it is killed. The modes:
//
//	silent         accepts, reads and drops what comes, never writes
//	endless-trips  answers every connection with valid trips, without end and
//	               at full speed (no end marker ever)
//	random         answers every connection with random bytes without end, at
//	               full speed (seeded by -seed, printed on stderr)
//	reset          resets every connection as soon as it is accepted
//	slow-block     announces a 65 534-byte block and sends it one byte a second
//	http           answers whatever comes first as an HTTP/1.1 server answers a
//	               malformed request: "HTTP/1.1 400 Bad Request" (the bytes
//	               net/http writes), then closes
package main

import (
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"sort"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

var modes = map[string]string{
	"silent":        "accepts, reads and drops what comes, never writes",
	"endless-trips": "answers with valid trips without end, at full speed",
	"random":        "answers with seeded random bytes without end, at full speed",
	"reset":         "resets every connection as soon as it is accepted",
	"slow-block":    "announces a 65534-byte block and sends it one byte a second",
	"http":          "an HTTP/1.1 server: answers a Trip request with 400 Bad Request",
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hostileserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "silent", "how the server misbehaves (see -modes)")
	seed := fs.Uint64("seed", 1, "seed of mode random")
	profile := fs.String("profile", "qt4", "layout of the trips of mode endless-trips")
	list := fs.Bool("modes", false, "list the modes and exit")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		names := make([]string, 0, len(modes))
		for m := range modes {
			names = append(names, m)
		}
		sort.Strings(names)
		for _, m := range names {
			fmt.Fprintf(stdout, "%-14s %s\n", m, modes[m])
		}
		return 0
	}
	if _, ok := modes[*mode]; !ok {
		fmt.Fprintf(stderr, "hostileserver: unknown mode %q (see -modes)\n", *mode)
		return 2
	}
	p, err := wire.ParseProfile(*profile)
	if err != nil {
		fmt.Fprintf(stderr, "hostileserver: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "hostileserver: %v\n", err)
		return 2
	}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	if *mode == "random" {
		fmt.Fprintf(stderr, "hostileserver: random bytes from seed %d\n", *seed)
	}
	conns := uint64(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintf(stderr, "hostileserver: %v\n", err)
			return 1
		}
		conns++
		go serve(c.(*net.TCPConn), *mode, p, *seed+conns)
	}
}

// serve misbehaves on one connection, until the client goes.
func serve(c *net.TCPConn, mode string, p wire.Profile, seed uint64) {
	defer c.Close()
	switch mode {
	case "silent":
		io.Copy(io.Discard, c)
	case "http":
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		c.Read(make([]byte, 4096))
		io.WriteString(c, badRequest)
	case "reset":
		c.SetLinger(0) // Close sends an RST
	case "endless-trips":
		go io.Copy(io.Discard, c)
		writeForever(c, trips(p))
	case "random":
		go io.Copy(io.Discard, c)
		r := rand.New(rand.NewPCG(seed, seed))
		buf := make([]byte, 64<<10)
		for {
			for i := 0; i+8 <= len(buf); i += 8 {
				v := r.Uint64()
				for k := 0; k < 8; k++ {
					buf[i+k] = byte(v >> (8 * k))
				}
			}
			if _, err := c.Write(buf); err != nil {
				return
			}
		}
	case "slow-block":
		go io.Copy(io.Discard, c)
		if _, err := c.Write([]byte{0xff, 0xfe}); err != nil {
			return
		}
		for i := 0; i < 0xfffe; i++ {
			time.Sleep(time.Second)
			if _, err := c.Write([]byte{byte(i)}); err != nil {
				return
			}
		}
	}
}

// badRequest is what net/http answers a request line it cannot parse.
const badRequest = "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n400 Bad Request"

// trips is 64 KiB or so of valid trip blocks in profile p.
func trips(p wire.Profile) []byte {
	var b []byte
	t := wire.Trip{Date: wire.DateOf(2026, 11, 25), Departure: wire.TimeOf(9, 0, 0, 0), Duration: 44, Changes: 1, TrainType: wire.Str("InterCity")}
	for len(b) < 64<<10 {
		var err error
		if b, err = p.AppendTrip(b, &t); err != nil {
			panic(err) // a 9-character train type always encodes
		}
	}
	return b
}

func writeForever(c net.Conn, b []byte) {
	for {
		if _, err := c.Write(b); err != nil {
			return
		}
	}
}
