package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/report"
	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/wire"
)

// suiteFlags are the flags the server and client suites share.
type suiteFlags struct {
	run, skip  []string
	strict     bool
	profile    string
	timeout    time.Duration
	jsonFile   string
	junitFile  string
	htmlFile   string
	list       bool
	commands   bool
	seed       int64
	parallel   int
	scenarios  []string
	keepGoing  bool
	expectFail string
	verbose    bool
	retries    int
}

func (f *suiteFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.run, "run", nil, "run only scenarios whose ID matches `GLOB` (or starts with it, as framing/); repeatable")
	fl.StringArrayVar(&f.skip, "skip", nil, "skip scenarios whose ID matches `GLOB`; repeatable")
	fl.BoolVar(&f.strict, "strict", false, "count SHOULD requirements too")
	fl.StringVar(&f.profile, "profile", "auto", "profile to speak: qt4, qt5 or auto (detect)")
	fl.DurationVar(&f.timeout, "timeout", 2*time.Second, "deadline of every step that waits for the peer")
	fl.StringVar(&f.jsonFile, "json", "", "write a JSON report to `FILE` (-: stdout, the text report then on stderr)")
	fl.StringVar(&f.junitFile, "junit", "", "write a JUnit XML report to `FILE` (-: stdout, the text report then on stderr)")
	fl.StringVar(&f.htmlFile, "html", "", "write an HTML report with wire diagrams to `FILE`")
	fl.BoolVar(&f.list, "list", false, "list the scenarios (ID, level, requirement) and exit")
	fl.BoolVar(&f.commands, "commands", false, "list the commands scenario scripts can use and exit")
	fl.Int64Var(&f.seed, "seed", 0, "seed of random splits (default: from the clock, printed)")
	fl.IntVar(&f.parallel, "parallel", 8, "scenarios run at once, besides those that only wait (stall windows, long pauses)")
	fl.StringArrayVar(&f.scenarios, "scenarios", nil, "also run the .txtar scenarios in `DIR`; repeatable")
	fl.StringVar(&f.expectFail, "expect-fail", "", "`FILE` listing scenario IDs expected to fail, one a line; the run fails on a new failure or an unexpected pass")
	fl.BoolVarP(&f.verbose, "verbose", "v", false, "show every scenario's log, the whole wire log included")
	fl.IntVar(&f.retries, "retries", 1, "run a failed time-dependent scenario (silence, stall, latency) again up to `N` times; a fail then a pass is reported flaky")
}

// profileFlag reads --profile: 0 for auto.
func (f *suiteFlags) profileFlag() (wire.Profile, error) {
	if f.profile == "auto" || f.profile == "" {
		return 0, nil
	}
	p, err := wire.ParseProfile(f.profile)
	if err != nil {
		return 0, usageError("--profile %q: want qt4, qt5 or auto", f.profile)
	}
	return p, nil
}

func (f *suiteFlags) seedValue() int64 {
	if f.seed != 0 {
		return f.seed
	}
	return time.Now().UnixNano() & 0x7fffffff
}

// extraScenarios loads --scenarios directories.
func (f *suiteFlags) extraScenarios() ([]conformance.Scenario, error) {
	var out []conformance.Scenario
	for _, dir := range f.scenarios {
		ss, err := conformance.LoadDir(dir)
		if err != nil {
			return nil, usageError("%v", err)
		}
		out = append(out, ss...)
	}
	return out, nil
}

// readExpectFail reads an --expect-fail file: scenario IDs, one a line;
// blank lines and '#' comments are ignored.
func readExpectFail(path string) (map[string]bool, error) {
	if path == "" {
		return nil, nil
	}
	fh, err := os.Open(path)
	if err != nil {
		return nil, usageError("--expect-fail: %v", err)
	}
	defer fh.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		if line != "" {
			out[line] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, usageError("--expect-fail: %v", err)
	}
	return out, nil
}

// checkKnown refuses --expect-fail IDs that name no scenario: a typo would
// otherwise pass silently.
func checkKnown(expect map[string]bool, all []conformance.Scenario) error {
	known := map[string]bool{}
	for _, s := range all {
		known[s.ID] = true
	}
	for id := range expect {
		if !known[id] {
			return usageError("--expect-fail: no scenario %q", id)
		}
	}
	return nil
}

