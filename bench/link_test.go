package bench

import (
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/encoder"
	"golive/internal/peers"
	"golive/media"
	"golive/publisher"
)

// linkBenchConfig is one run of the stall benchmark.
type linkBenchConfig struct {
	w, h, fps int
	distinct  int // noisy frames generated, looped
	bitrate   int // the setting, bits/s: what the content makes at it
	stalls    int // stall rounds
	// stallTimeout is GoLive's (0: its 5 s default); ffStallWait is how
	// long ffmpeg is given to notice a stall.
	stallTimeout, ffStallWait time.Duration
}

var linkBenchFull = linkBenchConfig{w: 640, h: 360, fps: 25, distinct: 250, bitrate: 1_500_000,
	stalls: 3, ffStallWait: 60 * time.Second}

// linkBenchSmoke checks the harness in seconds (a shorter stall timeout).
var linkBenchSmoke = linkBenchConfig{w: 320, h: 180, fps: 25, distinct: 25, bitrate: 400_000,
	stalls: 1, stallTimeout: time.Second, ffStallWait: time.Second}

// linkProxyWindow is the proxy's receive buffer: the proxy acknowledges
// what it holds, which no sender can see past (a router would not), so it
// is kept small on both sides.
const linkProxyWindow = 4 << 10

// linkRecording watches what nginx records of one stream for its first
// frame, against wall time.
type linkRecording struct {
	path string
	mu   sync.Mutex
	// firstAt is when the recording first held a video frame.
	firstAt time.Time
	stop    chan struct{}
	done    chan struct{}
}

// followRecording starts watching the recording at path.
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

// TestLinkStallVsFFmpeg streams noisy content through a TCP link to
// nginx-rtmp and stops the link after 2 s: it carries nothing more, with
// its sockets open, as a dead Wi-Fi does. The time until GoLive
// (encoder.H264 + publisher.RTMP on `golive stream`'s defaults) reports
// reconnecting is measured, worst of cfg.stalls rounds; the peer is the
// ffmpeg command line with the same x264 settings and -rw_timeout 5 s,
// which notices only once its socket buffer is full. It never asserts a
// timing; verdict: link-stall. (Adapting to a slow link, link-lag and
// link-adapt, is TestPublishVsFFmpeg's.)
func TestLinkStallVsFFmpeg(t *testing.T) {
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

// linkFFmpegArgs is the ffmpeg side: the raw frames looped at their rate,
// the x264 settings encoder.H264 uses, FLV to url.
func linkFFmpegArgs(cfg linkBenchConfig, dur time.Duration, raw, url string, extra ...string) []string {
	rate, gop := strconv.Itoa(cfg.bitrate), strconv.Itoa(2*cfg.fps)
	args := []string{"-hide_banner", "-loglevel", "error", "-stats", "-re", "-stream_loop", "-1",
		"-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", fmt.Sprintf("%dx%d", cfg.w, cfg.h), "-r", strconv.Itoa(cfg.fps), "-i", raw,
		"-t", strconv.Itoa(int(dur.Seconds())),
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
	cmd := exec.Command(ffmpeg, linkFFmpegArgs(cfg, 10*time.Minute, raw, "rtmp://"+proxy.Addr()+"/live/ffstall", "-rw_timeout", "5000000")...)
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
