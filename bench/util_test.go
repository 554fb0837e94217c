package bench

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
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

// benchClip encodes the media file both sides of a comparison read:
// testsrc2 (full motion) and a 1 kHz tone, w×h at 30 fps, secs long,
// H.264 (libx264 veryfast, CRF 18, a keyframe every second) and AAC
// 128 kbit/s 48 kHz stereo in MP4.
func benchClip(t testing.TB, w, h, secs int) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), fmt.Sprintf("clip%dx%d.mp4", w, h))
	runPrep(t, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=30", w, h),
		"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-t", fmt.Sprint(secs), "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-g", "30", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", "-ac", "2", "-movflags", "+faststart", "-y", out)
	return out
}
