package capture

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/pcap"
)

// captureCase is a line of testdata/captures/MANIFEST, as the checks see it.
type captureCase struct {
	file     string
	failures map[string]string // ID → text in its message
	replay   bool
}

func readCaptureManifest(t *testing.T) (string, []captureCase) {
	t.Helper()
	dir := filepath.Join("..", "..", "testdata", "captures")
	f, err := os.Open(filepath.Join(dir, "MANIFEST"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []captureCase
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
		c := captureCase{file: strings.TrimSpace(cols[0]), failures: map[string]string{}, replay: strings.TrimSpace(cols[5]) == "yes"}
		if fails := strings.TrimSpace(cols[4]); fails != "-" {
			for _, f := range strings.Split(fails, ";") {
				id, text, ok := strings.Cut(strings.TrimSpace(f), ": ")
				if !ok {
					t.Fatalf("MANIFEST: failure %q is not ID: text", f)
				}
				c.failures[id] = text
			}
		}
		out = append(out, c)
	}
	return dir, out
}

// pcap check passes the good captures and names the packet of each fault in
// the bad ones.
func TestCheckCaptures(t *testing.T) {
	dir, cases := readCaptureManifest(t)
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, _, err := Check(context.Background(), f, CheckOptions{Strict: true, Capture: pcap.Options{Port: pcap.AnyPort}, Target: c.file})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, r := range rep.Results {
				if r.Status == conformance.Fail {
					got[r.ID] = r.Message
				}
			}
			var gotIDs, wantIDs []string
			for id := range got {
				gotIDs = append(gotIDs, id)
			}
			for id := range c.failures {
				wantIDs = append(wantIDs, id)
			}
			sort.Strings(gotIDs)
			sort.Strings(wantIDs)
			if diff := cmp.Diff(wantIDs, gotIDs); diff != "" {
				t.Errorf("failures (-want +got):\n%s", diff)
				for id, msg := range got {
					t.Logf("%s: %s", id, msg)
				}
			}
			for id, text := range c.failures {
				if msg, ok := got[id]; ok && !strings.Contains(msg, text) {
					t.Errorf("%s: message %q lacks %q", id, msg, text)
				}
			}
		})
	}
}

// Replaying the captures of the reference server to the reference server
// gives identical replies.
func TestReplayCaptures(t *testing.T) {
	dir, cases := readCaptureManifest(t)
	addr := startServer(t)
	for _, c := range cases {
		if !c.replay {
			continue
		}
		t.Run(c.file, func(t *testing.T) {
			f, err := os.Open(filepath.Join(dir, c.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			rep, _, err := Replay(context.Background(), f, addr, ReplayOptions{Capture: pcap.Options{Port: pcap.AnyPort}, Source: c.file})
			if err != nil {
				t.Fatal(err)
			}
			if len(rep.Results) == 0 {
				t.Fatal("no session replayed")
			}
			for _, r := range rep.Results {
				if r.Status != conformance.Pass {
					t.Errorf("%s %s: %s\n%s", r.ID, r.Status, r.Message, r.Log)
				}
			}
		})
	}
}
