package conformance_test

import (
	"context"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/internal/qtbuild"
	"github.com/tripcheck/tripcheck/wire"
)

// qtClientShoulds are the SHOULDs the Qt build of the book's client does
// not meet at the default step timeout of 5s: it gives up on a stalled
// server only after its own --timeout-ms, 10 s by default (the book's
// client has no timeout at all). With --timeout-ms 2000 it meets them, as
// TestQtClient shows.
var qtClientShoulds = []string{"stall/before-reply", "stall/mid-reply"}

// qtClientMayFail are the SHOULDs the book's client fails or passes
// depending on how the bytes arrive: like the book it reads a trip's fields
// without checking the stream status, so a block too short for them (size
// 3, size 0) or trips in the other profile's layout read on into the next
// block; whether that block, or the end marker, is already there when it
// reads decides between garbage rows and an error.
var qtClientMayFail = []string{
	"bad/block-size-0/coalesced", "bad/block-size-0/fragmented", "bad/block-size-0/whole",
	"bad/garbage-size", "bad/other-profile",
}

// qtClientTemplate is the exec template of interop/qt's tripclient.
func qtClientTemplate(bin, version, extra string) string {
	return "'" + filepath.Join(bin, "tripclient") + "' --host {host} --port {port} --version " + version + extra +
		" {from} {to} {date} {time} {flag}"
}

// TestQtClient runs the whole client suite, strict, against the book's
// client built with Qt 5, in both profiles: every MUST passes, and exactly
// the SHOULDs of qtClientShoulds fail, which pass once the client's own
// timeout is below the step timeout.
func TestQtClient(t *testing.T) {
	bin := qtbuild.Build(t)
	seed := clientTestSeed(t)
	for _, tc := range []struct {
		version string
		profile wire.Profile
	}{{"4.3", wire.Qt4}, {"5.15", wire.Qt5}} {
		t.Run(tc.profile.String(), func(t *testing.T) {
			rep, err := conformance.RunClient(context.Background(), conformance.ClientOptions{
				Exec: qtClientTemplate(bin, tc.version, ""), Profile: tc.profile, Strict: true, Seed: seed,
			})
			if err != nil {
				t.Fatal(err)
			}
			failed := clientByStatus(rep, conformance.Fail)
			var always []string
			for _, id := range failed {
				if !slices.Contains(qtClientMayFail, id) {
					always = append(always, id)
				}
			}
			if !reflect.DeepEqual(always, qtClientShoulds) {
				for _, r := range rep.Results {
					if r.Status == conformance.Fail {
						t.Logf("%s: %s\n%s", r.ID, r.Message, r.Log)
					}
				}
				t.Errorf("failed %v, want %v and at most %v", failed, qtClientShoulds, qtClientMayFail)
			}
			for _, r := range rep.Results {
				if r.Status == conformance.Fail && r.Level == conformance.Must {
					t.Errorf("MUST %s failed: %s", r.ID, r.Message)
				}
				if r.Status == conformance.Skip {
					t.Errorf("%s skipped: %s", r.ID, r.Message)
				}
			}
			t.Logf("%+v in %v", rep.Summary, rep.Duration)

			// With its own timeout below the step timeout it gives up in
			// time; and its profile is detected from its request.
			rep, err = conformance.RunClient(context.Background(), conformance.ClientOptions{
				Exec: qtClientTemplate(bin, tc.version, " --timeout-ms 2000"), Strict: true, Seed: seed,
				Run: []string{"stall/before-reply", "stall/mid-reply", "request/default"},
			})
			if err != nil {
				t.Fatal(err)
			}
			if failed := clientByStatus(rep, conformance.Fail); len(failed) != 0 {
				t.Errorf("with --timeout-ms 2000: failed %v", failed)
			}
			if rep.Profile != tc.profile.String() || rep.ProfileNote != "detected from the client's first request" {
				t.Errorf("profile %q (%s), want %v detected", rep.Profile, rep.ProfileNote, tc.profile)
			}
		})
	}
}
