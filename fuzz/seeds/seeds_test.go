// Package seeds makes the seed corpora of the fuzz targets in fuzz/ and
// the foreign inputs they share: TestWriteSeeds -update writes them, and
// without -update checks that they are up to date. It lives apart from the
// targets so that its imports (the Qt vectors' regexps, gob, ...) do not
// slow the fuzzing: every package in a fuzz test binary is instrumented. It
// has test files only.
package seeds

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/wire"
)

// foreignDir holds the foreign inputs (see ../testdata/README.md).
const foreignDir = "../testdata/foreign"

func profileOf(qt5 bool) wire.Profile {
	if qt5 {
		return wire.Qt5
	}
	return wire.Qt4
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// foreignInputs reads foreignDir: name → bytes.
func foreignInputs(t testing.TB) map[string][]byte {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(foreignDir, "*.bin"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".bin")] = b
	}
	return out
}

var update = flag.Bool("update", false, "TestWriteSeeds: write the seed corpora and testdata/foreign")

// targetNames are the fuzz targets that get seeds.
var targetNames = []string{
	"FuzzFraming", "FuzzDecodeRequest", "FuzzDecodeTrip", "FuzzDetectProfile",
	"FuzzReadString", "FuzzReadDate", "FuzzReadTime", "FuzzReadInts",
	"FuzzSplit", "FuzzReencode", "FuzzEncodeDecode",
}

// corpusDir is where go test looks for a target's seed corpus.
const corpusDir = "../testdata/fuzz"

// generatedPrefixes mark the corpus files TestWriteSeeds owns. Others (the
// crashers that fuzzing finds, named by their hash) it leaves alone.
var generatedPrefixes = []string{"qt4-", "qt5-", "foreign-"}

// corpusFile is Go's corpus file format, "go test fuzz v1", one value a line.
func corpusFile(args ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, a := range args {
		switch v := a.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case bool, int, int64, uint16, uint32:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		default:
			panic(fmt.Sprintf("corpusFile: %T", a))
		}
	}
	return b.Bytes()
}

// seedSet is one target's seeds: file name → values.
type seedSet map[string][]any

func (s seedSet) add(name string, args ...any) {
	if _, dup := s[name]; dup {
		panic("seed " + name + " twice")
	}
	s[name] = args
}

// vectorBlocks splits a stream of whole blocks (a reply vector) into its
// blocks.
func vectorBlocks(b []byte) [][]byte {
	var out [][]byte
	for len(b) >= 2 {
		n := 2 + int(b[0])<<8 | int(b[1])
		if b[0] == 0xFF && b[1] == 0xFF {
			n = 2
		}
		n = min(n, len(b))
		out = append(out, b[:n])
		b = b[n:]
	}
	return out
}

