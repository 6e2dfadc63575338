package conformance

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/tripcheck/tripcheck/wire"
)

// Locate names the field at stream offset off of a block stream in profile
// p, the way a person reads it: "trip[2].trainType[3]", "request[0].flag",
// "trip[1].size", "end", "after end". It frames the stream by its own size
// fields, so it also names bytes of a corrupt stream.
func Locate(stream []byte, p wire.Profile, dir wire.Direction, off int) string {
	if off < 0 {
		return ""
	}
	kind := wire.KindTrip
	if dir == wire.Requests {
		kind = wire.KindRequest
	}
	idx := 0
	for pos := 0; pos < len(stream) || pos <= off; {
		if off < pos {
			break
		}
		size, ok := wire.Announced(stream[min(pos, len(stream)):])
		if !ok {
			// The size field itself is cut short.
			return fmt.Sprintf("%s[%d].size", kind, idx)
		}
		if size == wire.EndMarker && dir == wire.Replies {
			if off < pos+2 {
				return "end"
			}
			return "after end"
		}
		end := pos + 2 + size
		if off < end {
			if off < pos+2 {
				return fmt.Sprintf("%s[%d].size", kind, idx)
			}
			payload := stream[pos+2 : min(end, len(stream))]
			f := p.FieldAt(kind, payload, off-pos-2)
			if f == "" {
				f = "past the received bytes"
			}
			return fmt.Sprintf("%s[%d].%s", kind, idx, f)
		}
		pos = end
		idx++
	}
	return ""
}

// FirstDiff is the first offset where a and b differ, or -1 if they are
// equal. A shorter stream differs at its end.
func FirstDiff(a, b []byte) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return n
	}
	return -1
}

// HexWindow shows the bytes of b around offset off, 16 to a row, the row of
// off marked with '>' and the byte itself with '^' below it.
func HexWindow(b []byte, off int) string {
	var sb strings.Builder
	if len(b) == 0 {
		return "        (no bytes)\n"
	}
	start := max(0, (off/16-1)*16)
	end := min(len(b), (off/16+2)*16)
	if off >= len(b) {
		start = max(0, (len(b)-1)/16*16-16)
		end = len(b)
	}
	for row := start; row < end; row += 16 {
		mark := " "
		if off >= row && off < row+16 {
			mark = ">"
		}
		fmt.Fprintf(&sb, "      %s %04x:", mark, row)
		var ascii strings.Builder
		for i := row; i < row+16; i++ {
			if i < len(b) {
				fmt.Fprintf(&sb, " %02x", b[i])
				c := b[i]
				if c < 0x20 || c > 0x7e {
					c = '.'
				}
				ascii.WriteByte(c)
			} else {
				sb.WriteString("   ")
			}
		}
		sb.WriteString("  " + ascii.String() + "\n")
		if mark == ">" {
			sb.WriteString(strings.Repeat(" ", 14+3*(off-row)) + "^^\n")
		}
	}
	if off >= len(b) {
		fmt.Fprintf(&sb, "        (the stream ends at %d; offset %d is past it)\n", len(b), off)
	}
	return sb.String()
}

// Mismatch explains where a stream differs from the one expected.
type Mismatch struct {
	Offset   int
	Field    string
	Expected []byte // the expected stream
	Actual   []byte // the actual stream
}

func (m *Mismatch) Error() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "differs at byte %d (%s): expected %s, got %s\n", m.Offset, m.Field, byteAt(m.Expected, m.Offset), byteAt(m.Actual, m.Offset))
	sb.WriteString("    expected:\n" + HexWindow(m.Expected, m.Offset))
	sb.WriteString("    actual:\n" + HexWindow(m.Actual, m.Offset))
	return strings.TrimRight(sb.String(), "\n")
}

func byteAt(b []byte, off int) string {
	if off >= len(b) {
		return "end of stream (" + strconv.Itoa(len(b)) + " bytes)"
	}
	return fmt.Sprintf("%02x", b[off])
}

// Compare returns nil if actual equals expected, else a *Mismatch naming
// the first differing field of the expected stream's layout.
func Compare(expected, actual []byte, p wire.Profile, dir wire.Direction) error {
	off := FirstDiff(expected, actual)
	if off < 0 {
		return nil
	}
	field := Locate(expected, p, dir, off)
	if off >= len(expected) {
		field = Locate(actual, p, dir, off) + ", past the expected end"
	}
	return &Mismatch{Offset: off, Field: field, Expected: expected, Actual: actual}
}
