package qt_test

// TestGUI checks a GUI client automatically: tripgui (the book's Trip
// Planner window, built by build.sh) runs under Xvfb with Qt's accessibility
// on, connects to the address it has built in, 127.0.0.1:6178, and
// tripgui-shim drives it over AT-SPI as the --exec client of the client
// suite, which listens at that fixed address (exec mode at a fixed address).
// Every MUST passes in both profiles; a window that ignores the end marker,
// or shows the trips of a stream cut before the end marker as found, fails
// the scenario that checks it.
//
// Needs Xvfb, dbus-daemon, at-spi2-core, /usr/bin/python3 with pyatspi and
// Qt 5's Widgets development files (Debian: xvfb, dbus, at-spi2-core,
// python3-pyatspi, qtbase5-dev). Without them the test skips, except when
// CI=true, where it fails. Port 6178 must be free: no other test listens
// there.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tripcheck/tripcheck/conformance"
	"github.com/tripcheck/tripcheck/internal/qtbuild"
	"github.com/tripcheck/tripcheck/wire"
)

// guiAddr is the address built into tripgui, as the book's Trip Planner has
// 127.0.0.1:6178 built in. The test listens there on purpose.
const guiAddr = "127.0.0.1:6178"

// guiStepTimeout is the suite's step timeout for the window: the shim reads
// each of the 10 000 cells of a 2 000-trip table over D-Bus, which takes
// seconds on a loaded machine. The window's own timeout (guiTimeoutMs) is
// below it, so that it gives up on a stalled server in time, and above the
// 3 s that stall/silence-3s asks a client to wait.
const (
	guiStepTimeout = 20 * time.Second
	guiTimeoutMs   = "4000"
)

func TestGUI(t *testing.T) {
	if err := guiAvailable(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the GUI test needs Xvfb, D-Bus, AT-SPI and Qt 5 Widgets when CI=true: %v", err)
		}
		t.Skipf("GUI test tools missing (install xvfb, dbus, at-spi2-core, python3-pyatspi, qtbase5-dev): %v", err)
	}
	gui := buildGUI(t)
	shim, err := filepath.Abs("tripgui-shim")
	if err != nil {
		t.Fatal(err)
	}
	startDesktop(t)
	seed := time.Now().UnixNano()
	t.Logf("seed %d", seed)
	tmpl := "'" + shim + "' {from} {to} {date} {time} {flag}"

	for _, p := range []struct {
		version string
		profile wire.Profile
	}{{"4.3", wire.Qt4}, {"5.15", wire.Qt5}} {
		t.Run(p.profile.String(), func(t *testing.T) {
			startGUI(t, gui, shim, p.version, "")
			rep := runAtGUIAddr(t, conformance.ClientOptions{
				Exec: tmpl, Profile: p.profile, Seed: seed, Timeout: guiStepTimeout,
			})
			musts := 0
			for _, r := range rep.Results {
				if r.Level != conformance.Must {
					if r.Status == conformance.Fail {
						t.Logf("SHOULD %s failed: %s", r.ID, r.Message)
					}
					continue
				}
				switch r.Status {
				case conformance.Pass:
					musts++
				case conformance.Skip:
					// closed/nothing-listening: at a fixed address the
					// window cannot be sent where nothing listens.
					t.Logf("MUST %s skipped: %s", r.ID, r.Message)
				default:
					t.Errorf("MUST %s: %s: %s\n%s", r.ID, r.Status, r.Message, r.Log)
				}
			}
			if musts < 40 {
				t.Errorf("only %d MUST scenarios passed", musts)
			}
			t.Logf("%+v in %v", rep.Summary, rep.Duration)
		})
	}

	// Each broken window fails the scenario that checks what it breaks, and
	// passes the other one.
	for _, b := range []struct {
		broken, fails, passes string
	}{
		{"ignore-end", "reply/end-kept-open", "closed/no-end-marker"},
		{"cut-ok", "closed/no-end-marker", "reply/end-kept-open"},
	} {
		t.Run("broken-"+b.broken, func(t *testing.T) {
			startGUI(t, gui, shim, "4.3", b.broken)
			rep := runAtGUIAddr(t, conformance.ClientOptions{
				Exec: tmpl, Profile: wire.Qt4, Seed: seed, Run: []string{b.fails, b.passes}, Timeout: guiStepTimeout,
			})
			status := map[string]conformance.Status{}
			for _, r := range rep.Results {
				status[r.ID] = r.Status
			}
			if status[b.fails] != conformance.Fail || status[b.passes] != conformance.Pass {
				for _, r := range rep.Results {
					t.Logf("%s: %s: %s\n%s", r.ID, r.Status, r.Message, r.Log)
				}
				t.Errorf("TRIPGUI_BREAK=%s: %s %q, %s %q; want fail and pass",
					b.broken, b.fails, status[b.fails], b.passes, status[b.passes])
			}
		})
	}
}

