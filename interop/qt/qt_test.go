package qt_test

// These tests build the Qt 5 tripserver and tripclient (the book's Trip
// Server and Trip Planner, see build.sh) and check them against the vectors
// written by real QDataStream in testdata/vectors/qt-vectors.txt:
//
//   - the server's whole reply to every request vector equals the reply vector
//     with the same label, byte for byte, for the request sent whole and in
//     1-byte pieces, in both profiles (qt4 = Qt_4_3, qt5 = Qt_5_15);
//   - the client sends exactly the request vector for the command line that
//     describes it, and prints the trips of a reply vector (sent whole or in
//     1-byte pieces) as "<date> <time> <duration> <changes> <type>" lines and
//     "END n"; it prints one "ERROR" line and no trip when the server closes
//     before the end marker, stalls, or refuses the connection.
//
// Qt 5 development files are needed (Debian: qtbase5-dev). Without them the
// tests skip, except when CI=true, where they fail.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/tripcheck/tripcheck/internal/proctest"
	"github.com/tripcheck/tripcheck/internal/qtbuild"
)

// netTimeout bounds every network operation and every wait for a process.
const netTimeout = 10 * time.Second

// profiles pairs each tripcheck profile with the --version flag of the Qt
// programs that selects its QDataStream version.
var profiles = []struct{ name, version string }{
	{"qt4", "4.3"},
	{"qt5", "5.15"},
}

// clientArgs gives, for every request label of the vectors, the tripclient
// arguments FROM TO DATE TIME FLAG that describe the same request.
var clientArgs = map[string][]string{
	"berlin-muenchen-dep":    {"Berlin", "M\u00fcnchen", "2026-11-25", "09:00:00.000", "D"},
	"berlin-muenchen-arr":    {"Berlin", "M\u00fcnchen", "2026-11-25", "09:00", "A"},
	"hamburg-frankfurt-late": {"Hamburg", "Frankfurt am Main", "2026-11-25", "23:59:59.999", "D"},
	"bonn-bremen-epoch":      {"Bonn", "Bremen", "1970-01-01", "00:00", "A"},
	"berlin-empty-to":        {"Berlin", "", "2026-11-25", "12:30", "D"},
	"empty-empty":            {"", "", "2026-11-25", "08:00:00.000", "D"},
	"all-null":               {"@null", "@null", "@null", "@null", "D"},
	"null-date":              {"Berlin", "Bonn", "@null", "10:00", "D"},
	"null-time":              {"Berlin", "Bonn", "2026-11-25", "@null", "A"},
	"emoji-koeln-9999":       {"Z\u00fcrich\U0001F686", "K\u00f6ln", "9999-12-31", "12:30", "A"},
	"x300-bonn":              {strings.Repeat("x", 300), "Bonn", "2026-11-25", "08:15", "D"},
	"bc-date":                {"Rostock", "Dresden", "-0001-12-31", "06:00", "D"},
	"jd-0-date":              {"Rostock", "Dresden", "-4714-11-24", "06:00", "D"},
}

func TestQt(t *testing.T) {
	vs := loadVectors(t)
	server, client := buildPrograms(t)

	t.Run("decoder", func(t *testing.T) { testDecoder(t, vs) })
	t.Run("server", func(t *testing.T) { testServer(t, vs, server) })
	t.Run("client", func(t *testing.T) { testClient(t, vs, client) })
	t.Run("client-server", func(t *testing.T) { testClientServer(t, vs, server, client) })
}

// testDecoder pins tripLines, which gives the expected client output, to
// values worked out by hand from the vectors.
func testDecoder(t *testing.T, vs *vectorSet) {
	cases := []struct{ profile, label, want string }{
		{"qt4", "berlin-muenchen-dep", "2026-11-25 09:00:00.000 44 1 InterCity\n" +
			"2026-11-25 09:00:00.000 8 1 InterCity\n" +
			"2026-11-25 09:00:00.000 61 1 InterCity\nEND 3\n"},
		{"qt5", "all-null", "@null @null 100 1 InterCity\n" +
			"@null @null 24 1 InterCity\n" +
			"@null @null 153 1 InterCity\nEND 3\n"},
		{"qt5", "jd-0-date", "-4714-11-24 06:00:00.000 "},
		{"qt4", "jd-0-date", "@null 06:00:00.000 "},
		{"qt4", "bc-date", "-0001-12-31 06:00:00.000 "},
		{"qt4", "empty-empty", "END 0\n"},
	}
	for _, c := range cases {
		got, err := expectedOutput(c.profile, vs.get(t, c.profile, "reply", c.label))
		if err != nil {
			t.Errorf("%s %s: %v", c.profile, c.label, err)
			continue
		}
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s %s: decoded\n%s\nwant it to start with\n%s", c.profile, c.label, got, c.want)
		}
	}
}

