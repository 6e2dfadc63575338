package report

import (
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/capture"
	"github.com/tripcheck/tripcheck/wire"
)

// This file turns a wire trace into the rows of a wire diagram: each event
// an arrow between the two lanes at its time, its bytes split into blocks
// and fields (named by package wire), and the first divergence marked.

// Lanes say who is on each side of a diagram and which side sends the
// requests.
type Lanes struct {
	Left, Right string
	// RequestsTo is the direction of the requests: conformance.ToPeer when
	// the left lane is the client.
	RequestsTo conformance.Dir
}

// lanesFor returns the lanes of a suite's diagrams.
func lanesFor(suite string) Lanes {
	switch suite {
	case conformance.SuiteClient:
		return Lanes{Left: "tripcheck (as the server)", Right: "client under test", RequestsTo: conformance.FromPeer}
	case capture.SuitePcap:
		return Lanes{Left: "client", Right: "server", RequestsTo: conformance.ToPeer}
	case capture.SuiteReplay:
		return Lanes{Left: "tripcheck (replaying)", Right: "server under test", RequestsTo: conformance.ToPeer}
	}
	return Lanes{Left: "tripcheck", Right: "server under test", RequestsTo: conformance.ToPeer}
}

// wireDir is the protocol direction of the stream that goes dir.
func (l Lanes) wireDir(dir conformance.Dir) wire.Direction {
	if dir == l.RequestsTo {
		return wire.Requests
	}
	return wire.Replies
}

// The budget of one page: at most PageRows rows of diagrams and PageBytes
// bytes drawn in them, whatever the peers sent, so that a page stays a few
// megabytes even when every scenario's trace is full. Failures come first
// and get the budget first.
const (
	PageRows  = 4000
	PageBytes = 256 << 10
)

// budget is what is left of a page's budget.
type budget struct{ rows, bytes int }

func newBudget() *budget { return &budget{rows: PageRows, bytes: PageBytes} }

// drawSegments writes segments as HTML: a tag, then a span of hex per
// field run, its field as the title.
func drawSegments(segs []seg) template.HTML {
	var sb strings.Builder
	for _, s := range segs {
		if s.Tag != "" {
			sb.WriteString(`<span class="tag`)
			if s.Cont {
				sb.WriteString(` cont`)
			}
			sb.WriteString(`" title="`)
			sb.WriteString(template.HTMLEscapeString(s.TagTitle))
			sb.WriteString(`">`)
			sb.WriteString(template.HTMLEscapeString(s.Tag))
			sb.WriteString(`</span>`)
		}
		sb.WriteString(`<span class="`)
		sb.WriteString(s.Class)
		sb.WriteString(`" title="`)
		sb.WriteString(template.HTMLEscapeString(s.Title))
		sb.WriteString(`">`)
		sb.WriteString(s.Hex) // hex digits and spaces only
		sb.WriteString(`</span>`)
	}
	return template.HTML(sb.String())
}

// gapRow is the pause between two events from which a diagram shows it as
// a row of its own.
const gapRow = 100 * time.Millisecond

// diagram is a wire diagram ready for the template.
type diagram struct {
	Left, Right string
	Profile     string
	Rows        []row
	// Skipped says why the diagram is not drawn (the page's budget).
	Skipped string
	// Divergence is the first divergence, also marked in the rows; nil if
	// none was found.
	Divergence *divergence
}

// row is one event of a diagram, or a gap in time before one.
type row struct {
	Gap   string // a pause: "1.002 s" (then only Gap is set)
	Time  string
	Dir   string // "right" (left lane to right lane) or "left"
	Kind  string // a conformance.WireKind
	Conn  string
	Label string
	Bytes template.HTML // the segments, drawn
	More  string        // bytes not kept or not drawn
	Note  string
	// Div is set on the row after which the divergence is explained.
	Div *divergence
}

// seg is a run of bytes of one field, or a block's tag.
type seg struct {
	Tag      string // a block's name at its first byte: "trip[0]"
	Cont     bool   // the tag says which block an event's first byte continues
	TagTitle string
	Hex      string
	Class    string // the field's colour class
	Title    string // field path and offsets
	Div      bool   // the divergence byte
}

// divergence is where a stream from the peer first differs from the one
// expected.
type divergence struct {
	Conn     string
	Dir      conformance.Dir
	Offset   int64
	Field    string
	Expected string // hex, or words where the bytes are not known; "" unknown
	Actual   string
	Note     string
	// Where says which stream: "server under test → tripcheck on c".
	Where string
	shown bool
}

