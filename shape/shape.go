// Package shape makes byte streams misbehave on purpose: it is the one place in
// tripcheck that knows how to cut, hold, delay, truncate and end a stream on a
// socket. The reference fake server uses it to misbehave towards clients, the
// conformance suites to send requests fragmented, coalesced or truncated, and
// the fault-injecting proxy to do both.
//
// A [Shape] is a plain value that says how a stream goes on the wire:
//
//   - the cut: whole (each Write as written), every n bytes, at chosen offsets
//     from the start of the stream, or at sizes drawn from an explicit seed;
//   - coalescing: writes are held and sent as one;
//   - a delay between pieces;
//   - truncation after n bytes;
//   - and how the stream ends (Then): close, half-close, reset, or keep open.
//
// [Shape.Pieces] and [Shape.Cut] compute the cut without any I/O, so tests and
// reports can predict and print it. [NewWriter] applies a Shape to any
// io.Writer, across successive Write calls; [NewConn] does the same to the
// writes of a net.Conn. [HalfClose] and [Reset] end a connection with a FIN on
// its write side or with an RST.
//
// # Shape strings
//
// [Shape.String] and [Parse] share one grammar, so a shape can travel in a
// scenario ID or a command-line flag and come back unchanged. A shape is one
// or more parts joined by "+". A part that takes a value separates it from its
// name with "-" (as String writes it, fit for IDs) or "=" (easier to read on a
// command line):
//
//	whole                          no cut: each Write goes out as written (the default)
//	bytes-N           every=N      cut every N bytes, N ≥ 1
//	split-at-A,B,...  at=A,B,...   cut at these offsets from the start of the stream
//	                               (increasing, ≥ 1; offsets the stream never reaches are ignored)
//	random-seed-S     random=S     cut into sizes drawn from the int64 seed S, each in
//	                               DefaultRandomMin … DefaultRandomMax bytes;
//	random-seed-S:MIN-MAX          … or in MIN … MAX bytes (1 ≤ MIN ≤ MAX)
//	coalesced         coalesce     hold writes; send them on Flush or Close
//	coalesce-bytes-N               coalesce, and send as soon as N bytes are held
//	coalesce-writes-N              coalesce, and send as soon as N writes are held
//	delay-D                        wait at least D between pieces (time.ParseDuration: 5ms, 1s)
//	truncate-N                     keep the first N bytes, N ≥ 0, and end the stream there
//	then-E                         end the stream with E: close (the default), half-close,
//	                               reset or keep-open
//
// A shape has at most one cut (whole, bytes, split-at or random-seed) and
// names each part once. String writes the parts in the order above and leaves
// out defaults: the zero Shape is "whole". Examples: "bytes-1",
// "split-at-2,5", "random-seed-42", "random-seed--7:1-4", "bytes-3+coalesced",
// "truncate-10+then-half-close", and on a command line "random=42+delay=5ms".
//
// # On the wire
//
// Each piece is one Write on the underlying writer. On a TCP connection (any
// writer with a SetNoDelay(bool) error method, such as *net.TCPConn) the
// Writer turns TCP_NODELAY on and leaves a short pause ([DefaultPause], see
// [WithPause]) between pieces, so that the kernel does not coalesce them again
// and the peer sees them as separate reads, as long as it is reading. Other
// writers (bytes.Buffer, net.Pipe) get no pause unless the shape sets a Delay.
// Every piece written to a writer with a SetWriteDeadline method (any
// net.Conn) has a write deadline ([DefaultWriteTimeout], see
// [WithWriteTimeout]): a peer that stops reading fails the write, it never
// hangs it.
//
// Random sizes come from SplitMix64 (package internal/splitmix), not taken
// from math/rand, so that a seed printed by one run replays the same pieces on
// any Go version and in any language: the state starts as the Seed's 64 bits,
// and each piece is MIN + next() mod (MAX-MIN+1) bytes long.
package shape

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/internal/splitmix"
)

// Defaults for random cuts.
const (
	DefaultRandomMin = 1  // smallest random piece, in bytes
	DefaultRandomMax = 16 // largest random piece, in bytes
)

