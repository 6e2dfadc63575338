package capture

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/pcap"
)

var update = flag.Bool("update", false, "TestWriteSeeds: write the seed corpus")

const corpusDir = "testdata/fuzz/FuzzCapture"

// generatedPrefixes mark the corpus files TestWriteSeeds owns; crashers
// found by fuzzing (named by their hash) stay.
var generatedPrefixes = []string{"qt4-", "qt5-", "foreign-", "capture-"}

func corpusFile(anyPort bool, data []byte) []byte {
	return []byte(fmt.Sprintf("go test fuzz v1\nbool(%v)\n[]byte(%q)\n", anyPort, data))
}

var epoch = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// exchange is a capture of one Trip connection: the request (cut into
// pieces at cuts), the reply, and the ending.
func exchange(t testing.TB, client, server netip.AddrPort, req, reply []byte, cuts []int, reset bool) []byte {
	var b bytes.Buffer
	w, err := pcap.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.Conn(client, server, epoch)
	if err != nil {
		t.Fatal(err)
	}
	at := epoch
	tick := func() time.Time { at = at.Add(time.Millisecond); return at }
	prev := 0
	for _, cut := range append(cuts, len(req)) {
		if err := c.Data(pcap.ClientToServer, req[prev:cut], tick()); err != nil {
			t.Fatal(err)
		}
		prev = cut
	}
	if len(reply) > 0 {
		if err := c.Data(pcap.ServerToClient, reply, tick()); err != nil {
			t.Fatal(err)
		}
	}
	if reset {
		err = c.Reset(pcap.ServerToClient, tick())
	} else if err = c.Close(pcap.ServerToClient, tick()); err == nil {
		err = c.Close(pcap.ClientToServer, tick())
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// classic rewrites a pcapng capture as a classic pcap file (microsecond,
// little-endian), record by record.
func classic(t testing.TB, ng []byte) []byte {
	pr, err := pcap.NewPacketReader(bytes.NewReader(ng))
	if err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0) // thiszone
	b = binary.LittleEndian.AppendUint32(b, 0) // sigfigs
	b = binary.LittleEndian.AppendUint32(b, pcap.MaxRecord)
	b = binary.LittleEndian.AppendUint32(b, 1) // Ethernet
	for {
		p, err := pr.Next()
		if err != nil {
			break
		}
		ts := p.Info.Timestamp
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Unix()))
		b = binary.LittleEndian.AppendUint32(b, uint32(ts.Nanosecond()/1000))
		b = binary.LittleEndian.AppendUint32(b, uint32(len(p.Data)))
		b = binary.LittleEndian.AppendUint32(b, uint32(p.Info.Length))
		b = append(b, p.Data...)
	}
	return b
}

func gzipped(t testing.TB, b []byte) []byte {
	var out bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&out, gzip.BestCompression)
	zw.Header.ModTime = epoch // a fixed header, for a stable seed
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// seeds makes the seed corpus: captures of the Qt vectors' exchanges in
// pcapng, classic pcap and gzip, the repository's captures, and the
// foreign inputs.
func seeds(t testing.TB) map[string][]byte {
	vs, err := qtvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	add := func(name string, anyPort bool, b []byte) {
		if _, dup := out[name]; dup {
			t.Fatalf("seed %s twice", name)
		}
		out[name] = corpusFile(anyPort, b)
	}
	client4 := netip.MustParseAddrPort("192.0.2.10:50000")
	server4 := netip.MustParseAddrPort("192.0.2.1:6178")
	client6 := netip.MustParseAddrPort("[2001:db8::10]:50000")
	server6 := netip.MustParseAddrPort("[2001:db8::1]:6178")
	elsewhere := netip.MustParseAddrPort("192.0.2.1:7000")
	labels := map[string]bool{"berlin-muenchen-dep": true, "all-null": true, "x300-bonn": true, "emoji-koeln-9999": true}
	for _, v := range vs {
		if v.Kind != "request" || v.Profile == "qt6" || !labels[v.Label] {
			continue
		}
		reply, ok := qtvectors.Find(vs, v.Profile, "reply", v.Label)
		if !ok {
			t.Fatalf("no reply vector for %s", v.Name())
		}
		name := v.Profile + "-" + v.Label
		ng := exchange(t, client4, server4, v.Bytes, reply.Bytes, nil, false)
		add(name+"-pcapng", false, ng)
		add(name+"-pcap", false, classic(t, ng))
		add(name+"-split-ipv6-reset", false, exchange(t, client6, server6, v.Bytes, reply.Bytes, []int{1, 2, len(v.Bytes) / 2}, true))
		add(name+"-other-port", true, exchange(t, client4, elsewhere, v.Bytes, reply.Bytes, []int{2}, false))
		if v.Label == "berlin-muenchen-dep" {
			add(name+"-pcapng-gzip", false, gzipped(t, ng))
			add(name+"-truncated-request", false, exchange(t, client4, server4, v.Bytes[:len(v.Bytes)-3], nil, nil, false))
		}
	}
	for name, b := range readDir(t, filepath.Join("..", "..", "testdata", "captures"), 64<<10) {
		if !isCapture(name) {
			continue
		}
		add("capture-"+name, false, b)
		add("capture-"+name+"-any-port", true, b)
	}
	for name, b := range readDir(t, filepath.Join("..", "testdata", "foreign"), 0) {
		add("foreign-"+strings.TrimSuffix(name, "-bin"), false, b)
	}
	return out
}

