package report_test

import (
	"bytes"
	"flag"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance/report"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

var update = flag.Bool("update", false, "rewrite testdata/decode-*.golden from the writers (review the diff)")

// eachSession decodes every session of the capture file, found by
// content (--port any), and gives it to fn.
func eachSession(tb testing.TB, file []byte, fn func(*pcap.Session, *pcap.Decoded)) {
	tb.Helper()
	r, err := pcap.NewReader(bytes.NewReader(file), pcap.Options{Port: pcap.AnyPort})
	if err != nil {
		tb.Fatal(err)
	}
	var d pcap.Decoded
	for {
		s, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			tb.Fatal(err)
		}
		d.Decode(s, 0)
		fn(s, &d)
	}
}

// decodeAll writes every session of the capture file with both writers,
// each capture's output after a line "# NAME", as `pcap decode --port any`
// and `pcap decode --port any --json` print them.
func decodeAll(t *testing.T, name string, file []byte, text, js *bytes.Buffer) {
	t.Helper()
	text.WriteString("# " + name + "\n")
	js.WriteString("# " + name + "\n")
	var tw report.DecodeText
	jw := report.NewDecodeJSON(js)
	eachSession(t, file, func(s *pcap.Session, d *pcap.Decoded) {
		text.Write(tw.Session(s, d))
		if err := jw.Session(s, d); err != nil {
			t.Fatal(err)
		}
	})
}

// The text and JSON Lines of every capture of testdata/captures, and of a
// capture of the special values (special.pcapng), are exactly what
// `pcap decode` printed when the writers lived in the command (the goldens
// were made by that build, from main before the move).
func TestDecodeGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "captures", "*.pcap*"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, filepath.Join("testdata", "special.pcapng"))
	sort.Slice(files, func(i, j int) bool { return filepath.Base(files[i]) < filepath.Base(files[j]) })
	if len(files) < 30 {
		t.Fatalf("only %d captures", len(files))
	}
	var text, js bytes.Buffer
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		decodeAll(t, filepath.Base(f), b, &text, &js)
	}
	for _, g := range []struct {
		file string
		got  []byte
	}{{"decode-text.golden", text.Bytes()}, {"decode-json.golden", js.Bytes()}} {
		path := filepath.Join("testdata", g.file)
		if *update {
			if err := os.WriteFile(path, g.got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(g.got, want) {
			gl, wl := strings.Split(string(g.got), "\n"), strings.Split(string(want), "\n")
			for i := 0; i < max(len(gl), len(wl)); i++ {
				if i >= len(gl) || i >= len(wl) || gl[i] != wl[i] {
					var gs, ws string
					if i < len(gl) {
						gs = gl[i]
					}
					if i < len(wl) {
						ws = wl[i]
					}
					t.Fatalf("%s: line %d differs:\n got %q\nwant %q", g.file, i+1, gs, ws)
				}
			}
		}
	}
}

// specialCapture is one session of each special value a field can hold:
// null and empty strings, lone surrogates, U+0000, non-BMP characters,
// null and out-of-range dates and times, a flag outside the printable
// range, in both profiles, and a cut reply.
func specialCapture(t *testing.T) []byte {
	t.Helper()
	cw := newCaptureWriter(t, "127.0.0.1:6178", 137*time.Microsecond)
	strs := []wire.String{wire.NullString(), wire.Str(""), wire.StrUnits([]uint16{'a', 0xD800, 'b'}), wire.StrUnits([]uint16{'I', 'C', 0, 'E'}),
		wire.Str("ICE 🚆 Zürich \"x\" \\ \t"), wire.StrUnits([]uint16{0xDE86, 0xD83D})}
	dates := []wire.Date{wire.NullDate(), wire.DateOf(-1, 12, 31), wire.DateJD(-784350574880), wire.DateOf(2026, 2, 28)}
	times := []wire.Time{wire.NullTime(), wire.TimeMS(86_400_000), wire.TimeOf(23, 59, 59, 999), wire.TimeOf(0, 0, 0, 0)}
	n := 0
	for _, p := range []wire.Profile{wire.Qt4, wire.Qt5} {
		for i, s := range strs {
			r := wire.Request{Type: 'S', From: s, To: strs[(i+1)%len(strs)], Date: dates[i%len(dates)], Time: times[i%len(times)], Flag: []byte{'D', 'A', 0x01, 'x'}[i%4]}
			req, err := wire.Encoder{Profile: p, AllowIllegalWrites: true}.AppendRequest(nil, &r)
			if err != nil {
				t.Fatal(err)
			}
			var reply []byte
			for j := range strs {
				trip := wire.Trip{Date: dates[(i+j)%len(dates)], Departure: times[(i+j+1)%len(times)], Duration: uint16(65535 - j), Changes: uint8(j * 50), TrainType: strs[(i+j)%len(strs)]}
				if reply, err = (wire.Encoder{Profile: p, AllowIllegalWrites: true}).AppendTrip(reply, &trip); err != nil {
					t.Fatal(err)
				}
			}
			reply = wire.AppendEnd(reply)
			if i == 3 {
				reply = reply[:len(reply)-9] // cut inside the last trip
			}
			n++
			cw.exchange(netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(40000+n)), req, reply)
		}
	}
	return cw.bytes()
}

