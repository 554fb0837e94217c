package bench

import (
	"os"
	"os/exec"
	"testing"
	"time"

	"golive/capture"
)

// BenchmarkCaptureTestPattern720p measures one 1280×720 test-pattern frame
// (bars copied, box and stamp drawn, new frame allocated). With -v it also
// times the peer: FFmpeg's testsrc2 source at the same size, generated and
// thrown away (`ffmpeg -f lavfi -i testsrc2=size=1280x720:rate=30
// -frames:v 600 -f null -`), and logs the ratio.
func BenchmarkCaptureTestPattern720p(b *testing.B) {
	p := &capture.TestPattern{Width: 1280, Height: 720, FPS: 30, Ticker: capture.NewManualTicker().Factory()}
	if err := p.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		_ = p.Render(int64(i))
	}
	b.StopTimer()
	ours := float64(b.Elapsed().Nanoseconds()) / float64(b.N)
	peer := ffmpegTestsrcNsPerFrame(b, 600)
	if peer > 0 {
		b.ReportMetric(peer, "ffmpeg-testsrc2-ns/frame")
		b.ReportMetric(peer/ours, "speed-vs-ffmpeg")
	}
}

// BenchmarkCaptureTone20ms measures one 20 ms 48 kHz stereo tone block.
func BenchmarkCaptureTone20ms(b *testing.B) {
	tone := &capture.Tone{Ticker: capture.NewManualTicker().Factory()}
	if err := tone.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer tone.Close()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		_ = tone.Block(int64(i))
	}
}

// ffmpegTestsrcNsPerFrame times FFmpeg generating n testsrc2 frames at
// 720p and returns ns per frame, or 0 when ffmpeg is not installed.
func ffmpegTestsrcNsPerFrame(b *testing.B, n int) float64 {
	path, err := exec.LookPath("ffmpeg")
	if err != nil {
		if os.Getenv("CI") == "true" {
			b.Fatal("ffmpeg not found (needed as the peer under CI)")
		}
		b.Log("ffmpeg not found: no peer figure")
		return 0
	}
	cmd := exec.Command(path, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "testsrc2=size=1280x720:rate=30", "-frames:v", itoa(n), "-pix_fmt", "yuv420p", "-f", "null", "-")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v: %s", err, out)
	}
	// Subtract FFmpeg's start-up: time one frame on its own.
	one := exec.Command(path, "-hide_banner", "-loglevel", "error", "-f", "lavfi",
		"-i", "testsrc2=size=1280x720:rate=30", "-frames:v", "1", "-pix_fmt", "yuv420p", "-f", "null", "-")
	total := time.Since(start)
	s1 := time.Now()
	if out, err := one.CombinedOutput(); err != nil {
		b.Fatalf("ffmpeg: %v: %s", err, out)
	}
	startup := time.Since(s1)
	return float64((total - startup).Nanoseconds()) / float64(n-1)
}

func itoa(n int) string {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(buf[i:])
		}
	}
}
