// Command tripcheck checks Trip protocol clients and servers byte by byte.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := interruptible()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// interruptible is a context that ends on the first SIGINT or SIGTERM, so
// that a run stops its steps and writes its partial report; a second signal
// quits at once, with status 130.
func interruptible() (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	sig := make(chan os.Signal, 2)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go onSignals(sig, os.Stderr, cancel, os.Exit)
	return ctx, func() {
		signal.Stop(sig)
		cancel()
	}
}

// onSignals cancels the run on the first signal and exits 130 on the
// second.
func onSignals(sig <-chan os.Signal, w io.Writer, cancel func(), exit func(int)) {
	if _, ok := <-sig; !ok {
		return
	}
	fmt.Fprintln(w, "interrupted: stopping (press Ctrl-C again to quit at once)")
	cancel()
	if _, ok := <-sig; ok {
		exit(exitInterrupted)
	}
}
