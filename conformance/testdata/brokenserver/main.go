// Command brokenserver is a Trip server with one deliberate fault, chosen by
// -mode. It exists for conformance/broken_test.go, which proves that every
// scenario of the server suite fails against some broken server; it lives
// under testdata so that go build ./... leaves it out.
//
//	brokenserver [-profile qt4|qt5] [-mode MODE]
//
// It listens on 127.0.0.1:0, prints "listening on ADDR" on stdout and serves
// until it is killed (or until a crash mode crashes it, with exit code 3).
//
// In mode ok it is a correct server: on each connection it reads exactly one
// request block whatever its fragmentation (the size, then the payload,
// within 30 s), decodes it strictly in its profile, answers a request of type
// 'S' with flag D or A, writes the end marker 0xFFFF and closes. It closes
// without a reply a request that does not decode, has another type or flag,
// or a size of 0 or 0xFFFF. Its trips are a deterministic stand-in for the
// book's glibc rand: three InterCity trips of 44, 8 and 61 minutes with one
// change each, dated and timed as the request. The golden reference of the
// test computes the same bytes.
//
// Every other mode is one realistic bug; run with -modes to list them.
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"syscall"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// The modes, each with what it breaks.
var modes = map[string]string{
	"ok":                   "no fault",
	"read-is-request":      "takes one conn.Read for the whole request (fails fragmented and coalesced requests)",
	"answers-truncated":    "when the client half-closes or stalls 20ms in the middle of a request, pads it with zeros and answers",
	"off-by-one":           "writes every trip block's size one more than its payload",
	"never-closes":         "keeps the connection open after the end marker, until the client closes",
	"qt5-dates":            "reads requests in its profile but writes trips in the qt5 layout",
	"crash-odd-string":     "exits (code 3) on a request string with an odd byte length",
	"crash-on-bad":         "exits (code 3) on any malformed request: type, flag, odd string, string past its block, bytes left over, size 0, size 0xFFFF",
	"crash-on-truncated":   "exits (code 3) when a client closes in the middle of a request",
	"one-at-a-time":        "serves one connection after another, waiting for a stalled client before accepting the next",
	"lenient":              "reads like the book's QDataStream: answers a bad flag, odd strings, strings past the block, bytes left over; waits for ever on size 0xFFFF",
	"never-refuses":        "lenient, and answers any request type and an empty block too",
	"wrong-dates":          "dates trips 3 days after the request",
	"null-trips":           "sends trips with a null date and a null time",
	"garbage-after-end":    "sends 4 bytes after the end marker",
	"answers-each-request": "keeps reading requests on the connection and answers each",
	"max-10-conns":         "serves at most 10 connections at once and closes the others without a reply",
	"golden-off":           "answers with trip[1] one minute longer than the reference",
}

// More modes: lifecycle, timing and value faults (more.go).
func init() {
	for m, what := range moreModes {
		modes[m] = what
	}
}

// Stand-in trips: the durations of every reply.
var durations = []uint16{44, 8, 61}

const (
	readTimeout  = 30 * time.Second
	writeTimeout = 5 * time.Second
	stallTimeout = 20 * time.Millisecond // answers-truncated
	maxConns     = 10                    // max-10-conns
)

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

// run parses the flags, listens, prints the address and serves. It returns
// the exit code: 2 for a usage or setup error. (A crash mode exits with 3
// from the connection that crashed it.)
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("brokenserver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "ok", "the deliberate fault (see -modes)")
	profile := fs.String("profile", "qt4", "the profile: qt4 or qt5")
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
			fmt.Fprintf(stdout, "%-22s %s\n", m, modes[m])
		}
		return 0
	}
	if _, ok := modes[*mode]; !ok || fs.NArg() != 0 {
		fmt.Fprintf(stderr, "brokenserver: unknown mode %q or extra arguments (see -modes)\n", *mode)
		return 2
	}
	p, err := wire.ParseProfile(*profile)
	if err != nil {
		fmt.Fprintf(stderr, "brokenserver: %v\n", err)
		return 2
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintf(stderr, "brokenserver: %v\n", err)
		return 2
	}
	s := &server{mode: *mode, profile: p, ln: ln, stderr: stderr, slots: make(chan struct{}, maxConns)}
	fmt.Fprintf(stdout, "listening on %s\n", ln.Addr())
	return s.serve()
}

// server is one brokenserver: a mode and a listener.
type server struct {
	mode    string
	profile wire.Profile
	ln      net.Listener
	stderr  io.Writer
	slots   chan struct{} // max-10-conns
	conns   int           // stops-after-500: connections accepted
}

