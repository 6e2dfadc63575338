package pcap

import (
	"bufio"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// manifestEntry is a line of testdata/captures/MANIFEST.
type manifestEntry struct {
	file     string
	format   Format
	sessions int
	notes    []string // kind@packet
}

func readManifest(t *testing.T) (dir string, entries []manifestEntry) {
	t.Helper()
	dir = filepath.Join("..", "testdata", "captures")
	f, err := os.Open(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "|")
		if len(cols) != 6 {
			t.Fatalf("MANIFEST: %q has %d columns", line, len(cols))
		}
		for i := range cols {
			cols[i] = strings.TrimSpace(cols[i])
		}
		n, err := strconv.Atoi(cols[2])
		if err != nil {
			t.Fatalf("MANIFEST: %q: sessions %q", line, cols[2])
		}
		e := manifestEntry{file: cols[0], format: Format(cols[1]), sessions: n}
		if cols[3] != "-" {
			e.notes = strings.Fields(cols[3])
		}
		entries = append(entries, e)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return dir, entries
}

// Every capture in testdata decodes to the sessions it holds, with the
// notes MANIFEST gives, found by content and found by port alike.
func TestCaptures(t *testing.T) {
	dir, entries := readManifest(t)
	seen := map[string]bool{}
	for _, e := range entries {
		seen[e.file] = true
		t.Run(e.file, func(t *testing.T) {
			file, err := os.ReadFile(filepath.Join(dir, e.file))
			if err != nil {
				t.Fatal(err)
			}
			ss, r := sessions(t, file, Options{Port: AnyPort})
			if r.Format() != e.format {
				t.Errorf("format %s, want %s", r.Format(), e.format)
			}
			if len(ss) != e.sessions {
				t.Fatalf("%d sessions, want %d", len(ss), e.sessions)
			}
			var notes []string
			ports := map[uint16]bool{}
			for _, s := range ss {
				for _, n := range s.Notes {
					if n.Kind != NoteEnded {
						notes = append(notes, string(n.Kind)+"@"+strconv.FormatInt(n.Packet, 10))
					}
				}
				if len(s.Up.Data) == 0 {
					t.Errorf("session %d: no request bytes", s.Index)
				}
				ports[s.Server.Port()] = true
			}
			sort.Strings(notes)
			want := append([]string(nil), e.notes...)
			sort.Strings(want)
			if diff := cmp.Diff(want, notes); diff != "" {
				t.Errorf("notes (-want +got):\n%s", diff)
			}
			// Found by the server's port, the same sessions.
			for port := range ports {
				byPort, _ := sessions(t, file, Options{Port: int(port)})
				if len(byPort) != len(ss) {
					t.Errorf("port %d: %d sessions, want %d", port, len(byPort), len(ss))
				}
			}
		})
	}
	// Every capture is in MANIFEST.
	files, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
	for _, f := range files {
		if !seen[filepath.Base(f)] {
			t.Errorf("%s is not in MANIFEST", filepath.Base(f))
		}
	}
}
