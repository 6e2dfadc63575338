package main

import (
	"fmt"
	"net"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/proxy"
	"github.com/tripcheck/tripcheck/shape"
	"github.com/tripcheck/tripcheck/wire"
)

func newProxyCmd(e *env) *cobra.Command {
	var (
		listen, upstream, record string
		shapeUp, shapeDown       string
		profile                  string
		timeout, grace           time.Duration
		count                    int
		quiet                    bool
	)
	cmd := &cobra.Command{
		Use:   "proxy --listen ADDR --upstream ADDR",
		Short: "A fault-injecting proxy that validates both directions live and records a pcapng",
		Long: `proxy accepts Trip clients on --listen and connects each to the --upstream server.

Each direction can be shaped, as toxiproxy's toxics do: --shape-up for the
client's bytes, --shape-down for the server's, in the grammar of tripcheck
serve --shape (parts joined by +):

  slicer       bytes-N, random-seed-S[:MIN-MAX], split-at-A,B
  limit_data   truncate-N (then-close by default)
  latency      delay-D between pieces (with a cut: bytes-100+delay-50ms)
  reset        then-reset (after truncate-N, or when the stream ends)

Both directions are decoded as they are read, before shaping; every fault (a
size that lies, a bad field, bytes after the end marker, a stream cut inside a
block, a second request, a reply to a truncated request) is logged on stderr at
once, with the connection, the direction, the stream offset and the field.
Each connection ends with a summary line.

--record FILE writes a pcapng that tcpdump, tshark and tripcheck pcap read:
each proxied connection as one TCP connection between the client and the
upstream server (its address and port, so pcap decode and pcap check find
the sessions on the server's port, 6178 by default), with a handshake, real sequence numbers, each piece
one packet (the client's bytes as the server was sent them, the server's as
the client was), and the FIN or RST each side ended with.

proxy prints "listening on ADDR" on stdout once it listens and runs until
SIGINT or SIGTERM (or --count connections), then lets open connections finish
for --grace. Exit status: 0, 1 when a fault was found, 2 on a usage or setup
error.`,
		Example: `  tripcheck proxy --listen 127.0.0.1:7000 --upstream localhost:6178 --record trip.pcapng
  tripcheck proxy --listen :7000 --upstream server:6178 --shape-down bytes-1+delay-5ms
  tripcheck proxy --listen :7000 --upstream server:6178 --shape-down truncate-20+then-reset --count 1`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if listen == "" || upstream == "" {
				return usageError("--listen and --upstream are required")
			}
			o := proxy.Options{Upstream: withDefaultPort(upstream), Timeout: timeout, Grace: grace, Count: count}
			var err error
			if shapeUp != "" {
				if o.Up, err = shape.Parse(shapeUp); err != nil {
					return usageError("--shape-up: %v", err)
				}
			}
			if shapeDown != "" {
				if o.Down, err = shape.Parse(shapeDown); err != nil {
					return usageError("--shape-down: %v", err)
				}
			}
			if profile != "auto" && profile != "" {
				if o.Profile, err = wire.ParseProfile(profile); err != nil {
					return usageError("--profile %q: want qt4, qt5 or auto", profile)
				}
			}
			if count < 0 {
				return usageError("--count %d: want 0 or more", count)
			}
			var (
				rec     *pcap.Writer
				recFile *os.File
				mu      sync.Mutex
				faults  int
				conns   int
			)
			if record != "" {
				if recFile, err = os.Create(record); err != nil {
					return usageError("--record: %v", err)
				}
				defer recFile.Close()
				if rec, err = pcap.NewWriter(recFile); err != nil {
					return usageError("--record: %v", err)
				}
				o.Record = rec
			}
			o.Events = func(ev proxy.Event) {
				mu.Lock()
				defer mu.Unlock()
				switch ev.Kind {
				case proxy.EventFinding:
					faults++
				case proxy.EventClose, proxy.EventError:
					if ev.Kind == proxy.EventClose {
						conns++
					}
					if rec != nil {
						rec.Flush() // a capture that is whole after each connection
					}
				}
				if !quiet || ev.Kind == proxy.EventFinding || ev.Kind == proxy.EventError {
					fmt.Fprintf(e.stderr, "%s %v\n", ev.Time.Format("15:04:05.000"), ev)
				}
			}
			p, err := proxy.New(o)
			if err != nil {
				return usageError("%v", err)
			}
			ln, err := (&net.ListenConfig{}).Listen(e.ctx, "tcp", listen)
			if err != nil {
				return usageError("--listen: %v", err)
			}
			fmt.Fprintf(e.stdout, "listening on %s\n", ln.Addr())
			serveErr := p.Serve(e.ctx, ln)
			if rec != nil {
				if err := rec.Flush(); err != nil {
					return usageError("--record: %v", err)
				}
				if err := recFile.Close(); err != nil {
					return usageError("--record: %v", err)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintf(e.stderr, "proxy: %d connections, %d faults found\n", conns, faults)
			if serveErr != nil {
				return usageError("%v", serveErr)
			}
			if faults > 0 {
				return failed(fmt.Errorf("%d faults found", faults))
			}
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&listen, "listen", "", "accept clients on `ADDR` (port 0: any free port)")
	fl.StringVar(&upstream, "upstream", "", "the Trip server, `ADDR`")
	fl.StringVar(&record, "record", "", "record the connections to this pcapng `FILE`")
	fl.StringVar(&shapeUp, "shape-up", "", "shape the client's bytes to the server (`SHAPE`)")
	fl.StringVar(&shapeDown, "shape-down", "", "shape the server's bytes to the client (`SHAPE`)")
	fl.StringVar(&profile, "profile", "auto", "profile to decode in: qt4, qt5 or auto (detect per connection)")
	fl.DurationVar(&timeout, "timeout", proxy.DefaultTimeout, "how long a connection may stay idle; also bounds the dial and every write")
	fl.DurationVar(&grace, "grace", proxy.DefaultGrace, "on SIGINT or SIGTERM, how long to let open connections finish")
	fl.IntVar(&count, "count", 0, "stop after `N` connections (0: run until SIGINT)")
	fl.BoolVarP(&quiet, "quiet", "q", false, "log only faults and errors, not each connection")
	return cmd
}
