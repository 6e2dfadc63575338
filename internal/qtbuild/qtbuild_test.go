package qtbuild

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestBuildScript finds build.sh from this package, as Build does for the
// tests of every package: moving either fails here, not in a skip.
func TestBuildScript(t *testing.T) {
	script, err := buildScript()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join("interop", "qt", "build.sh"); !strings.HasSuffix(filepath.Clean(script), want) {
		t.Errorf("buildScript() = %s, want a path ending in %s", script, want)
	}
}
