package bench

import (
	"context"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// runPrep runs a command that prepares a benchmark's input (an ffmpeg
// encode of a test clip, say), failing the test with its output.
func runPrep(t testing.TB, name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(ctx, name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// selfCPU returns this process's user+system CPU time (all threads, the C
// libraries' included).
func selfCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