// Errors reported by a Writer, a Conn and the helpers. ParamError reports bad
// parameters; it matches ErrInvalid.
var (
	// ErrInvalid is matched (errors.Is) by every *ParamError.
	ErrInvalid = errors.New("shape: invalid shape")
	// ErrTruncated is returned by the Write that reaches a Shape's
	// TruncateAfter with bytes left over (they are discarded) and by every
	// later Write.
	ErrTruncated = errors.New("shape: stream truncated")
	// ErrClosed is returned by writes after Close (or CloseWrite), and by a
	// Write that Close interrupted. It matches net.ErrClosed.
	ErrClosed = fmt.Errorf("shape: %w", net.ErrClosed)
	// ErrUnsupported is returned when a writer cannot half-close (it has no
	// CloseWrite) or cannot reset (it has no SetLinger). It matches
	// errors.ErrUnsupported.
	ErrUnsupported = fmt.Errorf("shape: %w", errors.ErrUnsupported)
)

// A ParamError reports a shape parameter that is out of range, contradicts
// another one, or cannot be parsed. It matches ErrInvalid.
type ParamError struct {
	Param  string // the parameter, named as in shape strings: "bytes", "split-at", "truncate", ...
	Value  string // the value given
	Reason string // what is wrong with it
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("shape: %s %q: %s", e.Param, e.Value, e.Reason)
}

// Unwrap returns ErrInvalid.
func (e *ParamError) Unwrap() error { return ErrInvalid }

func paramError(param, value, reason string) error {
	return &ParamError{Param: param, Value: value, Reason: reason}
}

// Then says how a stream ends: when a truncated stream reaches its limit, and
// when its Writer is closed.
type Then int

const (
	// ThenClose closes the underlying writer if it is an io.Closer: a FIN
	// on a TCP connection. It is the zero value.
	ThenClose Then = iota
	// ThenHalfClose shuts the write side only (CloseWrite): the peer reads
	// EOF, and the connection can still read the peer's reply.
	ThenHalfClose
	// ThenReset closes with an RST (SetLinger(0), then Close): the peer's
	// next read fails with ECONNRESET.
	ThenReset
	// ThenKeepOpen does nothing: the connection stays open, and a peer
	// waiting for the bytes a truncation discarded waits for ever (a stall).
	ThenKeepOpen
)

// String returns the name used in shape strings: "close", "half-close",
// "reset" or "keep-open".
func (t Then) String() string {
	switch t {
	case ThenClose:
		return "close"
	case ThenHalfClose:
		return "half-close"
	case ThenReset:
		return "reset"
	case ThenKeepOpen:
		return "keep-open"
	}
	return "then(" + strconv.Itoa(int(t)) + ")"
}

func parseThen(s string) (Then, bool) {
	for t := ThenClose; t <= ThenKeepOpen; t++ {
		if s == t.String() {
			return t, true
		}
	}
	return 0, false
}

// A Shape says how a byte stream goes on the wire. The zero Shape sends every
// Write whole and, when its Writer is closed, closes the underlying writer.
// Offsets count from the start of the stream, across Write calls. Validate
// reports a Shape that makes no sense; NewWriter, Pieces and Cut refuse one.
type Shape struct {
	// Every cuts the stream every Every bytes (bytes-N). 0: no such cut.
	Every int

	// At cuts the stream at these offsets (split-at-A,B): increasing, each
	// at least 1. Offsets the stream never reaches are ignored.
	At []int

	// Random cuts the stream into pieces whose sizes are drawn from Seed
	// (random-seed-S): the same Seed gives the same pieces. Each size is in
	// RandomMin … RandomMax; both 0 mean DefaultRandomMin …
	// DefaultRandomMax. The last piece of a stream may be smaller.
	Random               bool
	Seed                 int64
	RandomMin, RandomMax int

	// Coalesce holds writes and sends them together (coalesced) on Flush
	// or Close, or as soon as CoalesceBytes bytes or CoalesceWrites writes
	// are held (when those are above 0). Held bytes are cut like any
	// others. Without a limit the held bytes grow without bound.
	Coalesce       bool
	CoalesceBytes  int
	CoalesceWrites int

	// Delay is the least time between two pieces (delay-D).
	Delay time.Duration

	// Truncate keeps only the first TruncateAfter bytes of the stream
	// (truncate-N): once they are written the stream ends as Then says,
	// and later bytes are discarded with ErrTruncated.
	Truncate      bool
	TruncateAfter int

	// Then says how the stream ends: at the truncation point, or when the
	// Writer is closed.
	Then Then
}

