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

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// streamRun is the CPU a streaming process used over its wall time.
type streamRun struct {
	wall, cpu time.Duration
	last      string // the last line it printed
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
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return streamRun{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), last: lines[len(lines)-1]}
}

// TestStreamCPU streams the same media file (testsrc2 in full motion and a
// tone, H.264 + AAC) once, in real time, with `golive stream --source
// file:CLIP?loop=0 --audio file` and with `ffmpeg -re -i CLIP`, both
// decoding it and encoding libx264 veryfast/zerolatency 3000k CBR + AAC
// 128k to the same nginx-rtmp, rounds interleaved, and reports the cores
// each used (kernel accounting of the child process). Both recordings
// must hold every frame of the file and carry the same x264 options
// string, or the test fails. Verdicts stream-cpu-720p30 and
// stream-cores-720p30. GOLIVE_BENCH=1 runs 30 s of 720p30, 2 rounds;
// otherwise a 3 s 320x180 smoke run of the harness.
func TestStreamCPU(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	secs, w, h, rounds := 3, 320, 180, 1
	if benchFull() {
		secs, w, h, rounds = 30, 1280, 720, 2
	}
	size := fmt.Sprintf("%dx%d", w, h)
	clip := benchClip(t, w, h, secs)
	bin := buildGoLive(t)
	ng := peers.StartNginxRTMP(t)
	// A round in which golive stream had to skip frames (it skips a frame
	// more than a second late: the machine stalled; ffmpeg -re just runs
	// late) did different work: it is run again, up to two more times.
	var g, f streamRun
	discarded := 0
	for round := 0; round < rounds; round++ {
		gk, fk := fmt.Sprintf("golive%d-%d", round, discarded), fmt.Sprintf("ffmpeg%d-%d", round, discarded)
		gr := streamMeasure(t, bin, "stream", "--to", ng.URL(gk), "--source", "file:"+clip+"?loop=0", "--audio", "file",
			"--size", size, "--fps", "30", "--bitrate", "3000k", "--audio-bitrate", "128k", "--fixed-bitrate", "--encoder", "libx264")
		fr := streamMeasure(t, ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", clip,
			"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "high", "-bf", "0",
			"-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "3000k", "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
			"-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-ar", "48000", "-ac", "2", "-f", "flv", ng.URL(fk))
		ng.WaitUnpublished(gk, time.Minute)
		ng.WaitUnpublished(fk, time.Minute)
		gv, _ := peers.FFprobe(t, ng.RecordPath(gk)).Video()
		fv, _ := peers.FFprobe(t, ng.RecordPath(fk)).Video()
		if want := secs * 30; gv.Frames() != want || fv.Frames() != want {
			if gv.Frames() < want && fv.Frames() == want && strings.Contains(gr.last, "skipped=") && !strings.Contains(gr.last, "skipped=0 ") && discarded < 2 {
				discarded++
				t.Logf("round %d: golive stream skipped frames (%d of %d at the server; %s): the machine stalled; round discarded and run again",
					round+1, gv.Frames(), want, gr.last)
				round--
				continue
			}
			verdictInvalid(t, []string{"stream-cpu-720p30", "stream-cores-720p30"}, "round %d: frames at the server: golive %d, ffmpeg %d, want %d each: the sides did not do the same work (golive: %s)",
				round+1, gv.Frames(), fv.Frames(), want, gr.last)
		}
		gb, err := os.ReadFile(ng.RecordPath(gk))
		require.NoError(t, err)
		fb, err := os.ReadFile(ng.RecordPath(fk))
		require.NoError(t, err)
		if o := x264Options(gb); o == "" || o != x264Options(fb) {
			verdictInvalid(t, []string{"stream-cpu-720p30", "stream-cores-720p30"}, "round %d: x264 settings differ, so the sides do not do the same work:\n  golive: %s\n  ffmpeg: %s", round+1, o, x264Options(fb))
		}
		t.Logf("round %d: golive stream %.2f cores (cpu %v over %v), ffmpeg %.2f cores (cpu %v over %v); %d frames each",
			round+1, gr.cores(), gr.cpu.Round(time.Millisecond), gr.wall.Round(time.Millisecond),
			fr.cores(), fr.cpu.Round(time.Millisecond), fr.wall.Round(time.Millisecond), gv.Frames())
		g.wall, g.cpu, f.wall, f.cpu = g.wall+gr.wall, g.cpu+gr.cpu, f.wall+fr.wall, f.cpu+fr.cpu
	}
	if g.cpu <= 0 || f.cpu <= 0 {
		t.Fatalf("no CPU time measured: golive %v, ffmpeg %v", g.cpu, f.cpu)
	}
	t.Logf("%s@30 from the same %d s file, %d rounds: golive stream %.2f cores, ffmpeg CLI %.2f cores, ratio %.2f×",
		size, secs, rounds, g.cores(), f.cores(), g.cpu.Seconds()/f.cpu.Seconds())
	note := fmt.Sprintf("the same %d s %s@30 H.264+AAC file decoded and encoded (libx264 veryfast 3000k, options checked identical; AAC 128k) to nginx-rtmp once in real time, every frame at the server on both sides; CPU/wall of the child process over %d interleaved rounds (%d more discarded: golive skipped frames in a stall)",
		secs, size, rounds, discarded)
	verdict(t, "stream-cpu-720p30", g.cores(), f.cores(), note)
	verdict(t, "stream-cores-720p30", g.cores(), 0, note)
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
