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
	frames    int    // frames the encoder made
	x264      string // libx264's options string from the bitstream's SEI
}

func (r encodeRun) fps(frames int) float64 { return float64(frames) / r.wall.Seconds() }

// TestEncodeVsFFmpeg encodes the same pictures (testsrc2 frames made once
// by ffmpeg, read back as raw YUV) with libx264 veryfast/zerolatency
// through encoder.H264 and through the ffmpeg command line reading the
// same raw file, rounds interleaved, and reports the encode-720p30
// verdict (best round of each side). The x264 options string written into
// both bitstreams must be identical and both sides must encode every
// frame, or the test fails: the comparison would not be of the same work.
// GOLIVE_BENCH=1 runs the recorded 720p30 600-frame configuration;
// otherwise a 20-frame smoke run of the harness.
func TestEncodeVsFFmpeg(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	cfg := encodeBenchSmoke
	if benchFull() {
		cfg = encodeBenchFull
	}
	dir := t.TempDir()
	raw := filepath.Join(dir, "src.yuv")
	runPrep(t, ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", cfg.w, cfg.h, cfg.fps),
		"-frames:v", strconv.Itoa(cfg.distinct), "-pix_fmt", "yuv420p", "-f", "rawvideo", raw)
	frames := encodeLoadFrames(t, raw, cfg.w, cfg.h, cfg.distinct)

	rate := strconv.Itoa(cfg.bitrate)
	out := filepath.Join(dir, "ffmpeg.h264")
	rawIn := []string{"-hide_banner", "-nostats", "-nostdin", "-y", "-stream_loop", "-1", "-f", "rawvideo", "-pix_fmt", "yuv420p",
		"-s", fmt.Sprintf("%dx%d", cfg.w, cfg.h), "-r", strconv.Itoa(cfg.fps), "-i", raw,
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "high",
		"-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-g", strconv.Itoa(2 * cfg.fps),
		"-keyint_min", strconv.Itoa(2 * cfg.fps), "-sc_threshold", "0", "-bf", "0",
		"-frames:v", strconv.Itoa(cfg.frames), "-f", "h264", out}

	var golive, peer encodeRun
	keep := func(dst *encodeRun, r encodeRun) {
		if dst.wall == 0 || r.wall < dst.wall {
			*dst = r
		}
	}
	for round := range cfg.rounds {
		g := encodeGoLive(t, cfg, frames)
		f := encodeFFmpeg(t, ffmpeg, rawIn, out)
		for _, r := range []struct {
			side string
			r    encodeRun
		}{{"golive", g}, {"ffmpeg", f}} {
			if r.r.frames != cfg.frames {
				verdictInvalid(t, []string{"encode-720p30"}, "round %d: %s encoded %d frames, want %d", round+1, r.side, r.r.frames, cfg.frames)
			}
			if r.r.x264 == "" {
				verdictInvalid(t, []string{"encode-720p30"}, "round %d: no x264 options string in %s's bitstream", round+1, r.side)
			}
		}
		if g.x264 != f.x264 {
			verdictInvalid(t, []string{"encode-720p30"}, "round %d: x264 settings differ, so the sides do not do the same work:\n  golive: %s\n  ffmpeg: %s", round+1, g.x264, f.x264)
		}
		keep(&golive, g)
		keep(&peer, f)
		t.Logf("round %d: golive %.1f fps, ffmpeg %.1f fps", round+1, g.fps(cfg.frames), f.fps(cfg.frames))
	}

	n := cfg.frames
	t.Logf("%dx%d@%d, %d frames cycled from %d, libx264 veryfast zerolatency, %d b/s (best of %d interleaved rounds); x264 options identical on both sides: %s",
		cfg.w, cfg.h, cfg.fps, n, cfg.distinct, cfg.bitrate, cfg.rounds, golive.x264)
	for _, r := range []struct {
		name string
		r    encodeRun
	}{{"golive encoder.H264 (frames in memory)", golive}, {"ffmpeg CLI, the same raw frames looped from file", peer}} {
		t.Logf("  %-50s %7.1f fps  wall %6.2fs  cpu %6.2fs  %7d kB  %d frames", r.name, r.r.fps(n), r.r.wall.Seconds(),
			r.r.cpu.Seconds(), r.r.bytes/1000, r.r.frames)
	}
	verdict(t, "encode-720p30", golive.fps(n), peer.fps(n), fmt.Sprintf(
		"%dx%d, %d frames each side (counted: packets / x264's own frame summary), x264 options checked identical, best of %d interleaved rounds; CPU golive %.2f s, ffmpeg %.2f s",
		cfg.w, cfg.h, n, cfg.rounds, golive.cpu.Seconds(), peer.cpu.Seconds()))
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

// x264OptionsRE finds the options string x264 writes into its SEI.
var x264OptionsRE = regexp.MustCompile(`options: ([ -~]*)`)

// x264Options returns the options string of the first x264 SEI in an
// H.264 bitstream (Annex-B or AVCC), "" without one.
func x264Options(b []byte) string {
	if m := x264OptionsRE.FindSubmatch(b[:min(len(b), 64<<10)]); m != nil {
		return string(m[1])
	}
	return ""
}

// encodeGoLive times encoder.H264 over cfg.frames frames cycled from
// frames, from Initialize to Close, with wall and process CPU time.
func encodeGoLive(t *testing.T, cfg encodeBenchConfig, frames []*media.VideoFrame) encodeRun {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	encoder.RouteFFmpegLog(quiet)
	var first []byte
	cpu0 := selfCPU(t)
	start := time.Now()
	e := &encoder.H264{Encoder: "libx264", Width: cfg.w, Height: cfg.h, FPS: cfg.fps, Bitrate: cfg.bitrate, Logger: quiet}
	if err := e.Initialize(); err != nil {
		t.Fatal(err)
	}
	var bytes, pkts int
	count := func(out []*media.Packet) {
		for _, p := range out {
			bytes += len(p.Data)
			if first == nil {
				first = append([]byte(nil), p.Data...)
			}
		}
		pkts += len(out)
	}
	for i := range cfg.frames {
		f := *frames[i%len(frames)] // shares the planes
		f.PTS = time.Duration(i) * time.Second / time.Duration(cfg.fps)
		out, err := e.Encode(&f, false)
		if err != nil {
			t.Fatal(err)
		}
		count(out)
	}
	out, err := e.Flush()
	if err != nil {
		t.Fatal(err)
	}
	count(out)
	e.Close()
	wall := time.Since(start)
	cpu := selfCPU(t) - cpu0
	return encodeRun{wall: wall, cpu: cpu, bytes: bytes, frames: pkts, x264: x264Options(first)}
}

// x264FramesRE finds x264's closing summary lines, one per frame type.
var x264FramesRE = regexp.MustCompile(`\] frame [IPB]:(\d+)`)

// encodeFFmpeg times one ffmpeg run (process start to exit) writing out,
// and reads the frames x264 made from its summary and the options from
// the bitstream.
func encodeFFmpeg(t *testing.T, ffmpeg string, args []string, out string) encodeRun {
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
	r := encodeRun{wall: wall, cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	for _, m := range x264FramesRE.FindAllStringSubmatch(stderr.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		r.frames += n
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	r.bytes, r.x264 = len(b), x264Options(b)
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