// captureWriter records connections into a pcapng capture in memory, a
// packet every step.
type captureWriter struct {
	tb     testing.TB
	buf    bytes.Buffer
	pw     *pcap.Writer
	now    time.Time
	step   time.Duration
	server netip.AddrPort
}

func newCaptureWriter(tb testing.TB, server string, step time.Duration) *captureWriter {
	tb.Helper()
	w := &captureWriter{tb: tb, now: time.Date(2026, 12, 6, 7, 0, 0, 0, time.UTC), step: step, server: netip.MustParseAddrPort(server)}
	pw, err := pcap.NewWriter(&w.buf)
	if err != nil {
		tb.Fatal(err)
	}
	w.pw = pw
	return w
}

func (w *captureWriter) tick() time.Time { w.now = w.now.Add(w.step); return w.now }

// exchange records one connection from client: the request, each piece
// of the reply in a packet of its own, then FINs from the server and the
// client.
func (w *captureWriter) exchange(client netip.AddrPort, req []byte, reply ...[]byte) {
	c, err := w.pw.Conn(client, w.server, w.tick())
	if err != nil {
		w.tb.Fatal(err)
	}
	c.Data(pcap.ClientToServer, req, w.tick())
	for _, b := range reply {
		c.Data(pcap.ServerToClient, b, w.tick())
	}
	c.Close(pcap.ServerToClient, w.tick())
	c.Close(pcap.ClientToServer, w.tick())
}

// bytes is the capture written so far.
func (w *captureWriter) bytes() []byte {
	if err := w.pw.Flush(); err != nil {
		w.tb.Fatal(err)
	}
	return w.buf.Bytes()
}

// testdata/special.pcapng is specialCapture's output, kept as a file so
// that the build before the move could decode it for the goldens.
func TestSpecialCapture(t *testing.T) {
	got := specialCapture(t)
	path := filepath.Join("testdata", "special.pcapng")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("specialCapture differs from %s: run go test -run TestSpecialCapture -update and review", path)
	}
}

// The text of each request and trip is wire's String of it, whatever the
// fields hold: the writer's own appends and caches never drift from wire.
func TestDecodeTextIsWireString(t *testing.T) {
	var tw report.DecodeText
	checked := 0
	eachSession(t, specialCapture(t), func(s *pcap.Session, d *pcap.Decoded) {
		text := string(tw.Session(s, d))
		for _, m := range d.Messages {
			var want string
			switch m.Kind {
			case wire.KindRequest:
				want = " " + m.Request.String()
			case wire.KindTrip:
				want = " trip[" + strconv.Itoa(m.Index) + "] " + strings.TrimPrefix(m.Trip.String(), "trip")
			default:
				continue
			}
			if !strings.Contains(text, want+"\n") && !strings.Contains(text, want+"  ") {
				t.Errorf("session %d: no line with %q in\n%s", s.Index, want, text)
			}
			checked++
		}
	})
	if checked < 80 {
		t.Errorf("only %d messages checked", checked)
	}
}
