package main

import (
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

// serveFlags are the flags of tripcheck serve.
type serveFlags struct {
	listen       string
	profile      string
	trips        string
	lenient      bool
	timeout      time.Duration
	maxConns     int
	grace        time.Duration
	logFormat    string
	shape        string
	perBlock     bool
	noEnd        bool
	sizeDelta    int
	garbage      string
	garbageOnly  bool
	reset        bool
	keepOpen     bool
	stall        bool
	replyProfile string
}

func newServeCmd(e *env) *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the reference Trip server: the book's server, byte for byte, or a misbehaving one",
		Long: `serve runs the reference Trip server. By default it answers exactly as the
book's server does (glibc's rand included), and refuses malformed requests
without a reply (--lenient answers them as the book does). It prints
"listening on ADDR" on stdout once it listens, logs one line per connection
on stderr, and on SIGINT or SIGTERM stops accepting, lets the connections in
flight finish (up to --grace), and exits 0.

The misbehaviour flags make it a broken server, to test clients with:

  --shape SHAPE     cut, coalesce, delay or truncate the reply, in the grammar
                    of package shape: bytes-1, split-at-2,35, random-seed-42,
                    coalesced, delay-5ms, truncate-50, then-reset, joined by +
  --per-block       write each block in its own write, as the book's server
  --no-end          leave out the end marker 0xFFFF
  --size-delta N    add N to the size field of every trip block
  --garbage HEX     send these bytes after the reply (--garbage-only: instead)
  --reset           end with an RST instead of a FIN (same as then-reset)
  --keep-open       keep the connection open after the reply
  --stall           read the request and never answer
  --reply-profile P write the trips in profile P's layout

--trips FILE answers every request with the trips of a JSON file:
  [{"date": "2026-11-25", "departure": "09:00", "duration": 44,
    "changes": 1, "trainType": "InterCity"}, ...]
where date and departure may be "@null", and trainType null.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runServe(e, &f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:6178", "listen on `ADDR` (port 0: any free port)")
	fl.StringVar(&f.profile, "profile", "qt4", "profile to speak: qt4 (the book's) or qt5 (qt6 is qt5)")
	fl.StringVar(&f.trips, "trips", "", "answer every request with the trips of this JSON `FILE`")
	fl.BoolVar(&f.lenient, "lenient", false, "answer malformed requests as the book's server does, instead of refusing them")
	fl.DurationVar(&f.timeout, "timeout", fakes.DefaultTimeout, "deadline for reading a request, writing each piece of a reply, and holding a stalled connection")
	fl.IntVar(&f.maxConns, "max-conns", 0, "serve at most `N` connections at once; the others wait to be accepted (0: no limit)")
	fl.DurationVar(&f.grace, "grace", fakes.DefaultGrace, "on SIGINT or SIGTERM, how long to let connections in flight finish")
	fl.StringVar(&f.logFormat, "log-format", "text", "log format on stderr: text or json")
	fl.StringVar(&f.shape, "shape", "", "shape the reply (see above)")
	fl.BoolVar(&f.perBlock, "per-block", false, "write each block in its own write")
	fl.BoolVar(&f.noEnd, "no-end", false, "leave out the end marker")
	fl.IntVar(&f.sizeDelta, "size-delta", 0, "add `N` to the size field of every trip block")
	fl.StringVar(&f.garbage, "garbage", "", "send these bytes, given in `HEX`, after the reply")
	fl.BoolVar(&f.garbageOnly, "garbage-only", false, "send the --garbage bytes instead of the reply")
	fl.BoolVar(&f.reset, "reset", false, "end each connection with an RST instead of a FIN")
	fl.BoolVar(&f.keepOpen, "keep-open", false, "keep each connection open after the reply, until the client closes or --timeout")
	fl.BoolVar(&f.stall, "stall", false, "read the request and never answer, until the client closes or --timeout")
	fl.StringVar(&f.replyProfile, "reply-profile", "", "write the trips in this profile's layout (qt4 or qt5)")
	return cmd
}

// options turns the flags into server options.
func (f *serveFlags) options(stderr io.Writer) ([]fakes.Option, error) {
	p, err := wire.ParseProfile(f.profile)
	if err != nil {
		return nil, usageError("--profile %q: want qt4 or qt5", f.profile)
	}
	var fault fakes.Fault
	if f.shape != "" {
		if fault.Shape, err = shape.Parse(f.shape); err != nil {
			return nil, usageError("--shape: %v", err)
		}
	}
	for _, end := range []struct {
		set  bool
		then shape.Then
		flag string
	}{{f.reset, shape.ThenReset, "--reset"}, {f.keepOpen, shape.ThenKeepOpen, "--keep-open"}} {
		if !end.set {
			continue
		}
		if fault.Shape.Then != shape.ThenClose && fault.Shape.Then != end.then {
			return nil, usageError("%s contradicts the end of --shape (then-%v) or another flag", end.flag, fault.Shape.Then)
		}
		fault.Shape.Then = end.then
	}
	fault.PerBlock = f.perBlock
	fault.NoEnd = f.noEnd
	fault.SizeDelta = f.sizeDelta
	fault.Stall = f.stall
	if f.garbage != "" {
		if fault.Garbage, err = hex.DecodeString(strings.ReplaceAll(f.garbage, " ", "")); err != nil {
			return nil, usageError("--garbage %q: %v", f.garbage, err)
		}
	}
	fault.GarbageOnly = f.garbageOnly
	if f.garbageOnly && len(fault.Garbage) == 0 {
		return nil, usageError("--garbage-only needs --garbage")
	}
	if f.replyProfile != "" {
		if fault.ReplyProfile, err = wire.ParseProfile(f.replyProfile); err != nil {
			return nil, usageError("--reply-profile %q: want qt4 or qt5", f.replyProfile)
		}
	}
	var h slog.Handler
	switch f.logFormat {
	case "text":
		h = slog.NewTextHandler(stderr, nil)
	case "json":
		h = slog.NewJSONHandler(stderr, nil)
	default:
		return nil, usageError("--log-format %q: want text or json", f.logFormat)
	}
	opts := []fakes.Option{
		fakes.WithAddr(f.listen),
		fakes.WithProfile(p),
		fakes.WithTimeout(f.timeout),
		fakes.WithMaxConns(f.maxConns),
		fakes.WithGrace(f.grace),
		fakes.WithLogger(slog.New(h)),
		fakes.WithFault(fault),
	}
	if f.lenient {
		opts = append(opts, fakes.WithLenient())
	}
	if f.trips != "" {
		trips, err := fakes.LoadTrips(f.trips)
		if err != nil {
			return nil, usageError("--trips: %v", err)
		}
		opts = append(opts, fakes.WithGenerator(trips))
	}
	return opts, nil
}

func runServe(e *env, f *serveFlags) error {
	opts, err := f.options(e.stderr)
	if err != nil {
		return err
	}
	s, err := fakes.NewUnstartedServer(opts...)
	if err != nil {
		return usageError("%v", err)
	}
	if err := s.Start(); err != nil {
		return usageError("%v", err)
	}
	fmt.Fprintf(e.stdout, "listening on %s\n", s.Addr())
	<-e.ctx.Done()
	// Stop accepting, let the connections in flight finish (up to
	// --grace), then close what is left. A connection that had to be
	// closed is reported, but stopping on a signal is what was asked: the
	// exit status is 0.
	if err := s.Close(); err != nil {
		fmt.Fprintf(e.stderr, "tripcheck: serve: %v\n", err)
	}
	return nil
}
