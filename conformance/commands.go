package conformance

import (
	"flag"
	"io"

	"github.com/rogpeppe/go-internal/testscript"
)

// command is one custom testscript command of a suite whose scripts keep
// their state in an S (the server suite's *session, the client suite's
// *clientSession).
type command[S any] struct {
	name  string
	usage string // the arguments
	doc   string // what it does
	flags func(fs *flag.FlagSet)
	run   func(ts *testscript.TestScript, s S, fs *flag.FlagSet, args []string)
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

// commandMap makes testscript commands of a suite's list: each parses its
// flags (a usage message on error), refuses '!', and runs with the
// script's state. Registering a name twice panics.
func commandMap[S any](list []command[S], state func(ts *testscript.TestScript) S) map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	m := map[string]func(ts *testscript.TestScript, neg bool, args []string){}
	for _, c := range list {
		if m[c.name] != nil {
			panic("conformance: command " + c.name + " registered twice")
		}
		m[c.name] = func(ts *testscript.TestScript, neg bool, args []string) {
			if neg {
				fatalf(ts, "%s does not support '!'", c.name)
			}
			fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			if c.flags != nil {
				c.flags(fs)
			}
			if err := fs.Parse(args); err != nil {
				fatalf(ts, "usage: %s %s\n%s", c.name, c.usage, c.doc)
			}
			c.run(ts, state(ts), fs, fs.Args())
		}
	}
	return m
}
