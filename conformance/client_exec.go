package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/tripcheck/tripcheck/wire"
)

// ExitNotImplemented is the exit status by which a client under --exec says
// it does not implement a search (a null value, say): the scenario skips.
const ExitNotImplemented = 89

// placeholders are the names a client template may use, each in braces.
var placeholders = []string{"host", "port", "addr", "from", "to", "date", "time", "flag", "profile"}

// Template is a client command line split into arguments, with placeholders
// still in them. Placeholders are filled per argument, never through a
// shell, so a value with spaces or quotes stays one argument.
type Template struct {
	Args []string
}

// ParseTemplate splits a command line into arguments as a POSIX shell
// splits words, without running one: blanks separate arguments; single
// quotes keep everything up to the next single quote; double quotes keep
// everything up to the next double quote, except that a backslash there
// escapes $, `, ", \ and a newline; outside quotes a backslash keeps the
// next character. Nothing is expanded, globbed or redirected. Every {name}
// must be one of Placeholders.
func ParseTemplate(s string) (Template, error) {
	var args []string
	var cur strings.Builder
	inArg := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '\'':
			inArg = true
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return Template{}, fmt.Errorf("conformance: template: unterminated ' at byte %d", i)
			}
			cur.WriteString(s[i+1 : i+1+j])
			i += j + 1
		case c == '"':
			inArg = true
			closed := false
			for i++; i < len(s); i++ {
				c := s[i]
				if c == '"' {
					closed = true
					break
				}
				if c == '\\' && i+1 < len(s) && strings.IndexByte("$`\"\\\n", s[i+1]) >= 0 {
					i++
					if s[i] != '\n' {
						cur.WriteByte(s[i])
					}
					continue
				}
				cur.WriteByte(c)
			}
			if !closed {
				return Template{}, errors.New(`conformance: template: unterminated "`)
			}
		case c == '\\':
			inArg = true
			if i+1 == len(s) {
				return Template{}, errors.New(`conformance: template: \ at the end`)
			}
			i++
			if s[i] != '\n' {
				cur.WriteByte(s[i])
			}
		default:
			inArg = true
			cur.WriteByte(c)
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	if len(args) == 0 {
		return Template{}, errors.New("conformance: template: no command")
	}
	t := Template{Args: args}
	for _, a := range args {
		if _, err := fill(a, nil); err != nil {
			return Template{}, err
		}
	}
	return t, nil
}

// Uses reports whether some argument names {name}.
func (t Template) Uses(name string) bool {
	for _, a := range t.Args {
		if strings.Contains(a, "{"+name+"}") {
			return true
		}
	}
	return false
}

// Fill returns the arguments with every {name} replaced by vars[name].
func (t Template) Fill(vars map[string]string) ([]string, error) {
	out := make([]string, len(t.Args))
	for i, a := range t.Args {
		v, err := fill(a, vars)
		if err != nil {
			return nil, err
		}
		out[i] = v
	}
	return out, nil
}

// fill replaces the placeholders of one argument; with vars nil it only
// checks them.
func fill(a string, vars map[string]string) (string, error) {
	var b strings.Builder
	for {
		i := strings.IndexByte(a, '{')
		if i < 0 {
			b.WriteString(a)
			return b.String(), nil
		}
		j := strings.IndexByte(a[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("conformance: template: %q: { without }", a)
		}
		name := a[i+1 : i+j]
		known := false
		for _, p := range placeholders {
			known = known || p == name
		}
		if !known {
			return "", fmt.Errorf("conformance: template: unknown placeholder {%s} (known: {%s})", name, strings.Join(placeholders, "}, {"))
		}
		b.WriteString(a[:i])
		if vars != nil {
			b.WriteString(vars[name])
		}
		a = a[i+j+1:]
	}
}

// searchVars are the placeholder values of a search: a null value is the
// argument @null, an empty string an empty argument.
func searchVars(addr string, r *wire.Request, p wire.Profile) map[string]string {
	host, port, _ := net.SplitHostPort(addr)
	str := func(s wire.String) string {
		if s.IsNull() {
			return "@null"
		}
		return s.String()
	}
	vars := map[string]string{
		"host": host, "port": port, "addr": addr,
		"from": str(r.From), "to": str(r.To),
		"date": r.Date.String(), "time": r.Time.String(),
		"flag": string(rune(r.Flag)),
	}
	if p.Valid() {
		vars["profile"] = p.String()
	}
	return vars
}

// boundedBuffer keeps the first max bytes written to it and counts the rest.
type boundedBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	max     int
	dropped int
}

