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
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/encoder"
	"golive/internal/peers"
	"golive/media"
	"golive/publisher"
)

// linkBenchConfig is one run of the link benchmark.
type linkBenchConfig struct {
	w, h, fps int
	distinct  int           // noisy frames generated, looped
	bitrate   int           // the setting, bits/s: what the content makes at it
	dur       time.Duration // streamed through the 60 % link
	stalls    int           // stall rounds
	// stallTimeout is GoLive's (0: its 5 s default); ffStallWait is how
	// long ffmpeg is given to notice a stall.
	stallTimeout, ffStallWait time.Duration
}

var linkBenchFull = linkBenchConfig{w: 640, h: 360, fps: 25, distinct: 250, bitrate: 1_500_000, dur: 60 * time.Second,
	stalls: 3, ffStallWait: 60 * time.Second}

// linkBenchSmoke checks the harness in seconds (a shorter stall timeout).
var linkBenchSmoke = linkBenchConfig{w: 320, h: 180, fps: 25, distinct: 25, bitrate: 400_000, dur: 3 * time.Second,
	stalls: 1, stallTimeout: time.Second, ffStallWait: time.Second}

// linkProxyWindow is the proxy's receive buffer: the proxy acknowledges
// what it holds, which no sender can see past (a router would not), so it
// is kept small on both sides.
const linkProxyWindow = 4 << 10

// linkX264RE finds x264's settings in the SEI of a recording.
var linkX264RE = regexp.MustCompile(`x264 - core \d+[ -~]*? options: ([ -~]+)`)

// linkRecording follows what nginx records of one stream against wall
// time: when the first frame arrived, and at any moment how much media
// time it has.
type linkRecording struct {
	path string
	mu   sync.Mutex
	// firstAt is when the recording first held a video frame.
	firstAt time.Time
	stop    chan struct{}
	done    chan struct{}
}

func followRecording(path string) *linkRecording {
	r := &linkRecording{path: path, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-r.stop:
				return
			case <-tick.C:
			}
			if p, err := peers.ReadFLVProgress(path); err == nil && p.Frames > 0 {
				r.mu.Lock()
				r.firstAt = time.Now()
				r.mu.Unlock()
				return
			}
		}
	}()
	return r
}

// first waits until the first frame was recorded (at most timeout).
func (r *linkRecording) first(t *testing.T, timeout time.Duration) time.Time {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(timeout):
		close(r.stop)
		<-r.done
		t.Fatalf("nothing recorded in %s after %v", r.path, timeout)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.firstAt
}

// lag is how far behind real time the recording is at now: the time since
// its first frame minus the media time it holds.
func (r *linkRecording) lag(t *testing.T, first, now time.Time) (time.Duration, peers.FLVProgress) {
	t.Helper()
	p, err := peers.ReadFLVProgress(r.path)
	require.NoError(t, err)
	return now.Sub(first) - p.Last, p
}

// x264Options returns the x264 settings in the recording's first keyframe.
func x264Options(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	m := linkX264RE.FindSubmatch(b)
	require.NotNil(t, m, "no x264 settings in %s", path)
	return string(m[1])
}