// seedSets makes the seeds of every target from the Qt vectors, the
// foreign inputs and the captures.
func seedSets(t testing.TB) map[string]seedSet {
	vs, err := qtvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	foreign := foreignInputs(t)
	sets := map[string]seedSet{}
	for _, name := range targetNames {
		sets[name] = seedSet{}
	}
	set := func(target string) seedSet {
		s, ok := sets[target]
		if !ok {
			panic("no target " + target)
		}
		return s
	}
	for _, v := range vs {
		if v.Profile == "qt6" {
			continue // the qt5 layout, same bytes
		}
		name := v.Profile + "-" + v.Kind + "-" + v.Label
		qt5 := v.Profile == "qt5"
		b := v.Bytes
		switch v.Kind {
		case "request":
			set("FuzzFraming").add(name, false, b)
			set("FuzzDecodeRequest").add(name, qt5, b[2:])
			set("FuzzDecodeTrip").add(name, qt5, b[2:])
			set("FuzzDetectProfile").add(name, false, b[2:])
			set("FuzzReadString").add(name+"-from", b, 3)
			set("FuzzReencode").add(name, false, b)
			set("FuzzSplit").add(name+"-cut-size", false, qt5, []byte{2}, b)
			set("FuzzSplit").add(name+"-cut-1-2-3", false, qt5, []byte{1, 2, 3}, b)
			// Two requests coalesced, cut inside the second's size.
			set("FuzzSplit").add(name+"-twice", false, qt5, []byte{byte(min(len(b)+1, 255))}, append(append([]byte{}, b...), b...))
			r, _, err := qtvectors.Request(v.Comment)
			if err != nil {
				t.Fatalf("%s: %v", v.Name(), err)
			}
			var x uint16 = uint16(r.Flag) << 8
			if r.From.IsNull() {
				x |= 1
			}
			if r.To.IsNull() {
				x |= 2
			}
			set("FuzzEncodeDecode").add(name, qt5, false, r.From.Raw(), r.To.Raw(), r.Date.JD(), r.Time.Wire(), x, r.Type)
		case "trip":
			set("FuzzFraming").add(name, true, b)
			set("FuzzDecodeTrip").add(name, qt5, b[2:])
			set("FuzzDecodeRequest").add(name, qt5, b[2:])
			set("FuzzDetectProfile").add(name, true, b[2:])
			set("FuzzReadInts").add(name, b, 2)
			set("FuzzReadDate").add(name, qt5, b, 2)
			set("FuzzReadTime").add(name, b, 2+profileOf(qt5).DateSize())
			set("FuzzReencode").add(name+"-end", true, append(append([]byte{}, b...), 0xFF, 0xFF))
			set("FuzzSplit").add(name+"-end-bytes", true, qt5, bytes.Repeat([]byte{1}, len(b)+2), append(append([]byte{}, b...), 0xFF, 0xFF))
			tr, _, err := qtvectors.Trip(v.Comment)
			if err != nil {
				t.Fatalf("%s: %v", v.Name(), err)
			}
			nullBit := []byte{}
			if tr.TrainType.IsNull() {
				nullBit = []byte{0}
			}
			set("FuzzEncodeDecode").add(name, qt5, true, tr.TrainType.Raw(), nullBit, tr.Date.JD(), tr.Departure.Wire(), tr.Duration, tr.Changes)
		case "reply":
			set("FuzzFraming").add(name, true, b)
			set("FuzzReencode").add(name, true, b)
			var cuts []byte
			for _, blk := range vectorBlocks(b) {
				cuts = append(cuts, byte(min(len(blk), 255)))
			}
			set("FuzzSplit").add(name+"-per-block", true, qt5, cuts, b)
			set("FuzzSplit").add(name+"-cut-3-5-7", true, qt5, []byte{3, 5, 7}, b)
		case "end":
			set("FuzzFraming").add(name, true, b)
			set("FuzzFraming").add(name+"-as-request", false, b)
		case "qstring":
			set("FuzzReadString").add(name, b, 0)
		case "qdate":
			set("FuzzReadDate").add(name, qt5, b, 0)
		case "qtime":
			set("FuzzReadTime").add(name, b, 0)
		case "decode":
			switch {
			case strings.HasPrefix(v.Label, "qstring-"):
				set("FuzzReadString").add(name, b, 0)
			case strings.HasPrefix(v.Label, "qdate-"):
				set("FuzzReadDate").add(name, qt5, b, 0)
			case strings.HasPrefix(v.Label, "qtime-"):
				set("FuzzReadTime").add(name, b, 0)
			}
			set("FuzzReadInts").add(name, b, 0)
		}
	}
	for _, fname := range sortedKeys(foreign) {
		b := foreign[fname]
		name := "foreign-" + fname
		for _, replies := range []bool{false, true} {
			suffix := map[bool]string{false: "-requests", true: "-replies"}[replies]
			set("FuzzFraming").add(name+suffix, replies, b)
			set("FuzzReencode").add(name+suffix, replies, b)
			set("FuzzSplit").add(name+suffix, replies, false, []byte{1, 2, 3, 5, 8, 13}, b)
		}
		set("FuzzDecodeRequest").add(name, false, b)
		set("FuzzDecodeTrip").add(name, true, b)
		set("FuzzDetectProfile").add(name+"-request", false, b)
		set("FuzzDetectProfile").add(name+"-trip", true, b)
		set("FuzzReadString").add(name, b, 0)
	}
	return sets
}

