package encoder

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain routes FFmpeg's log through slog (warnings and errors only, to
// keep test output readable) and checks for leaked goroutines.
func TestMain(m *testing.M) {
	RouteFFmpegLog(quietLogger())
	code := m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			code = 1
		}
	}
	os.Exit(code)
}
