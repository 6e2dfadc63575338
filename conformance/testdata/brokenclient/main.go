// Command brokenclient is a Trip client under the exec contract of
// `tripcheck client --exec`, with one deliberate fault chosen by -mode. It
// exists for conformance/client_test.go, which proves that every scenario of
// the client suite fails against some broken client; it lives under
// testdata so that go build ./... leaves it out.
//
//	brokenclient [-mode MODE] [-profile qt4|qt5] [-timeout D] -host H -port P FROM TO DATE TIME FLAG
//
// -timeout bounds the whole search in mode ok (fakes.Query), and every
// wait for the server in the other modes.
//
// FROM and TO are UTF-8, "@null" for a null string; DATE is yyyy-MM-dd or
// @null; TIME is HH:mm:ss.zzz or @null; FLAG is D or A. It prints one line
// per trip and "END n" and exits 0, or prints "ERROR <reason>" and exits 1;
// 2 is a usage error.
//
// In mode ok it is fakes.Query, the reference client. Every other mode is a
// realistic bug (its own reading code, a naive one); -modes lists them.
package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tripcheck/tripcheck/contract"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

var modes = map[string]string{
	"ok":                  "fakes.Query, the reference client: no fault",
	"one-read-one-block":  "takes the bytes of each read for exactly one block (drops the rest of a read, fails on a short one)",
	"ignore-end-marker":   "takes 0xFFFF for an ordinary size and reads blocks until EOF, then reports success",
	"eof-is-success":      "stops at the end marker, but takes EOF anywhere for the end of a complete answer",
	"little-endian-size":  "reads the size fields little-endian",
	"prints-early":        "prints each trip's fields as they arrive, before its block is complete, then ERROR if the stream fails",
	"empty-is-error":      "reports an answer with no trips as an error",
	"no-timeout":          "waits for ever for the server (until killed)",
	"ignores-leftover":    "decodes trips like QDataStream without checking its status: fields past the block read as zero, bytes left over are ignored",
	"null-unaware":        "prints a null date as Julian Day 0 (-4714-11-24) and a null time as 00:00:00.000",
	"utf8-strings":        "sends city names as UTF-8 bytes instead of UTF-16",
	"nulls-confused":      "sends a null string as an empty one and an empty string as a null one",
	"always-departure":    "sends the flag D whatever the search says",
	"sends-after-end":     "sends its request a second time after the end marker, then closes",
	"no-nulls":            "exits 89 (not implemented) on a search with a null value; otherwise ok",
	"keeps-whole-trips":   "on a failed search prints the trips of the blocks received whole, then ERROR, as the book's client keeps them (conformant)",
	"drops-last-on-error": "on a failed search prints the trips of the blocks received whole but the last, then ERROR",
}

