package tripfuzz

import (
	"bytes"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/internal/qtvectors"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

var update = flag.Bool("update", false, "TestWriteSeeds: write testdata/seeds")

// capturesDir holds the repository's captures.
const capturesDir = "../../testdata/captures"

// makeSeeds makes testdata/seeds/{replies,requests}.txt from the Qt
// vectors and the captures of the repository.
func makeSeeds(t *testing.T) map[string][]byte {
	vs, err := qtvectors.Load()
	if err != nil {
		t.Fatal(err)
	}
	files := map[string]*bytes.Buffer{}
	seen := map[string]map[string]bool{}
	for _, f := range []string{"replies", "requests"} {
		files[f] = &bytes.Buffer{}
		seen[f] = map[string]bool{}
		fmt.Fprintf(files[f], "# tripfuzz %s seeds: <name> <hex>. Made by go test ./fuzz/tripfuzz -run TestWriteSeeds -update\n", f)
		fmt.Fprintf(files[f], "# from testdata/vectors/qt-vectors.txt (qt4 and qt5; qt6 has the qt5 bytes) and the streams of testdata/captures.\n")
	}
	add := func(file, name string, b []byte) {
		if len(b) == 0 || seen[file][string(b)] {
			return // the same bytes once
		}
		seen[file][string(b)] = true
		fmt.Fprintf(files[file], "%s %s\n", name, hex.EncodeToString(b))
	}
	for _, v := range vs {
		if v.Profile == "qt6" {
			continue
		}
		switch v.Kind {
		case "reply", "trip", "end":
			add("replies", v.Profile+"-"+v.Kind+"-"+v.Label, v.Bytes)
		case "request":
			add("requests", v.Profile+"-"+v.Kind+"-"+v.Label, v.Bytes)
		}
	}
	for _, p := range wire.Profiles() {
		for _, replies := range []bool{true, false} {
			seeds := illegal(t, vs, p, replies)
			names := make([]string, 0, len(seeds))
			for name := range seeds {
				names = append(names, name)
			}
			sort.Strings(names)
			for _, name := range names {
				add(map[bool]string{true: "replies", false: "requests"}[replies], name, seeds[name])
			}
		}
	}
	entries, err := os.ReadDir(capturesDir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".pcap") && !strings.HasSuffix(name, ".pcapng") {
			continue
		}
		f, err := os.Open(filepath.Join(capturesDir, name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcap.NewReader(f, pcap.Options{Port: pcap.AnyPort})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for {
			s, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			id := fmt.Sprintf("capture-%s-%d", name, s.Index)
			add("requests", id, s.Up.Contiguous())
			add("replies", id, s.Down.Contiguous())
		}
		f.Close()
	}
	out := map[string][]byte{}
	for f, b := range files {
		out[filepath.Join("testdata", "seeds", f+".txt")] = b.Bytes()
	}
	return out
}

// TestWriteSeeds checks that testdata/seeds is what the Qt vectors and the
// captures give; with -update it writes it.
func TestWriteSeeds(t *testing.T) {
	want := makeSeeds(t)
	paths := make([]string, 0, len(want))
	for p := range want {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		if *update {
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, want[p], 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if got, err := os.ReadFile(p); err != nil || !bytes.Equal(got, want[p]) {
			t.Errorf("%s is out of date (%v): go test ./fuzz/tripfuzz -run TestWriteSeeds -update", p, err)
		}
	}
}

// illegal makes, with wire's Encoder and AllowIllegalWrites, the faults a
// conforming peer does not send but a decoder must classify: an odd string
// length, a size one too large and one too small, a byte left over in a
// block, bytes after the end marker, a stream cut inside a block and, for
// requests, two requests and the size 0xFFFF. The values are those of the
// berlin-muenchen-dep vectors.
func illegal(t *testing.T, vs []qtvectors.Vector, p wire.Profile, replies bool) map[string][]byte {
	kind := "request"
	if replies {
		kind = "trip"
	}
	v, ok := qtvectors.Find(vs, p.String(), kind, map[bool]string{true: "intercity-0900-123", false: "berlin-muenchen-dep"}[replies])
	if !ok {
		t.Fatalf("no %v %s vector", p, kind)
	}
	enc := func(e wire.Encoder, odd bool) []byte {
		e.Profile, e.AllowIllegalWrites = p, true
		var b []byte
		var err error
		if replies {
			tr, _, perr := qtvectors.Trip(v.Comment)
			if perr != nil {
				t.Fatal(perr)
			}
			if odd {
				tr.TrainType = wire.StrRaw([]byte{0, 'I', 0})
			}
			b, err = e.AppendTrip(nil, &tr)
		} else {
			r, _, perr := qtvectors.Request(v.Comment)
			if perr != nil {
				t.Fatal(perr)
			}
			if odd {
				r.To = wire.StrRaw([]byte{0, 'B', 0})
			}
			b, err = e.AppendRequest(nil, &r)
		}
		if err != nil {
			t.Fatal(err)
		}
		if replies {
			b = wire.AppendEnd(b)
		}
		return b
	}
	name := p.String() + "-illegal-" + kind + "-"
	whole := enc(wire.Encoder{}, false)
	out := map[string][]byte{
		name + "odd-string":     enc(wire.Encoder{}, true),
		name + "size-plus-one":  enc(wire.Encoder{SizeDelta: 1}, false),
		name + "size-minus-one": enc(wire.Encoder{SizeDelta: -1}, false),
		name + "trailing-byte":  enc(wire.Encoder{Trailing: []byte{0}}, false),
		name + "cut-inside":     whole[:len(whole)/2],
	}
	if replies {
		out[name+"after-end"] = append(append([]byte{}, whole...), "xyz"...)
	} else {
		out[name+"twice"] = append(append([]byte{}, whole...), whole...)
		out[name+"reserved-size"] = append(append([]byte{}, whole...), 0xFF, 0xFF)
	}
	return out
}