// runAtGUIAddr runs the client suite in exec mode at guiAddr.
func runAtGUIAddr(t *testing.T, o conformance.ClientOptions) *conformance.Report {
	t.Helper()
	ln, err := net.Listen("tcp", guiAddr)
	if err != nil {
		t.Fatalf("listen at %s, the address built into tripgui: %v (is another program using port 6178?)", guiAddr, err)
	}
	defer ln.Close()
	o.Listener = ln
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	rep, err := conformance.RunClient(ctx, o)
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func guiAvailable() error {
	if err := qtbuild.Available(); err != nil {
		return err
	}
	for _, tool := range []string{"Xvfb", "dbus-daemon"} {
		if _, err := exec.LookPath(tool); err != nil {
			return err
		}
	}
	if _, err := os.Stat("/usr/libexec/at-spi-bus-launcher"); err != nil {
		return fmt.Errorf("at-spi2-core: %w", err)
	}
	if out, err := exec.Command("/usr/bin/python3", "-c", "import pyatspi").CombinedOutput(); err != nil {
		return fmt.Errorf("python3-pyatspi: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// buildGUI builds the Qt programs with build.sh and returns tripgui's path.
func buildGUI(t *testing.T) string {
	t.Helper()
	return filepath.Join(qtbuild.Build(t), "tripgui")
}

// startDesktop starts Xvfb on a free display (Xvfb picks it and writes it
// on -displayfd once it accepts clients) and a session D-Bus, and points
// DISPLAY and DBUS_SESSION_BUS_ADDRESS at them for the window and for the
// shims tripcheck runs. Cleanup stops both.
func startDesktop(t *testing.T) {
	t.Helper()
	display := startReporting(t, "Xvfb", func(w *os.File) *exec.Cmd {
		return exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "800x600x24", "-nolisten", "tcp")
	})
	t.Setenv("DISPLAY", ":"+display)
	bus := startReporting(t, "dbus-daemon", func(w *os.File) *exec.Cmd {
		return exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=3")
	})
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", bus)
	t.Setenv("QT_LINUX_ACCESSIBILITY_ALWAYS_ON", "1")
	t.Setenv("QT_QPA_PLATFORM", "xcb")
	t.Setenv("NO_AT_BRIDGE", "")
}

// startReporting starts a daemon that writes one line on file descriptor 3
// once it is ready, and returns that line. Cleanup kills it.
func startReporting(t *testing.T, name string, command func(*os.File) *exec.Cmd) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := command(w)
	cmd.ExtraFiles = []*os.File{w}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatalf("%s: %v", name, err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(io.LimitReader(r, 4096)).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if s == "" {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("%s reported nothing on fd 3: %s", name, limit(stderr.Bytes()))
		}
		return s
	case <-time.After(time.Minute):
		t.Fatalf("%s not ready within a minute", name)
	}
	return ""
}

// startGUI starts tripgui with QDataStream version (and TRIPGUI_BREAK if
// broken is set) and waits until its window is on the accessibility bus.
// Its own timeout is guiTimeoutMs. Cleanup stops it. A window that has not
// shown on the bus within 30 s (an application that started before the
// accessibility registry was ready, on a loaded machine) is started once
// more before the test fails.
func startGUI(t *testing.T, gui, shim, version, broken string) {
	t.Helper()
	var why string
	for attempt := 1; attempt <= 2; attempt++ {
		stop, err := tryGUI(gui, shim, version, broken)
		if err == nil {
			t.Cleanup(stop)
			return
		}
		stop()
		why = err.Error()
		t.Logf("tripgui, attempt %d: %s", attempt, why)
	}
	t.Fatalf("tripgui: %s", why)
}

// tryGUI starts tripgui and waits for its window; stop ends it.
func tryGUI(gui, shim, version, broken string) (stop func(), err error) {
	cmd := exec.Command(gui, "--version", version, "--timeout-ms", guiTimeoutMs)
	cmd.Env = append(os.Environ(), "TRIPGUI_BREAK="+broken)
	var stderr bytes.Buffer // read only once tripgui has exited
	cmd.Stdout = &stderr
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return func() {}, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stop = func() {
		cmd.Process.Kill()
		<-exited
		exited <- nil // for a second stop
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	wait := exec.CommandContext(ctx, shim, "--wait-window")
	wait.Env = append(os.Environ(), "TRIPGUI_SHIM_TIMEOUT=30")
	if out, err := wait.CombinedOutput(); err != nil {
		select {
		case err := <-exited:
			exited <- err
			return stop, fmt.Errorf("tripgui exited: %v: %s", err, limit(stderr.Bytes()))
		default:
		}
		return stop, fmt.Errorf("tripgui-shim --wait-window: %v: %s", err, limit(out))
	}
	return stop, nil
}

// limit keeps logs of the programs short.
func limit(b []byte) string {
	const max = 4096
	if len(b) > max {
		return string(b[:max]) + "…"
	}
	return string(b)
}