// label names the bytes [start, end) of a stream.
type label struct {
	start, end int64
	field      string // "trip[2].trainType"
	class      string
}

// tag names the block that starts at an offset.
type tag struct{ name, title string }

// annotated is one stream (one connection, one direction) with its labels.
type annotated struct {
	data   []byte // the kept bytes from offset 0, while contiguous
	whole  bool   // data is the whole stream: every byte kept
	labels []label
	tags   map[int64]tag
	fault  *wire.DecodeError
	ended  conformance.WireKind // how the sender ended it, if seen
}

type streamKey struct {
	conn string
	dir  conformance.Dir
}

var reIndex = regexp.MustCompile(`\[\d+\]$`)

// fieldClass is the colour class of a field name.
func fieldClass(field string) string {
	f := field
	if i := strings.LastIndexByte(f, '.'); i >= 0 {
		if f[i+1:] == "length" {
			return "f-len"
		}
		f = f[i+1:]
	}
	f = reIndex.ReplaceAllString(f, "")
	switch f {
	case "size":
		return "f-size"
	case "end":
		return "f-end"
	case "from", "to", "trainType":
		return "f-str"
	case "date", "time", "departure":
		return "f-time"
	case "duration", "changes":
		return "f-num"
	case "type", "flag":
		return "f-flag"
	case "trailing":
		return "f-bad"
	}
	return "f-none"
}

// annotate names the blocks and fields of b, one direction of a stream in
// profile p, with wire's decoder and spans.
func annotate(a *annotated, p wire.Profile, dir wire.Direction) {
	b := a.data
	a.tags = map[int64]tag{}
	d := wire.NewDecoder(p, dir)
	d.Feed(b)
	kind := wire.KindTrip
	if dir == wire.Requests {
		kind = wire.KindRequest
	}
	blocks := 0
	for {
		var m wire.Message
		err := d.Next(&m)
		if err == wire.ErrNeedMore {
			break
		}
		var de *wire.DecodeError
		if err != nil && m.Bytes == nil {
			// A framing fault: nothing after it frames.
			if errors.As(err, &de) {
				a.fault = de
				cls, name := "f-bad", "undecodable"
				if errors.Is(err, wire.ErrAfterEnd) {
					cls, name = "f-after", "after the end marker"
				}
				a.labels = append(a.labels, label{de.Offset, int64(len(b)), name, cls})
			}
			return
		}
		if err != nil && a.fault == nil && errors.As(err, &de) {
			a.fault = de
		}
		off := m.Offset
		if m.Kind == wire.KindEnd {
			a.labels = append(a.labels, label{off, off + 2, "end", "f-end"})
			a.tags[off] = tag{"end", "the end marker 0xFFFF"}
			continue
		}
		blocks++
		path := m.Path()
		title := fmt.Sprintf("%s, size %d", path, m.Size)
		switch {
		case err != nil:
			title += ": " + err.Error()
		case m.Kind == wire.KindTrip:
			title += ": " + m.Trip.String()
		case m.Kind == wire.KindRequest:
			title += ": " + m.Request.String()
		}
		a.tags[off] = tag{path, title}
		a.labels = append(a.labels, label{off, off + 2, path + ".size", "f-size"})
		a.spans(p, m.Kind, path, off+2, m.Payload())
	}
	// A block cut short by the end of what is known.
	rest := d.Offset()
	if rest >= int64(len(b)) {
		return
	}
	path := fmt.Sprintf("%s[%d]", kind, blocks)
	a.tags[rest] = tag{path + " (cut)", fmt.Sprintf("%s: %d bytes of it so far", path, int64(len(b))-rest)}
	cut := b[rest:]
	var prev label
	for i := range cut {
		f := conformance.Locate(cut, p, dir, i)
		f = strings.Replace(f, kind.String()+"[0]", path, 1)
		f = reIndex.ReplaceAllString(f, "")
		if f == prev.field && prev.end == rest+int64(i) {
			prev.end++
			a.labels[len(a.labels)-1] = prev
			continue
		}
		prev = label{rest + int64(i), rest + int64(i) + 1, f, fieldClass(f)}
		a.labels = append(a.labels, prev)
	}
}

// spans labels the fields of one payload at stream offset base.
func (a *annotated) spans(p wire.Profile, k wire.Kind, path string, base int64, payload []byte) {
	for _, s := range p.Spans(k, payload) {
		f := path + "." + s.Field
		if s.Data > s.Start {
			a.labels = append(a.labels, label{base + int64(s.Start), base + int64(s.Data), f + ".length", "f-len"})
			if s.End > s.Data {
				a.labels = append(a.labels, label{base + int64(s.Data), base + int64(s.End), f, "f-str"})
			}
			continue
		}
		if s.End > s.Start {
			a.labels = append(a.labels, label{base + int64(s.Start), base + int64(s.End), f, fieldClass(s.Field)})
		}
	}
}

