package fuzz

import (
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// foreignDir holds the foreign inputs: bytes of other protocols and
// formats, which every Trip decoder must reject with a typed error.
// ../testdata/README.md says where each file comes from, and fuzz/seeds
// makes them.
const foreignDir = "testdata/foreign"

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
// sentinels, with a message prefixed "wire: ".
func isTyped(err error) bool {
	var de *wire.DecodeError
	return errors.As(err, &de) && sentinelOf(err) != nil && strings.HasPrefix(de.Error(), "wire: ")
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