// serve accepts connections until the listener fails.
func (s *server) serve() int {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return 1
			}
			s.logf("accept: %v", err)
			time.Sleep(5 * time.Millisecond) // EMFILE and the like: back off
			continue
		}
		if s.turnAway(c) {
			continue
		}
		switch s.mode {
		case "one-at-a-time":
			s.handle(c) // the fault: no goroutine
		case "max-10-conns":
			select {
			case s.slots <- struct{}{}:
				go func() {
					defer func() { <-s.slots }()
					s.handle(c)
				}()
			default:
				c.Close() // the fault: the 11th client is turned away
			}
		default:
			go s.handle(c)
		}
	}
}

// crash is what a crash mode does instead of refusing: the process exits
// at once, with code 3, from the goroutine that met the input, as a real
// crash would. Exiting here rather than from main is the point: no other
// connection is served after the fault, and every connection, the one at
// fault included, is closed by the exit itself.
func (s *server) crash(format string, args ...any) {
	s.logf("%s: crashed: "+format, append([]any{s.mode}, args...)...)
	os.Exit(3)
}

func (s *server) logf(format string, args ...any) {
	fmt.Fprintf(s.stderr, "brokenserver: "+format+"\n", args...)
}

// handle serves one connection and closes it.
func (s *server) handle(c net.Conn) {
	defer c.Close()
	switch s.mode {
	case "read-is-request":
		s.readIsRequest(c)
	case "answers-truncated":
		s.answersTruncated(c)
	case "answers-each-request":
		s.answerEach(c)
	case "read-deadline-800ms", "drops-halfclosed", "validates-per-read", "waits-on-eof":
		s.serveMore(c)
	default:
		s.serveOne(c)
	}
}

// serveOne reads one request block, decodes it and answers it.
func (s *server) serveOne(c net.Conn) {
	payload, err := s.readBlock(c, c)
	if err != nil {
		return
	}
	r, err := s.decode(payload)
	if err != nil {
		return
	}
	s.answer(c, &r)
}

// answerEach is the bug of answers-each-request: it serves the connection
// as a pipeline, one reply to each request, as long as requests come. Like
// a pipelining server, it writes the replies to the requests that came
// together in one write.
func (s *server) answerEach(c net.Conn) {
	br := bufio.NewReader(c)
	var out []byte
	for {
		payload, err := s.readBlock(c, br)
		if err == nil {
			var r wire.Request
			if r, err = s.decode(payload); err == nil {
				out = append(out, reply(s.profile, s.mode, &r)...)
			}
		}
		if len(out) > 0 && (br.Buffered() == 0 || err != nil) {
			c.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, werr := c.Write(out); werr != nil {
				return
			}
			out = out[:0]
		}
		if err != nil {
			return
		}
	}
}

// readBlock reads one block from r, the connection c or a reader of it, in
// whatever pieces it comes.
func (s *server) readBlock(c net.Conn, r io.Reader) ([]byte, error) {
	c.SetReadDeadline(time.Now().Add(readTimeout))
	var size [2]byte
	if n, err := io.ReadFull(r, size[:]); err != nil {
		s.readFailed(n > 0, err)
		return nil, err
	}
	n := int(binary.BigEndian.Uint16(size[:]))
	if s.mode == "signed-size" && int16(n) < 0 && n != wire.EndMarker {
		return nil, fmt.Errorf("size %d read as %d", n, int16(n))
	}
	if n == wire.EndMarker {
		switch s.mode {
		case "lenient", "never-refuses":
			// As the book: a block of 65535 bytes, waited for without
			// a timeout.
			c.SetReadDeadline(time.Time{})
		case "crash-on-bad":
			s.crash("request size 0xFFFF")
			return nil, errors.New("size 0xFFFF")
		default:
			return nil, errors.New("size 0xFFFF")
		}
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		s.readFailed(true, err)
		return nil, err
	}
	return payload, nil
}

// readFailed is told of a read error, and whether the request had begun.
func (s *server) readFailed(begun bool, err error) {
	if s.mode == "crash-on-truncated" && begun && closedByPeer(err) {
		s.crash("the client closed in the middle of a request: %v", err)
	}
	if s.mode == "crash-on-empty" && !begun && closedByPeer(err) {
		s.crash("a client closed without sending a byte: %v", err)
	}
}

func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET)
}

// decode reads a request payload as the mode says: strictly by default.
func (s *server) decode(payload []byte) (wire.Request, error) {
	switch s.mode {
	case "lenient":
		r := decodeLikeQt(s.profile, payload)
		if r.Type != wire.TypeSearch {
			return r, wire.ErrUnknownType
		}
		return r, nil
	case "never-refuses":
		return decodeLikeQt(s.profile, payload), nil
	}
	var r wire.Request
	err := s.profile.DecodeRequest(payload, &r)
	if err == nil {
		err = r.Validate()
	}
	if err == nil {
		err = s.validateMore(&r)
	}
	if err != nil {
		switch {
		case s.mode == "crash-on-bad":
			s.crash("malformed request: %v", err)
		case s.mode == "crash-odd-string" && errors.Is(err, wire.ErrOddStringLength):
			s.crash("odd string length: %v", err)
		}
	}
	return r, err
}