// More modes: the end of the stream, sizes, counts, printing, time (more.go).
func init() {
	for m, what := range moreModes {
		modes[m] = what
	}
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

type client struct {
	mode    string
	profile wire.Profile
	timeout time.Duration
	out     io.Writer
	midLine bool // prints-early: a trip line is begun
	// partial are the trips of the blocks read whole so far.
	partial []wire.Trip
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("brokenclient", flag.ContinueOnError)
	fs.SetOutput(stderr)
	mode := fs.String("mode", "ok", "the fault")
	prof := fs.String("profile", "qt4", "qt4 or qt5")
	host := fs.String("host", "127.0.0.1", "server host")
	port := fs.String("port", "6178", "server port")
	timeout := fs.Duration("timeout", time.Second, "how long to wait for the server")
	list := fs.Bool("modes", false, "list the modes")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *list {
		var names []string
		for m := range modes {
			names = append(names, m)
		}
		sort.Strings(names)
		for _, m := range names {
			fmt.Fprintf(stdout, "%-20s %s\n", m, modes[m])
		}
		return 0
	}
	if _, ok := modes[*mode]; !ok {
		fmt.Fprintf(stderr, "brokenclient: unknown -mode %q\n", *mode)
		return 2
	}
	p, err := wire.ParseProfile(*prof)
	if err != nil {
		fmt.Fprintln(stderr, "brokenclient:", err)
		return 2
	}
	req, err := parseSearch(fs.Args())
	if err != nil {
		fmt.Fprintln(stderr, "brokenclient:", err)
		return 2
	}
	if *mode == "no-nulls" && (req.From.IsNull() || req.To.IsNull() || req.Date.IsNull() || req.Time.IsNull()) {
		fmt.Fprintln(stderr, "brokenclient: null values are not implemented")
		return 89
	}
	c := &client{mode: *mode, profile: p, timeout: *timeout, out: stdout}
	addr := net.JoinHostPort(*host, *port)
	var trips []wire.Trip
	if *mode == "ok" || *mode == "no-nulls" {
		trips, err = fakes.Query(context.Background(), addr, &req, p, *timeout)
		var qe *fakes.QueryError
		if errors.As(err, &qe) {
			err = errors.New(qe.Reason())
		}
	} else {
		trips, err = c.search(addr, &req)
	}
	if err == nil && len(trips) == 0 && *mode == "empty-is-error" {
		err = errors.New("no trips found")
	}
	if err != nil {
		kept := c.partial
		switch *mode {
		case "keeps-whole-trips":
		case "drops-last-on-error":
			kept = kept[:max(0, len(kept)-1)]
		default:
			kept = nil
		}
		var b strings.Builder
		for i := range kept {
			b.WriteString(c.line(&kept[i]) + "\n")
		}
		b.WriteString(contract.ErrorLine(err.Error()) + "\n")
		stdout.Write([]byte(b.String()))
		return 1
	}
	if *mode != "prints-early" {
		var b strings.Builder
		for i := range trips {
			b.WriteString(c.line(&trips[i]) + "\n")
		}
		stdout.Write([]byte(b.String()))
	}
	fmt.Fprintln(stdout, contract.EndLine(len(trips)))
	return 0
}

func parseSearch(args []string) (wire.Request, error) {
	if len(args) != 5 {
		return wire.Request{}, fmt.Errorf("want FROM TO DATE TIME FLAG, got %d arguments", len(args))
	}
	str := func(s string) wire.String {
		if s == "@null" {
			return wire.NullString()
		}
		return wire.Str(s)
	}
	r := wire.Request{Type: wire.TypeSearch, From: str(args[0]), To: str(args[1])}
	var err error
	if r.Date, err = wire.ParseDate(args[2]); err != nil {
		return r, err
	}
	if r.Time, err = wire.ParseTime(args[3]); err != nil {
		return r, err
	}
	switch args[4] {
	case "D", "A":
		r.Flag = args[4][0]
	default:
		return r, fmt.Errorf("bad flag %q", args[4])
	}
	return r, nil
}

func (c *client) line(t *wire.Trip) string {
	t = c.adjust(t)
	if c.mode == "null-unaware" {
		d, tm := t.Date, t.Departure
		if d.IsNull() {
			d = wire.DateJD(0)
		}
		if tm.IsNull() {
			tm = wire.TimeMS(0)
		}
		u := *t
		u.Date, u.Departure = d, tm
		t = &u
	}
	if text, ok := c.trainText(t.TrainType); ok {
		u := *t
		u.TrainType = wire.NullString() // printed "", then the mode's text
		return contract.TripLine(&u) + text
	}
	return contract.TripLine(t)
}

// encodeRequest writes the request, with the mode's fault.
func (c *client) encodeRequest(r *wire.Request) ([]byte, error) {
	switch c.mode {
	case "always-departure":
		r.Flag = wire.FlagDeparture
	case "nulls-confused":
		swap := func(s wire.String) wire.String {
			switch {
			case s.IsNull():
				return wire.Str("")
			case s.Len() == 0:
				return wire.NullString()
			}
			return s
		}
		r.From, r.To = swap(r.From), swap(r.To)
	case "utf8-strings":
		b := []byte{0, 0, r.Type}
		for _, s := range []wire.String{r.From, r.To} {
			if s.IsNull() {
				b = wire.AppendUint32(b, 0xFFFFFFFF)
				continue
			}
			u := []byte(s.String())
			b = wire.AppendUint32(b, uint32(len(u)))
			b = append(b, u...)
		}
		b = c.profile.AppendDate(b, r.Date)
		b = wire.AppendTime(b, r.Time)
		b = append(b, r.Flag)
		binary.BigEndian.PutUint16(b, uint16(len(b)-2))
		return b, nil
	}
	return c.profile.AppendRequest(nil, r)
}

// search is the naive client of every mode but ok.
func (c *client) search(addr string, r *wire.Request) ([]wire.Trip, error) {
	req, err := c.encodeRequest(r)
	if err != nil {
		return nil, err
	}
	d := net.Dialer{Timeout: c.timeout}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return c.dialFailed(err)
	}
	defer conn.Close()
	if c.mode == "deadline-1s" {
		conn.SetDeadline(time.Now().Add(time.Second)) // the fault: the whole search
	} else if c.mode != "no-timeout" {
		// The timeout is for silence: a slow but steady reply, on a
		// loaded machine, goes on.
		conn = &idleConn{conn, c.timeout}
	}
	if _, err := conn.Write(req); err != nil {
		return nil, err
	}
	var trips []wire.Trip
	if c.mode == "one-read-one-block" {
		trips, err = c.readPerRead(conn)
	} else {
		trips, err = c.readStream(conn)
	}
	if err == nil && c.mode == "sends-after-end" {
		conn.Write(req)
	}
	if err == nil {
		trips, err = c.afterEnd(conn, trips)
	}
	return trips, err
}

// idleConn gives every read and write its own deadline.
type idleConn struct {
	net.Conn
	d time.Duration
}

func (c *idleConn) Read(p []byte) (int, error) {
	c.Conn.SetReadDeadline(time.Now().Add(c.d))
	return c.Conn.Read(p)
}