// labelAt returns the label covering off, searching from *i on (labels
// are in stream order).
func (a *annotated) labelAt(off int64, i *int) (label, bool) {
	if *i > 0 && (*i >= len(a.labels) || a.labels[*i].start > off) {
		// An event out of stream order (a capture's retransmission).
		*i = sort.Search(len(a.labels), func(j int) bool { return a.labels[j].end > off })
	}
	for *i < len(a.labels) && a.labels[*i].end <= off {
		*i++
	}
	if *i < len(a.labels) && a.labels[*i].start <= off {
		return a.labels[*i], true
	}
	return label{}, false
}

// streams collects the kept bytes of each stream of a trace.
func streams(evs []conformance.WireEvent) (map[streamKey]*annotated, []streamKey) {
	out := map[streamKey]*annotated{}
	var order []streamKey
	for _, e := range evs {
		k := streamKey{e.Conn, e.Dir}
		a := out[k]
		if a == nil {
			a = &annotated{whole: true}
			out[k] = a
			order = append(order, k)
		}
		switch e.Kind {
		case conformance.WireRead, conformance.WireWrite:
			if e.Offset == int64(len(a.data)) && a.whole {
				a.data = append(a.data, e.Bytes...)
			}
			if len(e.Bytes) < e.Len || e.Offset != int64(len(a.data))-int64(len(e.Bytes)) {
				a.whole = false
			}
		case conformance.WireFIN, conformance.WireReset:
			if a.ended == "" {
				a.ended = e.Kind
			}
		case conformance.WireGap:
			for _, x := range out {
				x.whole = false
			}
		}
	}
	return out, order
}

// detectProfile reads the profile from the first request block of the
// trace, where the report does not give it.
func detectProfile(all map[streamKey]*annotated, order []streamKey, l Lanes) wire.Profile {
	for _, k := range order {
		if k.dir != l.RequestsTo {
			continue
		}
		d := wire.NewDecoder(wire.Qt4, wire.Requests)
		d.Feed(all[k].data)
		blk, err := d.NextBlock()
		if err != nil {
			continue
		}
		if p, err := wire.DetectProfile(wire.KindRequest, blk.Payload()); err == nil {
			return p
		}
	}
	return wire.Qt4
}

// hexOf is b in hex, bytes apart, at most n of them.
func hexOf(b []byte, n int) string {
	if len(b) > n {
		return hexSpaced(b[:n]) + " …"
	}
	return hexSpaced(b)
}

func hexSpaced(b []byte) string {
	h := hex.EncodeToString(b)
	var sb strings.Builder
	for i := 0; i < len(h); i += 2 {
		if i > 0 {
			sb.WriteByte(' ')
		}
		sb.WriteString(h[i : i+2])
	}
	return sb.String()
}

// findDivergence picks the first divergence of a failed result: the one a
// check recorded (a WireDiverge event), else the place of its first
// finding in the peer's last stream that reaches it, else the first fault
// of framing or fields in a stream from the peer (both directions for a
// capture).
func findDivergence(res *conformance.Result, all map[streamKey]*annotated, order []streamKey, peerOnly bool) *divergence {
	for _, e := range res.Wire {
		if e.Kind == conformance.WireDiverge {
			exp := hexOf(e.Expected, 16)
			if len(e.Expected) == 0 {
				exp = "the end of the stream"
			}
			act := hexOf(e.Bytes, 16)
			if len(e.Bytes) == 0 {
				act = "the end of the stream"
			}
			return &divergence{Conn: e.Conn, Dir: e.Dir, Offset: e.Offset, Field: e.Note, Expected: exp, Actual: act, Note: "differs from the expected bytes"}
		}
	}
	if len(res.Findings) > 0 && res.Findings[0].Offset >= 0 {
		f := res.Findings[0]
		for i := len(order) - 1; i >= 0; i-- {
			k := order[i]
			a := all[k]
			if k.dir != conformance.FromPeer || int64(len(a.data)) < f.Offset {
				continue
			}
			// The finding says what is wrong, not the bytes expected.
			d := &divergence{Conn: k.conn, Dir: k.dir, Offset: f.Offset, Field: f.Field, Note: f.Summary + " (" + f.Check + ")"}
			d.Actual = actualAt(a, f.Offset)
			if a.fault != nil && a.fault.Offset == f.Offset {
				// The stream's own fault at that place says what was due.
				d.Expected = expectedAt(a.fault)
			}
			return d
		}
	}
	for _, k := range order {
		if peerOnly && k.dir != conformance.FromPeer {
			continue
		}
		a := all[k]
		if a.fault == nil {
			continue
		}
		de := a.fault
		return &divergence{Conn: k.conn, Dir: k.dir, Offset: de.Offset, Field: de.Field, Note: strings.TrimPrefix(de.Error(), "wire: "),
			Actual: actualAt(a, de.Offset), Expected: expectedAt(de)}
	}
	return nil
}