func testServer(t *testing.T, vs *vectorSet, server string) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			addr := startServer(t, server, p.version)
			requests := vs.labels(p.name, "request")
			if len(requests) == 0 {
				t.Fatalf("no %s request vectors", p.name)
			}
			for _, label := range vs.labels(p.name, "reply") {
				if !vs.has(p.name, "request", label) {
					t.Errorf("reply vector %s %s has no request vector", p.name, label)
				}
			}
			for _, label := range requests {
				t.Run(label, func(t *testing.T) {
					req := vs.get(t, p.name, "request", label)
					want := vs.get(t, p.name, "reply", label)
					for _, split := range []bool{false, true} {
						got, err := exchange(addr, req, split, false)
						if err != nil {
							t.Fatalf("split=%v: %v", split, err)
						}
						if !bytes.Equal(got, want) {
							t.Errorf("split=%v: reply differs from vector %s reply %s\n got %x\nwant %x",
								split, p.name, label, got, want)
						}
					}
				})
			}
			// The book answers only request type 'S': anything else is
			// closed without a reply.
			t.Run("not-search", func(t *testing.T) {
				req := bytes.Clone(vs.get(t, p.name, "request", "berlin-muenchen-dep"))
				req[2] = 'X'
				got, err := exchange(addr, req, false, false)
				if err != nil && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatal(err)
				}
				if len(got) != 0 {
					t.Errorf("reply to request type 'X': %x, want none", got)
				}
			})
			// A request cut short gets no reply.
			t.Run("truncated-request", func(t *testing.T) {
				req := vs.get(t, p.name, "request", "berlin-muenchen-dep")
				got, err := exchange(addr, req[:len(req)-3], false, true)
				if err != nil && !errors.Is(err, syscall.ECONNRESET) {
					t.Fatal(err)
				}
				if len(got) != 0 {
					t.Errorf("reply to a truncated request: %x, want none", got)
				}
			})
		})
	}
}

func testClient(t *testing.T, vs *vectorSet, client string) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			for _, label := range vs.labels(p.name, "request") {
				args, ok := clientArgs[label]
				if !ok {
					t.Errorf("request vector %s %s: no tripclient arguments for it in clientArgs", p.name, label)
					continue
				}
				t.Run(label, func(t *testing.T) {
					reply := vs.get(t, p.name, "reply", label)
					want, err := expectedOutput(p.name, reply)
					if err != nil {
						t.Fatalf("vector %s reply %s: %v", p.name, label, err)
					}
					for _, split := range []bool{false, true} {
						f := startFake(t, fakeServer{reply: reply, split: split})
						out, code := runClient(t, client, f.addr, p.version, nil, args...)
						if code != 0 || out != want {
							t.Errorf("split=%v: tripclient exit %d, output\n%s\nwant exit 0, output\n%s", split, code, out, want)
						}
						req, err := f.request()
						if err != nil {
							t.Fatalf("split=%v: fake server: %v", split, err)
						}
						if wantReq := vs.get(t, p.name, "request", label); !bytes.Equal(req, wantReq) {
							t.Errorf("split=%v: request differs from vector %s request %s\n got %x\nwant %x",
								split, p.name, label, req, wantReq)
						}
					}
				})
			}

			// A server that closes before the end marker: one ERROR line,
			// no trip, exit 1, wherever the stream stops.
			t.Run("closed-before-end", func(t *testing.T) {
				reply := vs.get(t, p.name, "reply", "berlin-muenchen-dep")
				trip := len(vs.get(t, p.name, "trip", "intercity-0900-123"))
				cuts := []int{0, 1, 2, 20, trip, trip + 1, len(reply) - 2, len(reply) - 1}
				for _, cut := range cuts {
					for _, split := range []bool{false, true} {
						f := startFake(t, fakeServer{reply: reply[:cut], split: split})
						out, code := runClient(t, client, f.addr, p.version, nil, clientArgs["berlin-muenchen-dep"]...)
						if want := "ERROR connection closed by server\n"; code != 1 || out != want {
							t.Errorf("cut=%d split=%v: tripclient exit %d, output\n%s\nwant exit 1, output\n%s",
								cut, split, code, out, want)
						}
					}
				}
			})

			// A server that sends one whole trip and then stalls: the
			// client gives up after --timeout-ms and shows no trip.
			t.Run("stall", func(t *testing.T) {
				reply := vs.get(t, p.name, "reply", "berlin-muenchen-dep")
				trip := len(vs.get(t, p.name, "trip", "intercity-0900-123"))
				f := startFake(t, fakeServer{reply: reply[:trip], stall: true})
				out, code := runClient(t, client, f.addr, p.version, []string{"--timeout-ms", "300"},
					clientArgs["berlin-muenchen-dep"]...)
				if want := "ERROR timeout after 300 ms\n"; code != 1 || out != want {
					t.Errorf("tripclient exit %d, output\n%s\nwant exit 1, output\n%s", code, out, want)
				}
			})
		})
	}

	t.Run("connection-refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		out, code := runClient(t, client, addr, "4.3", nil, clientArgs["berlin-muenchen-dep"]...)
		if want := "ERROR connection refused\n"; code != 1 || out != want {
			t.Errorf("tripclient exit %d, output\n%s\nwant exit 1, output\n%s", code, out, want)
		}
	})
}

