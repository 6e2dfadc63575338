package report

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io"
	"strings"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/capture"
	"github.com/tripcheck/tripcheck/wire"
)

//go:embed html/report.tmpl html/report.css html/report.js
var htmlFiles embed.FS

var htmlTmpl = template.Must(template.ParseFS(htmlFiles, "html/report.tmpl"))

func htmlAsset(name string) string {
	b, err := htmlFiles.ReadFile("html/" + name)
	if err != nil {
		panic(err) // embedded: cannot happen
	}
	return string(b)
}

// page is what the template draws: a run's report, or the sessions of a
// capture.
type page struct {
	Title       string
	Meta        []metaLine
	Report      bool
	Verdict     string
	VerdictText string
	Counts      []countItem
	Duration    string
	Bar         template.HTML
	Causes      []causeItem
	Unexplained []idLink
	ItemsTitle  string
	Items       []item
	CSS         template.CSS
	JS          template.JS
}

type metaLine struct{ Name, Value string }

type countItem struct {
	Name, Class string
	N           int
}

type idLink struct{ ID, Anchor string }

type causeItem struct {
	Check, Summary string
	Count          int
	IDs            []idLink
}

// item is one scenario (or one captured session) with its diagram.
type item struct {
	ID, Anchor  string
	Status      string
	StatusClass string
	Level       string
	Short       string
	Requirement string
	Message     string
	Notes       []string
	Findings    []string
	Log         string
	Open        bool
	Diagram     *diagram
}

// HTML writes r as one self-contained HTML page: the summary, the causes
// (failures grouped by the Check of their first finding), and for each
// scenario its requirement, verdict and wire diagram, with the first
// divergence of a failure marked with the expected and actual bytes. The
// page loads nothing: its style and script are inline. Failures come
// first, open; the rest are collapsed.
func HTML(w io.Writer, r *conformance.Report) error {
	r, err := tallied(r)
	if err != nil {
		return err
	}
	pg := &page{
		Title:      fmt.Sprintf("tripcheck %s: %s", r.Suite, r.Target),
		Report:     true,
		ItemsTitle: "Scenarios",
		Duration:   fmtDur(r.Duration),
	}
	pg.Meta = append(pg.Meta, metaLine{"Target", r.Target})
	prof := r.Profile
	if r.ProfileNote != "" {
		prof += " (" + r.ProfileNote + ")"
	}
	pg.Meta = append(pg.Meta, metaLine{"Profile", prof})
	if r.Suite == conformance.SuiteServer || r.Suite == conformance.SuiteClient {
		pg.Meta = append(pg.Meta, metaLine{"Seed", fmt.Sprint(r.Seed)})
	}
	var mode []string
	if r.Strict {
		mode = append(mode, "strict (SHOULDs count)")
	}
	if r.Golden != "" {
		mode = append(mode, "golden "+r.Golden)
	}
	if len(mode) > 0 {
		pg.Meta = append(pg.Meta, metaLine{"Mode", strings.Join(mode, ", ")})
	}
	if !r.Started.IsZero() {
		pg.Meta = append(pg.Meta, metaLine{"Started", r.Started.UTC().Format("2006-01-02 15:04:05 MST")})
	}
	s := r.Summary
	pg.Verdict, pg.VerdictText = "pass", "PASS"
	if s.FailedRequired > 0 || s.UnexpectedPasses > 0 {
		pg.Verdict, pg.VerdictText = "fail", "FAIL"
	}
	pg.Counts = []countItem{{"passed", "pass", s.Passed}, {"failed", "fail", s.Failed}, {"skipped", "skip", s.Skipped}}
	if s.UnexpectedPasses > 0 {
		pg.Counts = append(pg.Counts, countItem{"passed unexpectedly", "fail", s.UnexpectedPasses})
	}
	pg.Bar = summaryBar(s)
	pg.Causes, pg.Unexplained = htmlCauses(r.Results)

	lanes := lanesFor(r.Suite)
	prof0, _ := wire.ParseProfile(r.Profile)
	order := make([]int, 0, len(r.Results))
	for _, failed := range []bool{true, false} {
		for i, res := range r.Results {
			if (res.Status == conformance.Fail) == failed {
				order = append(order, i)
			}
		}
	}
	bud := newBudget()
	for _, i := range order {
		res := r.Results[i]
		it := item{
			ID: res.ID, Anchor: anchor(res.ID), Status: string(res.Status),
			StatusClass: statusClass(res.Status), Level: res.Level.String(),
			Requirement: res.Requirement, Log: res.Log,
			Open: res.Status == conformance.Fail,
		}
		if res.Level == 0 {
			it.Level = ""
		}
		if res.Status != conformance.Pass {
			it.Message, it.Short = res.Message, firstLine(res.Message)
		}
		switch {
		case res.ExpectedFailure && res.Status == conformance.Fail:
			it.Notes = append(it.Notes, "expected to fail (--expect-fail): does not count")
		case res.ExpectedFailure && res.Status == conformance.Pass:
			it.Notes = append(it.Notes, "listed in --expect-fail but passed: counts as a failure")
		case res.Status == conformance.Fail && !res.Required:
			it.Notes = append(it.Notes, "a SHOULD: counts only with --strict")
		}
		for _, f := range res.Findings {
			it.Findings = append(it.Findings, f.Check+": "+f.String())
		}
		var failed *conformance.Result
		if res.Status == conformance.Fail {
			failed = &res
		}
		it.Diagram = buildDiagram(res.Wire, lanes, prof0, failed, r.Suite != capture.SuitePcap, bud)
		pg.Items = append(pg.Items, it)
	}
	return renderHTML(w, pg)
}

