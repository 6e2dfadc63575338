package conformancetest_test

import (
	"path/filepath"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/capture"
	"github.com/tripcheck/tripcheck/conformance/conformancetest"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/pcap"
)

func startServer(t *testing.T, opts ...fakes.Option) string {
	t.Helper()
	srv, err := fakes.NewServer(opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr()
}

// The reference server passes the scenarios run, one subtest each.
func TestServer(t *testing.T) {
	rep := conformancetest.Server(t, startServer(t), conformance.ServerOptions{Run: []string{"framing/split-size", "reply/close-after-end"}, Seed: 1})
	if len(rep.Results) != 2 {
		t.Errorf("%d results, want 2", len(rep.Results))
	}
	for _, r := range rep.Results {
		if r.Status != conformance.Pass {
			t.Errorf("%s: %s", r.ID, r.Status)
		}
	}
}

// Replaying a capture of the reference server to it gives the same
// replies, one subtest per session.
func TestReplay(t *testing.T) {
	file := filepath.Join("..", "..", "testdata", "captures", "lo-ethernet.pcap")
	rep := conformancetest.Replay(t, file, startServer(t), capture.ReplayOptions{Capture: pcap.Options{Port: pcap.AnyPort}})
	if len(rep.Results) != 2 {
		t.Errorf("%d results, want the capture's 2 sessions", len(rep.Results))
	}
}
