package fuzz

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
)

var update = flag.Bool("update", false, "TestWriteSeeds: write the seed corpora and testdata/foreign")

// targetNames are the fuzz targets that get seeds.
var targetNames = []string{
	"FuzzFraming", "FuzzDecodeRequest", "FuzzDecodeTrip", "FuzzDetectProfile",
	"FuzzReadString", "FuzzReadDate", "FuzzReadTime", "FuzzReadInts",
	"FuzzSplit", "FuzzReencode", "FuzzEncodeDecode",
}

// corpusDir is where go test looks for a target's seed corpus.
const corpusDir = "testdata/fuzz"

// generatedPrefixes mark the corpus files TestWriteSeeds owns. Others (the
// crashers that fuzzing finds, named by their hash) it leaves alone.
var generatedPrefixes = []string{"qt4-", "qt5-", "foreign-", "capture-"}

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
	captures := captureInputs(t)
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
		if _, ok := sets["FuzzCapture"]; ok {
			set("FuzzCapture").add(name, b)
		}
	}
	if _, ok := sets["FuzzCapture"]; ok {
		for _, cname := range sortedKeys(captures) {
			set("FuzzCapture").add("capture-"+cname, captures[cname])
		}
	}
	return sets
}

// captureDir holds the repository's captures, when there are any.
func captureDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "testdata", "captures")
}

// captureInputs reads the captures: file name (sanitized) → bytes. Only
// captures small enough to be seeds are taken.
func captureInputs(t testing.TB) map[string][]byte {
	out := map[string][]byte{}
	entries, err := os.ReadDir(captureDir())
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
		b, err := os.ReadFile(filepath.Join(captureDir(), e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if len(b) > 64<<10 {
			continue
		}
		name := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
				return r
			}
			if r >= 'A' && r <= 'Z' {
				return r + 'a' - 'A'
			}
			return '-'
		}, e.Name())
		out[name] = b
	}
	return out
}

// TestWriteSeeds checks that the seed corpora under testdata/fuzz are those
// the Qt vectors, the foreign inputs and the captures give. With -update it
// writes them (and first makes testdata/foreign again from its sources):
//
//	go test ./fuzz -run TestWriteSeeds -update
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
		t.Errorf("%d seed files out of date, run: go test ./fuzz -run TestWriteSeeds -update\n%s", len(stale), strings.Join(stale[:min(len(stale), 20)], "\n"))
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
