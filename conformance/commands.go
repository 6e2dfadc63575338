package conformance

import (
	"context"
	"flag"
	"io"

	"github.com/tripcheck/tripcheck/internal/script"
)

// command is one custom command of a suite whose scripts keep their state
// in an S (the server suite's *serverScript, the client suite's
// *clientScript). Its run is a named function; see flagged for the
// commands with flags.
type command[S any] struct {
	name  string
	usage string // the arguments
	doc   string // what it does
	run   func(ctx context.Context, st *script.State, s S, args []string) error
}

// Command documents one custom command, for --commands.
type Command struct {
	Name, Usage, Doc string
}

// commandDocs documents a suite's commands.
func commandDocs[S any](list []command[S]) []Command {
	var out []Command
	for _, c := range list {
		out = append(out, Command{Name: c.name, Usage: c.usage, Doc: c.doc})
	}
	return out
}

// flagSet is the typed flags of a command: define registers each field as
// a flag, with its default.
type flagSet[F any] interface {
	*F
	define(fs *flag.FlagSet)
}

// flagged makes the run of a command whose named function takes its typed
// flags: the flags are parsed from the arguments first (a flag that does
// not parse is a usage error), and the function gets the arguments left.
func flagged[S, F any, PF flagSet[F]](run func(ctx context.Context, st *script.State, s S, f PF, args []string) error) func(context.Context, *script.State, S, []string) error {
	return func(ctx context.Context, st *script.State, s S, args []string) error {
		f := PF(new(F))
		fs := flag.NewFlagSet("", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		f.define(fs)
		if err := fs.Parse(args); err != nil {
			return script.Usagef("%v", err)
		}
		return run(ctx, st, s, f, fs.Args())
	}
}

// noFlags are the flags of a command that has none: any flag is a usage
// error.
type noFlags struct{}

func (*noFlags) define(*flag.FlagSet) {}

// scriptCommands binds a suite's commands to the state s of one script
// run, for the script engine.
func scriptCommands[S any](list []command[S], s S) []script.Cmd {
	out := make([]script.Cmd, 0, len(list))
	for _, c := range list {
		out = append(out, script.Cmd{Name: c.name, Usage: c.usage, Doc: c.doc,
			Run: func(ctx context.Context, st *script.State, args []string) error {
				return c.run(ctx, st, s, args)
			}})
	}
	return out
}