// testClientServer runs the Qt client against the Qt server.
func testClientServer(t *testing.T, vs *vectorSet, server, client string) {
	for _, p := range profiles {
		t.Run(p.name, func(t *testing.T) {
			addr := startServer(t, server, p.version)
			for _, label := range vs.labels(p.name, "request") {
				args, ok := clientArgs[label]
				if !ok {
					continue // reported by testClient
				}
				t.Run(label, func(t *testing.T) {
					want, err := expectedOutput(p.name, vs.get(t, p.name, "reply", label))
					if err != nil {
						t.Fatal(err)
					}
					out, code := runClient(t, client, addr, p.version, nil, args...)
					if code != 0 || out != want {
						t.Errorf("tripclient exit %d, output\n%s\nwant exit 0, output\n%s", code, out, want)
					}
				})
			}
		})
	}
}

// buildPrograms builds tripserver and tripclient with build.sh into a
// temporary directory and returns their paths.
func buildPrograms(t *testing.T) (server, client string) {
	t.Helper()
	dir := qtbuild.Build(t)
	return filepath.Join(dir, "tripserver"), filepath.Join(dir, "tripclient")
}

// startServer starts tripserver on an ephemeral port and returns its
// address, read from its "listening on" line. Cleanup stops it with SIGTERM
// and checks that it exits with status 0.
func startServer(t *testing.T, bin, version string) string {
	t.Helper()
	p := proctest.Start(t, exec.Command(bin, "--port", "0", "--version", version))
	t.Cleanup(func() {
		if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
			t.Errorf("tripserver: SIGTERM: %v", err)
		}
		if code := p.ExitCode(t); code != 0 {
			t.Errorf("tripserver after SIGTERM: exit code %d; stderr: %s", code, p.Stderr())
		}
	})
	host, port, err := net.SplitHostPort(p.Addr)
	if err != nil || host != "127.0.0.1" || port == "0" {
		t.Fatalf("tripserver listens on %q, want 127.0.0.1:PORT", p.Addr)
	}
	return p.Addr
}

// exchange sends req to addr, whole or in 1-byte writes with TCP_NODELAY,
// optionally half-closes, and returns everything received until the server
// closes.
func exchange(addr string, req []byte, split, closeWrite bool) ([]byte, error) {
	conn, err := net.DialTimeout("tcp", addr, netTimeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(netTimeout)); err != nil {
		return nil, err
	}
	if err := send(conn.(*net.TCPConn), req, split); err != nil {
		return nil, err
	}
	if closeWrite {
		if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
			return nil, err
		}
	}
	return io.ReadAll(conn)
}

func send(conn *net.TCPConn, b []byte, split bool) error {
	if !split {
		_, err := conn.Write(b)
		return err
	}
	if err := conn.SetNoDelay(true); err != nil {
		return err
	}
	for i := range b {
		if _, err := conn.Write(b[i : i+1]); err != nil {
			return err
		}
	}
	return nil
}

