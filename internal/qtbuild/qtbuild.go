// Package qtbuild builds interop/qt's Qt 5 programs (tripserver, tripclient
// and the tripgui window) for the tests that run them, with
// interop/qt/build.sh, so that every such test finds, builds and skips
// them the same way.
package qtbuild

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"
)

// buildTimeout bounds build.sh: the three programs take minutes on a
// loaded machine.
const buildTimeout = 10 * time.Minute

// Build builds the programs into a temporary directory of t and returns
// it. Without g++, pkg-config or Qt 5's Core, Network and Widgets
// development files it skips t, except when CI=true, where it fails t. A
// failed build fails t with build.sh's output.
func Build(t testing.TB) string {
	t.Helper()
	if err := Available(); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("Qt 5 development files are required when CI=true: %v", err)
		}
		t.Skipf("Qt 5 development files not installed (install pkg-config, g++ and qtbase5-dev): %v", err)
	}
	script, err := buildScript()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "sh", script, dir).CombinedOutput(); err != nil {
		t.Fatalf("interop/qt/build.sh %s: %v\n%s", dir, err, out)
	}
	return dir
}

// Available says why the programs cannot be built here, or nil.
func Available() error {
	for _, tool := range []string{"pkg-config", "g++"} {
		if _, err := exec.LookPath(tool); err != nil {
			return err
		}
	}
	out, err := exec.Command("pkg-config", "--exists", "--print-errors", "Qt5Core", "Qt5Network", "Qt5Widgets").CombinedOutput()
	if err != nil {
		return fmt.Errorf("pkg-config Qt5Core Qt5Network Qt5Widgets: %v: %s", err, bytes.TrimSpace(out))
	}
	return nil
}

// buildScript is interop/qt/build.sh, found from this file's place in the
// module, whichever package's test asks.
func buildScript() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", fmt.Errorf("no source path to find interop/qt/build.sh from")
	}
	script := filepath.Join(filepath.Dir(file), "..", "..", "interop", "qt", "build.sh")
	if _, err := os.Stat(script); err != nil {
		return "", err
	}
	return script, nil
}
