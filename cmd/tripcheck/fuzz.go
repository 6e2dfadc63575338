package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/livefuzz"
	"github.com/tripcheck/tripcheck/wire"
)

// fuzzFlags are the flags of tripcheck fuzz.
type fuzzFlags struct {
	cases    int
	seed     int64
	out      string
	profile  string
	timeout  time.Duration
	batch    int
	repro    string
	parallel int
	exec     string // fuzz a client: its exec template
	listen   string // fuzz a client: where to wait for it
	wait     time.Duration
}

func newFuzzCmd(e *env) *cobra.Command {
	var f fuzzFlags
	cmd := &cobra.Command{
		Use:   "fuzz (ADDR | --exec TEMPLATE | --listen ADDR)",
		Short: "Fuzz a live Trip server or client with mutated messages, and replay what broke it",
		Long: `fuzz sends the Trip server at ADDR (host:port; the port defaults to 6178)
--cases mutated requests, each on its own connection: bit flips, size fields
that lie, truncation, splices of two requests, two requests at once, huge
and odd string lengths, random fields and random bytes, written whole,
fragmented or coalesced. After every --batch cases (and at once after a
refused or silent connection) a probe sends the book's example request and
must read a whole reply, end marker included, within --timeout.

The run stops at the first failed probe, with a verdict on the case blamed:
  crash  the server no longer accepts connections
  hang   it accepts, but the probe gets no whole reply within --timeout
and saves the case as a reproducer in --out (tripcheck-fuzz-SEED-CASE.repro,
a text file: seed, case number, profile, mutation, shape, verdict, bytes in
hex). "tripcheck fuzz --repro FILE ADDR" sends it again, then the probe.

The seed is printed first: the same seed gives the same cases. Every
connection has a deadline (--timeout) and a byte budget (1 MiB of a
server's answer, 64 KiB of what a client sends after its request). Fuzz
only servers you run yourself.

--parallel N sends N cases at once, each on its own connection (blame is
then among the cases of a batch in flight: see the suspects).

Fuzzing a client: with --exec TEMPLATE (the client exec contract of
"tripcheck client --exec"), tripcheck runs the client once per case with a
search, plays the server, reads its request (which must be the exact
encoding of the search) and answers it with a mutated reply: bit flips,
size fields that lie, truncation at any offset or block boundary, spliced
blocks, huge and odd string lengths, bytes after the end marker, written
whole or shaped. The reference decoder judges: where the reply decodes to
an end marker, the client must print exactly its trips and END n and exit
0; where it does not, the client must print ERROR <reason> last and exit
non-zero, and before it may print only the lines of the first trips whose
blocks came whole and valid, in order. It must send nothing after its
request. The run stops at the first failure:
  crash  the client was killed by a signal
  hang   it did not finish within --timeout (default 5s here)
  wrong  a wrong answer or request
and saves the case as a reproducer (tripcheck-fuzz-client-SEED-CASE.repro);
"tripcheck fuzz --exec TEMPLATE --repro FILE" runs it again. --parallel N
runs N clients at once; the verdict is the same (the first failing case).

With --listen ADDR tripcheck waits for a client that a person runs: each
connection gets the next case. Nothing shows what that client printed, so
only a malformed request, bytes after it, or no close within --timeout
after the reply fail; a run stops after --wait without a connection (a
client that crashed shows that way: the case before is the suspect).

Exit status: 0 the peer survived every case (with --repro: survived the
case), 1 a crash, a hang or a wrong answer, 2 usage or setup error (such as
a server that does not answer the probe before the first case).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			client := f.exec != "" || f.listen != ""
			switch {
			case f.exec != "" && f.listen != "":
				return usageError("give --exec or --listen, not both")
			case client && len(args) != 0:
				return usageError("with --exec or --listen tripcheck is the server: no ADDR")
			case !client && len(args) != 1:
				return usageError("give the server's ADDR, or a client with --exec TEMPLATE or --listen ADDR")
			case client:
				if !cmd.Flags().Changed("timeout") {
					f.timeout = conformance.DefaultClientTimeout
				}
				return runFuzzClient(e, &f, cmd.Flags().Changed("seed"))
			}
			return runFuzz(e, &f, args[0], cmd.Flags().Changed("seed"))
		},
	}
	fl := cmd.Flags()
	fl.IntVar(&f.cases, "cases", livefuzz.DefaultCases, "how many cases to send")
	fl.Int64Var(&f.seed, "seed", 0, "`SEED` of the cases (default: from the clock, printed)")
	fl.StringVar(&f.out, "out", ".", "`DIR` to save the reproducer of a failing case in")
	fl.StringVar(&f.profile, "profile", "qt4", "profile to speak: qt4 (the book's) or qt5 (qt6 is qt5)")
	fl.DurationVar(&f.timeout, "timeout", livefuzz.DefaultTimeout, "deadline of every connection, and of the probe's whole reply")
	fl.IntVar(&f.batch, "batch", livefuzz.DefaultBatch, "cases between two probes (1: a probe after every case, exact blame)")
	fl.StringVar(&f.repro, "repro", "", "send the case of this reproducer `FILE` again, then the probe")
	fl.IntVar(&f.parallel, "parallel", 1, "cases at once, each on its own connection (with --exec: clients at once)")
	fl.StringVar(&f.exec, "exec", "", "fuzz a client: run it as `TEMPLATE` for each case (the client exec contract)")
	fl.StringVar(&f.listen, "listen", "", "fuzz a client that connects to `ADDR` (host:port): each connection gets the next case")
	fl.DurationVar(&f.wait, "wait", conformance.DefaultListenWait, "with --listen, how long to wait for each connection")
	return cmd
}

// check reads the flags server and client fuzzing share: the profile,
// and counts and durations that must be positive.
func (f *fuzzFlags) check() (wire.Profile, error) {
	p, err := wire.ParseProfile(f.profile)
	if err != nil {
		return 0, usageError("--profile %q: want qt4 or qt5", f.profile)
	}
	switch {
	case f.cases < 1:
		return 0, usageError("--cases %d: want at least 1", f.cases)
	case f.parallel < 1:
		return 0, usageError("--parallel %d: want at least 1", f.parallel)
	case f.timeout <= 0:
		return 0, usageError("--timeout %v: want a positive duration", f.timeout)
	}
	return p, nil
}

func runFuzz(e *env, f *fuzzFlags, addr string, seedSet bool) error {
	p, err := f.check()
	if err != nil {
		return err
	}
	if f.batch < 1 {
		return usageError("--batch %d: want at least 1", f.batch)
	}
	addr = withDefaultPort(addr)
	if err := dialFirst(e.ctx, addr, f.timeout); err != nil {
		return err
	}
	if f.repro != "" {
		return runRepro(e, f, addr)
	}
	if !seedSet {
		f.seed = time.Now().UnixNano()
	}
	fmt.Fprintf(e.stdout, "fuzz: seed %d: %d cases against %s in %v, a probe every %d cases\n", f.seed, f.cases, addr, p, f.batch)
	res, err := livefuzz.Run(e.ctx, livefuzz.Config{Addr: addr, Profile: p, Seed: f.seed, Cases: f.cases, Batch: f.batch, Timeout: f.timeout, Parallel: f.parallel})
	switch {
	case errors.Is(err, livefuzz.ErrNotServing):
		return usageError("%v", err)
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(e.stdout, "fuzz: interrupted: %s\n", summary(res))
		return &exitError{code: exitUsage, err: fmt.Errorf("interrupted after %d cases", res.Cases)}
	case err != nil:
		return usageError("%v", err)
	}
	if res.Failure == nil {
		fmt.Fprintf(e.stdout, "fuzz: %s: the server survived every case\n", summary(res))
		return nil
	}
	fl := res.Failure
	fmt.Fprintf(e.stdout, "FAIL %s: %v\n  %s\n", fl.Case.String(), fl.Verdict, fl.Detail)
	fmt.Fprintf(e.stdout, "  the case's connection: %d bytes sent, %d received, then %s\n", fl.Outcome.Sent, fl.Outcome.Received, fl.Outcome.How)
	var saveErr error
	cases := append([]livefuzz.Case{fl.Case}, fl.Suspects...)
	for i := range cases {
		one := *fl
		one.Case = cases[i]
		path, err := saveRepro(f.out, &one)
		if err != nil {
			saveErr = errors.Join(saveErr, err)
			continue
		}
		what := "reproducer"
		if i > 0 {
			what = "suspect too"
		}
		fmt.Fprintf(e.stdout, "  %s: %s\n  replay: tripcheck fuzz --repro %s %s\n", what, path, path, addr)
	}
	fmt.Fprintf(e.stdout, "fuzz: %s: %v at case %d\n", summary(res), fl.Verdict, fl.Case.N)
	if saveErr != nil {
		return failed(fmt.Errorf("%v at case %d; saving the reproducer: %w", fl.Verdict, fl.Case.N, saveErr))
	}
	return failed(fmt.Errorf("%v at case %d (seed %d)", fl.Verdict, fl.Case.N, res.Seed))
}

// summary is the counts of a run, for its last line.
func summary(res *livefuzz.Result) string {
	if res == nil {
		return "no case sent"
	}
	var endings []string
	for how, n := range res.Endings {
		endings = append(endings, fmt.Sprintf("%d %s", n, how))
	}
	sort.Strings(endings)
	return fmt.Sprintf("%d cases, %d probes, %d answered (%s) in %v, seed %d",
		res.Cases, res.Probes, res.Replied, strings.Join(endings, ", "), res.Elapsed.Round(time.Millisecond), res.Seed)
}

// saveRepro writes a failure's reproducer in dir and returns its path.
func saveRepro(dir string, fl *livefuzz.Failure) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := livefuzz.WriteRepro(&b, fl); err != nil {
		return "", err
	}
	path := filepath.Join(dir, livefuzz.ReproName(&fl.Case))
	return path, os.WriteFile(path, b.Bytes(), 0o644)
}

// runRepro sends a reproducer's case again, then the probe.
func runRepro(e *env, f *fuzzFlags, addr string) error {
	file, err := os.Open(f.repro)
	if err != nil {
		return usageError("--repro: %v", err)
	}
	rp, err := livefuzz.ReadRepro(file)
	file.Close()
	if err != nil {
		return usageError("--repro %s: %v", f.repro, err)
	}
	c := &rp.Case
	fmt.Fprintf(e.stdout, "repro: seed %d %s in %v, recorded verdict %v, against %s\n", c.Seed, c.String(), c.Profile, rp.Verdict, addr)
	if now := livefuzz.NewCase(c.Seed, c.N, c.Profile); !bytes.Equal(now.Bytes, c.Bytes) || now.Shape.String() != c.Shape.String() {
		fmt.Fprintf(e.stdout, "repro: note: seed %d case %d is another case in this tripcheck; sending the file's bytes\n", c.Seed, c.N)
	}
	if v, what := livefuzz.Probe(e.ctx, addr, c.Profile, f.timeout); v != livefuzz.Survived {
		return usageError("the server at %s does not answer a valid request before the case: %s (%v)", addr, what, v)
	}
	o, v, what := livefuzz.Replay(e.ctx, addr, c, f.timeout)
	if e.ctx.Err() != nil {
		return &exitError{code: exitUsage, err: fmt.Errorf("interrupted: %w", e.ctx.Err())}
	}
	fmt.Fprintf(e.stdout, "repro: the case's connection: %d bytes sent, %d received, then %s\n", o.Sent, o.Received, o.How)
	fmt.Fprintf(e.stdout, "repro: probe: %s\n", what)
	if v == livefuzz.Survived {
		fmt.Fprintf(e.stdout, "repro: survived: case %d of seed %d did not break the server\n", c.N, c.Seed)
		return nil
	}
	fmt.Fprintf(e.stdout, "repro: %v: case %d of seed %d %s\n", v, c.N, c.Seed, verdictText(v))
	return failed(fmt.Errorf("%v again (case %d of seed %d)", v, c.N, c.Seed))
}

func verdictText(v livefuzz.Verdict) string {
	if v == livefuzz.Crash {
		return "crashed the server: it no longer accepts connections"
	}
	return "hung the server: no whole reply to the probe in time"
}

// runFuzzClient fuzzes a client (--exec or --listen), or replays a
// client's reproducer.
func runFuzzClient(e *env, f *fuzzFlags, seedSet bool) error {
	p, err := f.check()
	if err != nil {
		return err
	}
	if f.wait <= 0 {
		return usageError("--wait %v: want a positive duration", f.wait)
	}
	var client livefuzz.Client
	if f.exec != "" {
		tmpl, err := conformance.ParseTemplate(f.exec)
		if err != nil {
			return usageError("--exec: %v", err)
		}
		client = livefuzz.ExecClient{Template: tmpl}
	}
	if f.repro != "" {
		if client == nil {
			return usageError("--repro of a client needs --exec TEMPLATE")
		}
		return runClientRepro(e, f, client)
	}
	if !seedSet {
		f.seed = time.Now().UnixNano()
	}
	var res *livefuzz.ClientResult
	if client != nil {
		fmt.Fprintf(e.stdout, "fuzz: seed %d: %d replies to the client %s in %v, %d at once\n", f.seed, f.cases, f.exec, p, f.parallel)
		res, err = livefuzz.RunClient(e.ctx, livefuzz.ClientConfig{Client: client, Profile: p, Seed: f.seed, Cases: f.cases, Parallel: f.parallel, Timeout: f.timeout})
	} else {
		ln, lerr := net.Listen("tcp", f.listen)
		if lerr != nil {
			return usageError("--listen: %v", lerr)
		}
		defer ln.Close()
		fmt.Fprintf(e.stdout, "fuzz: seed %d: %d replies in %v to the clients that connect to %s (each waited for at most %v)\n", f.seed, f.cases, p, ln.Addr(), f.wait)
		res, err = livefuzz.RunListen(e.ctx, livefuzz.ListenConfig{Listener: ln, Profile: p, Seed: f.seed, Cases: f.cases, Timeout: f.timeout, Wait: f.wait})
	}
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		fmt.Fprintf(e.stdout, "fuzz: interrupted: %s\n", clientSummary(res))
		return &exitError{code: exitUsage, err: fmt.Errorf("interrupted after %d cases", res.Cases)}
	case err != nil:
		return usageError("%v", err)
	}
	if res.Stopped != "" {
		fmt.Fprintf(e.stdout, "fuzz: %s\n", res.Stopped)
	}
	if res.Failure == nil {
		if res.Stopped != "" && res.Cases > 0 {
			fmt.Fprintf(e.stdout, "fuzz: if the client crashed, case %d is the suspect: tripcheck fuzz --listen ADDR --seed %d --cases %d replays the run to it\n", res.Cases-1, res.Seed, res.Cases)
		}
		fmt.Fprintf(e.stdout, "fuzz: %s: the client survived every case\n", clientSummary(res))
		return nil
	}
	fl := res.Failure
	fmt.Fprintf(e.stdout, "FAIL %s: %v\n  %s\n", fl.Case.String(), fl.Outcome.Verdict, strings.ReplaceAll(fl.Outcome.Detail, "\n", "\n  "))
	path, saveErr := saveClientRepro(f.out, fl)
	if saveErr == nil {
		replay := "--exec TEMPLATE" // the command line of the client that connected
		if f.exec != "" {
			replay = "--exec " + shellQuote(f.exec)
		}
		fmt.Fprintf(e.stdout, "  reproducer: %s\n  replay: tripcheck fuzz %s --repro %s\n", path, replay, path)
	}
	fmt.Fprintf(e.stdout, "fuzz: %s: %v at case %d\n", clientSummary(res), fl.Outcome.Verdict, fl.Case.N)
	if saveErr != nil {
		return failed(fmt.Errorf("%v at case %d; saving the reproducer: %w", fl.Outcome.Verdict, fl.Case.N, saveErr))
	}
	return failed(fmt.Errorf("%v at case %d (seed %d)", fl.Outcome.Verdict, fl.Case.N, res.Seed))
}

// clientSummary is the counts of a client run, for its last line.
func clientSummary(res *livefuzz.ClientResult) string {
	if res == nil {
		return "no case run"
	}
	skipped := ""
	if res.Skipped > 0 {
		skipped = fmt.Sprintf(" (%d not implemented: exit 89)", res.Skipped)
	}
	return fmt.Sprintf("%d cases%s in %v, seed %d", res.Cases, skipped, res.Elapsed.Round(time.Millisecond), res.Seed)
}

// saveClientRepro writes a client's failure's reproducer in dir and
// returns its path.
func saveClientRepro(dir string, fl *livefuzz.ClientFailure) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	var b bytes.Buffer
	if err := livefuzz.WriteClientRepro(&b, fl); err != nil {
		return "", err
	}
	path := filepath.Join(dir, livefuzz.ClientReproName(&fl.Case))
	return path, os.WriteFile(path, b.Bytes(), 0o644)
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// runClientRepro runs the client once against a reproducer's case.
func runClientRepro(e *env, f *fuzzFlags, client livefuzz.Client) error {
	file, err := os.Open(f.repro)
	if err != nil {
		return usageError("--repro: %v", err)
	}
	rp, err := livefuzz.ReadRepro(file)
	file.Close()
	if err != nil {
		return usageError("--repro %s: %v", f.repro, err)
	}
	if rp.Search == nil {
		return usageError("--repro %s is a server's reproducer: give the server's ADDR instead of --exec", f.repro)
	}
	c := rp.ReplyCase()
	fmt.Fprintf(e.stdout, "repro: seed %d %s in %v, recorded verdict %v, against the client %s\n", c.Seed, c.String(), c.Profile, rp.Verdict, f.exec)
	o, err := livefuzz.TryClient(e.ctx, client, &c, f.timeout)
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return &exitError{code: exitUsage, err: fmt.Errorf("interrupted: %w", err)}
	case err != nil:
		return usageError("%v", err)
	case o.Skipped:
		fmt.Fprintf(e.stdout, "repro: the client does not implement this search (exit 89)\n")
		return nil
	case o.Verdict == livefuzz.Survived:
		fmt.Fprintf(e.stdout, "repro: survived: the client answered case %d of seed %d right\n", c.N, c.Seed)
		return nil
	}
	fmt.Fprintf(e.stdout, "repro: %v: %s\n", o.Verdict, strings.ReplaceAll(o.Detail, "\n", "\n  "))
	return failed(fmt.Errorf("%v again (case %d of seed %d)", o.Verdict, c.N, c.Seed))
}