// CaptureSession is one captured session for [CaptureHTML].
type CaptureSession struct {
	// Title names it: "session 1: 10.0.0.1:50000 → 10.0.0.2:6178".
	Title string
	// Profile is the session's profile (0 detects it from the request).
	Profile wire.Profile
	// Notes say more about it: the profile's note, how each side ended.
	Notes []string
	// Wire is its trace, from [conformance.SessionWire].
	Wire []conformance.WireEvent
}

// CaptureHTML writes the sessions of a capture as one self-contained HTML
// page of wire diagrams, drawn as the reports draw a scenario's: the
// client on the left, the server on the right, each captured segment an
// arrow at its time with its blocks and fields, and the first fault of
// framing or fields in either direction marked.
func CaptureHTML(w io.Writer, title string, meta map[string]string, sessions []CaptureSession) error {
	pg := &page{Title: title, ItemsTitle: "Sessions"}
	for _, k := range []string{"Capture", "Port", "Packets"} {
		if v, ok := meta[k]; ok {
			pg.Meta = append(pg.Meta, metaLine{k, v})
		}
	}
	lanes := lanesFor(capture.SuitePcap)
	bud := newBudget()
	for i, s := range sessions {
		it := item{ID: s.Title, Anchor: fmt.Sprintf("session-%d", i+1), StatusClass: "other", Notes: s.Notes, Open: i < 20}
		// The capture has no verdict; a fault is marked all the same.
		probe := &conformance.Result{Wire: s.Wire}
		it.Diagram = buildDiagram(s.Wire, lanes, s.Profile, probe, false, bud)
		if d := it.Diagram; d != nil && d.Divergence != nil {
			it.Short = "fault: " + d.Divergence.Note
		}
		pg.Items = append(pg.Items, it)
	}
	if len(sessions) == 0 {
		pg.ItemsTitle = "No Trip sessions"
	}
	return renderHTML(w, pg)
}

func renderHTML(w io.Writer, pg *page) error {
	pg.CSS = template.CSS(htmlAsset("report.css"))
	pg.JS = template.JS(htmlAsset("report.js"))
	var buf bytes.Buffer
	if err := htmlTmpl.Execute(&buf, pg); err != nil {
		return err
	}
	_, err := w.Write(buf.Bytes())
	return err
}

// htmlCauses groups the failures by the Check of their first finding,
// most failures first; failures without a finding are returned apart.
func htmlCauses(results []conformance.Result) ([]causeItem, []idLink) {
	var causes []causeItem
	var none []idLink
	index := map[string]int{}
	for _, res := range results {
		if res.Status != conformance.Fail {
			continue
		}
		link := idLink{res.ID, anchor(res.ID)}
		if len(res.Findings) == 0 {
			none = append(none, link)
			continue
		}
		f := res.Findings[0]
		i, ok := index[f.Check]
		if !ok {
			i = len(causes)
			index[f.Check] = i
			causes = append(causes, causeItem{Check: f.Check, Summary: f.Summary})
		}
		causes[i].Count++
		causes[i].IDs = append(causes[i].IDs, link)
	}
	// Most failures first; a stable insertion sort keeps first-seen order.
	for i := 1; i < len(causes); i++ {
		for j := i; j > 0 && causes[j].Count > causes[j-1].Count; j-- {
			causes[j], causes[j-1] = causes[j-1], causes[j]
		}
	}
	return causes, none
}

// summaryBar is an inline SVG bar of the passed, failed and skipped shares.
func summaryBar(s conformance.Summary) template.HTML {
	total := s.Passed + s.Failed + s.Skipped
	if total == 0 {
		return ""
	}
	const width = 480
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg class="bar" width="%d" height="10" viewBox="0 0 %d 10" role="img" aria-label="%d passed, %d failed, %d skipped">`, width, width, s.Passed, s.Failed, s.Skipped)
	x := 0.0
	for _, part := range []struct {
		n     int
		color string
	}{{s.Passed, "#1a7f37"}, {s.Failed, "#c62828"}, {s.Skipped, "#8a6d00"}} {
		w := float64(part.n) * width / float64(total)
		if w > 0 {
			fmt.Fprintf(&sb, `<rect x="%.2f" y="0" width="%.2f" height="10" fill="%s"/>`, x, w, part.color)
		}
		x += w
	}
	sb.WriteString(`</svg>`)
	return template.HTML(sb.String())
}

func statusClass(s conformance.Status) string {
	switch s {
	case conformance.Pass, conformance.Fail, conformance.Skip:
		return string(s)
	}
	return "other"
}

// anchor is a scenario's element id: "s-" and its ID with characters
// other than letters, digits, '-' and '_' as '_'.
func anchor(id string) string {
	var sb strings.Builder
	sb.WriteString("s-")
	for _, c := range id {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			sb.WriteRune(c)
		default:
			sb.WriteByte('_')
		}
	}
	return sb.String()
}
