package peers

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSource describes a test-pattern + tone clip the ffmpeg command line
// encodes with libx264 and AAC (defaults in brackets).
type TestSource struct {
	Width, Height int           // [320x240]
	FPS           int           // [30]
	Duration      time.Duration // [2 s]
	GOP           int           // keyframe interval in frames [FPS]
	NoAudio       bool          // leave the AAC track out
	SampleRate    int           // [48000]
	Channels      int           // [2]
	Bitrate       string        // video bitrate, e.g. "500k" [400k]
	Profile       string        // x264 profile [high]
	Ext           string        // container, e.g. ".flv", ".mp4" [.flv]
	NoBFrames     bool          // no B-frames, as WebRTC carries H.264 [2 B-frames]
}

// MakeTestFile encodes the clip into a file in t.TempDir() and returns its
// path.
func MakeTestFile(t testing.TB, s TestSource) string {
	t.Helper()
	bin := RequireTool(t, "ffmpeg")
	if s.Width == 0 {
		s.Width, s.Height = 320, 240
	}
	if s.FPS == 0 {
		s.FPS = 30
	}
	if s.Duration == 0 {
		s.Duration = 2 * time.Second
	}
	if s.GOP == 0 {
		s.GOP = s.FPS
	}
	if s.SampleRate == 0 {
		s.SampleRate = 48000
	}
	if s.Channels == 0 {
		s.Channels = 2
	}
	if s.Bitrate == "" {
		s.Bitrate = "400k"
	}
	if s.Profile == "" {
		s.Profile = "high"
	}
	if s.Ext == "" {
		s.Ext = ".flv"
	}
	out := filepath.Join(t.TempDir(), "source"+s.Ext)
	secs := strconv.FormatFloat(s.Duration.Seconds(), 'f', 3, 64)
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=%dx%d:rate=%d", s.Width, s.Height, s.FPS)}
	if !s.NoAudio {
		layout := "stereo"
		if s.Channels == 1 {
			layout = "mono"
		}
		args = append(args, "-f", "lavfi", "-i",
			fmt.Sprintf("sine=frequency=440:sample_rate=%d,aformat=channel_layouts=%s", s.SampleRate, layout))
	}
	args = append(args, "-t", secs,
		"-c:v", "libx264", "-preset", "ultrafast", "-profile:v", s.Profile, "-pix_fmt", "yuv420p",
		"-b:v", s.Bitrate, "-g", strconv.Itoa(s.GOP), "-keyint_min", strconv.Itoa(s.GOP), "-sc_threshold", "0",
		"-bf", map[bool]string{false: "2", true: "0"}[s.NoBFrames])
	if !s.NoAudio {
		args = append(args, "-c:a", "aac", "-b:a", "128k", "-ar", strconv.Itoa(s.SampleRate), "-ac", strconv.Itoa(s.Channels))
	}
	args = append(args, "-y", out)
	var stderr bytes.Buffer
	cmd := exec.Command(bin, args...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg test source: %v: %s", err, stderr.String())
	}
	return out
}

// PublishFile publishes file to url with the ffmpeg command line in real
// time (-re, stream copy) and waits for it to finish.
func PublishFile(t testing.TB, file, url string) {
	t.Helper()
	bin := RequireTool(t, "ffmpeg")
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", file,
		"-c", "copy", "-f", "flv", url)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg publish %s to %s: %v: %s", file, url, err, stderr.String())
	}
}
