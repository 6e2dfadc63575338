package main

import (
	"github.com/tripcheck/tripcheck/internal/plural"

	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/capture"
	"github.com/tripcheck/tripcheck/conformance/report"
	"github.com/tripcheck/tripcheck/pcap"
	"github.com/tripcheck/tripcheck/wire"
)

// captureFlags are the flags of every command that reads a capture.
type captureFlags struct {
	flags     *pflag.FlagSet
	port      string
	profile   string
	maxStream int
	idle      time.Duration
	progress  string
}

func (f *captureFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	f.flags = fl
	fl.StringVar(&f.port, "port", strconv.Itoa(pcap.DefaultPort), "the Trip server's `PORT`, or any: find Trip traffic by content (a side whose first bytes frame as a request); when the default port finds none, content is tried")
	fl.StringVar(&f.profile, "profile", "auto", "profile of the sessions: qt4, qt5 or auto (detect per session)")
	fl.IntVar(&f.maxStream, "max-stream-bytes", pcap.DefaultMaxStreamBytes, "keep at most `N` bytes of each direction of a session")
	fl.DurationVar(&f.idle, "idle", pcap.DefaultIdleTimeout, "end a session after this long without a packet, in capture time")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar on stderr: auto (files over 64 MiB, when stderr is a terminal), always or never")
}

func (f *captureFlags) options() (pcap.Options, wire.Profile, error) {
	o := pcap.Options{MaxStreamBytes: f.maxStream, IdleTimeout: f.idle}
	switch f.port {
	case "any":
		o.Port = pcap.AnyPort
	default:
		n, err := strconv.Atoi(f.port)
		if err != nil || n < 1 || n > 65535 {
			return o, 0, usageError("--port %q: want a port number or any", f.port)
		}
		o.Port = n
	}
	if f.maxStream < 1 {
		return o, 0, usageError("--max-stream-bytes %d: want at least 1", f.maxStream)
	}
	if f.idle <= 0 {
		return o, 0, usageError("--idle %v: want a positive duration", f.idle)
	}
	switch f.progress {
	case "auto", "always", "never":
	default:
		return o, 0, usageError("--progress %q: want auto, always or never", f.progress)
	}
	if f.profile == "auto" || f.profile == "" {
		return o, 0, nil
	}
	p, err := wire.ParseProfile(f.profile)
	if err != nil {
		return o, 0, usageError("--profile %q: want qt4, qt5 or auto", f.profile)
	}
	return o, p, nil
}

// progressMin is the file size from which --progress auto shows a bar.
const progressMin = 64 << 20

