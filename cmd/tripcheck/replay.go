package main

import (
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/capture"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/shape"
)

func newReplayCmd(e *env) *cobra.Command {
	var (
		f       captureFlags
		rf      suiteFlags
		server  string
		serve   string
		compare string
		shapeS  string
		timeout time.Duration
		once    bool
	)
	cmd := &cobra.Command{
		Use:   "replay FILE (--server ADDR | --serve ADDR)",
		Short: "Replay captured Trip sessions: the requests to a live server, or the replies to live clients",
		Long: `replay reads the Trip sessions of the capture FILE ("-": stdin).

With --server ADDR it sends each captured request to the server at ADDR, one
session at a time, in the captured segmentation (each of the client's packets
one piece, the captured half-close too) or in the --shape given, and compares
the reply with the captured one: --compare exact (the default) wants the same
bytes and the same close, and explains a difference by offset, field and hex
window; --compare structure wants the same framing outcome, field validity,
trip count, end marker and close. One result per session, session[N]/replay,
in the suites' report (--json, --junit). Exit status: 0 when every session
replayed alike, 1 when one differed, 2 on a usage or setup error.

With --serve ADDR it plays the captured server side to any client that
connects to ADDR: each connection gets the next session's reply, with the
captured segmentation, and ends as the captured server ended it (close, reset,
or kept open until the client closes). It prints "listening on ADDR" once it
listens, logs one line per connection on stderr, and runs until SIGINT (or,
with --once, until each session has been served once).`,
		Example: `  tripcheck replay trip.pcapng --server localhost:6178
  tripcheck replay trip.pcapng --server localhost:6178 --compare structure --shape bytes-1
  tripcheck replay trip.pcapng --serve 127.0.0.1:6178 --once`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, profile, err := f.options()
			if err != nil {
				return err
			}
			if (server == "") == (serve == "") {
				return usageError("give exactly one of --server ADDR and --serve ADDR")
			}
			if err := checkReportFiles(&rf); err != nil {
				return err
			}
			path := args[0]
			if serve != "" {
				return e.serveReplay(path, serve, &f, o, timeout, once)
			}
			mode, err := capture.ParseCompareMode(compare)
			if err != nil {
				return usageError("--compare %q: want exact or structure", compare)
			}
			ro := capture.ReplayOptions{Profile: profile, Compare: mode, Timeout: timeout, Capture: o, Source: path}
			if shapeS != "" {
				sh, err := shape.Parse(shapeS)
				if err != nil {
					return usageError("--shape: %v", err)
				}
				ro.Shape = &sh
			}
			var rep *conformance.Report
			var sessions int
			err = e.readCapture(path, &f, o, func(r io.Reader, o pcap.Options) (*capture.Info, error) {
				ro.Capture = o
				var info capture.Info
				rep, info, err = capture.Replay(e.ctx, r, withDefaultPort(server), ro)
				if rep == nil {
					return nil, err
				}
				sessions = info.Stats.Sessions
				return &info, err
			})
			if rep == nil {
				return err
			}
			if err != nil {
				e.writeReports(rep, &rf)
				return err
			}
			if sessions == 0 {
				return usageError("%s: no Trip session to replay", path)
			}
			return e.writeReports(rep, &rf)
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.StringVar(&server, "server", "", "replay the requests to the server at `ADDR` (port 6178 if none) and compare its replies")
	fl.StringVar(&serve, "serve", "", "listen on `ADDR` and play the captured replies to clients")
	fl.StringVar(&compare, "compare", "exact", "how to compare replies: exact or structure")
	fl.StringVar(&shapeS, "shape", "", "send requests in this `SHAPE` (bytes-1, random-seed-42, ...) instead of the captured segmentation")
	fl.DurationVar(&timeout, "timeout", capture.DefaultReplayTimeout, "deadline of every step that waits for the peer (with --serve: of every read and write)")
	fl.BoolVar(&once, "once", false, "with --serve: stop once each session has been served")
	fl.StringVar(&rf.jsonFile, "json", "", "write a JSON report to `FILE` (-: stdout, the text report then on stderr)")
	fl.StringVar(&rf.junitFile, "junit", "", "write a JUnit XML report to `FILE` (-: stdout, the text report then on stderr)")
	fl.StringVar(&rf.htmlFile, "html", "", "write an HTML report with wire diagrams to `FILE`")
	fl.BoolVarP(&rf.verbose, "verbose", "v", false, "show the log of every session, passes included")
	return cmd
}

// serveReplay is replay --serve.
func (e *env) serveReplay(path, addr string, f *captureFlags, o pcap.Options, timeout time.Duration, once bool) error {
	var sessions []*pcap.Session
	err := e.readCapture(path, f, o, func(r io.Reader, o pcap.Options) (*capture.Info, error) {
		ss, info, err := capture.ReadSessions(r, o, 0)
		if err != nil {
			return nil, err
		}
		sessions = ss
		return &info, nil
	})
	if err != nil {
		return err
	}
	if len(sessions) == 0 {
		return usageError("%s: no Trip session to serve", path)
	}
	ln, err := (&net.ListenConfig{}).Listen(e.ctx, "tcp", addr)
	if err != nil {
		return usageError("--serve: %v", err)
	}
	fmt.Fprintf(e.stdout, "listening on %s\n", ln.Addr())
	err = capture.Serve(e.ctx, ln, sessions, capture.ServeOptions{
		Timeout: timeout,
		Once:    once,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(e.stderr, "%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
		},
	})
	if err != nil && e.ctx.Err() == nil {
		return usageError("--serve: %v", err)
	}
	return nil
}
