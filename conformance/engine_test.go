package conformance_test

import (
	"strings"
	"testing"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// The engine tells a script's own mistake from the peer's fault and from
// a skip: a mistake fails the scenario with no finding (it is no cause),
// a peer's fault fails it with the finding of the check that failed, a
// skip names its reason. Against the reference server, so that only the
// scripts make them fail.
func TestScriptOutcomes(t *testing.T) {
	srv, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	scripts := map[string]string{
		"mine_typo.txtar":      "# The server MUST answer (a script with a typo).\nsned\n",
		"mine_bad_flag.txtar":  "# The server MUST answer (a script with a bad flag).\nsend\nreply -trips many\n",
		"mine_no_conn.txtar":   "# The server MUST answer (a script that reads before it sends).\nreply\n",
		"mine_bad_quote.txtar": "# The server MUST answer (a script with a quote left open).\nsend 'from=Berlin\n",
		"mine_peer.txtar":      "# The server MUST send 99 trips (which the reference server does not).\nsend\nreply -trips 99\n",
		"mine_skip.txtar":      "# The server MUST answer as the golden reference does.\nsend\nreply -golden\n",
		"mine_pass.txtar":      "# The server MUST answer.\n# a request\nsend 'from=Frankfurt am Main' to=$PROFILE\nreply -closes\n",
	}
	var extra []conformance.Scenario
	for name, text := range scripts {
		sc, err := conformance.ParseScenario("test", name, []byte(text))
		if err != nil {
			t.Fatal(err)
		}
		extra = append(extra, sc...)
	}
	rep, err := conformance.RunServer(t.Context(), conformance.ServerOptions{
		Target: srv.Addr(), Profile: wire.Qt4, Seed: 1, Extra: extra, Run: []string{"mine"},
	})
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]conformance.Result{}
	for _, r := range rep.Results {
		byID[r.ID] = r
	}
	for _, tc := range []struct {
		id      string
		status  conformance.Status
		check   string // the finding's Check; "" for none
		message string // in the message
		log     string // in the log
	}{
		{"mine/typo", conformance.Fail, "", `error in the script: unknown command "sned"`, "FAIL: mine/typo:2:"},
		{"mine/bad-flag", conformance.Fail, "", "error in the script: invalid value", "usage: reply [-c NAME]"},
		{"mine/no-conn", conformance.Fail, "", `error in the script: no connection "c"`, "> reply"},
		{"mine/bad-quote", conformance.Fail, "", "error in the script: unterminated quoted argument", ""},
		{"mine/peer", conformance.Fail, "reply/trip-count", "trips, want 99", "FAIL: mine/peer:3: "},
		{"mine/skip", conformance.Skip, "", "no golden reference", "SKIP: mine/skip:3: "},
		{"mine/pass", conformance.Pass, "", "", ""},
	} {
		r, ok := byID[tc.id]
		if !ok {
			t.Errorf("%s: no result", tc.id)
			continue
		}
		check := ""
		if len(r.Findings) > 0 {
			check = r.Findings[0].Check
		}
		if r.Status != tc.status || check != tc.check || !strings.Contains(r.Message, tc.message) || !strings.Contains(r.Log, tc.log) {
			t.Errorf("%s: %s, finding %q, message %q; want %s, finding %q, a message with %q and a log with %q\nlog:\n%s",
				tc.id, r.Status, check, r.Message, tc.status, tc.check, tc.message, tc.log, r.Log)
		}
	}
	// A script mistake is no cause: only the peer's fault is.
	if len(rep.Causes) != 1 || rep.Causes[0].Check != "reply/trip-count" {
		t.Errorf("causes %+v, want only reply/trip-count", rep.Causes)
	}
}