// openCapture opens a capture file ("-" is stdin), with a progress bar on
// stderr when asked for, or for a large file when stderr is a terminal.
// close finishes the bar and closes the file.
func (e *env) openCapture(path string, f *captureFlags) (r io.Reader, close func(), err error) {
	if path == "-" {
		return os.Stdin, func() {}, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, usageError("%v", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, nil, usageError("%v", err)
	}
	show := f.progress == "always"
	if f.progress == "auto" && st.Size() >= progressMin {
		if ef, ok := e.stderr.(*os.File); ok && isatty.IsTerminal(ef.Fd()) {
			show = true
		}
	}
	if !show {
		return fh, func() { fh.Close() }, nil
	}
	bar := progressbar.NewOptions64(st.Size(),
		progressbar.OptionSetWriter(e.stderr),
		progressbar.OptionSetDescription("reading "+path),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	pr := progressbar.NewReader(fh, bar)
	return &pr, func() { bar.Finish(); fh.Close() }, nil
}

// readCapture reads the capture at path ("-": stdin) with pass, which gets
// the file and the options to read it with and returns what reading found
// (nil when the file is no capture at all) and an error. When the port
// finds no Trip session, --port was not given and the file can be read
// again, it reads the file again finding sessions by content, as --port
// any does, and says so in one line. Last it prints the file's notes and
// counts on stderr.
func (e *env) readCapture(path string, f *captureFlags, o pcap.Options, pass func(io.Reader, pcap.Options) (*capture.Info, error)) error {
	read := func(o pcap.Options) (*capture.Info, error) {
		r, done, err := e.openCapture(path, f)
		if err != nil {
			return nil, err
		}
		defer done()
		info, err := pass(r, o)
		if info == nil && err != nil {
			return nil, captureError(path, err)
		}
		return info, err
	}
	info, err := read(o)
	if info == nil {
		return err
	}
	port := o.Port
	byContent := err == nil && info.Stats.Sessions == 0 && o.Port != pcap.AnyPort && path != "-" && !f.flags.Changed("port")
	if byContent {
		o.Port = pcap.AnyPort
		if info, err = read(o); info == nil {
			return err
		}
	}
	printInfo(e.stderr, path, *info, o)
	if byContent {
		fmt.Fprintf(e.stderr, "%s: no Trip session on port %d; %d found by content (as with --port any)\n", path, port, info.Stats.Sessions)
	}
	if err != nil {
		return captureError(path, err)
	}
	return nil
}

// captureError turns an error reading a capture into a usage error (2),
// saying what the file is not.
func captureError(path string, err error) error {
	return usageError("%s: %v", path, err)
}

// printInfo writes the file notes and counts to w.
func printInfo(w io.Writer, path string, info capture.Info, o pcap.Options) {
	for _, n := range info.Notes {
		fmt.Fprintf(w, "%s: %v\n", path, n)
	}
	st := info.Stats
	fmt.Fprintf(w, "%s: %s, %d packets, %d TCP (%d in Trip sessions), %s\n", path, info.Format, st.Packets, st.TCP, st.TripSegments, plural.Count(st.Sessions, "Trip session", "Trip sessions"))
	if st.Sessions == 0 {
		switch {
		case o.Port == pcap.AnyPort:
			fmt.Fprintf(w, "%s: no Trip session found\n", path)
		default:
			fmt.Fprintf(w, "%s: no Trip session found on port %d (try --port any)\n", path, o.Port)
		}
	}
}

func newPcapCmd(e *env) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "pcap",
		Short: "Decode and check Trip sessions in a capture (pcap or pcapng)",
		Long: `pcap reads captures of Trip traffic: pcap or pcapng (gzip too), from tcpdump,
tshark, Wireshark or tripcheck proxy --record. Link types: Ethernet, Linux
cooked (SLL and SLL2, as tcpdump -i any writes them), BSD loopback, raw IP.
TCP is reassembled per connection: out-of-order segments, retransmissions,
overlaps, a capture that starts mid-connection and lost bytes are noted with
their packet numbers (counted from 1, as Wireshark counts frames).

Sessions are found on the Trip port (--port, 6178 by default: the endpoint with
that port is the server) or, with --port any, by content: a connection whose
first bytes from one side frame as a Trip request.`,
	}
	cmd.AddCommand(newPcapDecodeCmd(e), newPcapCheckCmd(e))
	return cmd
}

func newPcapDecodeCmd(e *env) *cobra.Command {
	var f captureFlags
	var jsonFile string
	var html htmlSessions
	cmd := &cobra.Command{
		Use:   "decode FILE",
		Short: "Show each Trip session in a capture: endpoints, times, the request, each trip, the end and the close",
		Long: `decode prints each Trip session of the capture FILE ("-": stdin) as it ends:
its endpoints, times and packets, the profile, the request's fields, each trip,
the end marker, faults in the streams, how each side closed, and what the
reassembly noticed. Every line names the packet and the stream offset.

--json writes one JSON object per session and line (JSON Lines), for machines,
on stdout instead of the text; --json=FILE writes them to FILE and the text
to stdout (the "=" is needed: a bare --json means stdout, so that
"--json capture.pcap" reads capture.pcap).
The file's notes and counts go to stderr. Exit status: 0, or 2 when the file
cannot be read (after the sessions before the fault).`,
		Example: `  tripcheck pcap decode trip.pcapng
  tcpdump -i any -w - port 6178 | tripcheck pcap decode -
  tripcheck pcap decode --port any --json capture.pcap | jq .request`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, profile, err := f.options()
			if err != nil {
				return err
			}
			out := bufio.NewWriterSize(e.stdout, 256<<10)
			defer out.Flush()
			switch jsonFile {
			case "":
				return e.decodeCapture(args[0], &f, o, profile, out, nil, &html)
			case report.Stdout:
				return e.decodeCapture(args[0], &f, o, profile, nil, out, &html)
			}
			var decodeErr error
			err = report.WriteFile(jsonFile, func(w io.Writer) error {
				decodeErr = e.decodeCapture(args[0], &f, o, profile, out, w, &html)
				return nil
			})
			if err != nil {
				return usageError("--json: %v", err)
			}
			return decodeErr
		},
	}
	f.register(cmd)
	cmd.Flags().StringVar(&jsonFile, "json", "", "write JSON Lines, one object per session, to stdout instead of the text, or with --json=`FILE` to FILE")
	cmd.Flags().Lookup("json").NoOptDefVal = report.Stdout
	cmd.Flags().StringVar(&html.file, "html", "", "also draw the sessions as wire diagrams in an HTML page `FILE` (at most 500)")
	return cmd
}

