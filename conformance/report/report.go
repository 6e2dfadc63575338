// Package report writes conformance reports: for people on a terminal
// ([Text]), and for machines ([JSON], [JUnit]).
//
// The writers only format values: they run nothing, exit nothing, and write
// only to the io.Writer they are given. None of them modifies the report it
// is given; each works on a copy whose Summary is recomputed with
// [conformance.Report.Tally].
package report

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tripcheck/tripcheck/conformance"
)

// errNilReport is returned by every writer given a nil report.
var errNilReport = errors.New("report: nil report")

// tallied returns a shallow copy of r with its Summary recomputed, so that
// writers never modify the caller's report.
func tallied(r *conformance.Report) (*conformance.Report, error) {
	if r == nil {
		return nil, errNilReport
	}
	c := *r
	c.Tally()
	return &c, nil
}

// areaOf is the area of a result: its Area, or the part of its ID before
// the first slash when Area is empty.
func areaOf(res conformance.Result) string {
	if res.Area != "" {
		return res.Area
	}
	area, _, _ := strings.Cut(res.ID, "/")
	return area
}

// area is the results of one area, in report order.
type area struct {
	name    string
	results []conformance.Result
}

// byArea groups results by area. Areas come in the order of their first
// result; within an area the results keep their order.
func byArea(results []conformance.Result) []area {
	var areas []area
	index := map[string]int{}
	for _, res := range results {
		name := areaOf(res)
		i, ok := index[name]
		if !ok {
			i = len(areas)
			index[name] = i
			areas = append(areas, area{name: name})
		}
		areas[i].results = append(areas[i].results, res)
	}
	return areas
}

// formatDuration rounds d to 10ms and writes it as "850ms" under a second
// and as seconds ("1.31s", "2s", "75.4s") from a second up, never with
// minutes, so the summary line stays easy to parse (time.ParseDuration
// reads every form).
func formatDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	d = d.Round(10 * time.Millisecond)
	if d < time.Second {
		return strconv.FormatInt(d.Milliseconds(), 10) + "ms"
	}
	// Whole centiseconds, written without a float: 1.59s, not
	// 1.5899999999999999s.
	cs := int64(d / (10 * time.Millisecond))
	out := strconv.FormatInt(cs/100, 10)
	if frac := cs % 100; frac != 0 {
		out += "." + strings.TrimSuffix(strconv.FormatInt(100+frac, 10)[1:], "0")
	}
	return out + "s"
}

// seconds writes d in seconds with millisecond precision, as JUnit wants.
func seconds(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64)
}

// milliseconds is d in milliseconds, to the microsecond.
func milliseconds(d time.Duration) float64 {
	return float64(d.Microseconds()) / 1000
}

// escapeText makes s safe to show: every rune for which keep is false is
// written as \u00XX (\uXXXX, or \U00XXXXXX above the BMP), and every byte
// that is not valid UTF-8 as \xNN. Peers control much of what a report
// shows (messages and logs quote what they sent), so nothing from them may
// reach a terminal as an escape sequence or an XML file as a forbidden
// character.
func escapeText(s string, keep func(rune) bool) string {
	clean := true
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		if (r == utf8.RuneError && n == 1) || !keep(r) {
			clean = false
			break
		}
		i += n
	}
	if clean {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02X`, s[i])
		case keep(r):
			b.WriteString(s[i : i+n])
		case r > 0xFFFF:
			fmt.Fprintf(&b, `\U%08X`, r)
		default:
			fmt.Fprintf(&b, `\u%04X`, r)
		}
		i += n
	}
	return b.String()
}
