package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// Exit codes shared by every subcommand.
const (
	exitOK    = 0 // all required checks passed
	exitFail  = 1 // a check failed
	exitUsage = 2 // usage or setup error
	// exitInterrupted: the run was stopped by Ctrl-C (128+SIGINT, as a
	// shell reports it); the partial reports were written.
	exitInterrupted = 130
)

// exitError carries an exit code out of a command.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}
func (e *exitError) Unwrap() error { return e.err }

// failed says a check failed (exit 1), with err as the one-line reason.
func failed(err error) error { return &exitError{code: exitFail, err: err} }

// usageError says the command was called wrongly or could not be set up
// (exit 2).
func usageError(format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf(format, args...)}
}

// env is what every subcommand is given: where to write, and the context
// that ends on SIGINT or SIGTERM.
type env struct {
	ctx    context.Context
	stdout io.Writer
	stderr io.Writer
	color  string // --color: auto, always or never
}

// newRoot builds the command tree. Each subcommand lives in its own file.
func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:           "tripcheck",
		Short:         "Conformance and test toolkit for the Trip protocol",
		Long:          "tripcheck checks Trip protocol clients and servers (the Qt book's Trip Planner and Trip Server), byte by byte.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: exitUsage, err: fmt.Errorf("%w\n\n%s", err, c.UsageString())}
	})
	root.AddCommand(
		newVersionCmd(e),
		newServerCmd(e),
		newClientCmd(e),
		newServeCmd(e),
		newQueryCmd(e),
		newLoadCmd(e),
		newFuzzCmd(e),
		newPcapCmd(e),
		newReplayCmd(e),
		newProxyCmd(e),
	)
	agree(root, e)
	return root
}

// run is main without the process: tests call it.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	e := &env{ctx: ctx, stdout: stdout, stderr: stderr}
	root := newRoot(e)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		// An exit error without a message follows a report whose last
		// line (the summary) says it all.
		if ee.err != nil {
			fmt.Fprintln(stderr, "tripcheck:", err)
		}
		return ee.code
	}
	fmt.Fprintln(stderr, "tripcheck:", err)
	// Cobra's own errors (unknown command, bad arguments) are usage errors.
	return exitUsage
}