// fakeServer answers one connection: it reads one request block, sends
// reply (whole or in 1-byte writes), then closes, or with stall waits until
// the client closes.
type fakeServer struct {
	reply []byte
	split bool
	stall bool
}

type runningFake struct {
	addr string
	req  chan fakeResult
}

type fakeResult struct {
	req []byte
	err error
}

func startFake(t *testing.T, f fakeServer) *runningFake {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	r := &runningFake{addr: ln.Addr().String(), req: make(chan fakeResult, 1)}
	go func() {
		conn, err := ln.Accept()
		ln.Close()
		if err != nil {
			r.req <- fakeResult{err: err}
			return
		}
		defer conn.Close()
		tcp := conn.(*net.TCPConn)
		if err := conn.SetDeadline(time.Now().Add(netTimeout)); err != nil {
			r.req <- fakeResult{err: err}
			return
		}
		req, err := readBlock(conn)
		r.req <- fakeResult{req, err}
		if err != nil {
			return
		}
		if err := send(tcp, f.reply, f.split); err != nil {
			return // the client may have given up already
		}
		if f.stall {
			io.Copy(io.Discard, conn) // until the client closes or the deadline
		}
	}()
	return r
}

// request returns the request block the fake server read.
func (r *runningFake) request() ([]byte, error) {
	select {
	case res := <-r.req:
		return res.req, res.err
	case <-time.After(netTimeout):
		return nil, errors.New("no request within the deadline")
	}
}

// readBlock reads one quint16-sized block and returns it, size included.
func readBlock(r io.Reader) ([]byte, error) {
	size := make([]byte, 2)
	if _, err := io.ReadFull(r, size); err != nil {
		return nil, fmt.Errorf("reading block size: %w", err)
	}
	block := make([]byte, 2+int(binary.BigEndian.Uint16(size)))
	copy(block, size)
	if _, err := io.ReadFull(r, block[2:]); err != nil {
		return nil, fmt.Errorf("reading %d-byte block: %w", len(block)-2, err)
	}
	return block, nil
}

// runClient runs tripclient against addr and returns its stdout and exit
// status.
func runClient(t *testing.T, bin, addr, version string, flags []string, args ...string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*netTimeout)
	defer cancel()
	argv := append([]string{"--host", host, "--port", port, "--version", version}, flags...)
	argv = append(argv, "--")
	argv = append(argv, args...)
	cmd := exec.CommandContext(ctx, bin, argv...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), 0
	case errors.As(err, &exit) && exit.ExitCode() >= 0:
		if exit.ExitCode() == 2 {
			t.Errorf("tripclient usage error: %s", stderr.Bytes())
		}
		return stdout.String(), exit.ExitCode()
	default:
		t.Fatalf("tripclient %q: %v; stderr: %s", argv, err, stderr.Bytes())
		return "", -1
	}
}

// expectedOutput is what tripclient prints for a whole reply: one line per
// trip block, then "END n".
func expectedOutput(profile string, reply []byte) (string, error) {
	var sb strings.Builder
	n := 0
	for off := 0; ; {
		if len(reply)-off < 2 {
			return "", fmt.Errorf("offset %d: no end marker", off)
		}
		size := int(binary.BigEndian.Uint16(reply[off:]))
		off += 2
		if size == 0xFFFF {
			if off != len(reply) {
				return "", fmt.Errorf("offset %d: %d bytes after the end marker", off, len(reply)-off)
			}
			fmt.Fprintf(&sb, "END %d\n", n)
			return sb.String(), nil
		}
		if len(reply)-off < size {
			return "", fmt.Errorf("offset %d: block of %d bytes truncated", off, size)
		}
		line, err := tripLine(profile, reply[off:off+size])
		if err != nil {
			return "", fmt.Errorf("offset %d: %w", off, err)
		}
		sb.WriteString(line + "\n")
		off += size
		n++
	}
}

