package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golive/internal/peers"
)

// streamRun is the CPU a streaming process used over its wall time.
type streamRun struct {
	wall, cpu time.Duration
}

func (r streamRun) cores() float64 { return r.cpu.Seconds() / r.wall.Seconds() }

// streamMeasure runs a command to completion and reads its CPU time from
// the kernel's accounting of the child (user + system).
func streamMeasure(t *testing.T, name string, args ...string) streamRun {
	t.Helper()
	cmd := exec.Command(name, args...)
	out := &peers.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return streamRun{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

// TestStreamCPU streams the moving test pattern with a tone at 720p30,
// 3000k, libx264 veryfast/zerolatency to nginx-rtmp with `golive stream`,
// and the same with the ffmpeg command line (testsrc2 + sine, real-time
// paced with -re), one after the other in the same run, and logs the CPU
// cores each used and their ratio. It never asserts a timing. GOLIVE_BENCH=1
// runs 30 s each; otherwise a 3 s smoke run of the harness.
func TestStreamCPU(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	secs, size := 3, "320x180"
	if os.Getenv("GOLIVE_BENCH") == "1" {
		secs, size = 30, "1280x720"
	}
	bin := buildGoLive(t)
	ng := peers.StartNginxRTMP(t)

	g := streamMeasure(t, bin, "stream", "--to", ng.URL("golive"), "--size", size, "--fps", "30",
		"--bitrate", "3000k", "--audio-bitrate", "128k", "--encoder", "libx264", "--duration", fmt.Sprintf("%ds", secs))
	f := streamMeasure(t, ffmpeg, "-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-t", fmt.Sprint(secs), "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-bf", "0",
		"-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "3000k", "-g", "60", "-pix_fmt", "yuv420p",
		"-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2", "-f", "flv", ng.URL("ffmpeg"))

	t.Logf("stream %s@30 for %d s to nginx-rtmp:", size, secs)
	t.Logf("  golive stream: %.2f cores (cpu %v over %v)", g.cores(), g.cpu.Round(time.Millisecond), g.wall.Round(time.Millisecond))
	t.Logf("  ffmpeg CLI:    %.2f cores (cpu %v over %v)", f.cores(), f.cpu.Round(time.Millisecond), f.wall.Round(time.Millisecond))
	t.Logf("  ratio golive/ffmpeg CPU: %.2f×", g.cpu.Seconds()/f.cpu.Seconds())
	if g.cpu <= 0 || f.cpu <= 0 {
		t.Fatalf("no CPU time measured: golive %v, ffmpeg %v", g.cpu, f.cpu)
	}
}

// buildGoLive builds the golive binary into a temporary directory.
func buildGoLive(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "golive")
	build := exec.Command("go", "build", "-o", bin, "golive")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// rssKiB reads a process's resident set size from /proc.
func rssKiB(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// TestStreamMemory runs `golive stream` at 720p30 (test pattern + tone,
// 3000k) to nginx-rtmp and samples its RSS every 10 s, logging the samples,
// the first and last minute's averages and the peak, against DESIGN's
// target (flat, <= 200 MB). It never asserts a figure. GOLIVE_BENCH=1 runs
// the recorded 10 minutes; otherwise a 4 s smoke run at 320x180.
func TestStreamMemory(t *testing.T) {
	peers.RequireTool(t, "nginx")
	dur, size, every := 4*time.Second, "320x180", time.Second
	if os.Getenv("GOLIVE_BENCH") == "1" {
		dur, size, every = 10*time.Minute, "1280x720", 10*time.Second
	}
	bin := buildGoLive(t)
	ng := peers.StartNginxRTMP(t)
	cmd := exec.Command(bin, "stream", "--to", ng.URL("mem"), "--size", size, "--fps", "30",
		"--bitrate", "3000k", "--encoder", "libx264", "--duration", dur.String())
	out := &peers.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var samples []int
	tick := time.NewTicker(every)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case err := <-exited:
			if err != nil {
				t.Fatalf("golive stream: %v\n%s", err, out)
			}
			done = true
		case <-tick.C:
			if kib, err := rssKiB(cmd.Process.Pid); err == nil {
				samples = append(samples, kib)
			}
		}
	}
	if len(samples) < 2 {
		t.Fatalf("only %d RSS samples", len(samples))
	}
	n := max(1, len(samples)/10)
	avg := func(xs []int) float64 {
		sum := 0
		for _, x := range xs {
			sum += x
		}
		return float64(sum) / float64(len(xs)) / 1024
	}
	peak := 0
	for _, x := range samples {
		peak = max(peak, x)
	}
	t.Logf("golive stream %s@30 for %v, RSS every %v (KiB): %v", size, dur, every, samples)
	first, last := avg(samples[:n]), avg(samples[len(samples)-n:])
	t.Logf("  first tenth %.1f MiB, last tenth %.1f MiB, peak %.1f MiB (target: flat, <= 200 MB)", first, last, float64(peak)/1024)
	note := fmt.Sprintf("golive stream, test pattern + tone, %s@30 3000k libx264 to nginx-rtmp for %v, RSS sampled every %v (%d samples)", size, dur, every, len(samples))
	const mib = 1 << 20
	verdict(t, "broadcaster-rss", float64(peak)*1024/1e6, 0, note+": peak")
	verdict(t, "broadcaster-rss-flat", last*mib/1e6, first*mib/1e6, note+": mean of the last tenth vs the first tenth")
}
