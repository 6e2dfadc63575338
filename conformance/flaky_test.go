package conformance_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"io"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/report"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// firstConnFails is a server that closes, without a byte, the first
// connection whose request comes from "Flaky", and hands every other one
// to the reference server: a time-dependent scenario that asks from Flaky
// fails once against it, then passes.
func firstConnFails(t *testing.T) string {
	t.Helper()
	srv, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var failed atomic.Bool
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetReadDeadline(time.Now().Add(5 * time.Second))
				var got []byte
				d := wire.NewDecoder(wire.Qt4, wire.Requests)
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					d.Feed(buf[:n])
					var m wire.Message
					if d.Next(&m) == nil {
						if m.Request.From.String() == "Flaky" && failed.CompareAndSwap(false, true) {
							return
						}
						break
					}
					if err != nil {
						return // no request: nothing to hand on
					}
				}
				c.SetReadDeadline(time.Time{})
				up, err := net.Dial("tcp", srv.Addr())
				if err != nil {
					return
				}
				defer up.Close()
				up.Write(got)
				go io.Copy(up, c)
				io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String()
}

// A time-dependent scenario that fails, then passes when run again, is
// flaky: its own status in the text, JSON and JUnit reports, never a pass
// or a failure, and it does not fail the run.
func TestFlakyIsNamed(t *testing.T) {
	sc, err := conformance.ParseScenario("test", "flaky_latency.txtar",
		[]byte("# The server MUST answer within two seconds (a test of --retries).\nlatency -max 2s from=Flaky\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !sc[0].Timed {
		t.Fatal("a latency scenario is not time-dependent")
	}
	rep, err := conformance.RunServer(t.Context(), conformance.ServerOptions{
		Target: firstConnFails(t), Profile: wire.Qt4, Seed: 1, Extra: sc, Run: []string{"flaky"}, Retries: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Results) != 1 {
		t.Fatalf("%d results", len(rep.Results))
	}
	r := rep.Results[0]
	if r.Status != conformance.Flaky || r.Retries != 1 || !strings.Contains(r.Message, "passed when run again") {
		t.Fatalf("status %s, %d retries, message %q; want flaky after 1 retry", r.Status, r.Retries, r.Message)
	}
	if !rep.OK() || rep.Summary.Flaky != 1 || rep.Summary.Failed != 0 || rep.Summary.Passed != 0 {
		t.Errorf("summary %+v, OK %v; want 1 flaky, a run that passes", rep.Summary, rep.OK())
	}

	var text bytes.Buffer
	if err := report.Text(&text, rep, report.TextOptions{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text.String(), "~ flaky/latency (flaky: failed, then passed when run again)") ||
		!strings.Contains(text.String(), "0 passed, 0 failed, 0 skipped, 1 flaky in ") {
		t.Errorf("the text report does not name the flaky scenario:\n%s", text.String())
	}
	var js bytes.Buffer
	if err := report.JSON(&js, rep); err != nil {
		t.Fatal(err)
	}
	var back struct {
		Results []struct{ Status string }
		Summary struct{ Flaky int }
	}
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back.Results[0].Status != "flaky" || back.Summary.Flaky != 1 {
		t.Errorf("JSON: status %q, flaky %d", back.Results[0].Status, back.Summary.Flaky)
	}
	var ju bytes.Buffer
	if err := report.JUnit(&ju, rep); err != nil {
		t.Fatal(err)
	}
	var x struct {
		Failures int `xml:"failures,attr"`
		Suites   []struct {
			Cases []struct {
				Flaky *struct {
					Message string `xml:"message,attr"`
				} `xml:"flakyFailure"`
			} `xml:"testcase"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(ju.Bytes(), &x); err != nil {
		t.Fatal(err)
	}
	if x.Failures != 0 || x.Suites[0].Cases[0].Flaky == nil {
		t.Errorf("JUnit: failures=%d, flakyFailure %v\n%s", x.Failures, x.Suites[0].Cases[0].Flaky, ju.String())
	}

	// Without --retries the same failure is a failure.
	rep, err = conformance.RunServer(t.Context(), conformance.ServerOptions{
		Target: firstConnFails(t), Profile: wire.Qt4, Seed: 1, Extra: sc, Run: []string{"flaky"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Status != conformance.Fail {
		t.Errorf("without retries: status %s, want fail", r.Status)
	}
}
