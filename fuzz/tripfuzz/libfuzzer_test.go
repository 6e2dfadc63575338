package tripfuzz

import (
	"bytes"
	"testing"

	lf "github.com/AdamKorcz/go-118-fuzz-build/testing"
	"github.com/tripcheck/tripcheck/wire"
)

// The F and T of go-118-fuzz-build, which compile_native_go_fuzzer gives a
// harness in place of the standard ones, are an F and a T of tripfuzz.
var (
	_ F = (*lf.F)(nil)
	_ T = (*lf.T)(nil)
	_ F = (*testing.F)(nil)
	_ T = (*testing.T)(nil)
)

// libFuzzerRun runs target as the main function that go-118-fuzz-build
// generates runs it for one libFuzzer input: a fresh F and T over the
// input, a failure a panic. It returns the panic's value, nil if none.
func libFuzzerRun(input []byte, target func(f F)) (failure any) {
	defer func() { failure = recover() }()
	target(&lf.F{Data: input, T: lf.NewT()})
	return nil
}

// TestLibFuzzerInput: go-118-fuzz-build's F hands the fuzz function of
// Replies exactly the stream that LibFuzzerInput encodes, for every seed,
// the empty one too.
func TestLibFuzzerInput(t *testing.T) {
	for _, seeds := range [][]Seed{{{Name: "empty"}}, ReplySeeds(), RequestSeeds()} {
		for _, s := range seeds {
			f := &lf.F{Data: LibFuzzerInput(s.Bytes), T: lf.NewT()}
			var got []byte
			calls := 0
			fuzz(f, nil, func(_ T, stream []byte) { calls++; got = bytes.Clone(stream) })
			if calls != 1 || !bytes.Equal(got, s.Bytes) {
				t.Fatalf("seed %s: %d calls, stream %q; want 1 call, %q", s.Name, calls, got, s.Bytes)
			}
		}
	}
}

// TestLibFuzzerBuild: Replies and Requests run under go-118-fuzz-build's
// F and T, as in a libFuzzer build of a user's harness: a decoder that
// agrees with wire passes every seed, and each deliberately wrong one of
// TestBrokenDecodersCaught fails a seed with the T's failure (a panic,
// which libFuzzer reports as a crash).
func TestLibFuzzerBuild(t *testing.T) {
	for _, c := range []struct {
		name    string
		profile wire.Profile
		replies bool
		u       userDecoder
		broken  bool
	}{
		{"right/replies", wire.Qt4, true, userDecoder{}, false},
		{"right/requests", wire.Qt5, false, userDecoder{}, false},
		{"little-endian-size/replies", wire.Qt4, true, userDecoder{littleEndianSize: true}, true},
		{"little-endian-size/requests", wire.Qt5, false, userDecoder{littleEndianSize: true}, true},
		{"ignores-end-marker", wire.Qt4, true, userDecoder{ignoresEndMarker: true}, true},
		{"odd-strings/requests", wire.Qt4, false, userDecoder{acceptsOddStrings: true}, true},
		{"qt5-dates-as-qt4/replies", wire.Qt5, true, userDecoder{qt4Dates: true}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.u.profile = c.profile
			target := func(f F) { Requests(f, c.profile, c.u.Requests) }
			seeds := RequestSeeds()
			if c.replies {
				target = func(f F) { Replies(f, c.profile, c.u.Replies) }
				seeds = ReplySeeds()
			}
			for _, s := range seeds {
				failure := libFuzzerRun(LibFuzzerInput(s.Bytes), target)
				switch {
				case failure != nil && !c.broken:
					t.Fatalf("seed %s fails the right decoder: %v", s.Name, failure)
				case failure != nil:
					if failure != "fatal" {
						t.Fatalf("seed %s: failure %v; want the T's Fatalf", s.Name, failure)
					}
					t.Logf("seed %s fails it", s.Name)
					return
				}
			}
			if c.broken {
				t.Fatalf("no seed fails %s in a libFuzzer build", c.name)
			}
		})
	}
}