func listScenarios(w io.Writer, all []conformance.Scenario) {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tLEVEL\tREQUIREMENT")
	for _, s := range all {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", s.ID, s.Level, s.Requirement)
	}
	tw.Flush()
}

func listCommands(w io.Writer, cmds []conformance.Command) {
	for _, c := range cmds {
		fmt.Fprintf(w, "%s %s\n", c.Name, c.Usage)
		for _, line := range strings.Split(c.Doc, "\n") {
			fmt.Fprintf(w, "    %s\n", line)
		}
		fmt.Fprintln(w)
	}
}

// inputs reads what --profile, --scenarios and --expect-fail name.
func (f *suiteFlags) inputs() (wire.Profile, []conformance.Scenario, map[string]bool, error) {
	profile, err := f.profileFlag()
	if err != nil {
		return 0, nil, nil, err
	}
	extra, err := f.extraScenarios()
	if err != nil {
		return 0, nil, nil, err
	}
	expect, err := readExpectFail(f.expectFail)
	if err != nil {
		return 0, nil, nil, err
	}
	return profile, extra, expect, nil
}

// listed answers --list and --commands, and checks the --expect-fail IDs
// against the scenarios; done says the command has nothing more to do.
func (f *suiteFlags) listed(e *env, all []conformance.Scenario, cmds []conformance.Command, expect map[string]bool) (done bool, err error) {
	switch {
	case f.list:
		listScenarios(e.stdout, all)
		return true, nil
	case f.commands:
		listCommands(e.stdout, cmds)
		return true, nil
	}
	if err := checkKnown(expect, all); err != nil {
		return false, err
	}
	if err := conformance.CheckFilters(all, f.run, f.skip); err != nil {
		return false, usageError("%v", err)
	}
	return false, nil
}

// writeReports prints the text report and writes the files asked for.
func (e *env) writeReports(rep *conformance.Report, f *suiteFlags) error {
	text := e.textOut(f)
	if err := report.Text(text, rep, report.TextOptions{Color: e.useColor(text), Verbose: f.verbose}); err != nil {
		return err
	}
	if f.jsonFile != "" {
		if err := report.Write(f.jsonFile, e.stdout, func(w io.Writer) error { return report.JSON(w, rep) }); err != nil {
			return usageError("--json: %v", err)
		}
	}
	if f.junitFile != "" {
		if err := report.Write(f.junitFile, e.stdout, func(w io.Writer) error { return report.JUnit(w, rep) }); err != nil {
			return usageError("--junit: %v", err)
		}
	}
	if err := writeHTML(rep, f.htmlFile); err != nil {
		return err
	}
	// The summary line is the last line of the output: the exit status
	// says the rest, with no message after it.
	switch {
	case rep.Interrupted:
		return &exitError{code: exitInterrupted}
	case !rep.OK():
		return &exitError{code: exitFail}
	}
	return nil
}

// liveOutput prints each result as it finishes, on stderr, when stderr is a
// terminal or with -v: one line a result, and on a terminal a progress
// line (count, elapsed, a scenario still waited for) rewritten in place.
// It returns the Progress function of the suite's options and a function
// that clears the progress line before the report.
func (e *env) liveOutput(f *suiteFlags, selected []conformance.Scenario) (progress func(conformance.Result), done func()) {
	fh, _ := e.stderr.(*os.File)
	tty := fh != nil && (isatty.IsTerminal(fh.Fd()) || isatty.IsCygwinTerminal(fh.Fd()))
	if !tty && !f.verbose {
		return nil, func() {}
	}
	var mu sync.Mutex
	n, start, total := 0, time.Now(), len(selected)
	finished := map[string]bool{}
	clear := func() {
		if tty {
			fmt.Fprint(e.stderr, "\r\x1b[K")
		}
	}
	return func(r conformance.Result) {
			mu.Lock()
			defer mu.Unlock()
			if !finished[r.ID] {
				n++
			}
			finished[r.ID] = true
			clear()
			fmt.Fprintln(e.stderr, report.ResultLine(r))
			if tty {
				line := fmt.Sprintf("[%d/%d] %s", n, total, time.Since(start).Round(100*time.Millisecond))
				for _, sc := range selected {
					if !finished[sc.ID] {
						line += ", waiting for " + sc.ID
						break
					}
				}
				fmt.Fprint(e.stderr, line)
			}
		}, func() {
			mu.Lock()
			defer mu.Unlock()
			clear()
		}
}

