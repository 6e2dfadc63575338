package conformance

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

//go:embed scenarios
var builtin embed.FS

// Suites with a built-in catalog.
const (
	SuiteServer = "server"
	SuiteClient = "client"
)

// variants are the shaping variants a scenario runs as when its script uses
// $VARIANT: the request whole in one write, fragmented into seeded random
// pieces, and coalesced with more bytes in the same write.
var variants = []string{"whole", "fragmented", "coalesced"}

// Catalog returns the built-in scenarios of a suite, variants expanded, in
// ID order.
func Catalog(suite string) ([]Scenario, error) {
	dir := path.Join("scenarios", suite)
	entries, err := fs.ReadDir(builtin, dir)
	if err != nil {
		return nil, fmt.Errorf("no built-in suite %q", suite)
	}
	var out []Scenario
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".txtar") {
			continue
		}
		b, err := fs.ReadFile(builtin, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		ss, err := ParseScenario("builtin:"+e.Name(), e.Name(), b)
		if err != nil {
			return nil, err
		}
		out = append(out, ss...)
	}
	sortScenarios(out)
	return out, nil
}

// withExtra is a suite's catalog and a user's own scenarios, in ID order;
// an ID defined twice is an error.
func withExtra(suite string, extra []Scenario) ([]Scenario, error) {
	all, err := Catalog(suite)
	if err != nil {
		return nil, err
	}
	all = append(all, extra...)
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s.ID] {
			return nil, fmt.Errorf("scenario %s is defined twice (%s)", s.ID, s.Source)
		}
		seen[s.ID] = true
	}
	sortScenarios(all)
	return all, nil
}

// LoadDir reads a user's own scenarios: every .txtar file in dir.
func LoadDir(dir string) ([]Scenario, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("scenarios: %w", err)
	}
	var out []Scenario
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".txtar") {
			continue
		}
		p := filepath.Join(dir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		ss, err := ParseScenario(p, e.Name(), b)
		if err != nil {
			return nil, err
		}
		out = append(out, ss...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no .txtar scenarios in %s", dir)
	}
	sortScenarios(out)
	return out, nil
}

func sortScenarios(ss []Scenario) {
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].ID < ss[j].ID })
}

var (
	reFileName = regexp.MustCompile(`^([a-z0-9]+)_([a-z0-9_]+)\.txtar$`)
	reLevel    = regexp.MustCompile(`\b(MUST|SHOULD)\b`)
	// reTimed finds the commands and flags whose verdict depends on time:
	// silence and stall windows, latency bounds, waits for a close.
	reWait  = regexp.MustCompile(`\s-(?:within|max|linger|delay)[ =](\d+(?:\.\d+)?(?:ms|s))\b`)
	reTimed = regexp.MustCompile(`(?m)^\s*(noreply|latency|alive|clients|drain|closes)\b|\s-(within|stall|delay|linger|closes|max)\b`)
)

// ParseScenario reads one scenario file. Its name gives the ID
// (framing_split_size.txtar is framing/split-size); its first line is
// "# <requirement>", a sentence with exactly one of MUST or SHOULD that cites
// PROTOCOL.md; a script that uses $VARIANT runs once per shaping variant, its
// ID suffixed with the variant; the area "golden" runs only with --golden.
func ParseScenario(source, name string, script []byte) ([]Scenario, error) {
	m := reFileName.FindStringSubmatch(name)
	if m == nil {
		return nil, fmt.Errorf("%s: the file name must be <area>_<name>.txtar in lower case", source)
	}
	area := m[1]
	id := area + "/" + strings.ReplaceAll(m[2], "_", "-")
	first, _, _ := bytes.Cut(script, []byte("\n"))
	line := strings.TrimSpace(string(first))
	if !strings.HasPrefix(line, "# ") {
		return nil, fmt.Errorf("%s: the first line must be '# <the MUST or SHOULD sentence>'", source)
	}
	req := strings.TrimPrefix(line, "# ")
	levels := reLevel.FindAllString(req, -1)
	if len(levels) != 1 {
		return nil, fmt.Errorf("%s: the requirement must say MUST or SHOULD exactly once: %q", source, req)
	}
	level := Must
	if levels[0] == "SHOULD" {
		level = Should
	}
	base := Scenario{ID: id, Area: area, Level: level, Requirement: req, Source: source, Script: script, Golden: area == "golden",
		Timed: reTimed.Match(script), Wait: longestWait(script)}
	if !bytes.Contains(script, []byte("$VARIANT")) {
		return []Scenario{base}, nil
	}
	var out []Scenario
	for _, v := range variants {
		s := base
		s.ID, s.Variant = id+"/"+v, v
		out = append(out, s)
	}
	return out, nil
}

