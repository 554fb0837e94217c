package bench

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golive/broadcast"
	"golive/internal/peers"
	"golive/media"
	"golive/preview"
	"golive/server/ingest"
)

// guiCPU is this process's user+system CPU time so far.
func guiCPU(t testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// guiFFmpegCPU runs ffmpeg and returns its user+system CPU time.
func guiFFmpegCPU(t testing.TB, ffmpeg string, args ...string) time.Duration {
	t.Helper()
	cmd := exec.Command(ffmpeg, append([]string{"-hide_banner", "-loglevel", "error", "-nostdin"}, args...)...)
	out := &peers.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, out)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// guiFrames reads n raw YUV420P frames of w×h from path.
func guiFrames(t testing.TB, path string, w, h, n int) []*media.VideoFrame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []*media.VideoFrame
	for range n {
		fr := media.NewVideoFrame(w, h)
		buf := fr.Y[:cap(fr.Y)][:w*h+2*((w+1)/2)*((h+1)/2)]
		if _, err := io.ReadFull(f, buf); err != nil {
			t.Fatalf("reading frames: %v", err)
		}
		out = append(out, fr)
	}
	return out
}

// guiSink records when each stream's first video packet reaches the
// ingest (calls come from one goroutine at a time, see ingest.Sink).
type guiSink struct {
	first chan time.Time
	armed atomic.Bool
}

func (s *guiSink) StartStream(_, _ *media.CodecParams) error { s.armed.Store(true); return nil }
func (s *guiSink) WritePacket(p *media.Packet) {
	if p.Codec != media.CodecH264 || !s.armed.Swap(false) {
		return
	}
	s.first <- time.Now()
}
func (s *guiSink) StopStream() {}

