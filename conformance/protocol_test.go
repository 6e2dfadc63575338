package conformance_test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/capture"
)

// The tests here hold PROTOCOL.md and the scenarios together: every
// citation "(PROTOCOL.md: Framing, Reply)" on a scenario's first line names
// headings of the document, and every MUST or SHOULD sentence of the
// document says which scenarios check it (checked-by) or why none can
// (not-checkable).

var (
	reCitation  = regexp.MustCompile(`\(PROTOCOL\.md: ([^)]*)\)`)
	reHeading   = regexp.MustCompile(`^#{1,6} +(.+?) *$`)
	reMarker    = regexp.MustCompile(`<!-- *(checked-by|not-checkable): *(.*?) *-->`)
	reComment   = regexp.MustCompile(`<!--.*?-->`)
	reCode      = regexp.MustCompile("`[^`]*`")
	reReqLevel  = regexp.MustCompile(`\b(MUST|SHOULD)\b`)
	reListStart = regexp.MustCompile(`^\s*[-*] `)
)

// protocolDoc is what the checks need of PROTOCOL.md.
type protocolDoc struct {
	headings     map[string]bool // lower case
	requirements []requirement
	problems     []string // the document's own faults
}

// requirement is one MUST or SHOULD list item.
type requirement struct {
	line      int
	text      string
	level     conformance.Level
	checkedBy []string // suite:id
	why       string   // not-checkable reason
}

// parseProtocol reads the document: headings, and the requirement items
// with their markers. A MUST or SHOULD outside a list item, two levels in one
// item, or an item without exactly one marker is a problem.
func parseProtocol(doc string) protocolDoc {
	d := protocolDoc{headings: map[string]bool{}}
	lines := strings.Split(doc, "\n")
	inFence := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if inFence || strings.HasPrefix(line, "    ") || strings.TrimSpace(line) == "" {
			continue
		}
		if m := reHeading.FindStringSubmatch(line); m != nil {
			d.headings[strings.ToLower(m[1])] = true
			continue
		}
		// A block: a list item with its continuation lines, or a
		// paragraph. A word in backticks is quoted, not a requirement.
		start := i
		item := reListStart.MatchString(line)
		block := line
		for i+1 < len(lines) {
			next := lines[i+1]
			if strings.TrimSpace(next) == "" || reListStart.MatchString(next) || reHeading.MatchString(next) {
				break
			}
			block += " " + strings.TrimSpace(next)
			i++
		}
		prose := reCode.ReplaceAllString(reComment.ReplaceAllString(block, ""), "")
		levels := reReqLevel.FindAllString(prose, -1)
		if len(levels) == 0 {
			if reMarker.MatchString(block) {
				d.problems = append(d.problems, fmt.Sprintf("line %d: a checked-by or not-checkable marker on text with no MUST or SHOULD", start+1))
			}
			continue
		}
		if !item {
			d.problems = append(d.problems, fmt.Sprintf("line %d: a MUST or SHOULD outside a list item: write each requirement as one list item with a marker", start+1))
			continue
		}
		r := requirement{line: start + 1, text: strings.TrimSpace(reComment.ReplaceAllString(block, ""))}
		if len(levels) != 1 {
			d.problems = append(d.problems, fmt.Sprintf("line %d: %d requirement words in one item (want one MUST or SHOULD): split it", r.line, len(levels)))
			continue
		}
		r.level = conformance.Must
		if levels[0] == "SHOULD" {
			r.level = conformance.Should
		}
		ms := reMarker.FindAllStringSubmatch(block, -1)
		if len(ms) != 1 {
			d.problems = append(d.problems, fmt.Sprintf("line %d: %q: want one <!-- checked-by: suite:id, ... --> or <!-- not-checkable: why --> marker, have %d", r.line, r.text, len(ms)))
			continue
		}
		switch ms[0][1] {
		case "checked-by":
			for _, id := range strings.Split(ms[0][2], ",") {
				if id = strings.TrimSpace(id); id != "" {
					r.checkedBy = append(r.checkedBy, id)
				}
			}
			if len(r.checkedBy) == 0 {
				d.problems = append(d.problems, fmt.Sprintf("line %d: checked-by names no scenario", r.line))
				continue
			}
		case "not-checkable":
			r.why = ms[0][2]
			if len(strings.Fields(r.why)) < 3 {
				d.problems = append(d.problems, fmt.Sprintf("line %d: not-checkable needs a reason, have %q", r.line, r.why))
				continue
			}
		}
		d.requirements = append(d.requirements, r)
	}
	return d
}