func newServerCmd(e *env) *cobra.Command {
	var f suiteFlags
	var golden string
	cmd := &cobra.Command{
		Use:   "server [ADDR]",
		Short: "Check a Trip server, byte by byte",
		Long: `server runs the server suite against the Trip server at ADDR (host:port; the port
defaults to 6178).

With no ADDR it starts tripcheck's embedded reference server (the book's
server, byte for byte) and checks that, with --golden book: the whole tool at
work in one command.

Each scenario checks one MUST or SHOULD sentence of the protocol. The output
is a tree by area, a recap of failures with their requirement and an
explanation (byte offset, field, expected and actual, a hex window), led by
the causes that group the failures, and last the line "N passed, N failed,
N skipped". A time-dependent scenario that fails runs again (--retries); a
fail then a pass is reported flaky. Exit status: 0 when every required check
passed, 1 when one failed, 2 on a usage or setup error (--run or --skip that
match nothing included), 130 when interrupted (Ctrl-C: the partial reports
are written; a second Ctrl-C quits at once).`,
		Example: `  tripcheck server                       # check the embedded reference server
  tripcheck server localhost:6178        # check your server
  tripcheck server localhost:6178 --run framing --strict -v
  tripcheck server localhost:6178 --golden book --junit report.xml`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			profile, extra, expect, err := f.inputs()
			if err != nil {
				return err
			}
			if err := checkReportFiles(&f); err != nil {
				return err
			}
			o := conformance.ServerOptions{
				Profile:    profile,
				Timeout:    f.timeout,
				Run:        f.run,
				Skip:       f.skip,
				Strict:     f.strict,
				Seed:       f.seedValue(),
				Parallel:   f.parallel,
				KeepGoing:  f.keepGoing,
				Extra:      extra,
				ExpectFail: expect,
				Verbose:    f.verbose,
				Retries:    f.retries,
			}
			all, err := conformance.ServerScenarios(&o)
			if err != nil {
				return usageError("%v", err)
			}
			if done, err := f.listed(e, all, conformance.ServerCommands(), expect); done || err != nil {
				return err
			}
			if len(args) == 0 && golden == "" {
				golden = "book"
			}
			if golden != "" {
				g, ok := conformance.Golden(golden)
				if !ok {
					return usageError("--golden %q: the only reference is book", golden)
				}
				o.Golden, o.GoldenName = g, golden
			}
			if len(args) == 1 {
				o.Target = withDefaultPort(args[0])
			} else {
				p := profile
				if p == 0 {
					p = wire.Qt4
				}
				srv, err := fakes.NewServer(fakes.WithProfile(p))
				if err != nil {
					return usageError("cannot start the embedded reference server: %v", err)
				}
				defer srv.Close()
				o.Target = srv.Addr()
				fmt.Fprintf(e.stderr, "checking tripcheck's embedded reference server (%v) at %s\n", p, o.Target)
			}
			var liveDone func()
			o.Progress, liveDone = e.liveOutput(&f, conformance.Selected(all, f.run, f.skip))
			rep, err := conformance.RunServer(e.ctx, o)
			liveDone()
			if err != nil {
				return usageError("%v", err)
			}
			if len(args) == 0 {
				rep.Target = "embedded reference server " + rep.Target
			}
			return e.writeReports(rep, &f)
		},
	}
	f.register(cmd)
	cmd.Flags().BoolVar(&f.keepGoing, "keep-going", false, "run the scenarios even when the first request gets no Trip reply at all")
	cmd.Flags().StringVar(&golden, "golden", "", "compare replies byte for byte with a reference: book (the book's server)")
	return cmd
}
