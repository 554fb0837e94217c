package bench

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golive/encoder"
	"golive/internal/peers"
	"golive/media"
)

// encodeBenchConfig is one run of the encode comparison.
type encodeBenchConfig struct {
	w, h, fps int
	frames    int // frames encoded per run
	distinct  int // distinct source frames, cycled
	bitrate   int // bits/s: b = maxrate = bufsize
	rounds    int // interleaved rounds; the best of each side counts
}

// encodeBenchFull is the recorded configuration: 600 frames of 720p30.
var encodeBenchFull = encodeBenchConfig{w: 1280, h: 720, fps: 30, frames: 600, distinct: 60, bitrate: 3_000_000, rounds: 3}

// encodeBenchSmoke keeps the harness honest in CI without costing time.
var encodeBenchSmoke = encodeBenchConfig{w: 320, h: 180, fps: 30, frames: 20, distinct: 10, bitrate: 300_000, rounds: 1}

// encodeRun is one timed run.
type encodeRun struct {
	wall, cpu time.Duration
	bytes     int
	x264      string // libx264's option line, to show both sides match
}

func (r encodeRun) fps(frames int) float64 { return float64(frames) / r.wall.Seconds() }

// TestEncodeVsFFmpeg encodes the same testsrc2 pictures with libx264
// veryfast/zerolatency through encoder.H264 and through the ffmpeg command
// line, in the same run, and logs fps, CPU time and the ratio. It never
// asserts a timing. With GOLIVE_BENCH=1 it runs the recorded 720p30
// 600-frame configuration; otherwise a 20-frame smoke run of the harness.
func TestEncodeVsFFmpeg(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	cfg := encodeBenchSmoke
	if os.Getenv("GOLIVE_BENCH") == "1" {
		cfg = encodeBenchFull
	}
	dir := t.TempDir()
	raw := filepath.Join(dir, "src.yuv")
	runPrep(t, ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", cfg.w, cfg.h, cfg.fps),
		"-frames:v", strconv.Itoa(cfg.distinct), "-pix_fmt", "yuv420p", "-f", "rawvideo", raw)
	frames := encodeLoadFrames(t, raw, cfg.w, cfg.h, cfg.distinct)

	rate := strconv.Itoa(cfg.bitrate)
	x264Args := []string{"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "high",
		"-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-g", strconv.Itoa(2 * cfg.fps),
		"-keyint_min", strconv.Itoa(2 * cfg.fps), "-sc_threshold", "0", "-bf", "0",
		"-frames:v", strconv.Itoa(cfg.frames), "-f", "null", "-"}
	lavfi := append([]string{"-hide_banner", "-nostats", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", cfg.w, cfg.h, cfg.fps)}, x264Args...)
	rawIn := append([]string{"-hide_banner", "-nostats", "-stream_loop", "-1", "-f", "rawvideo", "-pix_fmt", "yuv420p",
		"-s", fmt.Sprintf("%dx%d", cfg.w, cfg.h), "-r", strconv.Itoa(cfg.fps), "-i", raw}, x264Args...)

	var best struct{ golive, lavfi, raw encodeRun }
	keep := func(dst *encodeRun, r encodeRun) {
		if dst.wall == 0 || r.wall < dst.wall {
			*dst = r
		}
	}
	for round := range cfg.rounds {
		keep(&best.lavfi, encodeFFmpeg(t, ffmpeg, lavfi))
		g := encodeGoLive(t, cfg, frames)
		keep(&best.golive, g)
		keep(&best.raw, encodeFFmpeg(t, ffmpeg, rawIn))
		t.Logf("round %d: golive %.1f fps", round+1, g.fps(cfg.frames))
	}

	n := cfg.frames
	t.Logf("%dx%d@%d, %d frames, libx264 veryfast zerolatency, %d b/s (best of %d interleaved rounds)",
		cfg.w, cfg.h, cfg.fps, n, cfg.bitrate, cfg.rounds)
	for _, r := range []struct {
		name string
		r    encodeRun
	}{{"golive encoder.H264 (pre-generated frames)", best.golive},
		{"ffmpeg CLI, lavfi testsrc2 input", best.lavfi},
		{"ffmpeg CLI, same raw frames looped from file", best.raw}} {
		t.Logf("  %-46s %7.1f fps  wall %6.2fs  cpu %6.2fs  %7d kB", r.name, r.r.fps(n), r.r.wall.Seconds(),
			r.r.cpu.Seconds(), r.r.bytes/1000)
	}
	t.Logf("ratio golive/ffmpeg-lavfi fps: %.3f   golive/ffmpeg-raw fps: %.3f   cpu ffmpeg-raw/golive: %.3f",
		best.golive.fps(n)/best.lavfi.fps(n), best.golive.fps(n)/best.raw.fps(n),
		best.raw.cpu.Seconds()/best.golive.cpu.Seconds())
	if best.golive.x264 != "" && best.raw.x264 != "" && best.golive.x264 != best.raw.x264 {
		t.Logf("x264 options differ:\n  golive: %s\n  ffmpeg: %s", best.golive.x264, best.raw.x264)
	} else if best.golive.x264 != "" {
		t.Logf("x264 options identical on both sides: %s", best.golive.x264)
	}
	// The harness itself must have worked: every frame became a packet.
	if best.golive.bytes == 0 {
		t.Fatal("golive produced no output")
	}
}

// encodeLoadFrames reads n packed yuv420p frames.
func encodeLoadFrames(t *testing.T, path string, w, h, n int) []*media.VideoFrame {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	size := w*h + 2*((w+1)/2)*((h+1)/2)
	if len(data) != size*n {
		t.Fatalf("raw file has %d bytes, want %d", len(data), size*n)
	}
	frames := make([]*media.VideoFrame, n)
	for i := range frames {
		f := media.NewVideoFrame(w, h)
		copy(f.Y, data[i*size:])
		copy(f.U, data[i*size+len(f.Y):])
		copy(f.V, data[i*size+len(f.Y)+len(f.U):])
		frames[i] = f
	}
	return frames
}

// x264OptionsRE finds libx264's "options:" summary line.
var x264OptionsRE = regexp.MustCompile(`options: ([^"\n]*)`)

// encodeGoLive times encoder.H264 over cfg.frames frames cycled from
// frames, from Initialize to Close, with wall and process CPU time.
func encodeGoLive(t *testing.T, cfg encodeBenchConfig, frames []*media.VideoFrame) encodeRun {
	t.Helper()
	var logs peers.SyncBuffer
	encoder.RouteFFmpegLog(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
	defer encoder.RouteFFmpegLog(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	cpu0 := selfCPU(t)
	start := time.Now()
	e := &encoder.H264{Encoder: "libx264", Width: cfg.w, Height: cfg.h, FPS: cfg.fps, Bitrate: cfg.bitrate, Logger: quiet}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	var bytes, pkts int
	for i := range cfg.frames {
		f := *frames[i%len(frames)] // shares the planes
		f.PTS = time.Duration(i) * time.Second / time.Duration(cfg.fps)
		out, err := e.Encode(&f, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range out {
			bytes += len(p.Data)
		}
		pkts += len(out)
	}
	out, err := e.Flush()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range out {
		bytes += len(p.Data)
	}
	pkts += len(out)
	e.Close()
	wall := time.Since(start)
	cpu := selfCPU(t) - cpu0
	if pkts != cfg.frames {
		t.Fatalf("golive: %d packets for %d frames", pkts, cfg.frames)
	}
	opts := ""
	if m := x264OptionsRE.FindStringSubmatch(logs.String()); m != nil {
		opts = strings.Trim(m[1], "\" ")
	}
	return encodeRun{wall: wall, cpu: cpu, bytes: bytes, x264: opts}
}

// encodeFFmpeg times one ffmpeg run (process start to exit) and reads the
// output size and x264 options from its log.
func encodeFFmpeg(t *testing.T, ffmpeg string, args []string) encodeRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, ffmpeg, args...)
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
	}
	wall := time.Since(start)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	r := encodeRun{wall: wall, cpu: cpu}
	if m := x264OptionsRE.FindStringSubmatch(stderr.String()); m != nil {
		r.x264 = strings.TrimSpace(m[1])
	}
	if m := regexp.MustCompile(`video:(\d+)kB`).FindStringSubmatch(stderr.String()); m != nil {
		kb, _ := strconv.Atoi(m[1])
		r.bytes = kb * 1024
	}
	return r
}

// BenchmarkEncodeH264720p measures encoder.H264 per 720p frame (libx264
// veryfast zerolatency, 3 Mb/s) on pre-generated moving frames.
func BenchmarkEncodeH264720p(b *testing.B) {
	const w, h, fps = 1280, 720, 30
	frames := make([]*media.VideoFrame, 30)
	for i := range frames {
		f := media.NewVideoFrame(w, h)
		for y := range h {
			for x := range w {
				f.Y[y*w+x] = byte(x + y + 4*i)
			}
		}
		for j := range f.U {
			f.U[j], f.V[j] = byte(128+i), byte(128-i)
		}
		frames[i] = f
	}
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	encoder.RouteFFmpegLog(quiet)
	e := &encoder.H264{Encoder: "libx264", Width: w, Height: h, FPS: fps, Bitrate: 3_000_000, Logger: quiet}
	if err := e.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		f := *frames[i%len(frames)]
		f.PTS = time.Duration(i) * time.Second / fps
		if _, err := e.Encode(&f, false); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "fps")
}