// Validate reports, as a *ParamError, a Shape whose parameters are out of
// range or contradict each other.
func (s Shape) Validate() error {
	cuts := 0
	if s.Every < 0 {
		return paramError("bytes", strconv.Itoa(s.Every), "must be at least 1")
	}
	if s.Every > 0 {
		cuts++
	}
	if len(s.At) > 0 {
		cuts++
		prev := 0
		for _, at := range s.At {
			if at <= prev {
				return paramError("split-at", joinInts(s.At), "offsets must be at least 1 and increase")
			}
			prev = at
		}
	}
	if s.Random {
		cuts++
		if s.RandomMin != 0 || s.RandomMax != 0 {
			if s.RandomMin < 1 || s.RandomMax < s.RandomMin {
				return paramError("random-seed", s.randomString(), "sizes need 1 ≤ min ≤ max")
			}
		}
	} else if s.Seed != 0 || s.RandomMin != 0 || s.RandomMax != 0 {
		return paramError("random-seed", s.randomString(), "seed or sizes given without Random")
	}
	if cuts > 1 {
		return paramError("cut", s.String(), "more than one way to cut")
	}
	if s.CoalesceBytes < 0 {
		return paramError("coalesce-bytes", strconv.Itoa(s.CoalesceBytes), "must be at least 1")
	}
	if s.CoalesceWrites < 0 {
		return paramError("coalesce-writes", strconv.Itoa(s.CoalesceWrites), "must be at least 1")
	}
	if !s.Coalesce && (s.CoalesceBytes > 0 || s.CoalesceWrites > 0) {
		return paramError("coalesce", s.String(), "limits given without Coalesce")
	}
	if s.Delay < 0 {
		return paramError("delay", s.Delay.String(), "must not be negative")
	}
	if s.Truncate && s.TruncateAfter < 0 {
		return paramError("truncate", strconv.Itoa(s.TruncateAfter), "must not be negative")
	}
	if !s.Truncate && s.TruncateAfter != 0 {
		return paramError("truncate", strconv.Itoa(s.TruncateAfter), "given without Truncate")
	}
	if s.Then < ThenClose || s.Then > ThenKeepOpen {
		return paramError("then", s.Then.String(), "unknown ending")
	}
	return nil
}

// randomBounds returns the sizes of random pieces, defaults applied.
func (s Shape) randomBounds() (lo, hi int) {
	if s.RandomMin == 0 && s.RandomMax == 0 {
		return DefaultRandomMin, DefaultRandomMax
	}
	return s.RandomMin, s.RandomMax
}

func (s Shape) randomString() string {
	v := strconv.FormatInt(s.Seed, 10)
	lo, hi := s.randomBounds()
	if lo != DefaultRandomMin || hi != DefaultRandomMax {
		v += ":" + strconv.Itoa(lo) + "-" + strconv.Itoa(hi)
	}
	return v
}

// String returns the shape's short, stable name, in the grammar of the
// package doc: "whole", "bytes-1", "split-at-2,5", "random-seed-42",
// "coalesced", "truncate-10+then-reset". Parse reads it back. An invalid
// Shape still gets a name, which Parse refuses.
func (s Shape) String() string {
	var parts []string
	if s.Every != 0 {
		parts = append(parts, "bytes-"+strconv.Itoa(s.Every))
	}
	if len(s.At) > 0 {
		parts = append(parts, "split-at-"+joinInts(s.At))
	}
	if s.Random {
		parts = append(parts, "random-seed-"+s.randomString())
	}
	if s.Coalesce && s.CoalesceBytes == 0 && s.CoalesceWrites == 0 {
		parts = append(parts, "coalesced")
	}
	if s.CoalesceBytes != 0 {
		parts = append(parts, "coalesce-bytes-"+strconv.Itoa(s.CoalesceBytes))
	}
	if s.CoalesceWrites != 0 {
		parts = append(parts, "coalesce-writes-"+strconv.Itoa(s.CoalesceWrites))
	}
	if s.Delay != 0 {
		parts = append(parts, "delay-"+s.Delay.String())
	}
	if s.Truncate {
		parts = append(parts, "truncate-"+strconv.Itoa(s.TruncateAfter))
	}
	if s.Then != ThenClose {
		parts = append(parts, "then-"+s.Then.String())
	}
	if len(parts) == 0 {
		return "whole"
	}
	return strings.Join(parts, "+")
}