func (w *boundedBuffer) Write(p []byte) (int, error) {
	n := len(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	room := w.max - w.b.Len()
	if room < len(p) {
		w.dropped += len(p) - max(room, 0)
		p = p[:max(room, 0)]
	}
	w.b.Write(p)
	return n, nil
}

// String returns what was kept, saying how much was dropped.
func (w *boundedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.dropped > 0 {
		return w.b.String() + fmt.Sprintf("\n[%d more bytes dropped]", w.dropped)
	}
	return w.b.String()
}

// Bytes returns what was kept.
func (w *boundedBuffer) Bytes() []byte {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Clone(w.b.Bytes())
}

// Limits of what is kept of a client's output.
const (
	maxStdout = 4 << 20
	maxStderr = 64 << 10
	// pipeGrace is how long after the client exits its output may still
	// be copied (see startProc).
	pipeGrace = 10 * time.Second
)

// clientProc is one run of the client under --exec.
type clientProc struct {
	argv   []string
	cmd    *exec.Cmd
	stdout *boundedBuffer
	stderr *boundedBuffer
	done   chan struct{} // closed when the process has exited
	err    error         // from Wait, valid after done
	killed bool          // tripcheck killed it
	mu     sync.Mutex
}

// startProc starts argv with the environment plus extra.
func startProc(argv []string, extra []string) (*clientProc, error) {
	p := &clientProc{
		argv:   argv,
		stdout: &boundedBuffer{max: maxStdout},
		stderr: &boundedBuffer{max: maxStderr},
		done:   make(chan struct{}),
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), extra...)
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	// Pipes held open by the client's own children do not hold Wait up
	// for ever. The delay is long because it also bounds the copying of
	// what the client wrote before it exited: at one second, a loaded
	// machine (load average 50 on 2 cores) cut a client's output at 32 KiB
	// and gave a wrong verdict at random.
	cmd.WaitDelay = pipeGrace
	setProcessGroup(cmd)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p.cmd = cmd
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// kill ends the client and its process group, and waits for it.
func (p *clientProc) kill() {
	select {
	case <-p.done:
		return
	default:
	}
	p.mu.Lock()
	p.killed = true
	p.mu.Unlock()
	killProcess(p.cmd)
	<-p.done
}

// wait waits for the client to exit within d (or until ctx ends) and kills
// it otherwise. It reports whether the client exited by itself.
func (p *clientProc) wait(ctx context.Context, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-p.done:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	p.kill()
	return false
}

// exited reports whether the process has exited, without waiting.
func (p *clientProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// exitCode is the client's exit status, or -1 if a signal ended it. Valid
// once done is closed.
func (p *clientProc) exitCode() int {
	if p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// describe says how the process ended, with its output, for a failure.
func (p *clientProc) describe() string {
	var b strings.Builder
	p.mu.Lock()
	killed := p.killed
	p.mu.Unlock()
	switch {
	case killed:
		b.WriteString("killed by tripcheck")
	case p.exitCode() >= 0:
		fmt.Fprintf(&b, "exit status %d", p.exitCode())
	default:
		fmt.Fprintf(&b, "%v", p.err)
	}
	b.WriteString("\n" + indentBlock("stdout", p.stdout.String()))
	b.WriteString(indentBlock("stderr", p.stderr.String()))
	return strings.TrimRight(b.String(), "\n")
}

// indentBlock shows a named block of text indented, or says it is empty.
func indentBlock(name, s string) string {
	if s == "" {
		return "    " + name + ": (empty)\n"
	}
	var b strings.Builder
	b.WriteString("    " + name + ":\n")
	for _, line := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("      | " + line + "\n")
	}
	return b.String()
}

// quoteArgv shows a command line so that a person can paste it into a
// shell.
func quoteArgv(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@,+", r))
		}) < 0 {
			q[i] = a
			continue
		}
		q[i] = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}
