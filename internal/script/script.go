// Package script runs the scenario scripts of tripcheck's suites: a small
// engine of the project's own, in the manner of cmd/go's internal/script,
// so that the tripcheck command links neither testscript nor package
// testing.
//
// A script is the comment section of a txtar archive. Each line is a
// command and its arguments, split on spaces and tabs; text in single
// quotes is one argument taken literally (two quotes in it stand for one); $NAME and
// ${NAME} outside quotes are replaced by the state's environment; an
// unquoted # ends the line. A line that starts with # opens a phase: the
// log of a phase that passes is dropped (kept when verbose), so that a
// failing script's log shows the phase that failed. These are the rules
// testscript applies, without its conditions, '!' and built-in commands,
// which no scenario uses.
//
// Commands are named functions that return errors. The engine stops at the
// first command that returns one: a [*UsageError] is a mistake in the
// script, a [*SkipError] ends the script as skipped, and any other error
// is a failure of the check, whose type the caller gives it (the suites'
// errors carry a typed finding). The log is bounded ([LogLimit]).
package script

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rogpeppe/go-internal/txtar"
)

// Cmd is one command a script can use.
type Cmd struct {
	// Name is the word that calls the command.
	Name string
	// Usage is its arguments, as shown in a usage message: "[-c NAME] HEX...".
	Usage string
	// Doc says what it does.
	Doc string
	// Run runs the command with its arguments (the name left out). It
	// returns nil when the command's check passed.
	Run func(ctx context.Context, st *State, args []string) error
}

// Engine runs scripts with a fixed set of commands.
type Engine struct {
	cmds map[string]Cmd
}

// NewEngine makes an engine of cmds. A name given twice, or empty, panics:
// it is a mistake in the program, not in a script.
func NewEngine(cmds []Cmd) *Engine {
	e := &Engine{cmds: make(map[string]Cmd, len(cmds))}
	for _, c := range cmds {
		if c.Name == "" || c.Run == nil {
			panic("script: a command without a name or a function")
		}
		if _, dup := e.cmds[c.Name]; dup {
			panic("script: command " + c.Name + " registered twice")
		}
		e.cmds[c.Name] = c
	}
	return e
}

// UsageError is a mistake in a script: an unknown command, bad flags or
// arguments, a quote left open. It is no peer's fault.
type UsageError struct {
	// Cmd and Usage name the command and its arguments, where known.
	Cmd, Usage string
	Err        error
}

func (e *UsageError) Error() string {
	if e.Usage != "" || e.Cmd != "" {
		return fmt.Sprintf("%v\nusage: %s %s", e.Err, e.Cmd, e.Usage)
	}
	return e.Err.Error()
}

func (e *UsageError) Unwrap() error { return e.Err }

// Usagef makes a UsageError; the engine adds the command's usage.
func Usagef(format string, args ...any) error {
	return &UsageError{Err: fmt.Errorf(format, args...)}
}

// SkipError ends a script as skipped: what it checks cannot be checked in
// this run (no golden reference, a listen-mode client, exit 89).
type SkipError struct {
	Reason string
}

func (e *SkipError) Error() string { return "skip: " + e.Reason }

// Skip makes a SkipError.
func Skip(reason string) error { return &SkipError{Reason: reason} }

// LogLimit bounds the log of one script run, in bytes; what comes after is
// dropped and counted.
const LogLimit = 256 << 10

// State is the state of one script run: its environment, its log and what
// runs when it ends. Its methods may be called from several goroutines.
type State struct {
	mu      sync.Mutex
	env     map[string]string
	log     []byte
	dropped int
	defers  []func()
}

// NewState makes the state of a run with an empty environment.
func NewState() *State {
	return &State{env: map[string]string{}}
}

// Setenv sets a variable of the script's environment.
func (st *State) Setenv(name, value string) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.env[name] = value
}

// Getenv is a variable of the script's environment, or "".
func (st *State) Getenv(name string) string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.env[name]
}

// Logf adds a line to the log.
func (st *State) Logf(format string, args ...any) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.write(strings.TrimSuffix(fmt.Sprintf(format, args...), "\n") + "\n")
}

// Defer registers f to run when the script ends, after its last command
// or its first failure; deferred functions run last first.
func (st *State) Defer(f func()) {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.defers = append(st.defers, f)
}

// Log is the log so far, with a last line counting what was dropped.
func (st *State) Log() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.dropped > 0 {
		return string(st.log) + fmt.Sprintf("… %d more bytes of log dropped (the log keeps %d)\n", st.dropped, LogLimit)
	}
	return string(st.log)
}

// write appends s to the log within LogLimit. Called with st.mu held.
func (st *State) write(s string) {
	room := LogLimit - len(st.log)
	if room < len(s) {
		st.dropped += len(s) - max(room, 0)
		s = s[:max(room, 0)]
	}
	st.log = append(st.log, s...)
}

// mark is the length of the log, to rewind to.
func (st *State) mark() int {
	st.mu.Lock()
	defer st.mu.Unlock()
	return len(st.log)
}

// rewind drops the log after mark: the details of a phase that passed.
// Whatever was dropped for the limit came after mark too.
func (st *State) rewind(mark int) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if mark < len(st.log) {
		st.log = st.log[:mark]
	}
	st.dropped = 0
}

