package script

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplit(t *testing.T) {
	env := map[string]string{"VARIANT": "fragmented", "SEED": "7"}
	for _, tc := range []struct {
		name, line string
		want       []string
	}{
		{"blank", "   \t", nil},
		{"words", "send -c c  reply\t-closes", []string{"send", "-c", "c", "reply", "-closes"}},
		{"variable", "send -variant $VARIANT x${SEED}y", []string{"send", "-variant", "fragmented", "x7y"}},
		{"unset variable", "send $NOPE.", []string{"send", "."}},
		{"quoted", "send 'to=Frankfurt am Main' time=23:59", []string{"send", "to=Frankfurt am Main", "time=23:59"}},
		{"doubled quote", `search 'to=Frankfurt (Main) ''Süd''' x`, []string{"search", "to=Frankfurt (Main) 'Süd'", "x"}},
		{"double quotes are literal", `search 'from=Zürich 🚆 "Hbf"'`, []string{"search", `from=Zürich 🚆 "Hbf"`}},
		{"no expansion in quotes", "x '$VARIANT' a$VARIANT'$SEED'", []string{"x", "$VARIANT", "afragmented$SEED"}},
		{"comment ends the line", "reply -closes # and the close", []string{"reply", "-closes"}},
		{"hash in quotes", "x 'a # b'", []string{"x", "a # b"}},
		{"empty quotes", "x '' y", []string{"x", "", "y"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Split(tc.line, func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Split(%q) (-want +got):\n%s", tc.line, diff)
			}
		})
	}
	_, err := Split("x 'open", func(string) string { return "" })
	var ue *UsageError
	if !errors.As(err, &ue) {
		t.Errorf("unterminated quote: %v, want a *UsageError", err)
	}
}

// recorder is a set of commands that record what they were called with.
type recorder struct{ calls []string }

var errPeer = errors.New("the peer did wrong")

func (r *recorder) engine() *Engine {
	return NewEngine([]Cmd{
		{Name: "ok", Usage: "[WORD...]", Run: func(ctx context.Context, st *State, args []string) error {
			r.calls = append(r.calls, "ok "+strings.Join(args, ","))
			st.Logf("ok did %d things", len(args))
			return nil
		}},
		{Name: "bad", Run: func(ctx context.Context, st *State, args []string) error {
			r.calls = append(r.calls, "bad")
			st.Logf("bad looked")
			return errPeer
		}},
		{Name: "skip", Run: func(ctx context.Context, st *State, args []string) error {
			r.calls = append(r.calls, "skip")
			return Skip("not here")
		}},
		{Name: "usage", Usage: "-n N", Run: func(ctx context.Context, st *State, args []string) error {
			return Usagef("-n: want a number")
		}},
		{Name: "panic", Run: func(ctx context.Context, st *State, args []string) error {
			var m map[string]int
			m["x"]++
			return nil
		}},
		{Name: "defer", Run: func(ctx context.Context, st *State, args []string) error {
			st.Defer(func() { r.calls = append(r.calls, "deferred "+args[0]) })
			return nil
		}},
		{Name: "setenv", Run: func(ctx context.Context, st *State, args []string) error {
			st.Setenv(args[0], args[1])
			return nil
		}},
	})
}

