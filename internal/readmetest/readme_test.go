package readmetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/fakes"
	"github.com/tripcheck/tripcheck/internal/proctest"
)

// lineTimeout bounds each command line.
const lineTimeout = 5 * time.Minute

// block is one ```sh block of the README.
type block struct {
	line     int // of the ```sh fence, counted from 1
	commands []command
	server   bool
	skip     string       // the reason, when the whole block is skipped
	skipLine map[int]bool // command numbers (from 1) skipped
	skipWhy  string
}

// command is one command line of a block: continuation lines joined.
type command struct {
	line int // in the README
	n    int // in the block, from 1
	text string
}

var (
	reMarker = regexp.MustCompile(`^\s*<!--\s*readme-test:\s*(.*?)\s*-->\s*$`)
	reSkip   = regexp.MustCompile(`^skip(?:\s+([0-9, ]+?))?\s*\((.+)\)$`)
)

// parseBlocks finds the ```sh blocks of a README and their markers. A
// marker it cannot read is an error naming its line.
func parseBlocks(readme string) ([]block, error) {
	lines := strings.Split(readme, "\n")
	var out []block
	for i := 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) != "```sh" {
			continue
		}
		b := block{line: i + 1}
		for j := i - 1; j >= 0; j-- {
			if strings.TrimSpace(lines[j]) == "" {
				continue
			}
			if m := reMarker.FindStringSubmatch(lines[j]); m != nil {
				if err := b.marker(m[1]); err != nil {
					return nil, fmt.Errorf("README.md:%d: %v", j+1, err)
				}
			}
			break
		}
		n := 0
		for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
			text := strings.TrimSpace(lines[i])
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			start := i
			for strings.HasSuffix(text, `\`) && i+1 < len(lines) {
				i++
				text = strings.TrimSuffix(text, `\`) + " " + strings.TrimSpace(lines[i])
			}
			n++
			b.commands = append(b.commands, command{line: start + 1, n: n, text: text})
		}
		for k := range b.skipLine {
			if k < 1 || k > n {
				return nil, fmt.Errorf("README.md:%d: the marker skips command %d of a block of %d", b.line, k, n)
			}
		}
		out = append(out, b)
	}
	return out, nil
}

// marker reads "server", "skip (why)", "skip 1,3 (why)", joined by ";"
// (a reason may hold semicolons: it ends at its closing parenthesis).
func (b *block) marker(s string) error {
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), ";")) {
		part := s
		if end := strings.Index(s, ")"); strings.HasPrefix(s, "skip") && end >= 0 {
			part, s = s[:end+1], s[end+1:]
		} else {
			part, s, _ = strings.Cut(s, ";")
			part = strings.TrimSpace(part)
		}
		if part == "server" {
			b.server = true
			continue
		}
		m := reSkip.FindStringSubmatch(part)
		if m == nil {
			return fmt.Errorf("readme-test marker %q: want server, skip (why) or skip N,M (why)", part)
		}
		if m[1] == "" {
			b.skip = m[2]
			continue
		}
		b.skipLine, b.skipWhy = map[int]bool{}, m[2]
		for f := range strings.SplitSeq(m[1], ",") {
			k, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil {
				return fmt.Errorf("readme-test marker %q: %q is not a command number", part, f)
			}
			b.skipLine[k] = true
		}
	}
	return nil
}

// runner runs command lines in a copy of the repository.
type runner struct {
	dir  string   // the copy
	env  []string // PATH with tripcheck first
	addr string   // the reference server's, for server blocks
}

// run runs one command and returns a problem, or "".
func (r *runner) run(b *block, c command) string {
	text := c.text
	if b.server {
		text = strings.NewReplacer("localhost:6178", r.addr, "127.0.0.1:6178", r.addr).Replace(text)
	}
	ctx, cancel := context.WithTimeout(context.Background(), lineTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", text)
	cmd.Dir, cmd.Env = r.dir, r.env
	cmd.WaitDelay = 5 * time.Second
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	if err == nil {
		return ""
	}
	why := err.Error()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		why = "exit status " + strconv.Itoa(ee.ExitCode())
	}
	if ctx.Err() != nil {
		why = "no exit within " + lineTimeout.String()
	}
	ran := ""
	if text != c.text {
		ran = "\n  ran as: " + text
	}
	const keep = 4000
	o := out.String()
	if len(o) > keep {
		o = "…" + o[len(o)-keep:]
	}
	return fmt.Sprintf("README.md:%d: command %d of the ```sh block at line %d failed (%s, after %v):\n  %s%s\n%s\n"+
		"Fix the command; or, if it cannot run in a test (it needs your own server or client, runs until interrupted, or takes minutes), "+
		"put <!-- readme-test: skip (why) --> on the line before that ```sh, or <!-- readme-test: skip %d (why) --> to skip this line only; "+
		"a block that talks to localhost:6178 can have <!-- readme-test: server --> instead (see internal/readmetest/doc.go)",
		c.line, c.n, b.line, why, time.Since(start).Round(time.Millisecond), c.text, ran, o, c.n)
}

