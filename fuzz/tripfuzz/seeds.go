package tripfuzz

import (
	"bufio"
	"bytes"
	"embed"
	"encoding/binary"
	"encoding/hex"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

// Seed is one input that Replies or Requests adds to the fuzz test's
// corpus.
type Seed struct {
	// Name says where it comes from: "qt5-reply-berlin-muenchen-dep" (a Qt
	// vector), "capture-bad-no-end.pcapng" (a stream of one of tripcheck's
	// captures), "go-fuzz-corpus/tls/0" (a foreign input).
	Name  string
	Bytes []byte
}

// The seeds travel with the package, so that a module that imports it
// fuzzes from them without tripcheck's repository: testdata/seeds is made
// from the repository's Qt vectors and captures by
// go test ./fuzz/tripfuzz -run TestWriteSeeds -update, and
// testdata/go-fuzz-corpus is a subset of github.com/dvyukov/go-fuzz-corpus
// (Apache-2.0, see its README.md and LICENSE there).
//
//go:embed testdata/seeds/replies.txt testdata/seeds/requests.txt
var seedFiles embed.FS

//go:embed all:testdata/go-fuzz-corpus
var corpus embed.FS

// corpusRoot is the corpus's folder in the embedded tree.
const corpusRoot = "testdata/go-fuzz-corpus"

var loadSeeds = sync.OnceValues(func() (map[string][]Seed, []Seed) {
	own := map[string][]Seed{}
	for _, name := range []string{"replies", "requests"} {
		b, err := seedFiles.ReadFile("testdata/seeds/" + name + ".txt")
		if err != nil {
			panic(err) // embedded: cannot fail
		}
		own[name] = parseSeeds(b)
	}
	var foreign []Seed
	err := fs.WalkDir(corpus, corpusRoot, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || path.Dir(p) == corpusRoot {
			return err // the files at the root are LICENSE, README.md, COMMIT
		}
		b, err := corpus.ReadFile(p)
		foreign = append(foreign, Seed{Name: "go-fuzz-corpus/" + strings.TrimPrefix(p, corpusRoot+"/"), Bytes: b})
		return err
	})
	if err != nil {
		panic(err)
	}
	sort.Slice(foreign, func(i, j int) bool { return foreign[i].Name < foreign[j].Name })
	return own, foreign
})

// parseSeeds reads lines "<name> <hex>"; '#' lines are comments.
func parseSeeds(b []byte) []Seed {
	var out []Seed
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		name, h, _ := strings.Cut(line, " ")
		data, err := hex.DecodeString(h)
		if err != nil {
			panic("tripfuzz: seed " + name + ": " + err.Error())
		}
		out = append(out, Seed{Name: name, Bytes: data})
	}
	return out
}

// ReplySeeds are the seeds of Replies: every Qt reply, trip and end
// vector of every profile (a decoder of one profile must also reject or
// misread in the reference's way the other profile's bytes), the server
// streams of tripcheck's captures, and Foreign.
func ReplySeeds() []Seed {
	own, foreign := loadSeeds()
	return append(append([]Seed(nil), own["replies"]...), foreign...)
}

// RequestSeeds are the seeds of Requests: every Qt request vector, the
// client streams of tripcheck's captures, and Foreign.
func RequestSeeds() []Seed {
	own, foreign := loadSeeds()
	return append(append([]Seed(nil), own["requests"]...), foreign...)
}

// Foreign are inputs of other formats and protocols (TLS, HTTP/2, DNS,
// gob, protobuf, images, archives, ...), from go-fuzz-corpus: no Trip
// stream, and a decoder must reject each as the reference does.
func Foreign() []Seed {
	_, foreign := loadSeeds()
	return append([]Seed(nil), foreign...)
}

// LibFuzzerInput is the libFuzzer input from which a Replies or Requests
// target built by go-118-fuzz-build (compile_native_go_fuzzer) reads
// stream: go-fuzz-headers takes a []byte argument as a 4-byte big-endian
// length, then that many bytes. (It reads a length of 0 as 30, and one
// that is not the number of bytes left modulo that number: the empty
// stream is a length of 0 and one byte.) A libFuzzer build ignores F.Add,
// so the seeds reach it only as a seed corpus of such inputs
// (ClusterFuzzLite reads $OUT/TARGET_seed_corpus.zip; the command
// tripfuzz/seedcorpus writes one).
func LibFuzzerInput(stream []byte) []byte {
	if len(stream) == 0 {
		return []byte{0, 0, 0, 0, 0}
	}
	return append(binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(stream)), uint32(len(stream))), stream...)
}
