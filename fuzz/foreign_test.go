package fuzz

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/internal/inputfiles"
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
	return inputfiles.Foreign(t, foreignDir)
}

// gfcDir holds the subset of github.com/dvyukov/go-fuzz-corpus that
// package tripfuzz embeds (its README.md says what it is).
const gfcDir = "tripfuzz/testdata/go-fuzz-corpus"

// gfcInputs reads every file of gfcDir's harness folders: "gfc-<harness>-<name>" → bytes.
func gfcInputs(t testing.TB) map[string][]byte {
	t.Helper()
	return inputfiles.Read(t, filepath.Join(gfcDir, "*", "*"), func(path string) string {
		return "gfc-" + filepath.Base(filepath.Dir(path)) + "-" + filepath.Base(path)
	})
}

// TestForeignRejected: bytes of other protocols are no Trip messages. Every
// decoder rejects every foreign input (the hand-made ones and all of
// go-fuzz-corpus) with a typed error, in each profile: the streaming
// decoder in each direction (a *wire.DecodeError from Next or Close),
// DecodeRequest and DecodeTrip (a *wire.DecodeError), and DetectProfile
// (ErrNoProfile). Where the bytes happen to form Trip blocks (go-fuzz-corpus
// has an empty file, a request stream of no request, and a BMP file that is
// a Qt4 trip payload), the decode must be consistent instead: the values
// encode back to the same bytes, a stream decodes the same fed byte by
// byte, and DetectProfile names the one profile that decodes the payload.
func TestForeignRejected(t *testing.T) {
	inputs := foreignInputs(t)
	gfc := gfcInputs(t)
	if len(inputs) < 2 || len(gfc) < 800 {
		t.Fatalf("%d foreign inputs in %s and %d in %s, want at least 2 and 800", len(inputs), foreignDir, len(gfc), gfcDir)
	}
	for name, b := range gfc {
		inputs[name] = b
	}
	for _, name := range slices.Sorted(maps.Keys(inputs)) {
		b := inputs[name]
		t.Run(name, func(t *testing.T) {
			for _, p := range wire.Profiles() {
				for _, dir := range []wire.Direction{wire.Requests, wire.Replies} {
					if err := firstStreamError(p, dir, b); err == nil {
						if err := streamConsistent(p, dir, b); err != nil {
							t.Errorf("%v %v stream: no error, and %v", p, dir, err)
						}
					} else if !isTyped(err) {
						t.Errorf("%v %v stream: first error %v, want a *wire.DecodeError", p, dir, err)
					}
				}
				var r wire.Request
				if err := p.DecodeRequest(b, &r); err == nil {
					if enc, _ := (wire.Encoder{Profile: p, AllowIllegalWrites: true}).AppendRequest(nil, &r); !bytes.Equal(wire.Block{Bytes: enc}.Payload(), b) {
						t.Errorf("%v: DecodeRequest takes it for %s, which encodes to other bytes", p, r.String())
					}
				} else if !isTyped(err) {
					t.Errorf("%v DecodeRequest: %v", p, err)
				}
				var tr wire.Trip
				if err := p.DecodeTrip(b, &tr); err == nil {
					if enc, _ := (wire.Encoder{Profile: p, AllowIllegalWrites: true}).AppendTrip(nil, &tr); !bytes.Equal(wire.Block{Bytes: enc}.Payload(), b) {
						t.Errorf("%v: DecodeTrip takes it for %s, which encodes to other bytes", p, tr.String())
					}
				} else if !isTyped(err) {
					t.Errorf("%v DecodeTrip: %v, want a *wire.DecodeError (read %s)", p, err, tr.String())
				}
			}
			for _, k := range []wire.Kind{wire.KindRequest, wire.KindTrip} {
				p, err := wire.DetectProfile(k, b)
				switch {
				case errors.Is(err, wire.ErrNoProfile):
				case err == nil:
					if decodes(p, k, b) != nil || decodes(otherProfile(p), k, b) == nil {
						t.Errorf("DetectProfile(%v) = %v, but %v decodes it: %v, and %v: %v", k, p, p, decodes(p, k, b), otherProfile(p), decodes(otherProfile(p), k, b))
					}
				default:
					t.Errorf("DetectProfile(%v) = %v, %v; want ErrNoProfile or the one profile that decodes it", k, p, err)
				}
			}
		})
	}
}

// decodes decodes a payload of kind k in profile p, without trailing bytes.
func decodes(p wire.Profile, k wire.Kind, b []byte) error {
	if k == wire.KindRequest {
		var r wire.Request
		return p.DecodeRequest(b, &r)
	}
	var tr wire.Trip
	return p.DecodeTrip(b, &tr)
}

func otherProfile(p wire.Profile) wire.Profile {
	if p == wire.Qt4 {
		return wire.Qt5
	}
	return wire.Qt4
}

// streamConsistent checks a stream that decodes without error: its
// messages encode back to its bytes, and fed one byte at a time it
// decodes to the same messages.
func streamConsistent(p wire.Profile, dir wire.Direction, b []byte) error {
	whole, err := messages(p, dir, [][]byte{b})
	if err != nil {
		return err
	}
	var pieces [][]byte
	for i := range b {
		pieces = append(pieces, b[i:i+1])
	}
	split, err := messages(p, dir, pieces)
	if err != nil {
		return fmt.Errorf("fed byte by byte: %v", err)
	}
	if !slices.Equal(whole, split) {
		return fmt.Errorf("fed byte by byte it decodes to %q, whole to %q", split, whole)
	}
	var enc []byte
	e := wire.Encoder{Profile: p, AllowIllegalWrites: true}
	d := wire.NewDecoder(p, dir)
	d.Feed(b)
	for {
		var m wire.Message
		if err := d.Next(&m); err != nil {
			break
		}
		switch m.Kind {
		case wire.KindRequest:
			enc, _ = e.AppendRequest(enc, &m.Request)
		case wire.KindTrip:
			enc, _ = e.AppendTrip(enc, &m.Trip)
		case wire.KindEnd:
			enc = wire.AppendEnd(enc)
		}
	}
	if !bytes.Equal(enc, b) {
		return fmt.Errorf("its messages %q encode to %x", whole, enc)
	}
	return nil
}

// messages decodes a stream fed in the given pieces: each message as a
// string, and the first error.
func messages(p wire.Profile, dir wire.Direction, pieces [][]byte) ([]string, error) {
	d := wire.NewDecoder(p, dir)
	var out []string
	for _, piece := range pieces {
		d.Feed(piece)
		for {
			var m wire.Message
			err := d.Next(&m)
			if err == wire.ErrNeedMore {
				break
			}
			if err != nil {
				return out, err
			}
			switch m.Kind {
			case wire.KindRequest:
				out = append(out, m.Request.String())
			case wire.KindTrip:
				out = append(out, m.Trip.String())
			default:
				out = append(out, m.Kind.String())
			}
		}
	}
	return out, d.Close()
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
