package main

// The rules every command shares, each in one place: the version line, the
// default port, --timeout, --color, reports on stdout ("-"), the check that a
// server listens, and the completion of flag values. newRoot calls agree once
// the command tree is built.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/conformance/report"
)

// tripPort is the Trip protocol's port, used when an address has none.
const tripPort = "6178"

// withDefaultPort adds the Trip port to an address without one: "localhost"
// is localhost:6178, "::1" and "[::1]" are [::1]:6178. Every command that
// takes a server's address reads it through here.
func withDefaultPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	host := strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]")
	return net.JoinHostPort(host, tripPort)
}

// versionLine is what --version and `tripcheck version` print: the module
// version and, when the binary was built from a VCS checkout, the commit
// (and "modified" when the work tree had changes).
func versionLine() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "tripcheck (devel)"
	}
	return formatVersion(bi)
}

// formatVersion is versionLine for given build information.
func formatVersion(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	var rev string
	var modified bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	if rev == "" {
		return "tripcheck " + v
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if modified {
		rev += ", modified"
	}
	return fmt.Sprintf("tripcheck %s (commit %s)", v, rev)
}

// Values of --color.
const (
	colorAuto   = "auto"
	colorAlways = "always"
	colorNever  = "never"
)

// useColor says whether text for w is coloured: --color always or never, or
// with auto, when w is a terminal and NO_COLOR is not set.
func (e *env) useColor(w io.Writer) bool {
	switch e.color {
	case colorAlways:
		return true
	case colorNever:
		return false
	}
	fh, ok := w.(*os.File)
	return ok && report.ColorFor(fh)
}

// textOut is where the text report of a suite goes: stdout, or stderr when
// --json or --junit is "-" and the machine report takes stdout.
func (e *env) textOut(f *suiteFlags) io.Writer {
	if f.jsonFile == report.Stdout || f.junitFile == report.Stdout {
		return e.stderr
	}
	return e.stdout
}

// checkReportFiles refuses two reports on stdout.
func checkReportFiles(f *suiteFlags) error {
	if f.jsonFile == report.Stdout && f.junitFile == report.Stdout {
		return usageError("--json - and --junit - both want stdout: give one of them a FILE")
	}
	return nil
}

// dialFirst dials addr once before a command's work starts, so that a
// command against nothing stops at once with a setup error (exit 2) instead
// of counting thousands of refused connections.
func dialFirst(ctx context.Context, addr string, timeout time.Duration) error {
	d := net.Dialer{Timeout: timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return notListening(addr, err)
	}
	return c.Close()
}

// notListening is the setup error of a failed dial: one line.
func notListening(addr string, err error) error {
	reason := "cannot connect"
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded):
		reason = "connect timed out"
	default:
		var op *net.OpError
		if errors.As(err, &op) && op.Err != nil {
			reason = op.Err.Error()
		}
	}
	return usageError("nothing listens at %s (%s)", addr, reason)
}

// agree gives the command tree what every command shares: --version,
// --color, the --timeout check, and completion of flag values.
func agree(root *cobra.Command, e *env) {
	root.Version = versionLine()
	root.SetVersionTemplate("{{.Version}}\n")
	root.PersistentFlags().StringVar(&e.color, "color", colorAuto, "colour the output: auto (on a terminal, unless NO_COLOR is set), always or never")
	root.PersistentPreRunE = func(cmd *cobra.Command, args []string) error {
		switch e.color {
		case colorAuto, colorAlways, colorNever:
		default:
			return usageError("--color %q: want auto, always or never", e.color)
		}
		return checkTimeout(cmd)
	}
	root.RegisterFlagCompletionFunc("color", fixedValues(colorAuto, colorAlways, colorNever))
	walk(root, registerCompletions)
}

// checkTimeout refuses a --timeout that is not positive, on any command that
// has one: zero or less would mean no deadline, or a silent default.
func checkTimeout(cmd *cobra.Command) error {
	fl := cmd.Flags().Lookup("timeout")
	if fl == nil || fl.Value.Type() != "duration" {
		return nil
	}
	d, err := time.ParseDuration(fl.Value.String())
	if err != nil || d <= 0 {
		return usageError("--timeout %s: want a positive duration", fl.Value)
	}
	return nil
}

// walk calls fn on cmd and every command under it.
func walk(cmd *cobra.Command, fn func(*cobra.Command)) {
	fn(cmd)
	for _, c := range cmd.Commands() {
		walk(c, fn)
	}
}

// shapeExamples are the shapes completion offers, in the one spelling of
// shape.Shape.String.
var shapeExamples = []string{"bytes-1", "bytes-3+coalesced", "split-at-2,5", "random-seed-42", "delay-5ms", "truncate-10+then-reset", "truncate-10+then-half-close"}

// registerCompletions completes the values of cmd's flags by their names:
// profiles, formats, shapes, and scenario IDs for --run and --skip of the
// suites.
func registerCompletions(cmd *cobra.Command) {
	fs := cmd.Flags()
	add := func(name string, fn func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective)) {
		if fs.Lookup(name) != nil {
			cmd.RegisterFlagCompletionFunc(name, fn)
		}
	}
	if fl := fs.Lookup("profile"); fl != nil {
		if strings.Contains(fl.Usage, "auto") {
			add("profile", fixedValues("qt4", "qt5", "auto"))
		} else {
			add("profile", fixedValues("qt4", "qt5"))
		}
	}
	if cmd.Name() == "query" {
		add("format", fixedValues("table", "lines", "json"))
	}
	for _, name := range []string{"shape", "shape-up", "shape-down"} {
		add(name, fixedValues(shapeExamples...))
	}
	var ids func() []string
	switch cmd.Name() {
	case "server":
		ids = func() []string {
			all, _ := conformance.ServerScenarios(&conformance.ServerOptions{})
			return scenarioIDs(all)
		}
	case "client":
		ids = func() []string {
			all, _ := conformance.ClientScenarios(&conformance.ClientOptions{})
			return scenarioIDs(all)
		}
	}
	if ids != nil && cmd.Parent() != nil && cmd.Parent().Parent() == nil {
		complete := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return ids(), cobra.ShellCompDirectiveNoFileComp
		}
		add("run", complete)
		add("skip", complete)
	}
}

// scenarioIDs are the IDs of ss, with each area ("framing/") first.
func scenarioIDs(ss []conformance.Scenario) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range ss {
		if i := strings.IndexByte(s.ID, '/'); i > 0 && !seen[s.ID[:i+1]] {
			seen[s.ID[:i+1]] = true
			out = append(out, s.ID[:i+1])
		}
		out = append(out, s.ID)
	}
	return out
}

// fixedValues completes a flag from a fixed list.
func fixedValues(vals ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return vals, cobra.ShellCompDirectiveNoFileComp
	}
}