func joinInts(v []int) string {
	var b strings.Builder
	for i, n := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(n))
	}
	return b.String()
}

// Parse reads a shape string in the grammar of the package doc ("bytes-1",
// "split-at=2,5", "random=42:1-4+delay=5ms", "truncate-10+then-reset") and
// returns the valid Shape it names, or a *ParamError. Spaces around parts
// are ignored. Parse(s.String())
// gives back s for every valid s, up to defaults written out (RandomMin and
// RandomMax equal to the defaults come back as 0).
func Parse(text string) (Shape, error) {
	var s Shape
	text = strings.TrimSpace(text)
	if text == "" {
		return Shape{}, paramError("shape", text, "empty")
	}
	seen := make(map[string]bool)
	cut := ""
	for _, part := range strings.Split(text, "+") {
		name, value, err := splitPart(strings.TrimSpace(part))
		if err != nil {
			return Shape{}, err
		}
		if seen[name] {
			return Shape{}, paramError(name, part, "given twice")
		}
		seen[name] = true
		switch name {
		case "whole", "bytes", "split-at", "random-seed":
			if cut != "" {
				return Shape{}, paramError(name, part, "a second cut after "+cut)
			}
			cut = name
		}
		switch name {
		case "whole":
		case "bytes":
			if s.Every, err = parseCount(name, value, 1); err != nil {
				return Shape{}, err
			}
		case "split-at":
			for _, f := range strings.Split(value, ",") {
				at, err := parseCount(name, f, 1)
				if err != nil {
					return Shape{}, err
				}
				s.At = append(s.At, at)
			}
		case "random-seed":
			if err := s.parseRandom(value); err != nil {
				return Shape{}, err
			}
		case "coalesced":
			s.Coalesce = true
		case "coalesce-bytes":
			s.Coalesce = true
			if s.CoalesceBytes, err = parseCount(name, value, 1); err != nil {
				return Shape{}, err
			}
		case "coalesce-writes":
			s.Coalesce = true
			if s.CoalesceWrites, err = parseCount(name, value, 1); err != nil {
				return Shape{}, err
			}
		case "delay":
			d, err := time.ParseDuration(value)
			if err != nil || d <= 0 {
				return Shape{}, paramError(name, value, "want a positive duration such as 5ms")
			}
			s.Delay = d
		case "truncate":
			s.Truncate = true
			if s.TruncateAfter, err = parseCount(name, value, 0); err != nil {
				return Shape{}, err
			}
		case "then":
			t, ok := parseThen(value)
			if !ok {
				return Shape{}, paramError(name, value, "want close, half-close, reset or keep-open")
			}
			s.Then = t
		}
	}
	if err := s.Validate(); err != nil {
		return Shape{}, err
	}
	return s, nil
}

// splitPart splits one part of a shape string into its canonical name and its
// value.
func splitPart(part string) (name, value string, err error) {
	// Names that take a value, each with its aliases. A name that is a
	// prefix of another ("random" of "random-seed") comes after it.
	valued := [...][]string{
		{"bytes", "every"},
		{"split-at", "at"},
		{"random-seed", "random"},
		{"coalesce-bytes"},
		{"coalesce-writes"},
		{"delay"},
		{"truncate"},
		{"then"},
	}
	switch part {
	case "whole":
		return "whole", "", nil
	case "coalesced", "coalesce":
		return "coalesced", "", nil
	}
	for _, names := range valued {
		for _, n := range names {
			rest, ok := strings.CutPrefix(part, n)
			if !ok || rest == "" || (rest[0] != '-' && rest[0] != '=') {
				continue
			}
			if rest[1:] == "" {
				return "", "", paramError(names[0], part, "no value")
			}
			return names[0], rest[1:], nil
		}
	}
	return "", "", paramError("shape", part, "unknown part")
}

