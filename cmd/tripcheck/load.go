package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// loadFlags are the flags of tripcheck load.
type loadFlags struct {
	concurrency int
	requests    int
	duration    time.Duration
	slow        int
	profile     string
	timeout     time.Duration
}

func newLoadCmd(e *env) *cobra.Command {
	var f loadFlags
	cmd := &cobra.Command{
		Use:   "load ADDR",
		Short: "Load a Trip server with many clients, one request per connection",
		Long: `load runs -c clients against the server at ADDR (the port defaults to 6178),
each sending the book's example request (Berlin → München, 2026-11-25 09:00)
on a new connection, again and again, until -n requests have been sent or
-d has passed. --slow N first opens N more connections that send half a
request and stall, and holds them during the run: a server should serve the
others as if they were not there.

It prints requests per second, latency quantiles (connect to end marker, to
within 1%), errors by kind with a sample of each, and what became of the
slow connections. The exit status is 1 if any request failed, 2 at once when
nothing listens at ADDR.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("requests") && cmd.Flags().Changed("duration") {
				return usageError("give -n or -d, not both")
			}
			if cmd.Flags().Changed("duration") {
				f.requests = 0
			}
			return runLoad(e, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.IntVarP(&f.concurrency, "concurrency", "c", fakes.DefaultConcurrency, "clients at once")
	fl.IntVarP(&f.requests, "requests", "n", 100000, "stop after `N` requests")
	fl.DurationVarP(&f.duration, "duration", "d", 0, "stop after this long (instead of -n)")
	fl.IntVar(&f.slow, "slow", 0, "also hold `N` connections that send half a request and stall")
	fl.StringVar(&f.profile, "profile", "qt4", "profile to speak: qt4 or qt5")
	fl.DurationVar(&f.timeout, "timeout", fakes.DefaultQueryTimeout, "deadline of each request")
	return cmd
}

func runLoad(e *env, f *loadFlags, addr string) error {
	p, err := wire.ParseProfile(f.profile)
	if err != nil {
		return usageError("--profile %q: want qt4 or qt5", f.profile)
	}
	if f.concurrency < 1 || f.requests < 0 || f.duration < 0 || f.slow < 0 || f.timeout <= 0 {
		return usageError("-c must be at least 1; -n, -d, --slow and --timeout must not be negative")
	}
	addr = withDefaultPort(addr)
	if err := dialFirst(e.ctx, addr, f.timeout); err != nil {
		return err
	}
	res, err := fakes.Load(e.ctx, fakes.LoadConfig{
		Addr:        addr,
		Profile:     p,
		Concurrency: f.concurrency,
		Requests:    f.requests,
		Duration:    f.duration,
		Timeout:     f.timeout,
		Slow:        f.slow,
	})
	if err != nil {
		return usageError("%v", err)
	}
	res.WriteText(e.stdout, f.slow > 0)
	if n := res.Requests - res.OK; n > 0 {
		return failed(fmt.Errorf("load: %d of %d requests failed", n, res.Requests))
	}
	return nil
}
