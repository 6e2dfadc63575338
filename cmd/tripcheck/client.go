package main

import (
	"fmt"
	"net"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/conformance"
)

func newClientCmd(e *env) *cobra.Command {
	var f suiteFlags
	var execTmpl, listen string
	var wait time.Duration
	cmd := &cobra.Command{
		Use:   "client (--exec TEMPLATE [--listen ADDR] | --listen ADDR)",
		Short: "Check a Trip client, byte by byte",
		Long: `client runs the client suite: tripcheck plays the server and checks what the
client sends, what it does on the wire, and (with --exec) what it prints.

With --exec, tripcheck runs the client itself, once per search, each with a
listener of its own, in parallel (--parallel); a client still running at the
step timeout (--timeout, default 5s) is killed. With --listen, tripcheck
listens at ADDR and each connection gets the next scenario, one at a time: the
terminal says which scenario waits and which search it asks for, and after
each reply what was served and what a correct client shows now. The request
is checked for validity, and a request check skips, saying why, when the
search made is not the one asked; the checks of the printed output skip
("needs --exec"). Nobody searching within --wait skips the rest.

With both --exec and --listen ADDR, every run of the client connects to the
one fixed ADDR (for clients that cannot be told an address, such as a GUI
driven by a script), one scenario at a time, and every check runs.

The exec contract (--exec TEMPLATE):

` + conformance.ExecContract + `

Each scenario checks one MUST or SHOULD sentence of the protocol. The output
is a tree by area, led by the causes that group the failures, a recap of
failures with their requirement and an explanation, and last the line "N
passed, N failed, N skipped". Exit status: 0 when every required check
passed, 1 when one failed, 2 on a usage or setup error, 130 when interrupted
(Ctrl-C: the partial reports are written).`,
		Example: `  tripcheck client --exec 'myclient --host {host} --port {port} {from} {to} {date} {time} {flag}'
  tripcheck client --exec 'tripclient --host {host} --port {port} --version 4.3 {from} {to} {date} {time} {flag}' --profile qt4
  tripcheck client --listen 127.0.0.1:6178          # then press Search in your client
  tripcheck client --exec '...' --run framing --strict -v --junit report.xml`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			profile, extra, expect, err := f.inputs()
			if err != nil {
				return err
			}
			if err := checkReportFiles(&f); err != nil {
				return err
			}
			o := conformance.ClientOptions{
				Exec:       execTmpl,
				Profile:    profile,
				Timeout:    f.timeout,
				Wait:       wait,
				Run:        f.run,
				Skip:       f.skip,
				Strict:     f.strict,
				Seed:       f.seedValue(),
				Parallel:   f.parallel,
				Extra:      extra,
				ExpectFail: expect,
				Verbose:    f.verbose,
				Retries:    f.retries,
			}
			all, err := conformance.ClientScenarios(&o)
			if err != nil {
				return usageError("%v", err)
			}
			if done, err := f.listed(e, all, conformance.ClientCommands(), expect); done || err != nil {
				return err
			}
			if execTmpl == "" && listen == "" {
				return usageError("give the client with --exec TEMPLATE, wait for it with --listen ADDR, or both (exec mode at a fixed address)")
			}
			if execTmpl != "" {
				if _, err := conformance.ParseTemplate(execTmpl); err != nil {
					return usageError("--exec: %v", err)
				}
			}
			if execTmpl != "" && listen != "" {
				// Exec mode at a fixed address, for clients that cannot be
				// told one: every run connects to ADDR, one at a time.
				ln, err := net.Listen("tcp", listen)
				if err != nil {
					return usageError("--listen: %v", err)
				}
				defer ln.Close()
				o.Listener = ln
			} else if listen != "" {
				ln, err := net.Listen("tcp", listen)
				if err != nil {
					return usageError("--listen: %v", err)
				}
				defer ln.Close()
				o.Listener = ln
				fmt.Fprintf(e.stderr, "tripcheck listens at %s; each search by your client gets the next scenario (seed %d)\n", ln.Addr(), o.Seed)
				o.Prompt = func(p conformance.Prompt) { fmt.Fprintln(e.stderr, p.String()) }
				o.Feedback = func(f conformance.Feedback) { fmt.Fprintln(e.stderr, f.String()) }
			}
			var liveDone func()
			if o.Listener == nil {
				o.Progress, liveDone = e.liveOutput(&f, conformance.Selected(all, f.run, f.skip))
			} else {
				liveDone = func() {}
			}
			rep, err := conformance.RunClient(e.ctx, o)
			liveDone()
			if err != nil {
				return usageError("%v", err)
			}
			return e.writeReports(rep, &f)
		},
	}
	f.register(cmd)
	// The client suite waits for a process to start and finish: a longer
	// default step timeout than the server suite's.
	f.timeout = conformance.DefaultClientTimeout
	cmd.Flags().Lookup("timeout").DefValue = conformance.DefaultClientTimeout.String()
	cmd.Flags().StringVar(&execTmpl, "exec", "", "run the client as `TEMPLATE` for each search (see the exec contract)")
	cmd.Flags().StringVar(&listen, "listen", "", "wait for the client at `ADDR` (host:port); each connection gets the next scenario")
	cmd.Flags().DurationVar(&wait, "wait", conformance.DefaultListenWait, "with --listen, how long to wait for each search")
	return cmd
}