// TestWriteSeeds checks that the seed corpora under testdata/fuzz are those
// the Qt vectors, the foreign inputs and the captures give. With -update it
// writes them (and first makes testdata/foreign again from its sources):
//
//	go test ./fuzz/seeds -run TestWriteSeeds -update
func TestWriteSeeds(t *testing.T) {
	if *update {
		writeForeign(t)
	}
	sets := seedSets(t)
	var stale []string
	for _, target := range sortedKeys(sets) {
		dir := filepath.Join(corpusDir, target)
		want := map[string][]byte{}
		for name, args := range sets[target] {
			want[name] = corpusFile(args...)
		}
		if *update {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		for _, e := range entries {
			if _, ok := want[e.Name()]; ok || !generated(e.Name()) {
				continue
			}
			if *update {
				if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
					t.Fatal(err)
				}
				continue
			}
			stale = append(stale, filepath.Join(dir, e.Name())+" (no longer made)")
		}
		for _, name := range sortedKeys(want) {
			path := filepath.Join(dir, name)
			if *update {
				if err := os.WriteFile(path, want[name], 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want[name]) {
				stale = append(stale, path)
			}
		}
	}
	if len(stale) > 0 {
		t.Errorf("%d seed files out of date, run: go test ./fuzz/seeds -run TestWriteSeeds -update\n%s", len(stale), strings.Join(stale[:min(len(stale), 20)], "\n"))
	}
}

func generated(name string) bool {
	for _, p := range generatedPrefixes {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// writeForeign makes testdata/foreign again from its sources.
func writeForeign(t *testing.T) {
	if err := os.MkdirAll(foreignDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range foreignSources() {
		b, err := s.make()
		if err != nil {
			t.Fatalf("foreign %s: %v", s.name, err)
		}
		if err := os.WriteFile(filepath.Join(foreignDir, s.name+".bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// foreignSource is how one foreign file is made by TestWriteSeeds -update.
type foreignSource struct {
	name   string // file name in foreignDir, without .bin
	origin string // for the README
	make   func() ([]byte, error)
}

// foreignSources are the foreign inputs. github.com/dvyukov/go-fuzz-corpus
// could not be had here (see testdata/README.md), so they come from Go's
// own test data, from the RFCs, and from Go's gob encoder.
func foreignSources() []foreignSource {
	goroot := runtime.GOROOT()
	file := func(rel string) func() ([]byte, error) {
		return func() ([]byte, error) { return os.ReadFile(filepath.Join(goroot, "src", rel)) }
	}
	flow := func(rel string, n int) func() ([]byte, error) {
		return func() ([]byte, error) { return tlsFlow(filepath.Join(goroot, "src", rel), n) }
	}
	const tlsData = "crypto/tls/testdata/"
	return []foreignSource{
		{"tls12-client-hello", "Go " + runtime.Version() + " $GOROOT/src/" + tlsData + "Client-TLSv12-AES128-GCM-SHA256, flow 1 (a TLS 1.2 ClientHello record, by crypto/tls)", flow(tlsData+"Client-TLSv12-AES128-GCM-SHA256", 1)},
		{"tls12-server-flight", "Go " + runtime.Version() + " $GOROOT/src/" + tlsData + "Client-TLSv12-AES128-GCM-SHA256, flow 2 (ServerHello, Certificate, ServerHelloDone, by OpenSSL)", flow(tlsData+"Client-TLSv12-AES128-GCM-SHA256", 2)},
		{"tls13-client-hello", "Go " + runtime.Version() + " $GOROOT/src/" + tlsData + "Server-TLSv13-AES128-SHA256, flow 1 (a TLS 1.3 ClientHello record, by OpenSSL s_client)", flow(tlsData+"Server-TLSv13-AES128-SHA256", 1)},
		{"tls13-server-flight", "Go " + runtime.Version() + " $GOROOT/src/" + tlsData + "Client-TLSv13-AES128-SHA256, flow 2 (ServerHello and encrypted records, by OpenSSL)", flow(tlsData+"Client-TLSv13-AES128-SHA256", 2)},
		{"gif-triangle", "Go " + runtime.Version() + " $GOROOT/src/image/testdata/triangle-001.gif", file("image/testdata/triangle-001.gif")},
		{"png-gopher", "Go " + runtime.Version() + " $GOROOT/src/archive/zip/testdata/gophercolor16x16.png", file("archive/zip/testdata/gophercolor16x16.png")},
		{"zip-dd", "Go " + runtime.Version() + " $GOROOT/src/archive/zip/testdata/dd.zip", file("archive/zip/testdata/dd.zip")},
		{"http2-client-preface", "constructed from RFC 9113 §3.4 and §6.5 and RFC 7541 C.4.1: the client connection preface, an empty SETTINGS frame, and a HEADERS frame for GET http://www.example.com/", func() ([]byte, error) { return http2ClientPreface(), nil }},
		{"http2-server-settings", "constructed from RFC 9113 §6.5 and §6.9: a SETTINGS frame (MAX_CONCURRENT_STREAMS 100), a SETTINGS ACK and a WINDOW_UPDATE", func() ([]byte, error) { return http2ServerSettings(), nil }},
		{"dns-query-tcp", "constructed from RFC 1035 §4.1 and §4.2.2: a query for www.example.com A IN, with its TCP 2-byte length prefix", func() ([]byte, error) { return dnsTCP(dnsQuery()), nil }},
		{"dns-response-tcp", "constructed from RFC 1035 §4.1 and §4.2.2: its answer, one A record 192.0.2.1 (RFC 5737), with the TCP length prefix", func() ([]byte, error) { return dnsTCP(dnsResponse()), nil }},
		{"dns-query-udp", "constructed from RFC 1035 §4.1: the same query as a UDP payload, without a length prefix", func() ([]byte, error) { return dnsQuery(), nil }},
		{"gob-struct", "written by Go " + runtime.Version() + " encoding/gob: a struct {From, To string; Date int64; Hour int} value", gobStruct},
		{"gob-strings", "written by Go " + runtime.Version() + " encoding/gob: a []string of six city names", gobStrings},
	}
}

// tlsFlow reads flow n of one of crypto/tls's recorded handshakes: the
// hexdump -C lines after ">>> Flow n".
func tlsFlow(path string, n int) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []byte
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, ">>> Flow ") {
			if in {
				break
			}
			in = strings.HasPrefix(line, fmt.Sprintf(">>> Flow %d ", n))
			continue
		}
		if !in || len(line) < 10 {
			continue
		}
		hexPart, _, _ := strings.Cut(line[8:], "|")
		b, err := hex.DecodeString(strings.Join(strings.Fields(hexPart), ""))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out = append(out, b...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no flow %d", path, n)
	}
	return out, sc.Err()
}

// http2Frame is an HTTP/2 frame (RFC 9113 §4.1).
func http2Frame(typ, flags byte, stream uint32, payload []byte) []byte {
	b := []byte{byte(len(payload) >> 16), byte(len(payload) >> 8), byte(len(payload)), typ, flags}
	b = binary.BigEndian.AppendUint32(b, stream&0x7FFFFFFF)
	return append(b, payload...)
}

func http2ClientPreface() []byte {
	b := []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
	b = append(b, http2Frame(0x4, 0, 0, nil)...) // SETTINGS, empty
	// HEADERS, END_STREAM|END_HEADERS, stream 1: RFC 7541 C.4.1's request.
	hpack, _ := hex.DecodeString("828684418cf1e3c2e5f23a6ba0ab90f4ff")
	return append(b, http2Frame(0x1, 0x5, 1, hpack)...)
}

func http2ServerSettings() []byte {
	b := http2Frame(0x4, 0, 0, []byte{0x00, 0x03, 0x00, 0x00, 0x00, 0x64}) // MAX_CONCURRENT_STREAMS 100
	b = append(b, http2Frame(0x4, 0x1, 0, nil)...)                         // SETTINGS ACK
	return append(b, http2Frame(0x8, 0, 0, []byte{0x00, 0x0f, 0x00, 0x01})...)
}

// dnsName is a domain name in RFC 1035 §3.1 labels.
func dnsName(name string) []byte {
	var b []byte
	for _, l := range strings.Split(name, ".") {
		b = append(b, byte(len(l)))
		b = append(b, l...)
	}
	return append(b, 0)
}

func dnsQuery() []byte {
	b := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0} // id, RD, one question
	b = append(b, dnsName("www.example.com")...)
	return append(b, 0, 1, 0, 1) // A, IN
}

func dnsResponse() []byte {
	b := []byte{0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0} // QR, RD, RA; one answer
	b = append(b, dnsName("www.example.com")...)
	b = append(b, 0, 1, 0, 1)
	b = append(b, 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0x0e, 0x10, 0, 4, 192, 0, 2, 1) // name pointer, A, IN, TTL 3600, 192.0.2.1
	return b
}

// dnsTCP prefixes a DNS message with its length, as DNS over TCP does: a
// big-endian 2-byte size, like a Trip block's.
func dnsTCP(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(msg))), msg...)
}

func gobStruct() ([]byte, error) {
	type search struct {
		From, To string
		Date     int64
		Hour     int
	}
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode(search{From: "Berlin", To: "München", Date: 2461370, Hour: 9})
	return b.Bytes(), err
}

func gobStrings() ([]byte, error) {
	var b bytes.Buffer
	err := gob.NewEncoder(&b).Encode([]string{"Berlin", "München", "Hamburg", "Köln", "Bonn", "Bremen"})
	return b.Bytes(), err
}