// citations returns the section names a requirement sentence cites, and
// false when it cites none.
func citations(requirement string) ([]string, bool) {
	m := reCitation.FindAllStringSubmatch(requirement, -1)
	if m == nil {
		return nil, false
	}
	var out []string
	for _, c := range m {
		for _, part := range strings.FieldsFunc(c[1], func(r rune) bool { return r == ',' || r == ';' }) {
			if part = strings.TrimSpace(part); part != "" {
				out = append(out, part)
			}
		}
	}
	return out, true
}

// checkCitations returns a problem for each scenario whose first line cites
// no section, or a section that is not a heading of the document.
func checkCitations(d protocolDoc, scenarios map[string]conformance.Scenario) []string {
	var problems []string
	for _, key := range sortedKeys(scenarios) {
		s := scenarios[key]
		names, ok := citations(s.Requirement)
		if !ok {
			problems = append(problems, fmt.Sprintf("%s (%s): the requirement cites no section: end it with (PROTOCOL.md: <Section>)", key, s.Source))
			continue
		}
		for _, n := range names {
			if !d.headings[strings.ToLower(n)] {
				problems = append(problems, fmt.Sprintf("%s (%s): cites %q, which is not a heading of PROTOCOL.md", key, s.Source, n))
			}
		}
	}
	return problems
}

// checkRequirements returns a problem for each scenario a checked-by marker
// names that does not exist, or whose level is not the requirement's.
func checkRequirements(d protocolDoc, scenarios map[string]conformance.Scenario) []string {
	problems := append([]string(nil), d.problems...)
	for _, r := range d.requirements {
		for _, key := range r.checkedBy {
			s, ok := scenarios[key]
			if !ok {
				problems = append(problems, fmt.Sprintf("line %d: checked-by names %s, which is no scenario (want suite:id, suite server, client or pcap)", r.line, key))
				continue
			}
			if s.Level != r.level {
				problems = append(problems, fmt.Sprintf("line %d: %s is a %v scenario, the requirement a %v", r.line, key, s.Level, r.level))
			}
		}
	}
	return problems
}

// allScenarios is every built-in scenario by "suite:id", variants folded
// into their base ID, and the passive checks as "pcap:id".
func allScenarios(t *testing.T) map[string]conformance.Scenario {
	t.Helper()
	out := map[string]conformance.Scenario{}
	for _, suite := range []string{conformance.SuiteServer, conformance.SuiteClient} {
		ss, err := conformance.Catalog(suite)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range ss {
			id := s.ID
			if s.Variant != "" {
				id = strings.TrimSuffix(id, "/"+s.Variant)
			}
			out[suite+":"+id] = s
		}
	}
	for _, s := range capture.Checks() {
		out["pcap:"+s.ID] = s
	}
	return out
}

func sortedKeys(m map[string]conformance.Scenario) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func readProtocol(t *testing.T) protocolDoc {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "PROTOCOL.md"))
	if err != nil {
		t.Fatal(err)
	}
	return parseProtocol(string(b))
}

