package peers

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Missing stops a test whose peer is not here: under CI=true it fails (CI
// must have every peer), elsewhere it skips. The message says what is
// missing and, where it helps, how to install it.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	missing(t, os.Getenv("CI") == "true", fmt.Sprintf(format, args...))
}

func missing(t testing.TB, ci bool, why string) {
	t.Helper()
	if ci {
		t.Fatalf("peer required under CI=true: %s", why)
	}
	t.Skipf("peer missing: %s", why)
}

// RequireTool returns the path of the first of names installed here; when
// none is, the test stops as Missing says.
func RequireTool(t testing.TB, names ...string) string {
	t.Helper()
	for _, name := range names {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	Missing(t, "none of %q is installed (make deps installs them)", names)
	return ""
}