// TestReadme runs every command of the README's ```sh blocks that is not
// marked as unable to run here.
func TestReadme(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the README's commands are bash; Windows has none by default")
	}
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	if testing.Short() {
		t.Skip("runs the README's commands: seconds to minutes")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := parseBlocks(string(readme))
	if err != nil {
		t.Fatal(err)
	}
	r := &runner{dir: filepath.Join(t.TempDir(), "repo")}
	if err := copyTree(root, r.dir); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	bin := filepath.Dir(proctest.Build(t, "../../cmd/tripcheck", "tripcheck"))
	t.Logf("go build ./cmd/tripcheck: %v", time.Since(start).Round(10*time.Millisecond))
	r.env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "NO_COLOR=1")
	srv, err := fakes.NewServer()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	r.addr = srv.Addr()

	var ran, skipped, blocksRan, blocksSkipped int
	for i := range blocks {
		b := &blocks[i]
		if b.skip != "" {
			blocksSkipped++
			skipped += len(b.commands)
			t.Logf("README.md:%d: block skipped: %s", b.line, b.skip)
			continue
		}
		blocksRan++
		for _, c := range b.commands {
			if b.skipLine[c.n] {
				skipped++
				t.Logf("README.md:%d: skipped: %s", c.line, b.skipWhy)
				continue
			}
			ran++
			start := time.Now()
			if p := r.run(b, c); p != "" {
				t.Error(p)
				continue
			}
			t.Logf("README.md:%d: ok in %v: %s", c.line, time.Since(start).Round(10*time.Millisecond), c.text)
		}
	}
	t.Logf("README.md: %d of %d ```sh blocks ran (%d command lines); %d blocks and %d lines in all skipped as marked", blocksRan, len(blocks), ran, blocksSkipped, skipped)
	if ran == 0 {
		t.Error("no README command ran")
	}
}

// TestReadmeFailure shows a failing command failing the test, with the
// line and the marker to use in the message, and markers read as written.
func TestReadmeFailure(t *testing.T) {
	if _, err := exec.LookPath("bash"); err != nil {
		t.Skip("no bash")
	}
	readme := strings.Join([]string{
		"# r",           // 1
		"```sh",         // 2
		"true   # fine", // 3
		"exit 3",        // 4
		"```",           // 5
		"",              // 6
		"<!-- readme-test: skip (needs your server) -->", // 7
		"```sh",  // 8
		"exit 4", // 9
		"```",    // 10
		"<!-- readme-test: server; skip 2 (runs until interrupted; forever) -->", // 11
		"```sh",                   // 12
		`echo localhost:6178 \`,   // 13
		"  | grep -q 127.0.0.9:1", // 14
		"sleep 1000",              // 15
		"```",                     // 16
	}, "\n")
	blocks, err := parseBlocks(readme)
	if err != nil {
		t.Fatal(err)
	}
	if len(blocks) != 3 || blocks[1].skip != "needs your server" || !blocks[2].server || !blocks[2].skipLine[2] || len(blocks[2].commands) != 2 {
		t.Fatalf("blocks %+v", blocks)
	}
	r := &runner{dir: t.TempDir(), env: os.Environ(), addr: "127.0.0.9:1"}
	if p := r.run(&blocks[0], blocks[0].commands[0]); p != "" {
		t.Errorf("a command that exits 0 failed: %s", p)
	}
	p := r.run(&blocks[0], blocks[0].commands[1])
	for _, want := range []string{"README.md:4: command 2 of the ```sh block at line 2 failed (exit status 3", "<!-- readme-test: skip (why) -->", "<!-- readme-test: skip 2 (why) -->"} {
		if !strings.Contains(p, want) {
			t.Errorf("the failure says %q, want %q in it", p, want)
		}
	}
	if p := r.run(&blocks[2], blocks[2].commands[0]); p != "" {
		t.Errorf("the server address was not put in: %s", p)
	}
	for _, bad := range []string{"<!-- readme-test: skip -->", "<!-- readme-test: skip 9 (x) -->", "<!-- readme-test: sometimes -->"} {
		if _, err := parseBlocks(bad + "\n```sh\ntrue\n```\n"); err == nil {
			t.Errorf("marker %s: no error", bad)
		}
	}
}

// copyTree copies the repository at src to dst, without .git.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		if d.Name() == ".git" {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil // a worktree's .git file
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, info.Mode().Perm())
	})
}