// tripLine decodes one trip payload into tripclient's line format.
func tripLine(profile string, b []byte) (string, error) {
	r := fieldReader{b: b}
	date := "@null"
	if profile == "qt4" {
		if jd := int64(r.uint32()); jd != 0 {
			date = formatJulianDay(jd)
		}
	} else {
		if jd := int64(r.uint64()); jd != math.MinInt64 {
			date = formatJulianDay(jd)
		}
	}
	clock := "@null"
	if ms := r.uint32(); ms < 86400000 {
		clock = fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
	}
	duration := r.uint16()
	changes := r.uint8()
	trainType := ""
	if n := r.uint32(); n != 0xFFFFFFFF {
		if n%2 != 0 {
			return "", fmt.Errorf("odd string length %d", n)
		}
		units := make([]uint16, n/2)
		for i := range units {
			units[i] = r.uint16()
		}
		trainType = string(utf16.Decode(units))
	}
	if r.err != nil {
		return "", r.err
	}
	if r.off != len(b) {
		return "", fmt.Errorf("%d bytes left over in a %d-byte trip block", len(b)-r.off, len(b))
	}
	return fmt.Sprintf("%s %s %d %d %s", date, clock, duration, changes, trainType), nil
}

// formatJulianDay formats a Julian Day Number as QDate::toString("yyyy-MM-dd")
// does: proleptic Gregorian calendar, no year 0, year -1 as "-0001".
func formatJulianDay(jd int64) string {
	floorDiv := func(a, b int64) int64 {
		q := a / b
		if (a%b != 0) && ((a < 0) != (b < 0)) {
			q--
		}
		return q
	}
	a := jd + 32044
	b := floorDiv(4*a+3, 146097)
	c := a - floorDiv(146097*b, 4)
	d := floorDiv(4*c+3, 1461)
	e := c - floorDiv(1461*d, 4)
	m := floorDiv(5*e+2, 153)
	day := e - floorDiv(153*m+2, 5) + 1
	month := m + 3 - 12*floorDiv(m, 10)
	year := 100*b + d - 4800 + floorDiv(m, 10)
	if year <= 0 {
		year--
		return fmt.Sprintf("-%04d-%02d-%02d", -year, month, day)
	}
	return fmt.Sprintf("%04d-%02d-%02d", year, month, day)
}

// fieldReader reads big-endian fields; after the first short read it
// returns zeros and keeps the error.
type fieldReader struct {
	b   []byte
	off int
	err error
}

func (r *fieldReader) next(n int) []byte {
	if r.err != nil || len(r.b)-r.off < n {
		if r.err == nil {
			r.err = fmt.Errorf("field at offset %d: %d bytes wanted, %d left", r.off, n, len(r.b)-r.off)
		}
		return make([]byte, n)
	}
	p := r.b[r.off : r.off+n]
	r.off += n
	return p
}

func (r *fieldReader) uint8() uint8   { return r.next(1)[0] }
func (r *fieldReader) uint16() uint16 { return binary.BigEndian.Uint16(r.next(2)) }
func (r *fieldReader) uint32() uint32 { return binary.BigEndian.Uint32(r.next(4)) }
func (r *fieldReader) uint64() uint64 { return binary.BigEndian.Uint64(r.next(8)) }

// vectorSet holds the vectors of qt-vectors.txt by profile, kind and label.
type vectorSet struct {
	hex   map[string][]byte   // "profile kind label" -> bytes
	order map[string][]string // "profile kind" -> labels in file order
}

func loadVectors(t *testing.T) *vectorSet {
	t.Helper()
	path := filepath.Join("..", "..", "testdata", "vectors", "qt-vectors.txt")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("Qt vectors: %v", err)
	}
	defer f.Close()
	vs := &vectorSet{hex: map[string][]byte{}, order: map[string][]string{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, " ")
		if len(fields) != 4 {
			t.Fatalf("%s:%d: want 4 fields, got %d", path, n, len(fields))
		}
		b, err := hex.DecodeString(fields[3])
		if err != nil {
			t.Fatalf("%s:%d: %v", path, n, err)
		}
		key := strings.Join(fields[:3], " ")
		if _, dup := vs.hex[key]; dup {
			t.Fatalf("%s:%d: duplicate vector %s", path, n, key)
		}
		vs.hex[key] = b
		group := fields[0] + " " + fields[1]
		vs.order[group] = append(vs.order[group], fields[2])
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return vs
}

func (vs *vectorSet) labels(profile, kind string) []string {
	return vs.order[profile+" "+kind]
}

func (vs *vectorSet) has(profile, kind, label string) bool {
	_, ok := vs.hex[profile+" "+kind+" "+label]
	return ok
}

func (vs *vectorSet) get(t *testing.T, profile, kind, label string) []byte {
	t.Helper()
	b, ok := vs.hex[profile+" "+kind+" "+label]
	if !ok {
		t.Fatalf("no vector %s %s %s", profile, kind, label)
	}
	return b
}