// decodeLikeQt reads a request payload field by field as QDataStream does,
// taking what a short or corrupt read gives and going on; bytes left over
// are ignored. A string whose data runs past the block takes the rest.
func decodeLikeQt(p wire.Profile, b []byte) wire.Request {
	var r wire.Request
	off := 0
	r.Type, off, _ = wire.ReadUint8(b, off)
	r.From, off = readStringLikeQt(b, off)
	r.To, off = readStringLikeQt(b, off)
	r.Date, off, _ = p.ReadDate(b, off)
	r.Time, off, _ = wire.ReadTime(b, off)
	r.Flag, _, _ = wire.ReadUint8(b, off)
	return r
}

func readStringLikeQt(b []byte, off int) (wire.String, int) {
	s, next, err := wire.ReadString(b, off)
	if errors.Is(err, wire.ErrPastEnd) {
		next = len(b)
	}
	return s, next
}

// reply builds the reply to r: the stand-in trips and the end marker, in
// profile p, with the fault of mode.
func reply(p wire.Profile, mode string, r *wire.Request) []byte {
	enc := wire.Encoder{Profile: p, AllowIllegalWrites: true}
	switch mode {
	case "off-by-one":
		enc.SizeDelta = 1
	case "qt5-dates":
		enc.Profile = wire.Qt5
	}
	var b []byte
	for i, d := range durations {
		t := wire.Trip{Date: r.Date, Departure: r.Time, Duration: d, Changes: 1, TrainType: wire.Str("InterCity")}
		switch mode {
		case "wrong-dates":
			if !r.Date.IsNull() {
				t.Date = wire.DateJD(r.Date.JD() + 3)
			}
		case "null-trips":
			t.Date, t.Departure = wire.NullDate(), wire.NullTime()
		case "golden-off":
			if i == 1 {
				t.Duration++
			}
		}
		var err error
		if b, err = enc.AppendTrip(b, &t); err != nil {
			panic(err) // only a string over 65 534 bytes could, and "InterCity" is not
		}
	}
	b = wire.AppendEnd(b)
	if mode == "garbage-after-end" {
		b = append(b, 0xde, 0xad, 0xbe, 0xef)
	}
	return b
}

// answer writes the reply to r in one write.
func (s *server) answer(c net.Conn, r *wire.Request) {
	c.SetWriteDeadline(time.Now().Add(writeTimeout))
	if _, err := c.Write(reply(s.profile, s.mode, r)); err != nil {
		return
	}
	if s.mode == "never-closes" {
		// Wait for the client to go; whatever it sends is dropped.
		c.SetReadDeadline(time.Time{})
		io.Copy(io.Discard, c)
	}
}

// readIsRequest is the bug of read-is-request: one Read is taken for the
// whole block, whatever TCP delivered.
func (s *server) readIsRequest(c net.Conn) {
	c.SetReadDeadline(time.Now().Add(readTimeout))
	buf := make([]byte, 64<<10)
	n, _ := c.Read(buf)
	if n < 2 {
		return
	}
	r, err := s.decode(buf[2:n])
	if err != nil {
		return
	}
	s.answer(c, &r)
}

// answersTruncated reads a request like serveOne, except that a request the
// client stops sending in the middle (a FIN, a reset or 20ms without a
// byte) is padded with zeros, read leniently and answered.
func (s *server) answersTruncated(c net.Conn) {
	deadline := time.Now().Add(readTimeout)
	var got []byte
	buf := make([]byte, 4096)
	for {
		need := 2
		if len(got) >= 2 {
			size := int(binary.BigEndian.Uint16(got))
			if size == wire.EndMarker {
				return
			}
			need += size
		}
		if len(got) >= need {
			r, err := s.decode(got[2:need])
			if err == nil {
				s.answer(c, &r)
			}
			return
		}
		dl := deadline
		if len(got) > 0 {
			dl = time.Now().Add(stallTimeout)
		}
		c.SetReadDeadline(dl)
		n, err := c.Read(buf)
		got = append(got, buf[:n]...)
		if err == nil {
			continue
		}
		var ne net.Error
		stalled := errors.As(err, &ne) && ne.Timeout() && time.Now().Before(deadline)
		if len(got) == 0 || !(stalled || closedByPeer(err)) {
			return
		}
		// The fault: pad what came and answer it.
		for len(got) < 2 {
			got = append(got, 0)
		}
		size := int(binary.BigEndian.Uint16(got))
		padded := make([]byte, size)
		copy(padded, got[2:])
		r := decodeLikeQt(s.profile, padded)
		s.logf("answering a truncated request (%d of %d bytes): %v", len(got), size+2, r.String())
		s.answer(c, &r)
		return
	}
}