// endPhase writes the time a phase took at the end of its heading, which
// ends at mark.
func (st *State) endPhase(mark int, took time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if mark <= 0 || mark > len(st.log) {
		return
	}
	after := slices.Clone(st.log[mark:])
	st.log = append(st.log[:mark-1], fmt.Sprintf(" (%.3fs)\n", took.Seconds())...)
	st.log = append(st.log, after...)
	if len(st.log) > LogLimit {
		st.dropped += len(st.log) - LogLimit
		st.log = st.log[:LogLimit]
	}
}

func (st *State) runDefers() {
	st.mu.Lock()
	fs := st.defers
	st.defers = nil
	st.mu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// Commands lists the engine's commands by name.
func (e *Engine) Commands() []Cmd {
	out := make([]Cmd, 0, len(e.cmds))
	for _, c := range e.cmds {
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Cmd) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Run runs the script in text, a txtar archive whose comment is the
// script, named name in the log ("FAIL: name:3: ..."). It returns nil when
// every command passed, else the first command's error (a *UsageError for
// a mistake in the script, a *SkipError for a skip). The log of the run
// is st's; with verbose it keeps the phases that passed in full. A
// command that panics fails the script with an error that says so. When
// ctx ends, no further command starts.
func (e *Engine) Run(ctx context.Context, st *State, name string, text []byte, verbose bool) (err error) {
	var (
		mark   int       // where the current phase's details begin
		start  time.Time // when the current phase began
		lineno int
	)
	endPhase := func() {
		if mark > 0 && !start.IsZero() {
			st.endPhase(mark, time.Since(start))
		}
		start = time.Time{}
	}
	defer st.runDefers()
	defer func() {
		if rec := recover(); rec != nil {
			err = fmt.Errorf("internal error: %v", rec)
			st.Logf("FAIL: %s:%d: %v", name, lineno, err)
		}
		endPhase()
	}()
	ar := txtar.Parse(text)
	if len(ar.Files) > 0 {
		err := Usagef("the script has files (%s first): no command reads them", ar.Files[0].Name)
		st.Logf("FAIL: %s:%d: %v", name, 0, err)
		return err
	}
	script := string(ar.Comment)
	for script != "" {
		lineno++
		var line string
		line, script, _ = strings.Cut(script, "\n")
		if strings.HasPrefix(line, "#") {
			if st.mark() > mark {
				if !verbose {
					st.rewind(mark)
				}
				endPhase()
			}
			st.Logf("%s", line)
			mark, start = st.mark(), time.Now()
			continue
		}
		if err := e.runLine(ctx, st, line); err != nil {
			var skip *SkipError
			if errors.As(err, &skip) {
				st.Logf("SKIP: %s:%d: %s", name, lineno, skip.Reason)
			} else {
				st.Logf("FAIL: %s:%d: %v", name, lineno, err)
			}
			return err
		}
	}
	if !verbose {
		st.rewind(mark)
	}
	endPhase()
	st.Logf("PASS")
	return nil
}

// runLine runs one line; a blank one does nothing.
func (e *Engine) runLine(ctx context.Context, st *State, line string) error {
	args, err := Split(line, st.Getenv)
	if err != nil {
		st.Logf("> %s", line)
		return err
	}
	if len(args) == 0 {
		return nil
	}
	st.Logf("> %s", line)
	if err := ctx.Err(); err != nil {
		return err
	}
	switch {
	case args[0] == "!":
		return Usagef("'!' is not supported: each command says what it requires")
	case strings.HasPrefix(args[0], "[") && strings.HasSuffix(args[0], "]"):
		return Usagef("conditions (%s) are not supported", args[0])
	}
	c, ok := e.cmds[args[0]]
	if !ok {
		return Usagef("unknown command %q", args[0])
	}
	err = c.Run(ctx, st, args[1:])
	var ue *UsageError
	if errors.As(err, &ue) && ue.Cmd == "" {
		ue.Cmd, ue.Usage = c.Name, c.Usage
	}
	return err
}

// Split splits a script line into words as testscript does: spaces and
// tabs separate words, text in single quotes is literal (two single quotes
// in it are one), $NAME and ${NAME} outside quotes expand with getenv, and
// an unquoted # ends the line.
func Split(line string, getenv func(string) string) ([]string, error) {
	var (
		args   []string
		arg    string // the word so far, but for line[start:i]
		start  = -1   // where the current chunk of the word begins
		quoted = false
	)
	expand := func(s string) string { return os.Expand(s, getenv) }
	for i := 0; ; i++ {
		if !quoted && (i >= len(line) || line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '#') {
			if start >= 0 {
				arg += expand(line[start:i])
				args = append(args, arg)
				start, arg = -1, ""
			}
			if i >= len(line) || line[i] == '#' {
				return args, nil
			}
			continue
		}
		if i >= len(line) {
			return nil, Usagef("unterminated quoted argument")
		}
		if line[i] == '\'' {
			if !quoted {
				if start >= 0 {
					arg += expand(line[start:i])
				}
				start, quoted = i+1, true
				continue
			}
			if i+1 < len(line) && line[i+1] == '\'' {
				arg += line[start:i]
				start = i + 1
				i++
				continue
			}
			arg += line[start:i]
			start, quoted = i+1, false
			continue
		}
		if start < 0 {
			start = i
		}
	}
}