// TestProtocolCitations: every built-in scenario and passive check, and
// every scenario file under testdata/ (the README's tutorial among them),
// cites sections that are headings of PROTOCOL.md.
func TestProtocolCitations(t *testing.T) {
	d := readProtocol(t)
	scenarios := allScenarios(t)
	files, err := filepath.Glob(filepath.Join("..", "testdata", "scenarios", "*", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		ss, err := conformance.ParseScenario(f, filepath.Base(f), b)
		if err != nil {
			t.Fatal(err)
		}
		scenarios["file:"+f] = ss[0]
	}
	for _, p := range checkCitations(d, scenarios) {
		t.Error(p)
	}
	t.Logf("%d scenarios and checks cite %d headings of PROTOCOL.md", len(scenarios), len(d.headings))
}

// TestProtocolRequirements: every MUST and SHOULD sentence of PROTOCOL.md
// names the scenarios that check it, which exist and have its level, or
// says why it cannot be checked.
func TestProtocolRequirements(t *testing.T) {
	d := readProtocol(t)
	scenarios := allScenarios(t)
	for _, p := range checkRequirements(d, scenarios) {
		t.Error(p)
	}
	checked, named := 0, map[string]bool{}
	for _, r := range d.requirements {
		if r.why != "" {
			t.Logf("not checkable, line %d: %s (%s)", r.line, r.text, r.why)
			continue
		}
		checked++
		for _, k := range r.checkedBy {
			named[k] = true
		}
	}
	if checked == 0 {
		t.Fatal("PROTOCOL.md has no checked requirement")
	}
	var unnamed []string
	for _, k := range sortedKeys(scenarios) {
		if !named[k] {
			unnamed = append(unnamed, k)
		}
	}
	t.Logf("%d requirements, %d checked by %d scenarios", len(d.requirements), checked, len(named))
	// Every scenario checks some requirement of the document: a new
	// scenario is named in the checked-by marker of the sentence it checks.
	if len(unnamed) > 0 {
		t.Errorf("scenarios no requirement of PROTOCOL.md names in its checked-by marker: %v", unnamed)
	}
}

// TestProtocolCheckerFails shows the checks above failing on broken input:
// a citation of a missing section, a requirement without a marker, a
// marker naming no scenario or a scenario of another level.
func TestProtocolCheckerFails(t *testing.T) {
	doc := strings.Join([]string{
		"# Doc",
		"## Framing",
		"- A peer MUST frame. <!-- checked-by: server:framing/x -->",
		"- A peer MUST frame twice. <!-- checked-by: server:framing/missing -->",
		"- A peer SHOULD frame. <!-- checked-by: server:framing/x -->",
		"- A peer MUST do something unmarked.",
		"- A peer MUST do something unknowable. <!-- not-checkable: no -->",
		"",
		"A peer SHOULD not hide requirements in prose.",
		"",
		"- A peer MUST and SHOULD both. <!-- checked-by: server:framing/x -->",
		"## Reply",
	}, "\n")
	d := parseProtocol(doc)
	scen := map[string]conformance.Scenario{
		"server:framing/x":    {ID: "framing/x", Level: conformance.Must, Requirement: "The server MUST x (PROTOCOL.md: Framing, Reply).", Source: "synthetic"},
		"server:framing/bad":  {ID: "framing/bad", Level: conformance.Must, Requirement: "The server MUST y (PROTOCOL.md: Framing, No such section).", Source: "synthetic"},
		"server:framing/none": {ID: "framing/none", Level: conformance.Must, Requirement: "The server MUST z.", Source: "synthetic"},
		"client:framing/semi": {ID: "framing/semi", Level: conformance.Must, Requirement: "The client MUST w (PROTOCOL.md: framing; reply).", Source: "synthetic"},
	}
	got := strings.Join(append(checkCitations(d, scen), checkRequirements(d, scen)...), "\n")
	for _, want := range []string{
		`server:framing/bad (synthetic): cites "No such section"`,
		`server:framing/none (synthetic): the requirement cites no section`,
		`line 4: checked-by names server:framing/missing, which is no scenario`,
		`line 5: server:framing/x is a MUST scenario, the requirement a SHOULD`,
		`line 6: "- A peer MUST do something unmarked.": want one`,
		`line 7: not-checkable needs a reason`,
		`line 9: a MUST or SHOULD outside a list item`,
		`line 11: 2 requirement words in one item`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the checks did not report %q; they reported:\n%s", want, got)
		}
	}
	for _, wrong := range []string{"server:framing/x (synthetic)", "client:framing/semi", "line 3:"} {
		if strings.Contains(got, wrong) {
			t.Errorf("the checks reported a good entry, %q:\n%s", wrong, got)
		}
	}
}
