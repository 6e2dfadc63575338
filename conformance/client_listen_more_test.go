package conformance_test

import (
	"context"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// In listen mode a request check of another search than the one asked
// passes nothing: here the client always searches the default, so
// request/default passes and every other request scenario skips, saying
// which fields differ.
func TestClientListenOtherSearch(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var wg sync.WaitGroup
	defer wg.Wait()
	rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
		Listener: ln, Timeout: loadedTimeout, Wait: 30 * time.Second, Strict: true, Seed: clientTestSeed(t),
		Run: []string{"request"},
		Prompt: func(p conformance.Prompt) {
			if len(p.String()) > 300 {
				t.Errorf("prompt of %d characters: %q", len(p.String()), p.String())
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				req := conformance.DefaultRequest()
				fakes.Query(context.Background(), p.Addr, &req, wire.Qt4, loadedTimeout)
			}()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		switch {
		case r.ID == "request/default":
			if r.Status != conformance.Pass {
				t.Errorf("%s: %s: %s\n%s", r.ID, r.Status, r.Message, r.Log)
			}
		case r.Status != conformance.Skip || !strings.Contains(r.Message, "the search made is not the one asked"):
			t.Errorf("%s: %s: %q, want a skip for another search", r.ID, r.Status, r.Message)
		}
	}
	t.Logf("%+v", rep.Summary)
}

// Exec mode at a fixed address: every run of the client connects to the
// one address it is given (as a GUI with a hard-coded address would), one
// scenario at a time, and every check runs; a broken client still fails.
func TestClientExecFixedAddress(t *testing.T) {
	bin := buildBrokenClient(t)
	seed := clientTestSeed(t)
	for _, tc := range []struct {
		mode string
		fail bool
	}{{"ok", false}, {"little-endian-size", true}} {
		t.Run(tc.mode, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			tmpl := strings.Replace(brokenTemplate(bin, tc.mode), "{port}", port, 1)
			rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
				Exec: tmpl, Listener: ln, Profile: wire.Qt4, Timeout: loadedTimeout, Strict: true, Seed: seed,
				Run: []string{"trips/seven", "request/default", "reply/closes-after-end", "closed/no-end-marker"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(rep.Target, " at "+ln.Addr().String()) {
				t.Errorf("target %q", rep.Target)
			}
			failed := clientByStatus(rep, conformance.Fail)
			if skips := clientByStatus(rep, conformance.Skip); len(skips) != 0 {
				t.Errorf("skipped %v: every check runs in exec mode", skips)
			}
			if tc.fail != (len(failed) > 0) {
				for _, r := range rep.Results {
					t.Logf("%s: %s: %s\n%s", r.ID, r.Status, r.Message, r.Log)
				}
				t.Errorf("mode %s: failed %v", tc.mode, failed)
			}
			t.Logf("%+v", rep.Summary)
		})
	}
}
