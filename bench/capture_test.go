package bench

import (
	"bytes"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golive/capture"
	"golive/internal/peers"
	"golive/media"
)

// Capture benchmarks compare CPU time (user+sys), not wall time, with the
// ffmpeg command line doing the same work in the same run, so that a busy
// machine does not skew the ratio. Run with:
//
//	go test -run XXX -bench Capture -benchtime 3s ./bench/

// captureCPU returns this process's CPU time so far.
func captureCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportFFmpegConvert has ffmpeg convert 60 copies of the camera frame src
// (read with the input options in) to YUV420P and reports its CPU time per
// frame beside ours, the same work done by GoLive.
func reportFFmpegConvert(b *testing.B, ff string, ours float64, src []byte, in ...string) {
	file := filepath.Join(b.TempDir(), "in.raw")
	if err := os.WriteFile(file, bytes.Repeat(src, 60), 0o600); err != nil {
		b.Fatal(err)
	}
	args := append(append([]string{}, in...), "-i", file, "-pix_fmt", "yuv420p", "-f", "null", "-")
	peer := captureFFmpegPerFrame(b, ff, 60, args...)
	b.ReportMetric(peer, "ffmpeg-cpu-ns/frame")
	b.ReportMetric(peer/ours, "speed-vs-ffmpeg")
}

