package tripfuzz

import (
	"github.com/tripcheck/tripcheck/internal/plural"

	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"testing"

	"github.com/tripcheck/tripcheck/wire"
)

// Class is the kind of fault an error reports, as far as a decoder of the
// whole stream can tell: the classes that every decoder can be asked to
// tell apart.
type Class uint8

const (
	// NoError is the class of a nil error.
	NoError Class = iota
	// CutShort: the stream ended inside a block (wire.ErrTruncated, which
	// wraps io.ErrUnexpectedEOF) or, for replies, before the end marker
	// (wire.ErrNoEndMarker).
	CutShort
	// Corrupt: a block's fields do not fit it: a field runs past the
	// block's end (wire.ErrPastEnd), a string has an odd byte length
	// (wire.ErrOddStringLength, which wraps wire.ErrCorrupt), a request
	// stream holds the size 0xFFFF (wire.ErrReservedSize).
	Corrupt
	// LeftOver: bytes left over, in a block after its last field
	// (wire.ErrTrailingBytes) or after a reply's end marker
	// (wire.ErrAfterEnd).
	LeftOver
	// Unclassified: an error that matches none of the above.
	Unclassified
)

func (c Class) String() string {
	switch c {
	case NoError:
		return "no error"
	case CutShort:
		return "cut short"
	case Corrupt:
		return "corrupt"
	case LeftOver:
		return "bytes left over"
	case Unclassified:
		return "unclassified error"
	}
	return "Class(" + strconv.Itoa(int(c)) + ")"
}

// ClassOf is the default reading of a decoder's error: by wire's sentinels
// with errors.Is (a decoder built on package wire returns them), and
// io.ErrUnexpectedEOF as CutShort.
func ClassOf(err error) Class {
	switch {
	case err == nil:
		return NoError
	case errors.Is(err, wire.ErrTruncated), errors.Is(err, wire.ErrNoEndMarker), errors.Is(err, io.ErrUnexpectedEOF):
		return CutShort
	case errors.Is(err, wire.ErrCorrupt), errors.Is(err, wire.ErrPastEnd), errors.Is(err, wire.ErrReservedSize):
		return Corrupt
	case errors.Is(err, wire.ErrTrailingBytes), errors.Is(err, wire.ErrAfterEnd):
		return LeftOver
	}
	return Unclassified
}

// An Option says what the decoder under test does not model.
type Option func(*config)

type config struct {
	classify  func(error) Class
	anyError  bool
	stopAtEnd bool
}

// Classify tells how to read the decoder's errors, for a decoder with
// error values of its own. The default is ClassOf.
func Classify(f func(error) Class) Option {
	return func(c *config) { c.classify = f }
}

// AnyError is for a decoder that does not tell faults apart: any error
// answers any fault of the stream, and only its presence is compared.
func AnyError() Option {
	return func(c *config) { c.anyError = true }
}

// StopAtEndMarker is for a reply decoder that stops reading at the end
// marker: bytes after it are not its concern, so where the reference finds
// only them at fault (wire.ErrAfterEnd), the trips before the end marker
// and no error are the answer.
func StopAtEndMarker() Option {
	return func(c *config) { c.stopAtEnd = true }
}