// expectedAt says what was due where the decoder found de.
func expectedAt(de *wire.DecodeError) string {
	switch {
	case errors.Is(de, wire.ErrAfterEnd):
		return "the end of the stream"
	case errors.Is(de, wire.ErrNoEndMarker):
		return "ff ff (the end marker)"
	case errors.Is(de, wire.ErrTrailingBytes):
		return "the block's end: its last field ends here"
	case errors.Is(de, wire.ErrTruncated):
		return "the rest of the block"
	}
	return "a valid " + de.Field
}

// actualAt says what the stream holds at off.
func actualAt(a *annotated, off int64) string {
	if off < int64(len(a.data)) {
		return hexOf(a.data[off:min(int64(len(a.data)), off+8)], 8)
	}
	switch a.ended {
	case conformance.WireFIN:
		return "the end of the stream (FIN)"
	case conformance.WireReset:
		return "a reset (RST)"
	}
	return "nothing more"
}

// buildDiagram makes the diagram of a trace; res, if not nil, is the
// failed result whose divergence to mark.
func buildDiagram(evs []conformance.WireEvent, l Lanes, p wire.Profile, res *conformance.Result, peerOnly bool, bud *budget) *diagram {
	if len(evs) == 0 {
		return nil
	}
	if bud.rows <= 0 {
		return &diagram{Skipped: fmt.Sprintf("%d wire events not drawn: this page draws at most %d; run this scenario alone (--run) to see them", len(evs), PageRows)}
	}
	all, order := streams(evs)
	if p == 0 {
		p = detectProfile(all, order, l)
	}
	for _, k := range order {
		a := all[k]
		annotate(a, p, l.wireDir(k.dir))
		// A stream seen to its end without the end marker it owed.
		if a.whole && a.fault == nil && a.ended != "" && l.wireDir(k.dir) == wire.Replies {
			d := wire.NewDecoder(p, wire.Replies)
			d.Feed(a.data)
			for {
				var m wire.Message
				if d.Next(&m) != nil {
					break
				}
			}
			var de *wire.DecodeError
			if err := d.Close(); errors.As(err, &de) {
				a.fault = de
			}
		}
	}
	dg := &diagram{Left: l.Left, Right: l.Right, Profile: p.String()}
	if res != nil {
		dg.Divergence = findDivergence(res, all, order, peerOnly)
	}
	div := dg.Divergence
	oneConn := len(conns(evs)) == 1
	if div != nil {
		from, to := l.Left, l.Right
		if div.Dir == conformance.FromPeer {
			from, to = to, from
		}
		div.Where = "the stream from " + from + " to " + to
		if !oneConn {
			div.Where += " on " + div.Conn
		}
	}
	cursor := map[streamKey]int{}
	var last time.Duration
	lastRow := map[streamKey]int{}
	for i, e := range evs {
		if e.Kind == conformance.WireDiverge {
			continue
		}
		if bud.rows <= 0 {
			dg.Rows = append(dg.Rows, row{Kind: string(conformance.WireGap), Label: fmt.Sprintf("%d more events not drawn: this page draws at most %d", len(evs)-i, PageRows)})
			break
		}
		bud.rows--
		if i > 0 && e.At-last >= gapRow && e.Kind != conformance.WireGap {
			dg.Rows = append(dg.Rows, row{Gap: fmtDur(e.At - last)})
		}
		last = max(last, e.At)
		r := row{Time: "+" + fmtDur(e.At), Kind: string(e.Kind), Dir: "right", Note: e.Note}
		if !oneConn {
			r.Conn = e.Conn
		}
		if e.Dir == conformance.FromPeer {
			r.Dir = "left"
		}
		k := streamKey{e.Conn, e.Dir}
		a := all[k]
		switch e.Kind {
		case conformance.WireGap:
			r.Label = e.Note
		case conformance.WireRead, conformance.WireWrite:
			verb := "write"
			if e.Kind == conformance.WireRead {
				verb = "read"
			}
			r.Label = fmt.Sprintf("%s %d B at %d", verb, e.Len, e.Offset)
			if e.Packet > 0 {
				r.Label = fmt.Sprintf("%d B at %d, packet %d", e.Len, e.Offset, e.Packet)
			}
			if len(e.Bytes) > bud.bytes {
				r.More = fmt.Sprintf("%d bytes not drawn: this page draws at most %d KiB of them", len(e.Bytes), PageBytes>>10)
				break
			}
			bud.bytes -= len(e.Bytes)
			i := cursor[k]
			r.Bytes = drawSegments(segments(a, e.Offset, e.Bytes, &i, div, k))
			cursor[k] = i
			if n := e.Len - len(e.Bytes); n > 0 {
				r.More = fmt.Sprintf("… %d more bytes not kept", n)
			}
			if div != nil && !div.shown && k == (streamKey{div.Conn, div.Dir}) && div.Offset >= e.Offset && div.Offset < e.Offset+int64(len(e.Bytes)) {
				r.Div, div.shown = div, true
			}
		case conformance.WireFIN:
			r.Label = "FIN"
		case conformance.WireReset:
			r.Label = "RST"
		case conformance.WireClose:
			r.Label = "close"
		case conformance.WireSilence:
			r.Label = "silent until the read deadline"
		}
		if e.Kind != conformance.WireGap && e.Packet > 0 && r.Bytes == "" {
			r.Label += fmt.Sprintf(", packet %d", e.Packet)
		}
		dg.Rows = append(dg.Rows, r)
		lastRow[k] = len(dg.Rows) - 1
	}
	if div != nil && !div.shown {
		// The divergence is past the kept bytes, or at the stream's end:
		// explain it after the stream's last event.
		if i, ok := lastRow[streamKey{div.Conn, div.Dir}]; ok {
			dg.Rows[i].Div, div.shown = div, true
		}
	}
	return dg
}

