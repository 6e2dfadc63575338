package conformance_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/internal/proctest"
	"github.com/tripcheck/tripcheck/internal/qtbuild"
	"github.com/tripcheck/tripcheck/wire"
)

// bookLenient are the SHOULDs the book's own server does not meet: it reads
// on past a corrupt stream status and answers, and it waits for the 65 535
// bytes a size 0xFFFF announces. PROTOCOL.md makes them SHOULDs for this
// reason; the interop test pins that the book fails exactly these.
var bookLenient = []string{
	"bad/bytes-left-over-refused",
	"bad/flag-not-da-refused",
	"bad/odd-string-length-refused",
	"bad/size-ffff-refused",
	"bad/string-past-block-refused",
}

// startQtServer starts the Qt Trip server at QDataStream version v and
// returns its address.
func startQtServer(t *testing.T, bin, version string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "tripserver"), "--port", "0", "--version", version)
	cmd.Stderr = os.Stderr
	return proctest.Start(t, cmd).Addr
}

// TestQtServer runs the whole server suite, strict and with --golden book,
// against the book's server built with Qt 5, in both profiles: every MUST
// passes, the replies are the book's byte for byte, and exactly the SHOULDs
// where the book is lenient fail.
func TestQtServer(t *testing.T) {
	bin := qtbuild.Build(t)
	for _, tc := range []struct {
		version string
		profile wire.Profile
	}{{"4.3", wire.Qt4}, {"5.15", wire.Qt5}} {
		t.Run(tc.profile.String(), func(t *testing.T) {
			addr := startQtServer(t, bin, tc.version)
			rep, err := conformance.RunServer(context.Background(), conformance.ServerOptions{
				Target: addr, Strict: true, Golden: conformance.GoldenBook, GoldenName: "book", Seed: 1,
			})
			if err != nil {
				t.Fatal(err)
			}
			if rep.Profile != tc.profile.String() {
				t.Errorf("detected profile %s (%s), want %v", rep.Profile, rep.ProfileNote, tc.profile)
			}
			failed := failedIDs(t, rep)
			if diff := cmp.Diff(bookLenient, failed); diff != "" {
				for _, r := range rep.Results {
					if r.Status == conformance.Fail {
						t.Logf("%s: %s\n%s", r.ID, r.Message, r.Log)
					}
				}
				t.Errorf("failures against the book's server (-want +got):\n%s", diff)
			}
			t.Logf("%+v in %v", rep.Summary, rep.Duration)
		})
	}
}
