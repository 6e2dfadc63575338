// Command seedcorpus writes tripfuzz's seeds as the seed corpus of a
// libFuzzer build of a tripfuzz harness (go-118-fuzz-build, as
// ClusterFuzzLite's compile_native_go_fuzzer runs it), which ignores the
// f.Add seeds that go test -fuzz uses:
//
//	go run github.com/tripcheck/tripcheck/fuzz/tripfuzz/seedcorpus replies $OUT/FuzzReplies_seed_corpus.zip
//	go run github.com/tripcheck/tripcheck/fuzz/tripfuzz/seedcorpus requests corpus-dir
//
// The first argument picks the seeds (tripfuzz.ReplySeeds for a
// tripfuzz.Replies harness, tripfuzz.RequestSeeds for Requests); OUT is a
// zip file if its name ends in .zip, else a directory. Each seed is one
// file, named after the seed, holding tripfuzz.LibFuzzerInput of it.
package main

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/tripcheck/tripcheck/fuzz/tripfuzz"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	if len(args) != 2 || (args[0] != "replies" && args[0] != "requests") {
		fmt.Fprintln(stderr, "usage: seedcorpus replies|requests OUT(.zip)")
		return 2
	}
	seeds := tripfuzz.ReplySeeds()
	if args[0] == "requests" {
		seeds = tripfuzz.RequestSeeds()
	}
	n, err := write(args[1], seeds)
	if err != nil {
		fmt.Fprintf(stderr, "seedcorpus: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "seedcorpus: %d %s seeds in %s\n", n, args[0], args[1])
	return 0
}

// write writes every seed to out, a zip file or a directory, and returns
// how many it wrote.
func write(out string, seeds []tripfuzz.Seed) (int, error) {
	files := map[string][]byte{}
	var names []string
	for _, s := range seeds {
		// "go-fuzz-corpus/tls/0" is one file name, not a path.
		name := strings.ReplaceAll(s.Name, "/", "_")
		if _, dup := files[name]; dup {
			return 0, errors.New("two seeds named " + name)
		}
		files[name] = tripfuzz.LibFuzzerInput(s.Bytes)
		names = append(names, name)
	}
	if !strings.HasSuffix(out, ".zip") {
		if err := os.MkdirAll(out, 0o755); err != nil {
			return 0, err
		}
		for _, name := range names {
			if err := os.WriteFile(filepath.Join(out, name), files[name], 0o644); err != nil {
				return 0, err
			}
		}
		return len(names), nil
	}
	f, err := os.Create(out)
	if err != nil {
		return 0, err
	}
	z := zip.NewWriter(f)
	for _, name := range names {
		w, err := z.Create(name)
		if err == nil {
			_, err = w.Write(files[name])
		}
		if err != nil {
			f.Close()
			return 0, err
		}
	}
	if err := z.Close(); err != nil {
		f.Close()
		return 0, err
	}
	return len(names), f.Close()
}
