package peers

import (
	"os"
	"os/exec"
	"testing"
)

// RequireTool returns the path of the program name. When it is not
// installed the test fails under CI=true (CI must have every peer) and is
// skipped otherwise.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("peer %q is required under CI=true but is not installed: %v", name, err)
	}
	t.Skipf("peer %q is not installed: %v", name, err)
	return ""
}