// isCapture reports whether a (sanitized) file name is a capture's.
func isCapture(name string) bool {
	for _, ext := range []string{"-pcap", "-pcapng", "-pcap-gz", "-pcapng-gz", "-cap"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// readDir reads the files of dir, up to limit bytes each (0: any), by
// sanitized name; none if dir does not exist.
func readDir(t testing.TB, dir string, limit int) map[string][]byte {
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return out
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if limit > 0 && len(b) > limit {
			continue
		}
		name := strings.Map(func(r rune) rune {
			switch {
			case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-':
				return r
			case r >= 'A' && r <= 'Z':
				return r + 'a' - 'A'
			}
			return '-'
		}, e.Name())
		out[name] = b
	}
	return out
}

// TestWriteSeeds checks that testdata/fuzz/FuzzCapture holds the seeds
// seeds() makes; with -update it writes them:
//
//	go test ./fuzz/capture -run TestWriteSeeds -update
func TestWriteSeeds(t *testing.T) {
	want := seeds(t)
	if *update {
		if err := os.MkdirAll(corpusDir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	entries, err := os.ReadDir(corpusDir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	// The captures of testdata/captures come and go with other work: their
	// seeds are written by -update, and not checked without it.
	checked := func(name string) bool { return !strings.HasPrefix(name, "capture-") }
	var stale []string
	for _, e := range entries {
		if _, ok := want[e.Name()]; ok || !generated(e.Name()) {
			continue
		}
		if *update {
			os.Remove(filepath.Join(corpusDir, e.Name()))
		} else if checked(e.Name()) {
			stale = append(stale, e.Name()+" (no longer made)")
		}
	}
	names := make([]string, 0, len(want))
	for n := range want {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		path := filepath.Join(corpusDir, n)
		if *update {
			if err := os.WriteFile(path, want[n], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(path); checked(n) && (err != nil || !bytes.Equal(got, want[n])) {
			stale = append(stale, path)
		}
	}
	if len(stale) > 0 {
		t.Errorf("%d seed files out of date, run: go test ./fuzz/capture -run TestWriteSeeds -update\n%s", len(stale), strings.Join(stale, "\n"))
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

// The seeds are read as their makers meant: each exchange is one session
// whose streams are the request and reply bytes.
func TestSeedSessions(t *testing.T) {
	vs, err := qtvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	req, _ := qtvectors.Find(vs, "qt4", "request", "berlin-muenchen-dep")
	reply, _ := qtvectors.Find(vs, "qt4", "reply", "berlin-muenchen-dep")
	ng := exchange(t, netip.MustParseAddrPort("192.0.2.10:50000"), netip.MustParseAddrPort("192.0.2.1:6178"), req.Bytes, reply.Bytes, []int{2}, false)
	for name, b := range map[string][]byte{"pcapng": ng, "pcap": classic(t, ng), "gzip": gzipped(t, ng)} {
		r, err := pcap.NewReader(bytes.NewReader(b), pcap.Options{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s, err := r.Next()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !bytes.Equal(s.Up.Data, req.Bytes) || !bytes.Equal(s.Down.Data, reply.Bytes) || s.End != pcap.EndClosed {
			t.Errorf("%s: up %x down %x, end %s", name, s.Up.Data, s.Down.Data, s.End)
		}
		if cuts := s.Up.Cuts(); len(cuts) != 1 || cuts[0] != 2 {
			t.Errorf("%s: request cut at %v, want [2]", name, cuts)
		}
	}
}
