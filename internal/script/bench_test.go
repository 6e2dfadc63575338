package script

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// benchScript is a scenario-sized script: a requirement, three phases,
// quoted arguments and a variable.
const benchScript = `# The server MUST answer a request cut anywhere (a benchmark).
# the request in pieces
send -c c -variant $VARIANT 'to=Frankfurt am Main' time=23:59:59.999
reply -closes
# a second client
send -c d from=Hamburg
reply -c d
# still there
alive
`

var benchNames = []string{"send", "reply", "alive"}

// BenchmarkRun times one run of benchScript on the engine, its commands
// doing nothing, beside the same script on testscript.RunT (the engine
// the suites used before): the per-scenario cost of the engine itself.
func BenchmarkRun(b *testing.B) {
	b.Run("engine=script", func(b *testing.B) {
		var cmds []Cmd
		for _, n := range benchNames {
			cmds = append(cmds, Cmd{Name: n, Run: func(ctx context.Context, st *State, args []string) error {
				st.Logf("%s %d", n, len(args))
				return nil
			}})
		}
		e := NewEngine(cmds)
		b.SetBytes(int64(len(benchScript)))
		b.ReportAllocs()
		for b.Loop() {
			st := NewState()
			st.Setenv("VARIANT", "fragmented")
			if err := e.Run(context.Background(), st, "bench", []byte(benchScript), false); err != nil || !strings.HasSuffix(st.Log(), "PASS\n") {
				b.Fatalf("%v\n%s", err, st.Log())
			}
		}
	})
	b.Run("engine=testscript", func(b *testing.B) {
		dir := b.TempDir()
		file := filepath.Join(dir, "bench.txtar")
		if err := os.WriteFile(file, []byte(benchScript), 0o644); err != nil {
			b.Fatal(err)
		}
		cmds := map[string]func(ts *testscript.TestScript, neg bool, args []string){}
		for _, n := range benchNames {
			cmds[n] = func(ts *testscript.TestScript, neg bool, args []string) { ts.Logf("%s %d", n, len(args)) }
		}
		p := testscript.Params{
			Files:       []string{file},
			WorkdirRoot: dir,
			Cmds:        cmds,
			Setup:       func(env *testscript.Env) error { env.Setenv("VARIANT", "fragmented"); return nil },
		}
		b.SetBytes(int64(len(benchScript)))
		b.ReportAllocs()
		for b.Loop() {
			var t benchT
			testscript.RunT(&t, p)
			if t.failed || !strings.Contains(t.log.String(), "PASS") {
				b.Fatalf("testscript did not pass the script:\n%s", t.log.String())
			}
		}
	})
}

// benchT is the smallest testscript.T that runs a script outside go test,
// as the suites' runner did.
type benchT struct {
	mu     sync.Mutex
	log    strings.Builder
	failed bool
}

func (t *benchT) Skip(args ...any)  { runtime.Goexit() }
func (t *benchT) Fatal(args ...any) { t.Log(args...); t.FailNow() }
func (t *benchT) Parallel()         {}
func (t *benchT) Log(args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintln(&t.log, args...)
}
func (t *benchT) FailNow()      { t.mu.Lock(); t.failed = true; t.mu.Unlock(); runtime.Goexit() }
func (t *benchT) Verbose() bool { return false }
func (t *benchT) Run(name string, f func(testscript.T)) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(t)
	}()
	<-done
}