// times are the phase timings, which vary.
var times = regexp.MustCompile(` \(\d+\.\d{3}s\)`)

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		name    string
		script  string
		verbose bool
		err     error // errors.Is; nil: passes
		usage   bool  // the error is a *UsageError
		skip    bool  // the error is a *SkipError
		calls   []string
		log     string
	}{
		{
			name:   "passes",
			script: "# the requirement\n# phase one\nok a b\n\n# phase two\nok 'c d'\n",
			calls:  []string{"ok a,b", "ok c d"},
			log:    "# the requirement\n# phase one (T)\n# phase two (T)\nPASS\n",
		},
		{
			name:    "passes verbose",
			script:  "# the requirement\n# phase one\nok a b\n# phase two\nok $X\n",
			verbose: true,
			calls:   []string{"ok a,b", "ok "},
			log:     "# the requirement\n# phase one (T)\n> ok a b\nok did 2 things\n# phase two (T)\n> ok $X\nok did 1 things\nPASS\n",
		},
		{
			name:   "stops at the first failure and keeps its phase",
			script: "# r\n# one\nok\n# two\nok x\nbad\nok never\n# three\nok never\n",
			err:    errPeer,
			calls:  []string{"ok ", "ok x", "bad"},
			log:    "# r\n# one (T)\n# two (T)\n> ok x\nok did 1 things\n> bad\nbad looked\nFAIL: area/name:6: the peer did wrong\n",
		},
		{
			name:   "skip",
			script: "# r\nskip\nok never\n",
			skip:   true,
			calls:  []string{"skip"},
			log:    "# r (T)\n> skip\nSKIP: area/name:2: not here\n",
		},
		{
			name:   "unknown command",
			script: "# r\nsned\n",
			usage:  true,
			log:    "# r (T)\n> sned\nFAIL: area/name:2: unknown command \"sned\"\n",
		},
		{
			name:   "usage of a command",
			script: "usage -n x\n",
			usage:  true,
			log:    "> usage -n x\nFAIL: area/name:1: -n: want a number\nusage: usage -n N\n",
		},
		{name: "negation", script: "! ok\n", usage: true},
		{name: "condition", script: "[short] ok\n", usage: true},
		{name: "open quote", script: "ok 'a\n", usage: true, log: "> ok 'a\nFAIL: area/name:1: unterminated quoted argument\n"},
		{name: "files", script: "ok\n-- f --\nx\n", usage: true},
		{
			name:   "panic",
			script: "ok\npanic\n",
			calls:  []string{"ok "},
			log:    "> ok\nok did 0 things\n> panic\nFAIL: area/name:2: internal error: assignment to entry in nil map\n",
		},
		{
			name:   "defers run last first, also after a failure",
			script: "defer a\ndefer b\nbad\n",
			err:    errPeer,
			calls:  []string{"bad", "deferred b", "deferred a"},
		},
		{
			name:   "environment",
			script: "setenv X 'y z'\nok $X\n",
			calls:  []string{"ok y z"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r recorder
			st := NewState()
			err := r.engine().Run(context.Background(), st, "area/name", []byte(tc.script), tc.verbose)
			var ue *UsageError
			var se *SkipError
			switch {
			case tc.usage:
				if !errors.As(err, &ue) {
					t.Errorf("error %v, want a *UsageError", err)
				}
			case tc.skip:
				if !errors.As(err, &se) || se.Reason != "not here" {
					t.Errorf("error %v, want a *SkipError", err)
				}
			case tc.err != nil:
				if !errors.Is(err, tc.err) || errors.As(err, &ue) || errors.As(err, &se) {
					t.Errorf("error %v, want %v", err, tc.err)
				}
			case tc.name == "panic":
				if err == nil || errors.As(err, &ue) {
					t.Errorf("error %v, want an internal error", err)
				}
			default:
				if err != nil {
					t.Errorf("error %v, want none", err)
				}
			}
			if tc.calls != nil {
				if diff := cmp.Diff(tc.calls, r.calls); diff != "" {
					t.Errorf("calls (-want +got):\n%s", diff)
				}
			}
			if tc.log != "" {
				if got := times.ReplaceAllString(st.Log(), " (T)"); got != tc.log {
					t.Errorf("log:\n%s\nwant:\n%s", got, tc.log)
				}
			}
		})
	}
}

// TestRunStopsWhenCancelled checks that no command starts once the run's
// context has ended.
func TestRunStopsWhenCancelled(t *testing.T) {
	var r recorder
	ctx, cancel := context.WithCancel(context.Background())
	e := NewEngine([]Cmd{
		{Name: "cancel", Run: func(context.Context, *State, []string) error { cancel(); return nil }},
		r.engine().cmds["ok"],
	})
	err := e.Run(ctx, NewState(), "x", []byte("ok\ncancel\nok\n"), false)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
	if len(r.calls) != 1 {
		t.Errorf("calls %q, want one ok before the cancel", r.calls)
	}
}

// TestLogBounded checks that a command that logs without end leaves a log
// of at most LogLimit bytes and a line that counts the rest.
func TestLogBounded(t *testing.T) {
	e := NewEngine([]Cmd{{Name: "chatty", Run: func(ctx context.Context, st *State, args []string) error {
		for i := 0; i < 10000; i++ {
			st.Logf("%s", strings.Repeat("x", 99))
		}
		return errPeer
	}}})
	st := NewState()
	e.Run(context.Background(), st, "x", []byte("# phase\nchatty\n"), true)
	log := st.Log()
	if len(log) > LogLimit+200 {
		t.Errorf("log of %d bytes, want at most about %d", len(log), LogLimit)
	}
	if !strings.Contains(log, "more bytes of log dropped") {
		t.Errorf("log does not say what it dropped: ...%s", log[len(log)-200:])
	}
}

func TestRegisterTwicePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a name registered twice did not panic")
		}
	}()
	run := func(context.Context, *State, []string) error { return nil }
	NewEngine([]Cmd{{Name: "a", Run: run}, {Name: "a", Run: run}})
}
