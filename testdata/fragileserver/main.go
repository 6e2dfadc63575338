// Command fragileserver is the book's Trip server with one deliberate bug,
// for the tests of the live fuzzer (livefuzz, tripcheck fuzz): it must find
// the bug within a bounded number of cases, and its reproducer must bring it
// back. It lives under testdata so that go build ./... leaves it out; the
// tests build it with go build.
//
//	fragileserver [-profile qt4|qt5] [-hang]
//
// It listens on 127.0.0.1:0, prints "listening on ADDR" on stdout and
// serves until it is killed. On each connection it reads one request block
// (within 5 s, in any fragmentation), answers it as the book's server does
// (fakes.Book, glibc rand included) if it decodes strictly and validates,
// and closes it without a reply otherwise.
//
// The bug: a request whose "to" string has a byte length field that is odd
// and above 100 (the from string before it being well formed) makes it exit
// at once with code 3, as a C++ server that trusted the length would crash.
// With -hang it stops answering instead: it still accepts connections, and
// never replies on any of them again.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

func main() {
	profile := flag.String("profile", "qt4", "profile to speak: qt4 or qt5")
	hang := flag.Bool("hang", false, "on the bug, stop answering instead of exiting")
	flag.Parse()
	p, err := wire.ParseProfile(*profile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fragileserver:", err)
		os.Exit(2)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "fragileserver:", err)
		os.Exit(2)
	}
	fmt.Printf("listening on %s\n", ln.Addr())
	s := &server{profile: p, hang: *hang, stuck: make(chan struct{})}
	for {
		c, err := ln.Accept()
		if err != nil {
			fmt.Fprintln(os.Stderr, "fragileserver:", err)
			os.Exit(1)
		}
		go s.serve(c)
	}
}

type server struct {
	profile wire.Profile
	hang    bool
	once    sync.Once
	stuck   chan struct{} // closed once the bug has hit, with -hang
}

func (s *server) serve(c net.Conn) {
	defer c.Close()
	select {
	case <-s.stuck:
		<-make(chan struct{}) // hung: hold the connection, never answer
	default:
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	payload, ok := readBlock(c, s.profile)
	if !ok {
		return
	}
	if toLengthIsBad(payload) {
		if !s.hang {
			fmt.Fprintln(os.Stderr, "fragileserver: odd 'to' length above 100: crashing")
			os.Exit(3)
		}
		s.once.Do(func() { close(s.stuck) })
		<-make(chan struct{})
	}
	var req wire.Request
	if s.profile.DecodeRequest(payload, &req) != nil || req.Validate() != nil {
		return
	}
	enc := wire.Encoder{Profile: s.profile, AllowIllegalWrites: true}
	var reply []byte
	for _, t := range (fakes.Book{}).Trips(&req) {
		reply, _ = enc.AppendTrip(reply, &t) // a valid request gives valid trips
	}
	c.Write(wire.AppendEnd(reply))
}

// toLengthIsBad is the bug's trigger: the length field of "to" is odd and
// above 100.
func toLengthIsBad(payload []byte) bool {
	if len(payload) < 1 || payload[0] != wire.TypeSearch {
		return false
	}
	_, off, err := wire.ReadString(payload, 1)
	if err != nil {
		return false
	}
	n, _, err := wire.ReadUint32(payload, off)
	return err == nil && n%2 == 1 && n > 100 && n != 0xFFFFFFFF
}

// readBlock reads one block, in whatever pieces it comes.
func readBlock(c net.Conn, p wire.Profile) ([]byte, bool) {
	d := wire.NewDecoder(p, wire.Requests)
	buf := make([]byte, 4096)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			d.Feed(buf[:n])
			blk, berr := d.NextBlock()
			if berr == nil {
				return blk.Payload(), true
			}
			if berr != wire.ErrNeedMore {
				return nil, false
			}
		}
		if err != nil {
			return nil, false
		}
	}
}
