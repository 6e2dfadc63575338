package conformance

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"time"

	"github.com/tripcheck/tripcheck/internal/script"
	"github.com/tripcheck/tripcheck/wire"
)

// moreClientCommands are the client suite's commands for what serve cannot
// send and for a client with nothing to connect to.
func moreClientCommands() []command[*clientScript] {
	return []command[*clientScript]{
		{
			name:  "answer",
			usage: "[-trips N] [-variant V] [-then close|reset|keep-open] [-after HEX] [-silence D] [-fill-train] [trip fields]",
			doc: "answer answers the last search as serve does (N trips, default 3, and the end marker, shaped as the\n" +
				"variant, the stream ended as -then says), with what serve cannot send: -after adds raw bytes after the\n" +
				"end marker; -silence sends nothing for D first; -fill-train makes trip[0]'s train type the longest a\n" +
				"block can hold (a payload of 65 533 bytes in both profiles). The trip field train-hex=HEX is a train\n" +
				"type of raw UTF-16 bytes (lone surrogates, U+0000).\n" + tripFieldsHelp,
			run: flagged(cmdAnswer),
		},
		{
			name:  "search-refused",
			usage: "",
			doc: "search-refused runs the client (exec mode) with the default search at an address where nothing\n" +
				"listens: it must print one line ERROR <reason> and no trip, and exit non-zero, within the step timeout.\n" +
				"With --listen (alone or with --exec at a fixed address) it skips: a client there connects to tripcheck.",
			run: flagged(cmdSearchRefused),
		},
	}
}

// answerFlags are answer's flags.
type answerFlags struct {
	trips                int
	variant, then, after string
	silence              time.Duration
	fillTrain            bool
}

func (f *answerFlags) define(fs *flag.FlagSet) {
	fs.IntVar(&f.trips, "trips", 3, "")
	fs.StringVar(&f.variant, "variant", "", "")
	fs.StringVar(&f.then, "then", "close", "")
	fs.StringVar(&f.after, "after", "", "")
	fs.DurationVar(&f.silence, "silence", 0, "")
	fs.BoolVar(&f.fillTrain, "fill-train", false, "")
}

func cmdAnswer(ctx context.Context, st *script.State, s *clientScript, f *answerFlags, args []string) error {
	spec := serveSpec{
		trips: f.trips, fields: args, variant: f.variant,
		then: f.then, silence: max(f.silence, 0), fillTrain: f.fillTrain,
	}
	if f.after != "" {
		b, err := hex.DecodeString(f.after)
		if err != nil {
			return script.Usagef("-after: %v", err)
		}
		spec.after = b
	}
	r, err := s.current()
	if err != nil {
		return err
	}
	return s.fatal(s.serve(st.Logf, r, spec))
}

func cmdSearchRefused(ctx context.Context, st *script.State, s *clientScript, f *noFlags, args []string) error {
	if s.suite.listen() {
		return script.Skip("needs --exec: the client is run with nothing listening at its address")
	}
	if s.suite.ln != nil {
		// Exec mode at a fixed --listen address: the client connects
		// there whatever it is told, and tripcheck listens there.
		return script.Skip("needs --exec without a fixed --listen address: the client cannot be sent where nothing listens")
	}
	addr, free, err := refusingAddr()
	if err != nil {
		return fmt.Errorf("cannot find a free port: %v", err)
	}
	defer free()
	values := DefaultRequest()
	p := s.suite.fixedProfile()
	if p == 0 {
		p = wire.Qt4
	}
	argv, err := s.suite.tmpl.Fill(searchVars(addr, &values, p))
	if err != nil {
		return err
	}
	st.Logf("$ %s   (nothing listens at %s)", quoteArgv(argv), addr)
	proc, err := startProc(argv, []string{"TRIPCHECK_SCENARIO=" + s.sc.ID})
	if err != nil {
		return fmt.Errorf("cannot start the client: %v", err)
	}
	defer proc.kill()
	start := time.Now()
	if !proc.wait(s.suite.ctx, s.suite.timeout) {
		return fault(peerFinding("client/no-exit"),
			"the client did not exit within %v with nothing listening at %s: killed\n    client: %s", s.suite.timeout, addr, proc.describe())
	}
	code := proc.exitCode()
	if code == ExitNotImplemented {
		return script.Skip("the client does not implement this search (exit 89)")
	}
	lines := printedLines(proc.stdout.Bytes())
	st.Logf("client exited %d after %v; printed:\n%s", code, time.Since(start).Round(time.Millisecond), showLines(lines))
	if err := checkFailure(lines, code, fmt.Sprintf("nothing listening at %s", addr), nil); err != nil {
		return fault(peerFinding("client/refused-not-error"), "%v", err)
	}
	return nil
}
