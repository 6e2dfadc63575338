package conformance

import (
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// TestGoldenFragments pins what golden-set's fragmented variant still
// proves with its fewer pieces, over the 200 requests of a few seeds and
// both profiles: every request arrives in at least two pieces, short ones
// in pieces of at most 7 bytes, none in more than 40 pieces (the pauses
// between pieces are the scenario's time), and across the set cuts fall
// inside the size field, inside a long name and after every one of the
// first 16 offsets.
func TestGoldenFragments(t *testing.T) {
	for _, p := range []wire.Profile{wire.Qt4, wire.Qt5} {
		for _, seed := range []int64{1, 42, -7, 1 << 40} {
			reqs, err := goldenRequests(seed, 200)
			if err != nil {
				t.Fatal(err)
			}
			cutAt := map[int]bool{}
			var sizeCut, longCut bool
			most := 0
			for i := range reqs {
				b, err := wire.Encoder{Profile: p}.AppendRequest(nil, &reqs[i])
				if err != nil {
					t.Fatalf("%v seed %d request %d: %v", p, seed, i, err)
				}
				pieces, err := goldenFragments(seed, i, len(b)).Pieces(len(b))
				if err != nil {
					t.Fatalf("%v seed %d request %d: %v", p, seed, i, err)
				}
				if len(pieces) < 2 {
					t.Errorf("%v seed %d request %d (%d bytes): %d piece", p, seed, i, len(b), len(pieces))
				}
				most = max(most, len(pieces))
				off := 0
				for _, n := range pieces {
					if len(b) < 56 && n > 7 {
						t.Errorf("%v seed %d request %d (%d bytes): a %d-byte piece", p, seed, i, len(b), n)
					}
					off += n
					cutAt[off] = true
					sizeCut = sizeCut || off == 1
					longCut = longCut || len(b) > 600 && off > 20 && off < len(b)-20
				}
				if off != len(b) {
					t.Fatalf("%v seed %d request %d: pieces add up to %d of %d bytes", p, seed, i, off, len(b))
				}
			}
			if most > 40 {
				t.Errorf("%v seed %d: a request in %d pieces", p, seed, most)
			}
			for off := 1; off <= 16; off++ {
				if !cutAt[off] {
					t.Errorf("%v seed %d: no request cut after byte %d", p, seed, off)
				}
			}
			if !sizeCut || !longCut {
				t.Errorf("%v seed %d: a cut inside the size field: %v, inside a long name: %v", p, seed, sizeCut, longCut)
			}
		}
	}
}