// parseCount parses a decimal int of at least least.
func parseCount(name, value string, least int) (int, error) {
	n, err := strconv.Atoi(value)
	if err != nil || n < least {
		return 0, paramError(name, value, "want a whole number ≥ "+strconv.Itoa(least))
	}
	return n, nil
}

// parseRandom parses SEED[:MIN-MAX] into s.
func (s *Shape) parseRandom(value string) error {
	seed, sizes, hasSizes := strings.Cut(value, ":")
	n, err := strconv.ParseInt(seed, 10, 64)
	if err != nil {
		return paramError("random-seed", value, "want an int64 seed, then optionally :MIN-MAX")
	}
	s.Random, s.Seed = true, n
	if !hasSizes {
		return nil
	}
	lo, hi, ok := strings.Cut(sizes, "-")
	if !ok {
		return paramError("random-seed", value, "want sizes as :MIN-MAX")
	}
	if s.RandomMin, err = parseCount("random-seed", lo, 1); err != nil {
		return err
	}
	if s.RandomMax, err = parseCount("random-seed", hi, 1); err != nil {
		return err
	}
	return nil
}

// Pieces returns the sizes of the pieces in which a stream of total bytes,
// given to a Writer in one Write (or held by Coalesce and flushed at once),
// goes on the wire. They sum to total, or to TruncateAfter if that is
// smaller; a stream of 0 bytes has no pieces. Pieces does no I/O and is
// deterministic: it is what a Writer does, and what a test or a report can
// print. A Writer given the same bytes in several Writes also cuts at their
// boundaries (see Writer).
func (s Shape) Pieces(total int) ([]int, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if total < 0 {
		return nil, paramError("total", strconv.Itoa(total), "must not be negative")
	}
	if s.Truncate && total > s.TruncateAfter {
		total = s.TruncateAfter
	}
	c := newCutter(s)
	var pieces []int
	for off := 0; off < total; {
		end := total
		if cut := c.after(int64(off)); cut >= 0 && cut < int64(total) {
			end = int(cut)
		}
		pieces = append(pieces, end-off)
		off = end
	}
	return pieces, nil
}

// Cut returns b cut as Pieces(len(b)) says: the pieces share b's memory, and
// truncated bytes are left out.
func (s Shape) Cut(b []byte) ([][]byte, error) {
	sizes, err := s.Pieces(len(b))
	if err != nil {
		return nil, err
	}
	pieces := make([][]byte, len(sizes))
	off := 0
	for i, n := range sizes {
		pieces[i] = b[off : off+n : off+n]
		off += n
	}
	return pieces, nil
}

// A cutter yields the cut points of a valid shape, in stream order.
type cutter struct {
	every  int64
	at     []int
	i      int // the first element of at not yet passed
	random bool
	rng    splitmix.Source
	lo, hi int64
	next   int64 // the next random cut point; 0 before the first draw
}

func newCutter(s Shape) cutter {
	c := cutter{every: int64(s.Every), at: s.At, random: s.Random}
	if s.Random {
		lo, hi := s.randomBounds()
		c.rng = splitmix.Source(s.Seed)
		c.lo, c.hi = int64(lo), int64(hi)
	}
	return c
}

// after returns the first cut point strictly after stream offset off, or -1
// when the stream is not cut again. Calls must not go back: off never
// decreases from one call to the next.
func (c *cutter) after(off int64) int64 {
	switch {
	case c.every > 0:
		return (off/c.every + 1) * c.every
	case c.random:
		for c.next <= off {
			c.next += c.lo + int64(c.rng.Next()%uint64(c.hi-c.lo+1))
		}
		return c.next
	}
	for c.i < len(c.at) && int64(c.at[c.i]) <= off {
		c.i++
	}
	if c.i < len(c.at) {
		return int64(c.at[c.i])
	}
	return -1
}