// Match reports whether id matches a --run or --skip pattern: a path.Match
// glob over the whole ID, or an ID prefix ending at a slash ("framing"
// matches "framing/split-size").
func Match(pattern, id string) bool {
	if ok, _ := path.Match(pattern, id); ok {
		return true
	}
	p := strings.TrimSuffix(pattern, "/")
	return id == p || strings.HasPrefix(id, p+"/")
}

// CheckFilters refuses --run and --skip patterns that are not valid globs
// or match no scenario of all, and a selection that leaves nothing to run:
// a typo must not turn a run green. The error names the IDs nearest to the
// pattern.
func CheckFilters(all []Scenario, run, skip []string) error {
	for _, list := range []struct {
		flag     string
		patterns []string
	}{{"--run", run}, {"--skip", skip}} {
		for _, p := range list.patterns {
			if _, err := path.Match(p, ""); err != nil {
				return fmt.Errorf("%s %q: not a valid pattern (%v)", list.flag, p, err)
			}
			found := false
			for _, s := range all {
				if Match(p, s.ID) {
					found = true
					break
				}
			}
			if !found {
				return fmt.Errorf("%s %q matches no scenario; nearest: %s", list.flag, p, strings.Join(nearest(p, all, 3), ", "))
			}
		}
	}
	if len(selectScenarios(all, run, skip)) == 0 {
		return errors.New("--run and --skip leave no scenario to run")
	}
	return nil
}

// nearest are the n scenario IDs, base IDs (without the variant) or areas
// closest to pattern, closest first, shorter first on a tie. A name is as
// close as its closer form: whole, or cut to the pattern's length plus one
// (so that "valid/asci" is next to "valid/ascii/whole").
func nearest(pattern string, all []Scenario, n int) []string {
	seen := map[string]bool{}
	var names []string
	for _, s := range all {
		base := strings.TrimSuffix(s.ID, "/"+s.Variant)
		for _, name := range []string{s.Area, base, s.ID} {
			if !seen[name] {
				seen[name] = true
				names = append(names, name)
			}
		}
	}
	dist := map[string]int{}
	for _, name := range names {
		d := editDistance(pattern, name)
		if k := len(pattern) + 1; k < len(name) {
			d = min(d, editDistance(pattern, name[:k]))
		}
		dist[name] = d
	}
	sort.SliceStable(names, func(i, j int) bool {
		a, b := names[i], names[j]
		if dist[a] != dist[b] {
			return dist[a] < dist[b]
		}
		return len(a) < len(b)
	})
	return names[:min(n, len(names))]
}

// editDistance is the Levenshtein distance of a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Selected is the scenarios of all that --run and --skip select.
func Selected(all []Scenario, run, skip []string) []Scenario {
	return selectScenarios(all, run, skip)
}

// longestWait is the longest wait a script names (-within 1500ms, -max 2s):
// the time it takes at least, against a server that passes.
func longestWait(script []byte) time.Duration {
	var longest time.Duration
	for _, m := range reWait.FindAllSubmatch(script, -1) {
		if d, err := time.ParseDuration(string(m[1])); err == nil && d > longest {
			longest = d
		}
	}
	return longest
}