func (c *idleConn) Write(p []byte) (int, error) {
	c.Conn.SetWriteDeadline(time.Now().Add(c.d))
	return c.Conn.Write(p)
}

// readPerRead takes each read for one block.
func (c *client) readPerRead(conn net.Conn) ([]wire.Trip, error) {
	var trips []wire.Trip
	buf := make([]byte, 1<<17)
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, fmt.Errorf("connection closed by server: %v", err)
		}
		b := buf[:n]
		if len(b) < 2 {
			return nil, errors.New("short block")
		}
		size := int(binary.BigEndian.Uint16(b))
		if size == wire.EndMarker {
			return trips, nil
		}
		if len(b) < 2+size {
			return nil, errors.New("short block")
		}
		var t wire.Trip
		if err := c.profile.DecodeTrip(b[2:2+size], &t); err != nil {
			return nil, err
		}
		trips = append(trips, t.Clone())
	}
}

// readStream reads block by block with io.ReadFull, with the mode's fault.
func (c *client) readStream(conn net.Conn) ([]wire.Trip, error) {
	br := bufio.NewReader(conn)
	var trips []wire.Trip
	eof := func(err error) ([]wire.Trip, error) {
		if c.mode == "ignore-end-marker" || c.mode == "eof-is-success" {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return trips, nil
			}
		}
		if c.midLine {
			fmt.Fprintln(c.out)
		}
		return nil, fmt.Errorf("connection closed by server: %v", err)
	}
	for {
		var sz [2]byte
		if _, err := io.ReadFull(br, sz[:]); err != nil {
			return eof(err)
		}
		size := int(binary.BigEndian.Uint16(sz[:]))
		if c.mode == "little-endian-size" {
			size = int(binary.LittleEndian.Uint16(sz[:]))
		}
		if err := c.checkSize(sz); err != nil {
			return nil, err
		}
		if size == wire.EndMarker && c.mode != "ignore-end-marker" {
			return trips, nil
		}
		if c.mode == "prints-early" {
			t, err := c.readEarly(br, size)
			if err != nil {
				return eof(err)
			}
			trips = append(trips, t)
			continue
		}
		payload := make([]byte, size)
		if _, err := io.ReadFull(br, payload); err != nil {
			return eof(err)
		}
		var t wire.Trip
		if c.mode == "ignores-leftover" {
			t = decodeLenient(c.profile, payload)
		} else if err := c.profile.DecodeTrip(payload, &t); err != nil {
			return nil, errors.New("malformed trip block")
		}
		trips = append(trips, t.Clone())
		c.partial = trips
	}
}

// readEarly reads one trip field by field, printing each as it arrives.
func (c *client) readEarly(br *bufio.Reader, size int) (wire.Trip, error) {
	payload := make([]byte, 0, size)
	field := func(n int) ([]byte, error) {
		if len(payload)+n > size {
			return nil, errors.New("malformed trip block")
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, err
		}
		payload = append(payload, b...)
		return b, nil
	}
	var t wire.Trip
	b, err := field(c.profile.DateSize())
	if err != nil {
		return t, err
	}
	t.Date, _, _ = c.profile.ReadDate(b, 0)
	c.midLine = true
	fmt.Fprintf(c.out, "%v ", t.Date)
	if b, err = field(4); err != nil {
		return t, err
	}
	t.Departure, _, _ = wire.ReadTime(b, 0)
	fmt.Fprintf(c.out, "%v ", t.Departure)
	if b, err = field(3); err != nil {
		return t, err
	}
	t.Duration, t.Changes = binary.BigEndian.Uint16(b), b[2]
	fmt.Fprintf(c.out, "%d %d ", t.Duration, t.Changes)
	if b, err = field(4); err != nil {
		return t, err
	}
	n := binary.BigEndian.Uint32(b)
	if n != 0xFFFFFFFF {
		if b, err = field(int(n)); err != nil {
			return t, err
		}
		t.TrainType = wire.StrRaw(b)
	}
	fmt.Fprintf(c.out, "%s\n", t.TrainType.String())
	c.midLine = false
	return t, nil
}

// decodeLenient reads a trip like QDataStream whose status nobody checks:
// a field past the end reads as zero, a string past the end as empty, and
// bytes left over are ignored.
func decodeLenient(p wire.Profile, b []byte) wire.Trip {
	var t wire.Trip
	off := 0
	var err error
	if t.Date, off, err = p.ReadDate(b, off); err != nil {
		t.Date, off = wire.NullDate(), len(b)
	}
	if t.Departure, off, err = wire.ReadTime(b, off); err != nil {
		t.Departure, off = wire.TimeMS(0), len(b)
	}
	t.Duration, off, _ = wire.ReadUint16(b, off)
	t.Changes, off, _ = wire.ReadUint8(b, off)
	s, _, err := wire.ReadString(b, off)
	if err != nil || !utf8.ValidString(s.String()) {
		s = wire.Str("")
	}
	t.TrainType = s
	return t
}