// TestLinkVsFFmpeg streams the same noisy content (it needs every bit of
// its setting) through a TCP link carrying 60 % of it, to nginx-rtmp, for
// 60 s: GoLive (encoder.H264 + publisher.RTMP + BitrateController, the
// components and defaults of `golive stream`) and the ffmpeg command line
// with the same x264 settings (checked: a mismatch fails), one after the
// other through the same link. What nginx recorded against wall time
// gives each side's lag at the end; GoLive's target is watched until it
// falls below the link rate. Then a stall: the link stops carrying
// anything while GoLive streams through it, and the time until it
// reports reconnecting is measured (peer: ffmpeg with -rw_timeout 5 s,
// which notices only once its socket buffer is full). It never asserts a
// timing; verdicts: link-lag, link-adapt, link-stall.
func TestLinkVsFFmpeg(t *testing.T) {
	cfg := linkBenchSmoke
	if benchFull() {
		cfg = linkBenchFull
	}
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	encoder.RouteFFmpegLog(slog.New(slog.DiscardHandler))
	defer encoder.RouteFFmpegLog(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	dir := t.TempDir()
	raw := filepath.Join(dir, "noise.yuv")
	runPrep(t, ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("testsrc2=size=%dx%d:rate=%d,noise=alls=12:allf=t+u", cfg.w, cfg.h, cfg.fps),
		"-frames:v", strconv.Itoa(cfg.distinct), "-pix_fmt", "yuv420p", "-f", "rawvideo", "-y", raw)
	frames := encodeLoadFrames(t, raw, cfg.w, cfg.h, cfg.distinct)
	n := peers.StartNginxRTMP(t, peers.NginxOptions{DropIdlePublisher: 3 * time.Second})
	link := cfg.bitrate * 6 / 10

	gl := linkGoLive(t, n, cfg, frames, link)
	ff := linkFFmpeg(t, n, cfg, ffmpeg, raw, link)
	glOpts, ffOpts := x264Options(t, n.RecordPath("gl")), x264Options(t, n.RecordPath("ff"))
	if glOpts != ffOpts {
		t.Fatalf("x264 settings differ, the comparison is void:\n  golive: %s\n  ffmpeg: %s", glOpts, ffOpts)
	}
	if ff.made < cfg.bitrate*9/10 {
		t.Fatalf("the content made %d kbit/s at a %d kbit/s setting: the link is not at 60 %% of it", ff.made/1000, cfg.bitrate/1000)
	}
	t.Logf("%dx%d@%d noisy content, %d kbit/s setting (ffmpeg made %d kbit/s), link %d kbit/s, %v; x264 identical: %s",
		cfg.w, cfg.h, cfg.fps, cfg.bitrate/1000, ff.made/1000, link/1000, cfg.dur, glOpts)
	t.Logf("  GoLive: lag at the end %v; %d/%d frames recorded; target below the link after %v, lowest %d kbit/s",
		gl.lag.Round(time.Millisecond), gl.recorded, gl.frames, gl.adapt.Round(time.Millisecond), gl.lowest/1000)
	t.Logf("  ffmpeg: lag at the end %v; %d frames recorded of %d made", ff.lag.Round(time.Millisecond), ff.recorded, gl.frames)
	note := fmt.Sprintf("%dx%d@%d noise at %dk through a %dk link for %v; nginx recording vs wall time; frames recorded GoLive %d, ffmpeg %d of %d",
		cfg.w, cfg.h, cfg.fps, cfg.bitrate/1000, link/1000, cfg.dur, gl.recorded, ff.recorded, gl.frames)
	verdict(t, "link-lag", gl.lag.Seconds(), ff.lag.Seconds(), note)
	verdict(t, "link-adapt", gl.adapt.Seconds(), 0, note+fmt.Sprintf("; lowest target %dk", gl.lowest/1000))

	var stalls []time.Duration
	for round := range cfg.stalls {
		stalls = append(stalls, linkStallGoLive(t, n, cfg, frames, round))
	}
	ffStall := linkStallFFmpeg(t, n, cfg, ffmpeg, raw)
	worst := slices.Max(stalls)
	t.Logf("stall: GoLive reconnecting %v after the link stopped (rounds %v); ffmpeg -rw_timeout 5s gave up after %v",
		worst.Round(time.Millisecond), stalls, ffStall.Round(time.Millisecond))
	verdict(t, "link-stall", worst.Seconds(), ffStall.Seconds(),
		fmt.Sprintf("worst of %d rounds, link stalled after 2 s of %dk; peer: ffmpeg -rw_timeout 5000000 until it exits", cfg.stalls, cfg.bitrate/1000))
}

// linkSide is one side's result through the 60 % link.
type linkSide struct {
	lag      time.Duration // recording behind real time when the source ended
	recorded int           // frames nginx recorded by then
	frames   int           // frames the source made
	adapt    time.Duration // first frame → target under the link rate
	lowest   int           // lowest target, bits/s
	made     int           // what the encoder made, bits/s (ffmpeg side)
}

// linkGoLive streams cfg.dur of frames in real time through a link of
// linkRate bits/s, as `golive stream` does (publisher and controller on
// their defaults).
func linkGoLive(t *testing.T, n *peers.Nginx, cfg linkBenchConfig, frames []*media.VideoFrame, linkRate int) linkSide {
	quiet := slog.New(slog.DiscardHandler)
	proxy := peers.StartProxy(t, n.Addr(), peers.ProxyOptions{Rate: linkRate, ReadBuffer: linkProxyWindow})
	enc := &encoder.H264{Encoder: "libx264", Width: cfg.w, Height: cfg.h, FPS: cfg.fps, Bitrate: cfg.bitrate,
		KeyframeInterval: 2 * time.Second, Logger: quiet}
	require.NoError(t, enc.Initialize())
	defer enc.Close()
	r := &publisher.RTMP{URL: "rtmp://" + proxy.Addr() + "/live/gl", Video: enc.Params(), Reconnect: publisher.DefaultReconnect(), Logger: quiet}
	require.NoError(t, r.Initialize())
	defer r.Close()
	var mu sync.Mutex
	var start, below time.Time
	lowest := cfg.bitrate
	bc := &publisher.BitrateController{Stats: r.Stats, Max: cfg.bitrate, Logger: quiet, SetBitrate: func(b int) {
		enc.SetBitrate(b)
		mu.Lock()
		defer mu.Unlock()
		lowest = min(lowest, b)
		if b < linkRate && below.IsZero() {
			below = time.Now()
		}
	}}
	require.NoError(t, bc.Initialize())
	defer bc.Close()
	rec := followRecording(n.RecordPath("gl"))

	start = time.Now()
	total := int(cfg.dur.Seconds() * float64(cfg.fps))
	for i := range total {
		linkFrame(t, enc, r, frames, i, cfg.fps, start)
	}
	first := rec.first(t, 10*time.Second)
	lag, prog := rec.lag(t, first, first.Add(cfg.dur))
	if time.Now().After(first.Add(cfg.dur)) {
		lag, prog = rec.lag(t, first, time.Now()) // read as soon as possible: the source ended at least this late
	}
	mu.Lock()
	side := linkSide{lag: lag, recorded: prog.Frames, frames: total, lowest: lowest}
	if !below.IsZero() {
		side.adapt = below.Sub(start)
	} else {
		side.adapt = cfg.dur // never: worse than any target
	}
	mu.Unlock()
	return side
}

// linkFFmpeg streams the same frames with the ffmpeg command line through
// the same kind of link, with the same x264 settings at a fixed bitrate.
func linkFFmpeg(t *testing.T, n *peers.Nginx, cfg linkBenchConfig, ffmpeg, raw string, linkRate int) linkSide {
	proxy := peers.StartProxy(t, n.Addr(), peers.ProxyOptions{Rate: linkRate, ReadBuffer: linkProxyWindow})
	rec := followRecording(n.RecordPath("ff"))
	ctx, cancel := context.WithTimeout(context.Background(), cfg.dur+2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, ffmpeg, linkFFmpegArgs(cfg, raw, "rtmp://"+proxy.Addr()+"/live/ff")...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	first := rec.first(t, 20*time.Second)
	time.Sleep(time.Until(first.Add(cfg.dur))) // the source's 60 s, in real time
	lag, prog := rec.lag(t, first, time.Now())
	// ffmpeg would go on for as long again sending its backlog: stop it.
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	made := 0
	if m := regexp.MustCompile(`bitrate=\s*([\d.]+)kbits/s`).FindAllSubmatch(stderr.Bytes(), -1); len(m) > 0 {
		kbps, _ := strconv.ParseFloat(string(m[len(m)-1][1]), 64)
		made = int(kbps * 1000)
	}
	return linkSide{lag: lag, recorded: prog.Frames, made: made}
}

// linkFFmpegArgs is the ffmpeg side: the raw frames looped at their rate,
// the x264 settings encoder.H264 uses, FLV to url.
func linkFFmpegArgs(cfg linkBenchConfig, raw, url string, extra ...string) []string {
	rate, gop := strconv.Itoa(cfg.bitrate), strconv.Itoa(2*cfg.fps)
	args := []string{"-hide_banner", "-loglevel", "error", "-stats", "-re", "-stream_loop", "-1",
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmt.Sprintf("%dx%d", cfg.w, cfg.h), "-r", strconv.Itoa(cfg.fps), "-i", raw,
		"-t", strconv.Itoa(int(cfg.dur.Seconds())),
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "high",
		"-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
		"-forced-idr", "1", "-bf", "0"}
	return append(append(args, extra...), "-f", "flv", url)
}

// linkStallGoLive streams through a link that stops carrying anything
// after 2 s and returns how long GoLive took to report reconnecting.
func linkStallGoLive(t *testing.T, n *peers.Nginx, cfg linkBenchConfig, frames []*media.VideoFrame, round int) time.Duration {
	quiet := slog.New(slog.DiscardHandler)
	proxy := peers.StartProxy(t, n.Addr(), peers.ProxyOptions{ReadBuffer: linkProxyWindow})
	defer proxy.Close()
	enc := &encoder.H264{Encoder: "libx264", Width: cfg.w, Height: cfg.h, FPS: cfg.fps, Bitrate: cfg.bitrate, Logger: quiet}
	require.NoError(t, enc.Initialize())
	defer enc.Close()
	r := &publisher.RTMP{URL: "rtmp://" + proxy.Addr() + "/live/stall" + strconv.Itoa(round), Video: enc.Params(),
		Reconnect: publisher.DefaultReconnect(), StallTimeout: cfg.stallTimeout, Logger: quiet}
	require.NoError(t, r.Initialize())
	defer r.Close()
	start := time.Now()
	var stalled time.Time
	for i := 0; ; i++ {
		if stalled.IsZero() && time.Since(start) >= 2*time.Second {
			proxy.Stall()
			stalled = time.Now()
		}
		if !stalled.IsZero() && r.Stats().State == publisher.StateReconnecting {
			return time.Since(stalled)
		}
		if !stalled.IsZero() && time.Since(stalled) > 30*time.Second {
			t.Fatalf("GoLive did not notice the stall in 30 s: %+v", r.Stats())
		}
		linkFrame(t, enc, r, frames, i, cfg.fps, start)
	}
}

// linkFrame encodes frame i of a live source started at start (due at
// i/fps; a late one goes at once) and hands its packets to r.
func linkFrame(t *testing.T, enc *encoder.H264, r *publisher.RTMP, frames []*media.VideoFrame, i, fps int, start time.Time) {
	pts := time.Duration(i) * time.Second / time.Duration(fps)
	if d := time.Until(start.Add(pts)); d > 0 {
		time.Sleep(d) // a live source's pace
	}
	f := *frames[i%len(frames)]
	f.PTS = pts
	pkts, err := enc.Encode(&f, false)
	require.NoError(t, err)
	for _, p := range pkts {
		r.WritePacket(p)
	}
}

// linkStallFFmpeg runs ffmpeg with a 5 s write timeout through a link that
// stalls after 2 s and returns how long after the stall it gave up
// (cfg.ffStallWait when it did not by then).
func linkStallFFmpeg(t *testing.T, n *peers.Nginx, cfg linkBenchConfig, ffmpeg, raw string) time.Duration {
	proxy := peers.StartProxy(t, n.Addr(), peers.ProxyOptions{ReadBuffer: linkProxyWindow})
	defer proxy.Close()
	long := cfg
	long.dur = 10 * time.Minute
	cmd := exec.Command(ffmpeg, linkFFmpegArgs(long, raw, "rtmp://"+proxy.Addr()+"/live/ffstall", "-rw_timeout", "5000000")...)
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	rec := followRecording(n.RecordPath("ffstall"))
	first := rec.first(t, 20*time.Second)
	time.Sleep(time.Until(first.Add(2 * time.Second)))
	proxy.Stall()
	stalled := time.Now()
	select {
	case <-exited:
		return time.Since(stalled)
	case <-time.After(cfg.ffStallWait):
		_ = cmd.Process.Kill()
		<-exited
		return cfg.ffStallWait
	}
}