// decodeCapture is pcap decode: the text of each session to text and its
// JSON Lines to jsonW, each when not nil, and its diagram to html.
func (e *env) decodeCapture(path string, f *captureFlags, o pcap.Options, profile wire.Profile, text *bufio.Writer, jsonW io.Writer, html *htmlSessions) error {
	var enc *report.DecodeJSON
	if jsonW != nil {
		enc = report.NewDecodeJSON(jsonW)
	}
	var tw report.DecodeText
	var d pcap.Decoded
	var writeErr error
	err := e.readCapture(path, f, o, func(r io.Reader, o pcap.Options) (*capture.Info, error) {
		pr, err := pcap.NewReader(r, o)
		if err != nil {
			return nil, err
		}
		var readErr error
		for {
			if err := e.ctx.Err(); err != nil {
				readErr = err
				break
			}
			s, err := pr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				readErr = err
				break
			}
			d.Decode(s, profile)
			html.add(s, &d)
			if enc != nil {
				writeErr = enc.Session(s, &d)
			}
			if text != nil && writeErr == nil {
				_, writeErr = text.Write(tw.Session(s, &d))
			}
			if writeErr != nil {
				break
			}
		}
		if fw, ok := jsonW.(*bufio.Writer); ok && writeErr == nil {
			writeErr = fw.Flush()
		}
		if text != nil && writeErr == nil {
			writeErr = text.Flush()
		}
		return &capture.Info{Format: pr.Format(), Stats: pr.Stats(), Notes: pr.Notes()}, readErr
	})
	if writeErr != nil {
		return writeErr
	}
	if err := html.write(path); err != nil {
		return err
	}
	return err
}