// captureFFmpegCPU runs ffmpeg with args and returns its CPU time.
func captureFFmpegCPU(b *testing.B, path string, args ...string) time.Duration {
	cmd := exec.Command(path, append([]string{"-hide_banner", "-loglevel", "error"}, args...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg %v: %v: %s", args, err, out)
	}
	return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
}

// captureFFmpegPerFrame returns ffmpeg's CPU ns per frame for args with
// -frames:v n, its start-up cost (a 1-frame run) subtracted.
func captureFFmpegPerFrame(b *testing.B, path string, n int, args ...string) float64 {
	with := func(k int) time.Duration {
		return captureFFmpegCPU(b, path, append(append([]string{}, args[:len(args)-3]...),
			"-frames:v", strconv.Itoa(k), args[len(args)-3], args[len(args)-2], args[len(args)-1])...)
	}
	all, one := with(n), with(1)
	return float64((all - one).Nanoseconds()) / float64(n-1)
}

// BenchmarkCaptureTestPattern720p measures the CPU cost of one 1280×720
// test-pattern frame (bars copied, box and stamp drawn, new frame) against
// FFmpeg's testsrc2 source at the same size: `ffmpeg -f lavfi -i
// testsrc2=size=1280x720:rate=30 -pix_fmt yuv420p -frames:v 300 -f null -`.
func BenchmarkCaptureTestPattern720p(b *testing.B) {
	ff := peers.RequireTool(b, "ffmpeg")
	p := &capture.TestPattern{Width: 1280, Height: 720, FPS: 30, Ticker: capture.NewManualTicker().Factory()}
	if err := p.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.ReportAllocs()
	cpu0 := captureCPU(b)
	i := int64(0)
	for b.Loop() {
		_ = p.Render(i)
		i++
	}
	ours := float64((captureCPU(b) - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(ours, "cpu-ns/frame")
	peer := captureFFmpegPerFrame(b, ff, 300, "-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-pix_fmt", "yuv420p", "-f", "null", "-")
	b.ReportMetric(peer, "ffmpeg-cpu-ns/frame")
	b.ReportMetric(peer/ours, "speed-vs-ffmpeg")
}

// BenchmarkCaptureTone20ms measures one 20 ms 48 kHz stereo tone block
// (no peer).
func BenchmarkCaptureTone20ms(b *testing.B) {
	tone := &capture.Tone{Ticker: capture.NewManualTicker().Factory()}
	if err := tone.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer tone.Close()
	b.ReportAllocs()
	i := int64(0)
	for b.Loop() {
		_ = tone.Block(i)
		i++
	}
}

// BenchmarkCaptureConvertYUYV1080p measures converting one 1920×1080
// YUYV camera buffer to YUV420P (ConvertRaw) against FFmpeg's swscale
// doing the same: `ffmpeg -f rawvideo -pix_fmt yuyv422 -s 1920x1080 -i
// FILE -pix_fmt yuv420p -frames:v 60 -f null -`.
func BenchmarkCaptureConvertYUYV1080p(b *testing.B) {
	ff := peers.RequireTool(b, "ffmpeg")
	const w, h = 1920, 1080
	src := make([]byte, 2*w*h)
	for i := range src {
		src[i] = byte(i * 7)
	}
	dst := media.NewVideoFrame(w, h)
	b.SetBytes(int64(len(src)))
	cpu0 := captureCPU(b)
	for b.Loop() {
		if err := capture.ConvertRaw(dst, capture.FormatYUYV, src); err != nil {
			b.Fatal(err)
		}
	}
	ours := float64((captureCPU(b) - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(ours, "cpu-ns/frame")
	b.ReportMetric(ours*30/1e9*100, "%core@30fps")
	reportFFmpegConvert(b, ff, ours, src, "-f", "rawvideo", "-pix_fmt", "yuyv422", "-s", "1920x1080")
}

// BenchmarkCaptureConvertMJPEG1080p measures decoding one 1920×1080 MJPEG
// camera frame (Go's image/jpeg, as mediadevices does) into YUV420P
// against FFmpeg's MJPEG decoder on the same frame repeated: `ffmpeg -f
// mjpeg -i FILE -pix_fmt yuv420p -frames:v 60 -f null -`.
func BenchmarkCaptureConvertMJPEG1080p(b *testing.B) {
	ff := peers.RequireTool(b, "ffmpeg")
	p := &capture.TestPattern{Width: 1920, Height: 1080, FPS: 30, Ticker: capture.NewManualTicker().Factory()}
	if err := p.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	f := p.Render(100)
	img := &image.YCbCr{Y: f.Y, Cb: f.U, Cr: f.V, YStride: f.StrideY, CStride: f.StrideU,
		SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, f.Width, f.Height)}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 85}); err != nil {
		b.Fatal(err)
	}
	src := buf.Bytes()
	dst := media.NewVideoFrame(1920, 1080)
	cpu0 := captureCPU(b)
	for b.Loop() {
		if err := capture.ConvertRaw(dst, capture.FormatMJPEG, src); err != nil {
			b.Fatal(err)
		}
	}
	ours := float64((captureCPU(b) - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(ours, "cpu-ns/frame")
	b.ReportMetric(ours*30/1e9*100, "%core@30fps")
	reportFFmpegConvert(b, ff, ours, src, "-f", "mjpeg")
}

// BenchmarkCaptureConvertImage422to420_1080p measures the camera path's
// conversion of a decoded 4:2:2 picture (what mediadevices hands over for
// YUYV) to YUV420P (no peer: compare with the YUYV figure above).
func BenchmarkCaptureConvertImage422to420_1080p(b *testing.B) {
	img := image.NewYCbCr(image.Rect(0, 0, 1920, 1080), image.YCbCrSubsampleRatio422)
	dst := media.NewVideoFrame(1920, 1080)
	cpu0 := captureCPU(b)
	for b.Loop() {
		if err := capture.ConvertImage(dst, img); err != nil {
			b.Fatal(err)
		}
	}
	ours := float64((captureCPU(b) - cpu0).Nanoseconds()) / float64(b.N)
	b.ReportMetric(ours, "cpu-ns/frame")
	b.ReportMetric(ours*30/1e9*100, "%core@30fps")
}

// BenchmarkCaptureHandoff720p30 runs the real-time test pattern at 720p30
// for 2 s per iteration and reports how long after its due time (PTS on
// the capture clock) each frame reached the receiver: the capture →
// encoder hand-off latency, including rendering. No peer.
func BenchmarkCaptureHandoff720p30(b *testing.B) {
	clock := capture.NewClock()
	var lat []time.Duration
	for b.Loop() {
		p := &capture.TestPattern{Width: 1280, Height: 720, FPS: 30, Clock: clock}
		if err := p.Initialize(); err != nil {
			b.Fatal(err)
		}
		for range 60 {
			f := <-p.Frames()
			lat = append(lat, clock.Now()-f.PTS)
		}
		p.Close()
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "median-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}
