package conformance

import (
	"context"
	"net"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// ExecRun is one run of a client under ExecContract, for tools outside the
// client suite that play the server themselves (tripcheck fuzz --exec). It
// is the suite's own runner: the same template filling, process group,
// output limits and kill.
type ExecRun struct {
	p *clientProc
}

// StartExec fills the template with the search and the address where the
// caller listens, and starts the client, with TRIPCHECK_SCENARIO=scenario
// in its environment. It returns the command line, to show people.
func StartExec(t Template, addr string, search *wire.Request, p wire.Profile, scenario string) (*ExecRun, string, error) {
	argv, err := t.Fill(searchVars(addr, search, p))
	if err != nil {
		return nil, "", err
	}
	proc, err := startProc(argv, []string{"TRIPCHECK_SCENARIO=" + scenario})
	if err != nil {
		return nil, quoteArgv(argv), err
	}
	return &ExecRun{p: proc}, quoteArgv(argv), nil
}

// Accept accepts the client's connection on ln within d, and stops waiting
// soon after the client exits.
func (r *ExecRun) Accept(ctx context.Context, ln net.Listener, d time.Duration) (*net.TCPConn, error) {
	return acceptOne(ctx, ln, d, r.p)
}

// Wait waits up to d (or until ctx ends) for the client to exit, and kills
// it otherwise: it reports whether the client exited by itself.
func (r *ExecRun) Wait(ctx context.Context, d time.Duration) bool { return r.p.wait(ctx, d) }

// Kill kills the client and its process group, and waits for it.
func (r *ExecRun) Kill() { r.p.kill() }

// Done is closed once the client has exited.
func (r *ExecRun) Done() <-chan struct{} { return r.p.done }

// ExitCode is the client's exit status, or -1 if a signal ended it; valid
// once Done is closed.
func (r *ExecRun) ExitCode() int { return r.p.exitCode() }

// Stdout is what the client printed on stdout (at most 4 MiB are kept).
func (r *ExecRun) Stdout() []byte { return r.p.stdout.Bytes() }

// Describe says how the client ended, with its output, for a report.
func (r *ExecRun) Describe() string { return r.p.describe() }