// conns is the set of connection names of a trace.
func conns(evs []conformance.WireEvent) map[string]bool {
	out := map[string]bool{}
	for _, e := range evs {
		if e.Kind != conformance.WireGap {
			out[e.Conn] = true
		}
	}
	return out
}

// segments splits the bytes of one event at stream offset off into runs of
// one field each, with block tags and the divergence byte.
func segments(a *annotated, off int64, b []byte, li *int, div *divergence, k streamKey) []seg {
	var out []seg
	var cur seg
	var curLabel label
	flush := func() {
		if cur.Hex != "" || cur.Tag != "" {
			out = append(out, cur)
		}
		cur = seg{}
	}
	for i, c := range b {
		o := off + int64(i)
		l, ok := a.labelAt(o, li)
		if !ok {
			l = label{o, o + 1, "", "f-none"}
		}
		isDiv := div != nil && k == (streamKey{div.Conn, div.Dir}) && o == div.Offset
		t, isTag := a.tags[o]
		if i == 0 && !isTag && l.field != "" {
			// An event that begins inside a block says which.
			if blk, _, ok := strings.Cut(l.field, "."); ok {
				t, isTag = tag{"…" + blk, "continues " + blk}, true
			}
		}
		if i > 0 && !isTag && !isDiv && !cur.Div && l == curLabel {
			cur.Hex += " " + hexSpaced([]byte{c})
			continue
		}
		flush()
		curLabel = l
		if isTag {
			cur.Tag, cur.TagTitle, cur.Cont = t.name, t.title, strings.HasPrefix(t.name, "…")
		}
		cur.Hex, cur.Class, cur.Div = hexSpaced([]byte{c}), l.class, isDiv
		cur.Title = fmt.Sprintf("%s @%d", l.field, l.start)
		if l.field == "" {
			cur.Title = fmt.Sprintf("@%d", o)
		}
		if isDiv {
			cur.Title = fmt.Sprintf("first divergence at %d: got %s", o, div.Actual)
			if div.Expected != "" {
				cur.Title = fmt.Sprintf("first divergence at %d: expected %s, got %s", o, div.Expected, div.Actual)
			}
			cur.Class += " diverge"
		}
	}
	flush()
	return out
}

// fmtDur writes a time on the axis: milliseconds with three decimals under
// a second, else seconds.
func fmtDur(d time.Duration) string {
	if d < time.Second {
		return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond))
	}
	return fmt.Sprintf("%.3f s", d.Seconds())
}
