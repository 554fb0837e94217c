package bench

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
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
	// rounds of the send-cost comparison, interleaved.
	rounds int
}

// publishBenchFull is the recorded configuration; the throttled link runs
// at 60 % of the nominal bitrate for 60 s, as the link-lag target says.
var publishBenchFull = publishBenchConfig{
	sendW: 1280, sendH: 720, sendFPS: 30, sendBitrate: "3000k", sendDur: 20 * time.Second,
	liveW: 640, liveH: 360, liveDur: 60 * time.Second, nominal: 1_500_000, link: 900_000, rounds: 3,
}

var publishBenchSmoke = publishBenchConfig{
	sendW: 320, sendH: 180, sendFPS: 30, sendBitrate: "300k", sendDur: 2 * time.Second,
	liveW: 320, liveH: 180, liveDur: 2 * time.Second, nominal: 600_000, link: 360_000, rounds: 1,
}

// TestPublishVsFFmpeg compares GoLive's publisher with the ffmpeg command
// line, in the same run, against the same nginx-rtmp: (1) CPU and wall
// time to send one pre-encoded clip (rounds interleaved; both recordings
// must hold every frame); (2) a live encode of the same raw frames (all
// three planes) through a link at 60 % of the nominal bitrate, where
// GoLive's BitrateController adapts and ffmpeg cannot: the delivery lag at
// the end of the stream (verdict link-lag) and how soon GoLive's target
// fell below the link rate (link-adapt). Both sides' x264 options strings
// (read from nginx's recordings) must be identical and both recordings
// must hold every frame, or the test fails. GOLIVE_BENCH=1 runs the
// recorded sizes; otherwise a smoke run (no verdict).
func TestPublishVsFFmpeg(t *testing.T) {
	cfg := publishBenchSmoke
	if benchFull() {
		cfg = publishBenchFull
	}
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	n := peers.StartNginxRTMP(t)

	// (1) Send cost.
	clip := peers.MakeTestFile(t, peers.TestSource{Width: cfg.sendW, Height: cfg.sendH, FPS: cfg.sendFPS,
		Duration: cfg.sendDur, Bitrate: cfg.sendBitrate, GOP: 2 * cfg.sendFPS})
	f := peers.ReadFLV(t, clip)
	var gl, ff []publishCost
	for round := range cfg.rounds {
		gkey, fkey := fmt.Sprintf("glsend%d", round), fmt.Sprintf("ffsend%d", round)
		gl = append(gl, publishSendGoLive(t, n, gkey, f))
		ff = append(ff, publishRun(t, n, fkey, ffmpeg, "-hide_banner", "-loglevel", "error", "-i", clip, "-c", "copy", "-f", "flv", n.URL(fkey)))
		gv, _ := peers.FFprobe(t, n.RecordPath(gkey)).Video()
		fv, _ := peers.FFprobe(t, n.RecordPath(fkey)).Video()
		require.Equal(t, fv.Frames(), gv.Frames(), "round %d: both sides must deliver the same clip", round+1)
	}
	fi, err := os.Stat(clip)
	require.NoError(t, err)
	g1, f1 := publishMedian(gl), publishMedian(ff)
	t.Logf("send %dx%d %s %v clip (%d kB, %d packets; both recordings hold every frame), median of %d interleaved rounds:",
		cfg.sendW, cfg.sendH, cfg.sendBitrate, cfg.sendDur, fi.Size()/1000, len(f.Packets), cfg.rounds)
	t.Logf("  GoLive publisher.RTMP: wall %v, CPU %v", g1.wall.Round(time.Millisecond), g1.cpu.Round(time.Millisecond))
	t.Logf("  ffmpeg -c copy -f flv: wall %v, CPU %v", f1.wall.Round(time.Millisecond), f1.cpu.Round(time.Millisecond))
	t.Logf("  ratio GoLive/ffmpeg: wall %.2f×, CPU %.2f×", g1.wall.Seconds()/f1.wall.Seconds(), g1.cpu.Seconds()/f1.cpu.Seconds())

	// (2) Throttled link: the same raw frames on both sides.
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
		"-b:v", nom, "-maxrate", nom, "-bufsize", nom, "-g", "50", "-keyint_min", "50", "-sc_threshold", "0",
		"-f", "flv", "rtmp://"+link.Addr()+"/live/fflive")
	n.WaitUnpublished("fflive", 5*time.Minute)
	ffLag := time.Since(start) - cfg.liveDur
	t.Logf("  ffmpeg side: link carried %d kbit/s, %d bytes", link.Carried()/1000, link.Bytes())
	ffv, _ := peers.FFprobe(t, n.RecordPath("fflive")).Video()
	glOpts, ffOpts := publishX264Options(t, n.RecordPath("gllive")), publishX264Options(t, n.RecordPath("fflive"))
	if glOpts == "" || glOpts != ffOpts {
		verdictInvalid(t, []string{"link-lag", "link-adapt"}, "x264 settings differ between the live sides, so they do not do the same work:\n  golive: %s\n  ffmpeg: %s", glOpts, ffOpts)
	}
	if glLive.frames != frames || ffv.Frames() != frames {
		verdictInvalid(t, []string{"link-lag", "link-adapt"}, "frames delivered: golive %d, ffmpeg %d, of %d each", glLive.frames, ffv.Frames(), frames)
	}
	t.Logf("live %dx%d@25 %v at %d kbit/s through a %d kbit/s link (same raw frames, x264 options identical):", cfg.liveW, cfg.liveH, cfg.liveDur, cfg.nominal/1000, cfg.link/1000)
	t.Logf("  GoLive (BitrateController): lag at the end %v, %d/%d frames delivered, bitrate %d→%d kbit/s (%d down, %d up, below the link after %v), dropped %d",
		glLive.lag.Round(time.Millisecond), glLive.frames, frames, cfg.nominal/1000, glLive.minRate/1000, glLive.down, glLive.up, glLive.adapt.Round(time.Millisecond), glLive.dropped)
	t.Logf("  ffmpeg CLI (fixed bitrate):  lag at the end %v, %d/%d frames delivered", ffLag.Round(time.Millisecond), ffv.Frames(), frames)
	note := fmt.Sprintf("%v of %dx%d@25 (the same raw frames, x264 options identical) at %d kbit/s through a %d kbit/s link; lag = nginx has the whole stream − last frame captured; every frame delivered on both sides",
		cfg.liveDur, cfg.liveW, cfg.liveH, cfg.nominal/1000, cfg.link/1000)
	verdict(t, "link-lag", glLive.lag.Seconds(), ffLag.Seconds(), note)
	verdict(t, "link-adapt", glLive.adapt.Seconds(), 0, note)
}