// TestGUIVsFFmpeg measures the app's per-frame costs and its Go Live
// latency against the ffmpeg command line in the same run: it logs the
// preview and overlay costs and gives the golive-first-packet verdict. It
// never asserts a timing.
// GOLIVE_BENCH=1 runs the full 720p measurement; otherwise a small smoke
// run of the harness.
func TestGUIVsFFmpeg(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	full := os.Getenv("GOLIVE_BENCH") == "1"
	w, h, loops, rounds := 320, 180, 1, 1
	if full {
		w, h, loops, rounds = 1280, 720, 20, 3
	}
	const nframes = 60
	dir := t.TempDir()
	src := filepath.Join(dir, "src.yuv")
	size := fmt.Sprintf("%dx%d", w, h)
	if out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30",
		"-frames:v", fmt.Sprint(nframes), "-pix_fmt", "yuv420p", "-f", "rawvideo", src).CombinedOutput(); err != nil {
		t.Fatalf("making frames: %v\n%s", err, out)
	}
	frames := guiFrames(t, src, w, h, nframes)
	total := nframes * loops
	pw, ph := w/2, h/2
	raw := []string{"-stream_loop", fmt.Sprint(loops - 1), "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", size, "-r", "30", "-i", src}

	// 1. Preview: copy out of the capture goroutine (Push) + scale and
	// convert to RGBA at half size. Peer: ffmpeg's swscale doing the same
	// nearest-neighbour scale to RGBA (its raw-file read included).
	var goPrev, ffPrev, ffBase []time.Duration
	for range rounds {
		p := &preview.Preview{Width: pw, Height: ph, MaxFPS: 1 << 20, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		done := make(chan struct{}, total)
		p.OnImage = func(*image.RGBA) { done <- struct{}{} }
		if err := p.Initialize(); err != nil {
			t.Fatal(err)
		}
		c0 := guiCPU(t)
		for i := range total {
			f := frames[i%nframes]
			f.PTS = time.Duration(i) * time.Second / 30
			p.Push(f)
			<-done // one at a time, so every frame is converted
		}
		goPrev = append(goPrev, guiCPU(t)-c0)
		p.Close()
		ffPrev = append(ffPrev, guiFFmpegCPU(t, ffmpeg, append(append([]string{}, raw...), "-vf", fmt.Sprintf("scale=%d:%d:flags=neighbor,format=rgba", pw, ph), "-f", "null", "-")...))
		ffBase = append(ffBase, guiFFmpegCPU(t, ffmpeg, append(append([]string{}, raw...), "-f", "null", "-")...))
	}
	gp, fp, fb := guiMin(goPrev), guiMin(ffPrev), guiMin(ffBase)
	perGo := gp / time.Duration(total)
	perFF := (fp - fb) / time.Duration(total)
	t.Logf("preview %s→%dx%d RGBA, %d frames, best of %d: GoLive %v/frame (%.1f%% of a core at 30 fps); ffmpeg scale=neighbor,format=rgba %v/frame (its %v total minus %v for reading the raw input); ratio GoLive/ffmpeg %.2f",
		size, pw, ph, total, rounds, perGo, 100*perGo.Seconds()*30, perFF, fp, fb, perGo.Seconds()/perFF.Seconds())

	// 2. Chat overlay: six lines burned into every frame. Peer: ffmpeg's
	// overlay filter with the same layer as a PNG (minus the same baseline).
	lines := []preview.ChatLine{{Name: "ann", Text: "hello there"}, {Name: "bob", Text: "this is a longer chat message for the overlay"},
		{Name: "cy", Text: "gg"}, {Name: "dee", Text: "what camera is that?"}, {Name: "eve", Text: "hi from the LAN"}, {Name: "fay", Text: "nice stream"}}
	layer, lx, ly := preview.ChatLayer{}.Render(lines, w, h)
	var ov preview.Overlay
	ov.Set(layer, lx, ly)
	pngPath := filepath.Join(dir, "layer.png")
	pf, err := os.Create(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(pf, layer); err != nil {
		t.Fatal(err)
	}
	pf.Close()
	var goOv, ffOv []time.Duration
	for range rounds {
		c0 := guiCPU(t)
		for i := range total {
			ov.Blend(frames[i%nframes])
		}
		goOv = append(goOv, guiCPU(t)-c0)
		ffOv = append(ffOv, guiFFmpegCPU(t, ffmpeg, append(append([]string{}, raw...), "-loop", "1", "-i", pngPath, "-filter_complex",
			fmt.Sprintf("[0][1]overlay=%d:%d:format=yuv420:shortest=1", lx, ly), "-f", "null", "-")...))
	}
	perGoOv := guiMin(goOv) / time.Duration(total)
	perFFOv := (guiMin(ffOv) - fb) / time.Duration(total)
	t.Logf("chat overlay at %s (box %v), %d frames: GoLive %v/frame; ffmpeg overlay=format=yuv420 %v/frame (minus the raw-read baseline); ratio GoLive/ffmpeg %.2f",
		size, ov.Bounds(), total, perGoOv, perFFOv, perGoOv.Seconds()/perFFOv.Seconds())

	// 3. Go Live → first video packet at the server.
	guiFirstPacket(t, ffmpeg, w, h, rounds)
}

// guiFirstPacket measures Go Live → first video packet at the server, both
// sides cold from process start: exec of `golive stream` and of the ffmpeg
// command line, each publishing the same media file (decoded, encoded with
// libx264 veryfast/zerolatency 3000k, AAC) to the same RTMP ingest, to the
// first H.264 packet the ingest hands its sink; rounds alternate. The app's
// warm case (capture already running, GoLive called) is logged beside it.
func guiFirstPacket(t *testing.T, ffmpeg string, w, h, rounds int) {
	size := fmt.Sprintf("%dx%d", w, h)
	clip := benchClip(t, w, h, 20)
	bin := buildGoLive(t)
	key := "benchkey"
	sink := &guiSink{first: make(chan time.Time, 1)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &ingest.Server{Listener: ln, StreamKey: key, Sink: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := srv.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	dest := "rtmp://" + ln.Addr().String() + "/live/" + key
	cold := func(name string, args ...string) time.Duration {
		cmd := exec.Command(name, args...)
		out := &peers.SyncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		t0 := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		defer func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
			guiWaitIdle(t, srv)
		}()
		select {
		case t1 := <-sink.first:
			return t1.Sub(t0)
		case <-time.After(30 * time.Second):
			t.Fatalf("%s: no video packet at the server within 30 s:\n%s", filepath.Base(name), out)
			return 0
		}
	}
	var goLive, ffLive []time.Duration
	for range rounds {
		goLive = append(goLive, cold(bin, "stream", "--to", dest, "--source", "file:"+clip, "--audio", "file",
			"--size", size, "--fps", "30", "--bitrate", "3000k", "--encoder", "libx264", "--duration", "20s"))
		ffLive = append(ffLive, cold(ffmpeg, "-hide_banner", "-loglevel", "error", "-nostdin", "-re", "-i", clip,
			"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-b:v", "3000k", "-maxrate", "3000k", "-bufsize", "3000k",
			"-g", "60", "-bf", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k", "-t", "20", "-f", "flv", dest))
	}

	// Warm, as the app does it: capture already running, GoLive called.
	b := &broadcast.Broadcast{Config: broadcast.Config{Source: "file:" + clip, Audio: "file", Width: w, Height: h, FPS: 30,
		Bitrate: 3_000_000, Encoder: "libx264"}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := b.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var warm []time.Duration
	for range rounds {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		t0 := time.Now()
		if err := b.GoLive(ctx, []string{dest}); err != nil {
			cancel()
			t.Fatalf("go live: %v", err)
		}
		select {
		case t1 := <-sink.first:
			warm = append(warm, t1.Sub(t0))
		case <-ctx.Done():
			t.Fatal("no video packet at the server within 30 s")
		}
		b.StopLive()
		cancel()
		guiWaitIdle(t, srv)
	}
	gm, fm := guiMedian(goLive), guiMedian(ffLive)
	t.Logf("Go Live → first video packet at the server (%s from the same file, libx264), %d rounds alternating: cold from exec, golive stream median %v %v, ffmpeg CLI median %v %v, ratio %.2f; warm (the app's case: capture running, GoLive called) median %v %v",
		size, rounds, gm, goLive, fm, ffLive, gm.Seconds()/fm.Seconds(), guiMedian(warm), warm)
	verdict(t, "golive-first-packet", gm.Seconds(), fm.Seconds(), fmt.Sprintf(
		"cold on both sides: process exec → first H.264 packet at the same RTMP ingest, median of %d alternating rounds, both publishing the same %s file; warm (app: capture running) median %v",
		rounds, size, guiMedian(warm).Round(time.Millisecond)))
}

func guiMin(d []time.Duration) time.Duration {
	m := d[0]
	for _, v := range d {
		m = min(m, v)
	}
	return m
}

func guiMedian(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// guiWaitIdle waits until the ingest has no live publisher.
func guiWaitIdle(t *testing.T, srv *ingest.Server) {
	deadline := time.Now().Add(15 * time.Second)
	for srv.Stats().Live {
		if time.Now().After(deadline) {
			t.Fatal("the ingest still has a publisher after 15 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