func newConfig(opts []Option) config {
	c := config{classify: ClassOf}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Mismatch is a difference between the decoder under test and package
// wire's reference decoder, located as tripcheck's suites locate faults:
// by field path and stream offset.
type Mismatch struct {
	// Field is the path of the field that differs ("trip[2].trainType",
	// "request[0].date"), of the block that one decoder has and the other
	// lacks ("trip[3]"), or of the fault the reference found.
	Field string
	// Offset is the stream offset of the field or fault; -1 where it has
	// no place in the stream (an error the reference does not find).
	Offset int64
	// Want is what the reference decodes there; Got is what the decoder
	// under test answered.
	Want, Got string
}

func (m *Mismatch) Error() string {
	at := m.Field
	if m.Offset >= 0 {
		at += " at offset " + strconv.FormatInt(m.Offset, 10)
	}
	return at + ": got " + m.Got + ", want " + m.Want
}

// F is the fuzz target that Replies and Requests fill: *testing.F under
// go test -fuzz, and go-118-fuzz-build's *testing.F
// (github.com/AdamKorcz/go-118-fuzz-build/testing) where
// compile_native_go_fuzzer builds the target as a libFuzzer binary for
// ClusterFuzzLite or OSS-Fuzz. A harness declares f *testing.F as usual;
// that tool swaps the package, not the call.
type F interface {
	Helper()
	Add(args ...any)
	Fuzz(ff any)
}

// T is what the fuzz function asks of the T that the engine passes it for
// each input: *testing.T, or go-118-fuzz-build's *testing.T, whose Fatalf
// panics (libFuzzer's crash, with the input).
type T interface {
	Helper()
	Fatalf(format string, args ...any)
}

// Replies makes f a differential fuzz test of decode, a decoder of whole
// reply streams in profile p: it adds the seeds (ReplySeeds), then checks
// every input against package wire's decoder (see CheckReplies) and fails
// with the Mismatch. Call it from a fuzz target in place of f.Fuzz; seeds
// added with f.Add before it are kept. f is a *testing.F, or the F of a
// libFuzzer build (see F).
func Replies(f F, p wire.Profile, decode func(stream []byte) ([]wire.Trip, error), opts ...Option) {
	f.Helper()
	c := newConfig(opts)
	fuzz(f, replySeedArgs(), func(t T, stream []byte) {
		if m := c.checkReplies(p, stream, decode); m != nil {
			t.Fatalf("%v reply stream of %d bytes %s%s:\n%v", p, len(stream), quote(stream), seedName(stream, ReplySeeds), m)
		}
	})
}

// Requests is Replies for a decoder of whole request streams: the
// blocks a client sends (one request, or more from a client that does not
// conform), each a wire.Request.
func Requests(f F, p wire.Profile, decode func(stream []byte) ([]wire.Request, error), opts ...Option) {
	f.Helper()
	c := newConfig(opts)
	fuzz(f, requestSeedArgs(), func(t T, stream []byte) {
		if m := c.checkRequests(p, stream, decode); m != nil {
			t.Fatalf("%v request stream of %d bytes %s%s:\n%v", p, len(stream), quote(stream), seedName(stream, RequestSeeds), m)
		}
	})
}

// fuzz adds the seeds to f and gives it body as the fuzz function, typed
// for f's engine. go test's F.Fuzz wants a function whose first parameter
// is exactly *testing.T; go-118-fuzz-build's F.Fuzz calls the function by
// reflection with its own *T, which a parameter of interface type T
// accepts.
func fuzz(f F, seeds [][]any, body func(t T, stream []byte)) {
	for _, args := range seeds {
		f.Add(args...)
	}
	if tf, ok := f.(*testing.F); ok {
		tf.Fuzz(func(t *testing.T, stream []byte) { body(t, stream) })
		return
	}
	f.Fuzz(func(t T, stream []byte) { body(t, stream) })
}

// The seeds as F.Add's arguments, made once: a libFuzzer build calls
// Replies (and so F.Add, a no-op there) again for every input.
var (
	replySeedArgs   = sync.OnceValue(func() [][]any { return seedArgs(ReplySeeds()) })
	requestSeedArgs = sync.OnceValue(func() [][]any { return seedArgs(RequestSeeds()) })
)

func seedArgs(seeds []Seed) [][]any {
	args := make([][]any, len(seeds))
	for i, s := range seeds {
		args[i] = []any{s.Bytes}
	}
	return args
}

// quote shows a stream in a failure: its first 256 bytes at most (go test
// keeps the whole input in testdata/fuzz).
func quote(stream []byte) string {
	if len(stream) > 256 {
		return strconv.Quote(string(stream[:256])) + "…"
	}
	return strconv.Quote(string(stream))
}

// seedName says which seed stream is, for a failure: go test names seeds
// by number only.
func seedName(stream []byte, seeds func() []Seed) string {
	for _, s := range seeds() {
		if string(s.Bytes) == string(stream) {
			return " (seed " + s.Name + ")"
		}
	}
	return ""
}

// CheckReplies decodes a reply stream with decode and with package wire,
// and returns the first difference, or nil. Where the reference decodes the
// stream to trips and the end marker, decode must return the same trips,
// value by value, and no error. Where the reference finds a fault (the
// first one in the stream), decode must return an error of the same Class;
// the trips it returns with an error are not compared. decode is given a
// copy of stream, and may keep it.
func CheckReplies(p wire.Profile, stream []byte, decode func(stream []byte) ([]wire.Trip, error), opts ...Option) *Mismatch {
	c := newConfig(opts)
	return c.checkReplies(p, stream, decode)
}

// CheckRequests is CheckReplies for a request stream.
func CheckRequests(p wire.Profile, stream []byte, decode func(stream []byte) ([]wire.Request, error), opts ...Option) *Mismatch {
	c := newConfig(opts)
	return c.checkRequests(p, stream, decode)
}

// block is where a message's block lies in the stream.
type block struct {
	off     int64 // its size field
	payload int64 // its payload
	n       int   // its payload's length
}

// reference is what package wire decodes from a stream.
type reference struct {
	blocks []block // each message's block
	end    int64   // the offset of the end marker, or of the stream's end
	err    error   // the first fault, nil for a clean stream
}

// decodeReference decodes stream with wire's Decoder and calls each for
// every message of the given kind, in order.
func (c *config) decodeReference(p wire.Profile, dir wire.Direction, stream []byte, each func(m *wire.Message)) reference {
	var ref reference
	d := wire.NewDecoder(p, dir)
	d.Feed(stream)
	var m wire.Message
	for {
		err := d.Next(&m)
		if err == wire.ErrNeedMore {
			if !d.Ended() {
				ref.end = int64(len(stream))
			}
			ref.err = d.Close()
			return ref
		}
		if err != nil {
			if c.stopAtEnd && d.Ended() && errors.Is(err, wire.ErrAfterEnd) {
				return ref
			}
			ref.end = d.Offset()
			ref.err = err
			return ref
		}
		if m.Kind == wire.KindEnd {
			ref.end = m.Offset
			if c.stopAtEnd {
				return ref
			}
			continue
		}
		ref.blocks = append(ref.blocks, block{m.Offset, m.Offset + int64(len(m.Bytes)-len(m.Payload())), len(m.Payload())})
		each(&m)
	}
}

func (c *config) checkReplies(p wire.Profile, stream []byte, decode func([]byte) ([]wire.Trip, error)) *Mismatch {
	var want []wire.Trip
	ref := c.decodeReference(p, wire.Replies, stream, func(m *wire.Message) {
		want = append(want, m.Trip.Clone())
	})
	got, err := decode(bytes.Clone(stream))
	if mm := c.compareErrors(ref, err, func() string { return plural.Count(len(got), "trip", "trips") }); mm != nil || ref.err != nil {
		return mm
	}
	for i := range max(len(want), len(got)) {
		path := "trip[" + strconv.Itoa(i) + "]"
		switch {
		case i >= len(got):
			return &Mismatch{Field: path, Offset: ref.blocks[i].off, Want: want[i].String(), Got: "no trip (" + plural.Count(len(got), "trip", "trips") + ")"}
		case i >= len(want):
			return &Mismatch{Field: path, Offset: ref.end, Want: "the end marker (" + plural.Count(len(want), "trip", "trips") + ")", Got: got[i].String()}
		}
		if f, w, g := tripDiff(&want[i], &got[i]); f != "" {
			return &Mismatch{Field: path + "." + f, Offset: fieldOffset(p, wire.KindTrip, stream, ref.blocks[i], f), Want: w, Got: g}
		}
	}
	return nil
}

func (c *config) checkRequests(p wire.Profile, stream []byte, decode func([]byte) ([]wire.Request, error)) *Mismatch {
	var want []wire.Request
	ref := c.decodeReference(p, wire.Requests, stream, func(m *wire.Message) {
		want = append(want, m.Request.Clone())
	})
	got, err := decode(bytes.Clone(stream))
	if mm := c.compareErrors(ref, err, func() string { return plural.Count(len(got), "request", "requests") }); mm != nil || ref.err != nil {
		return mm
	}
	for i := range max(len(want), len(got)) {
		path := "request[" + strconv.Itoa(i) + "]"
		switch {
		case i >= len(got):
			return &Mismatch{Field: path, Offset: ref.blocks[i].off, Want: want[i].String(), Got: "no request (" + plural.Count(len(got), "request", "requests") + ")"}
		case i >= len(want):
			return &Mismatch{Field: path, Offset: ref.end, Want: "the end of the stream (" + plural.Count(len(want), "request", "requests") + ")", Got: got[i].String()}
		}
		if f, w, g := requestDiff(&want[i], &got[i]); f != "" {
			return &Mismatch{Field: path + "." + f, Offset: fieldOffset(p, wire.KindRequest, stream, ref.blocks[i], f), Want: w, Got: g}
		}
	}
	return nil
}

// compareErrors compares the decoder's error with the reference's fault.
// It returns nil where they agree (both nil included).
func (c *config) compareErrors(ref reference, err error, values func() string) *Mismatch {
	if ref.err == nil {
		if err == nil {
			return nil
		}
		mm := &Mismatch{Field: "stream", Offset: -1, Want: "no error", Got: "an error, " + c.classify(err).String() + " (" + err.Error() + ")"}
		var de *wire.DecodeError
		if errors.As(err, &de) {
			mm.Field, mm.Offset = de.Field, de.Offset
		}
		return mm
	}
	want := ClassOf(ref.err)
	mm := &Mismatch{Field: "stream", Offset: ref.end, Want: "an error, " + want.String() + " (" + ref.err.Error() + ")"}
	var de *wire.DecodeError
	if errors.As(ref.err, &de) {
		if de.Field != "" {
			mm.Field = de.Field
		}
		mm.Offset = de.Offset
	}
	switch {
	case err == nil:
		mm.Got = "no error (" + values() + ")"
		return mm
	case c.anyError:
		return nil
	}
	if got := c.classify(err); got != want {
		mm.Got = "an error, " + got.String() + " (" + err.Error() + ")"
		return mm
	}
	return nil
}

// tripDiff returns the first field where a and b differ, and each value.
func tripDiff(want, got *wire.Trip) (field, w, g string) {
	switch {
	case !sameDate(want.Date, got.Date):
		return "date", dateString(want.Date), dateString(got.Date)
	case want.Departure.Wire() != got.Departure.Wire():
		return "departure", want.Departure.String(), got.Departure.String()
	case want.Duration != got.Duration:
		return "duration", strconv.Itoa(int(want.Duration)), strconv.Itoa(int(got.Duration))
	case want.Changes != got.Changes:
		return "changes", strconv.Itoa(int(want.Changes)), strconv.Itoa(int(got.Changes))
	case !want.TrainType.Equal(got.TrainType):
		return "trainType", want.TrainType.Quote(), got.TrainType.Quote()
	}
	return "", "", ""
}

// requestDiff returns the first field where a and b differ, and each value.
func requestDiff(want, got *wire.Request) (field, w, g string) {
	switch {
	case want.Type != got.Type:
		return "type", byteString(want.Type), byteString(got.Type)
	case !want.From.Equal(got.From):
		return "from", want.From.Quote(), got.From.Quote()
	case !want.To.Equal(got.To):
		return "to", want.To.Quote(), got.To.Quote()
	case !sameDate(want.Date, got.Date):
		return "date", dateString(want.Date), dateString(got.Date)
	case want.Time.Wire() != got.Time.Wire():
		return "time", want.Time.String(), got.Time.String()
	case want.Flag != got.Flag:
		return "flag", byteString(want.Flag), byteString(got.Flag)
	}
	return "", "", ""
}

func sameDate(a, b wire.Date) bool { return a.IsNull() == b.IsNull() && a.JD() == b.JD() }

func dateString(d wire.Date) string {
	if d.IsNull() {
		return d.String()
	}
	return fmt.Sprintf("%v (jd %d)", d, d.JD())
}

func byteString(b byte) string {
	return strconv.QuoteRune(rune(b)) + " (0x" + strconv.FormatUint(uint64(b), 16) + ")"
}

// fieldOffset is the stream offset of field in block b.
func fieldOffset(p wire.Profile, k wire.Kind, stream []byte, b block, field string) int64 {
	for _, s := range p.Spans(k, stream[b.payload:b.payload+int64(b.n)]) {
		if s.Field == field {
			return b.payload + int64(s.Start)
		}
	}
	return b.off
}
