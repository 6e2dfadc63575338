// Package seeds makes the seed corpora of the fuzz targets in fuzz/ and
// the foreign inputs they share: TestWriteSeeds -update writes them, and
// without -update checks that they are up to date. It lives apart from the
// targets so that its imports (the Qt vectors' regexps, gob, ...) do not
// slow the fuzzing: every package in a fuzz test binary is instrumented. It
// has test files only.
package seeds

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/internal/inputfiles"
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
	foreign := inputfiles.Foreign(t, foreignDir)
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
	for _, fname := range slices.Sorted(maps.Keys(foreign)) {
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
	var stale []string
	if *update {
		writeForeign(t)
	} else {
		stale = staleForeign(t)
	}
	sets := seedSets(t)
	for _, target := range slices.Sorted(maps.Keys(sets)) {
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
		for _, name := range slices.Sorted(maps.Keys(want)) {
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

// writeForeign makes testdata/foreign again from its sources, and removes
// the files no source makes.
func writeForeign(t *testing.T) {
	if err := os.MkdirAll(foreignDir, 0o755); err != nil {
		t.Fatal(err)
	}
	made := map[string]bool{}
	for _, s := range foreignSources(t) {
		b, err := s.make()
		if err != nil {
			t.Fatalf("foreign %s: %v", s.name, err)
		}
		made[s.name+".bin"] = true
		if err := os.WriteFile(filepath.Join(foreignDir, s.name+".bin"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	old, err := filepath.Glob(filepath.Join(foreignDir, "*.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range old {
		if !made[filepath.Base(f)] {
			if err := os.Remove(f); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// staleForeign lists the files of foreignDir that differ from what their
// sources make, that no source makes, or that are missing.
func staleForeign(t *testing.T) []string {
	var stale []string
	made := map[string]bool{}
	for _, s := range foreignSources(t) {
		path := filepath.Join(foreignDir, s.name+".bin")
		made[path] = true
		want, err := s.make()
		if err != nil {
			t.Fatalf("foreign %s: %v", s.name, err)
		}
		if got, err := os.ReadFile(path); err != nil || !bytes.Equal(got, want) {
			stale = append(stale, path)
		}
	}
	files, err := filepath.Glob(filepath.Join(foreignDir, "*.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if !made[f] {
			stale = append(stale, f+" (no longer made)")
		}
	}
	return stale
}

// foreignSource is how one foreign file is made by TestWriteSeeds -update.
type foreignSource struct {
	name   string // file name in foreignDir, without .bin
	origin string // for the README
	make   func() ([]byte, error)
}

// gfcDir is the subset of github.com/dvyukov/go-fuzz-corpus that package
// tripfuzz embeds (Apache-2.0; its README.md and LICENSE are there).
const gfcDir = "../tripfuzz/testdata/go-fuzz-corpus"

// gfcPerHarness is how many inputs of each go-fuzz-corpus harness become
// seeds of the fuzz targets: each seed is run at the start of every
// fuzzing run and in every go test, so a few, of at most 1 KiB, spread
// over the harness's files. TestForeignRejected takes all of them.
const gfcPerHarness = 2

// foreignSources are the foreign inputs: a few of each harness of
// go-fuzz-corpus, and DNS over TCP, which go-fuzz-corpus lacks (its
// gopacket-dns inputs are UDP payloads) and whose 2-byte length prefix
// frames like a Trip block's size.
func foreignSources(t testing.TB) []foreignSource {
	var out []foreignSource
	harnesses, err := os.ReadDir(gfcDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range harnesses {
		if !h.IsDir() {
			continue
		}
		files, err := os.ReadDir(filepath.Join(gfcDir, h.Name()))
		if err != nil {
			t.Fatal(err)
		}
		var small []string // sorted, as ReadDir returns them
		for _, f := range files {
			if info, err := f.Info(); err == nil && info.Size() > 0 && info.Size() <= 1024 {
				small = append(small, f.Name())
			}
		}
		for i := range min(gfcPerHarness, len(small)) {
			name := small[(2*i+1)*len(small)/(2*gfcPerHarness)]
			path := filepath.Join(gfcDir, h.Name(), name)
			out = append(out, foreignSource{
				name:   "gfc-" + h.Name() + "-" + name[:min(len(name), 12)],
				origin: "go-fuzz-corpus " + h.Name() + "/" + name,
				make:   func() ([]byte, error) { return os.ReadFile(path) },
			})
		}
	}
	return append(out,
		foreignSource{"dns-query-tcp", "constructed from RFC 1035 §4.1 and §4.2.2: a query for www.example.com A IN, with its TCP 2-byte length prefix", func() ([]byte, error) { return dnsTCP(dnsQuery()), nil }},
		foreignSource{"dns-response-tcp", "constructed from RFC 1035 §4.1 and §4.2.2: its answer, one A record 192.0.2.1 (RFC 5737), with the TCP length prefix", func() ([]byte, error) { return dnsTCP(dnsResponse()), nil }},
	)
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