// publishMedian returns the round with the median wall time.
func publishMedian(c []publishCost) publishCost {
	s := slices.Clone(c)
	slices.SortFunc(s, func(a, b publishCost) int { return cmp.Compare(a.wall, b.wall) })
	return s[len(s)/2]
}

// publishX264Options reads the x264 options string from a recording.
func publishX264Options(t *testing.T, file string) string {
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	return x264Options(b)
}

type publishCost struct{ wall, cpu time.Duration }

// publishSendGoLive sends f's packets to nginx as fast as the link goes.
func publishSendGoLive(t *testing.T, n *peers.Nginx, key string, f peers.FLVFile) publishCost {
	r := &publisher.RTMP{URL: n.URL(key), Video: f.Video, Audio: f.Audio, QueueDuration: time.Hour,
		FlushTimeout: 5 * time.Minute, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	cpu0, start := selfCPU(t), time.Now()
	require.NoError(t, r.Initialize())
	for _, p := range f.Packets {
		r.WritePacket(p)
	}
	r.Close()
	n.WaitUnpublished(key, 5*time.Minute)
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
	adapt                     time.Duration // from the start until the target fell below the link rate
}

// publishLiveGoLive encodes raw frames in real time with encoder.H264 and
// publishes them through a throttled link with a BitrateController.
func publishLiveGoLive(t *testing.T, n *peers.Nginx, cfg publishBenchConfig, raw string, frames int) publishLive {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	encoder.RouteFFmpegLog(quiet)
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
	var start time.Time
	adapt := atomic.Int64{} // ns after start; 0 until the target fell below the link
	startNS := atomic.Int64{}
	bc := &publisher.BitrateController{Stats: r.Stats, Max: cfg.nominal, Interval: 250 * time.Millisecond,
		UpAfter: 2 * time.Second, UpEvery: 500 * time.Millisecond, Logger: ctl,
		SetBitrate: func(b int) {
			enc.SetBitrate(b)
			if int64(b) < minRate.Load() {
				minRate.Store(int64(b))
			}
			if b < cfg.link && adapt.Load() == 0 && startNS.Load() != 0 {
				adapt.Store(max(1, time.Now().UnixNano()-startNS.Load()))
			}
		}}
	require.NoError(t, bc.Initialize())
	start = time.Now()
	startNS.Store(start.UnixNano())
	for i := 0; i < frames; i++ {
		pts := time.Duration(i) * 40 * time.Millisecond
		if d := time.Until(start.Add(pts)); d > 0 {
			time.Sleep(d) // live pacing
		}
		fr := media.NewVideoFrame(cfg.liveW, cfg.liveH)
		in := data[i*size : (i+1)*size]
		copy(fr.Y, in)
		copy(fr.U, in[len(fr.Y):])
		copy(fr.V, in[len(fr.Y)+len(fr.U):])
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
	adaptAfter := time.Duration(adapt.Load())
	if adaptAfter == 0 {
		adaptAfter = cfg.liveDur // never: the whole run
	}
	return publishLive{lag: lag, frames: v.Frames(), dropped: st.DroppedVideo, down: bs.Decreases, up: bs.Increases,
		minRate: int(minRate.Load()), adapt: adaptAfter}
}

// newPublishLink is the throttled link of both live runs: rate bits/s,
// 50 ms slices (few wake-ups on a loaded machine) and up to 1 s of idle
// credit.
func newPublishLink(t *testing.T, upstream string, rate int) *peers.Proxy {
	return peers.StartProxy(t, upstream, peers.ProxyOptions{Rate: rate, Slice: 50 * time.Millisecond, MaxCredit: time.Second})
}
