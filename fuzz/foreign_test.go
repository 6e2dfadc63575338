package fuzz

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// foreignDir holds the foreign inputs: bytes of other protocols and
// formats, which every Trip decoder must reject with a typed error. Its
// README says where each file comes from.
const foreignDir = "testdata/foreign"

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

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TestForeignRejected: bytes of other protocols are no Trip messages. Every
// decoder rejects every foreign input with a typed error, in each profile:
// the streaming decoder in each direction (a *wire.DecodeError from Next
// or Close), DecodeRequest and DecodeTrip (a *wire.DecodeError, or for a
// request that happens to decode, one that Validate refuses), and
// DetectProfile (ErrNoProfile).
func TestForeignRejected(t *testing.T) {
	inputs := foreignInputs(t)
	if len(inputs) < 10 {
		t.Fatalf("%d foreign inputs in %s, want at least 10", len(inputs), foreignDir)
	}
	for _, name := range sortedKeys(inputs) {
		b := inputs[name]
		t.Run(name, func(t *testing.T) {
			for _, p := range wire.Profiles {
				for _, dir := range []wire.Direction{wire.Requests, wire.Replies} {
					if err := firstStreamError(p, dir, b); !isTyped(err) {
						t.Errorf("%v %v stream: first error %v, want a *wire.DecodeError", p, dir, err)
					}
				}
				var r wire.Request
				if err := p.DecodeRequest(b, &r); err == nil {
					if err := r.Validate(); !isTyped(err) {
						t.Errorf("%v: DecodeRequest takes it for %s, and Validate %v", p, r.String(), err)
					}
				} else if !isTyped(err) {
					t.Errorf("%v DecodeRequest: %v", p, err)
				}
				var tr wire.Trip
				if err := p.DecodeTrip(b, &tr); !isTyped(err) {
					t.Errorf("%v DecodeTrip: %v, want a *wire.DecodeError (read %s)", p, err, tr.String())
				}
			}
			for _, k := range []wire.Kind{wire.KindRequest, wire.KindTrip} {
				if p, err := wire.DetectProfile(k, b); !errors.Is(err, wire.ErrNoProfile) {
					t.Errorf("DetectProfile(%v) = %v, %v; want ErrNoProfile", k, p, err)
				}
			}
		})
	}
}

// isTyped reports whether err is a *wire.DecodeError of one of wire's
// sentinels.
func isTyped(err error) bool {
	var de *wire.DecodeError
	return errors.As(err, &de) && sentinelOf(err) != nil
}

// firstStreamError decodes b as a whole stream and returns the first error
// of Next or Close, nil if there is none.
func firstStreamError(p wire.Profile, dir wire.Direction, b []byte) error {
	d := wire.NewDecoder(p, dir)
	d.Feed(b)
	for {
		var m wire.Message
		err := d.Next(&m)
		if err == wire.ErrNeedMore {
			return d.Close()
		}
		if err != nil {
			return err
		}
		if dir == wire.Requests {
			if err := m.Request.Validate(); err != nil {
				return err
			}
		}
	}
}
