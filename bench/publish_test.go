package bench

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/encoder"
	"golive/internal/peers"
	"golive/media"
	"golive/publisher"
)

// publishBenchConfig is one run of the publisher comparison.
type publishBenchConfig struct {
	// Send cost: a pre-encoded clip sent as fast as possible.
	sendW, sendH, sendFPS int
	sendBitrate           string
	sendDur               time.Duration
	// Throttled link: live encode at nominal bits/s through a link of
	// link bits/s.
	liveW, liveH  int
	liveDur       time.Duration
	nominal, link int
}

var publishBenchFull = publishBenchConfig{
	sendW: 1280, sendH: 720, sendFPS: 30, sendBitrate: "3000k", sendDur: 20 * time.Second,
	liveW: 640, liveH: 360, liveDur: 8 * time.Second, nominal: 1_500_000, link: 900_000,
}

var publishBenchSmoke = publishBenchConfig{
	sendW: 320, sendH: 180, sendFPS: 30, sendBitrate: "300k", sendDur: 2 * time.Second,
	liveW: 320, liveH: 180, liveDur: 2 * time.Second, nominal: 600_000, link: 400_000,
}

// TestPublishVsFFmpeg compares GoLive's publisher with the ffmpeg command
// line, in the same run, against the same nginx-rtmp: (1) CPU and wall
// time to send one pre-encoded clip; (2) a live encode through a throttled
// link, where GoLive's BitrateController adapts and ffmpeg cannot: the
// delivery lag at the end of the stream. It logs figures and never asserts
// a timing. GOLIVE_BENCH=1 runs the recorded sizes; otherwise a smoke run.
func TestPublishVsFFmpeg(t *testing.T) {
	cfg := publishBenchSmoke
	if os.Getenv("GOLIVE_BENCH") == "1" {
		cfg = publishBenchFull
	}
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	n := peers.StartNginxRTMP(t)

	// (1) Send cost.
	clip := peers.MakeTestFile(t, peers.TestSource{Width: cfg.sendW, Height: cfg.sendH, FPS: cfg.sendFPS,
		Duration: cfg.sendDur, Bitrate: cfg.sendBitrate, GOP: 2 * cfg.sendFPS})
	f := peers.ReadFLV(t, clip)
	gl := publishSendGoLive(t, n, f)
	ff := publishRun(t, n, "ffsend", ffmpeg, "-hide_banner", "-loglevel", "error", "-i", clip, "-c", "copy", "-f", "flv", n.URL("ffsend"))
	glFrames := peers.FFprobe(t, n.RecordPath("glsend"))
	ffFrames := peers.FFprobe(t, n.RecordPath("ffsend"))
	gv, _ := glFrames.Video()
	fv, _ := ffFrames.Video()
	require.Equal(t, fv.Frames(), gv.Frames(), "both sides must deliver the same clip")
	fi, err := os.Stat(clip)
	require.NoError(t, err)
	t.Logf("send %dx%d %s %v clip (%d kB, %d packets, %d frames each side):", cfg.sendW, cfg.sendH, cfg.sendBitrate, cfg.sendDur,
		fi.Size()/1000, len(f.Packets), gv.Frames())
	t.Logf("  GoLive publisher.RTMP: wall %v, CPU %v", gl.wall.Round(time.Millisecond), gl.cpu.Round(time.Millisecond))
	t.Logf("  ffmpeg -c copy -f flv: wall %v, CPU %v", ff.wall.Round(time.Millisecond), ff.cpu.Round(time.Millisecond))
	t.Logf("  ratio GoLive/ffmpeg: wall %.2f×, CPU %.2f×", gl.wall.Seconds()/ff.wall.Seconds(), gl.cpu.Seconds()/ff.cpu.Seconds())

	// (2) Throttled link.
	frames := int(cfg.liveDur.Seconds() * 25)
	raw := filepath.Join(t.TempDir(), "src.yuv")
	publishCmd(t, ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i",
		fmt.Sprintf("testsrc2=size=%dx%d:rate=25,noise=alls=12:allf=t+u", cfg.liveW, cfg.liveH),
		"-frames:v", strconv.Itoa(frames), "-pix_fmt", "yuv420p", "-f", "rawvideo", "-y", raw)
	glLive := publishLiveGoLive(t, n, cfg, raw, frames)
	link := newPublishLink(t, n.Addr(), cfg.link)
	nom := strconv.Itoa(cfg.nominal)
	start := time.Now()
	publishCmd(t, ffmpeg, "-hide_banner", "-loglevel", "error", "-re", "-f", "rawvideo", "-pix_fmt", "yuv420p",
		"-s", fmt.Sprintf("%dx%d", cfg.liveW, cfg.liveH), "-r", "25", "-i", raw,
		"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "high", "-bf", "0",
		"-b:v", nom, "-maxrate", nom, "-bufsize", nom, "-g", "50", "-f", "flv", "rtmp://"+link.Addr()+"/live/fflive")
	n.WaitUnpublished("fflive", 5*time.Minute)
	ffLag := time.Since(start) - cfg.liveDur
	t.Logf("  ffmpeg side: link carried %d kbit/s, %d bytes", link.Carried()/1000, link.Bytes())
	ffInfo := peers.FFprobe(t, n.RecordPath("fflive"))
	ffv, _ := ffInfo.Video()
	t.Logf("live %dx%d@25 %v at %d kbit/s through a %d kbit/s link:", cfg.liveW, cfg.liveH, cfg.liveDur, cfg.nominal/1000, cfg.link/1000)
	t.Logf("  GoLive (BitrateController): lag at the end %v, %d/%d frames delivered, bitrate %d→%d kbit/s (%d down, %d up), dropped %d",
		glLive.lag.Round(time.Millisecond), glLive.frames, frames, cfg.nominal/1000, glLive.minRate/1000, glLive.down, glLive.up, glLive.dropped)
	t.Logf("  ffmpeg CLI (fixed bitrate):  lag at the end %v, %d/%d frames delivered", ffLag.Round(time.Millisecond), ffv.Frames(), frames)
	t.Logf("  lag ratio GoLive/ffmpeg: %.2f×", glLive.lag.Seconds()/max(ffLag.Seconds(), 0.001))
}