func newPcapCheckCmd(e *env) *cobra.Command {
	var f captureFlags
	var rf suiteFlags
	var strict, aggregate bool
	var golden string
	cmd := &cobra.Command{
		Use:   "check FILE",
		Short: "Run the passive checks of the server and client suites on the Trip sessions in a capture",
		Long: `check runs, on each Trip session of the capture FILE ("-": stdin), the checks of
the server and client suites that a capture can settle, on both directions:
the request's framing and fields, one request per connection, the reply's
framing and field encodings, the end marker, nothing after it, the server's
close after it, no reply to a truncated request, the client's close; with
--strict also the SHOULDs (bad input refused, trips consistent with the
request, no null dates or times), and with --golden book the book's exact
reply.

Each session gives one result per check that applies, with IDs such as
session[3]/reply/framing; a failure names the packet, the stream offset and
the field, with a hex window. A check the capture cannot settle (a gap, a
capture that ends first) is skipped with the reason. The report and its last
line "N passed, N failed, N skipped" are the suites'; --json and --junit write
the same files. Results are written as they are made (the recap of failures
and the --json and --junit files wait in temporary files until the end), so
memory does not grow with the capture. For a short report of a large
capture, --aggregate gives one result per check over all sessions
(reply/framing, failing if any session fails, naming the first failing
sessions). Exit
status: 0 when every required check passed, 1 when one
failed, 2 when the file cannot be read or holds no Trip session.`,
		Example: `  tripcheck pcap check trip.pcapng
  tripcheck pcap check --strict --golden book --junit report.xml ci-capture.pcap
  tripcheck pcap check --port 7000 -v session.pcapng`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o, profile, err := f.options()
			if err != nil {
				return err
			}
			if err := checkReportFiles(&rf); err != nil {
				return err
			}
			po := capture.CheckOptions{Profile: profile, Strict: strict, Capture: o, Target: args[0], Aggregate: aggregate}
			if golden != "" {
				g, ok := conformance.Golden(golden)
				if !ok {
					return usageError("--golden %q: the only reference is book", golden)
				}
				po.Golden, po.GoldenName = g, golden
			}
			path := args[0]
			var st *report.Stream
			// --html draws the page from the results, so they are held;
			// without it, one result per check per session is streamed.
			if !aggregate && rf.htmlFile == "" {
				// One result per check per session: streamed to the
				// writers, so memory does not grow with the capture.
				if st, err = report.NewStream(e.textOut(&rf), e.streamTextOptions(&rf), rf.jsonFile != "", rf.junitFile != ""); err != nil {
					return usageError("%v", err)
				}
				defer st.Close()
				po.Sink = st
			}
			var rep *conformance.Report
			var sessions int
			err = e.readCapture(path, &f, o, func(r io.Reader, o pcap.Options) (*capture.Info, error) {
				po.Capture = o
				var info capture.Info
				rep, info, err = capture.Check(e.ctx, r, po)
				if rep == nil {
					return nil, err
				}
				sessions = info.Stats.Sessions
				return &info, err
			})
			if rep == nil {
				return err
			}
			write := e.writeReports
			if st != nil {
				write = func(rep *conformance.Report, f *suiteFlags) error { return e.writeStreamed(st, rep, f) }
			}
			if err != nil {
				write(rep, &rf)
				return err
			}
			if sessions == 0 {
				return usageError("%s: no Trip session to check", path)
			}
			return write(rep, &rf)
		},
	}
	f.register(cmd)
	fl := cmd.Flags()
	fl.BoolVar(&strict, "strict", false, "count SHOULD requirements too")
	fl.BoolVar(&aggregate, "aggregate", false, "one result per check over all sessions, not per session (for large captures)")
	fl.StringVar(&golden, "golden", "", "also compare each reply byte for byte with a reference: book (the book's server)")
	fl.StringVar(&rf.jsonFile, "json", "", "write a JSON report to `FILE` (-: stdout, the text report then on stderr)")
	fl.StringVar(&rf.junitFile, "junit", "", "write a JUnit XML report to `FILE` (-: stdout, the text report then on stderr)")
	fl.StringVar(&rf.htmlFile, "html", "", "write an HTML report with wire diagrams to `FILE`")
	fl.BoolVarP(&rf.verbose, "verbose", "v", false, "show the log of every result, passes included")
	return cmd
}

// streamTextOptions are writeReports' text options, for a stream.
func (e *env) streamTextOptions(f *suiteFlags) report.TextOptions {
	return report.TextOptions{Color: e.useColor(e.textOut(f)), Verbose: f.verbose}
}

// writeStreamed is writeReports for a report whose results went to st as
// they were made: the end of the text, then the files asked for, written
// from st's temporary files.
func (e *env) writeStreamed(st *report.Stream, rep *conformance.Report, f *suiteFlags) error {
	if err := st.FinishText(rep); err != nil {
		return err
	}
	if f.jsonFile != "" {
		if err := report.Write(f.jsonFile, e.stdout, func(w io.Writer) error { return st.JSON(w, rep) }); err != nil {
			return usageError("--json: %v", err)
		}
	}
	if f.junitFile != "" {
		if err := report.Write(f.junitFile, e.stdout, func(w io.Writer) error { return st.JUnit(w, rep) }); err != nil {
			return usageError("--junit: %v", err)
		}
	}
	if !rep.OK() {
		// The summary line is the last line of the output: the exit
		// status says the rest.
		return &exitError{code: exitFail}
	}
	return nil
}