type publishCost struct{ wall, cpu time.Duration }

// publishSendGoLive sends f's packets to nginx as fast as the link goes.
func publishSendGoLive(t *testing.T, n *peers.Nginx, f peers.FLVFile) publishCost {
	r := &publisher.RTMP{URL: n.URL("glsend"), Video: f.Video, Audio: f.Audio, QueueDuration: time.Hour,
		FlushTimeout: 5 * time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cpu0, start := selfCPU(t), time.Now()
	require.NoError(t, r.Initialize())
	for _, p := range f.Packets {
		r.WritePacket(p)
	}
	r.Close()
	n.WaitUnpublished("glsend", 5*time.Minute)
	return publishCost{time.Since(start), selfCPU(t) - cpu0}
}

// publishRun runs ffmpeg and waits until nginx has the whole stream.
func publishRun(t *testing.T, n *peers.Nginx, key, bin string, args ...string) publishCost {
	start := time.Now()
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), stderr.String())
	n.WaitUnpublished(key, 5*time.Minute)
	return publishCost{time.Since(start), cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

func publishCmd(t *testing.T, bin string, args ...string) {
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Run(), stderr.String())
}

type publishLive struct {
	lag                       time.Duration
	frames, dropped, down, up int
	minRate                   int
}

// publishLiveGoLive encodes raw frames in real time with encoder.H264 and
// publishes them through a throttled link with a BitrateController.
func publishLiveGoLive(t *testing.T, n *peers.Nginx, cfg publishBenchConfig, raw string, frames int) publishLive {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctl := quiet
	if testing.Verbose() && os.Getenv("GOLIVE_BENCH_DEBUG") != "" {
		ctl = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	data, err := os.ReadFile(raw)
	require.NoError(t, err)
	size := cfg.liveW * cfg.liveH * 3 / 2
	enc := &encoder.H264{Encoder: "libx264", Width: cfg.liveW, Height: cfg.liveH, FPS: 25, Bitrate: cfg.nominal, Logger: quiet}
	require.NoError(t, enc.Initialize())
	defer enc.Close()
	link := newPublishLink(t, n.Addr(), cfg.link)
	r := &publisher.RTMP{URL: "rtmp://" + link.Addr() + "/live/gllive", Video: enc.Params(), SendBuffer: 16 << 10,
		FlushTimeout: 5 * time.Minute, Logger: quiet}
	require.NoError(t, r.Initialize())
	minRate := atomic.Int64{}
	minRate.Store(int64(cfg.nominal))
	bc := &publisher.BitrateController{Stats: r.Stats, Max: cfg.nominal, Interval: 250 * time.Millisecond,
		UpAfter: 2 * time.Second, UpEvery: 500 * time.Millisecond, Logger: ctl,
		SetBitrate: func(b int) {
			enc.SetBitrate(b)
			if int64(b) < minRate.Load() {
				minRate.Store(int64(b))
			}
		}}
	require.NoError(t, bc.Initialize())
	start := time.Now()
	for i := 0; i < frames; i++ {
		pts := time.Duration(i) * 40 * time.Millisecond
		if d := time.Until(start.Add(pts)); d > 0 {
			time.Sleep(d) // live pacing
		}
		fr := media.NewVideoFrame(cfg.liveW, cfg.liveH)
		copy(fr.Y, data[i*size:(i+1)*size])
		fr.PTS = pts
		pkts, err := enc.Encode(fr, false)
		require.NoError(t, err)
		for _, p := range pkts {
			r.WritePacket(p)
		}
	}
	end := time.Now()
	behind := end.Sub(start.Add(cfg.liveDur))
	if behind > 100*time.Millisecond {
		t.Logf("  GoLive's encode loop ended %v behind real time (machine overloaded)", behind.Round(time.Millisecond))
	}
	bc.Close()
	r.Close()
	defer func() {
		t.Logf("  GoLive side: link carried %d kbit/s, %d bytes", link.Carried()/1000, link.Bytes())
	}()
	n.WaitUnpublished("gllive", 5*time.Minute)
	lag := time.Since(end)
	st, bs := r.Stats(), bc.BitrateStats()
	info := peers.FFprobe(t, n.RecordPath("gllive"))
	v, _ := info.Video()
	return publishLive{lag: lag, frames: v.Frames(), dropped: st.DroppedVideo, down: bs.Decreases, up: bs.Increases, minRate: int(minRate.Load())}
}

// newPublishLink is the throttled link of both live runs: rate bits/s,
// 50 ms slices (few wake-ups on a loaded machine) and up to 1 s of idle
// credit.
func newPublishLink(t *testing.T, upstream string, rate int) *peers.Proxy {
	return peers.StartProxy(t, upstream, peers.ProxyOptions{Rate: rate, Slice: 50 * time.Millisecond, MaxCredit: time.Second})
}
