package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// runCLI runs the command line in-process and returns its exit code and output.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	code := run(ctx, args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// golive is the path of a binary built once for the tests that run
// `golive stream` end to end: a real process, as users run it, and without
// the race detector's slowdown of per-pixel Go code distorting frame counts.
var golive string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "golive-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	golive = filepath.Join(dir, "golive")
	build := exec.Command("go", "build", "-o", golive, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=1")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building golive: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// execCLI runs the built binary and returns its exit code and output.
func execCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, golive, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("running golive %v: %v", args, err)
	}
	return cmd.ProcessState.ExitCode(), stdout.String(), stderr.String()
}

// streamCase is one `golive stream` run read back by ffprobe from a peer.
type streamCase struct {
	size          string
	width, height int
	fps           int
	duration      time.Duration
	audio         bool
	// frameFloor, when set, checks only that this share of the frames
	// arrived: a screen grab delayed by a busy CPU comes late in a burst,
	// which capture thins to the frame rate, so it is frames fewer, never
	// made up (the test pattern makes every due frame: ±2 %).
	frameFloor float64
}

// checkRecording applies the foundation issue's acceptance checks to a file
// a peer wrote: H.264 High/Main at the asked size and fps, AAC 48 kHz
// stereo, A/V starts within 100 ms, no decode errors, frame count within 2%.
func checkRecording(t *testing.T, file string, c streamCase) {
	t.Helper()
	info := peers.FFprobe(t, file)
	require.Empty(t, strings.TrimSpace(info.Stderr), "ffprobe reported decode errors")
	v, ok := info.Video()
	require.True(t, ok, "no video stream in %s", file)
	require.Equal(t, "h264", v.CodecName)
	require.Contains(t, []string{"High", "Main"}, v.Profile)
	require.Equal(t, c.width, v.Width)
	require.Equal(t, c.height, v.Height)
	require.InDelta(t, float64(c.fps), peers.ParseRational(v.AvgFrameRate), 0.5, "avg_frame_rate %s", v.AvgFrameRate)
	want := c.duration.Seconds() * float64(c.fps)
	if c.frameFloor > 0 {
		require.GreaterOrEqual(t, float64(v.Frames()), c.frameFloor*want, "decoded frames")
		require.LessOrEqual(t, float64(v.Frames()), want+2, "decoded frames")
	} else {
		require.InDelta(t, want, float64(v.Frames()), math.Max(1, 0.02*want), "decoded frames")
	}

	pkts := peers.ProbePackets(t, file)
	first := peers.FirstPTS(pkts)
	if !c.audio {
		_, hasAudio := info.Audio()
		require.False(t, hasAudio)
		return
	}
	a, ok := info.Audio()
	require.True(t, ok, "no audio stream in %s", file)
	require.Equal(t, "aac", a.CodecName)
	require.Equal(t, 48000, a.Rate())
	require.Equal(t, 2, a.Channels)
	require.InDelta(t, first["video"], first["audio"], 0.1, "A/V start PTS")
	last := map[string]float64{}
	for _, p := range pkts {
		last[p.CodecType] = math.Max(last[p.CodecType], p.PTS)
	}
	require.InDelta(t, last["video"], last["audio"], 0.1, "A/V end PTS")
}

func TestStreamToNginxRTMP(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	ng := peers.StartNginxRTMP(t)
	c := streamCase{size: "640x360", width: 640, height: 360, fps: 30, duration: 6 * time.Second, audio: true}
	rec := filepath.Join(t.TempDir(), "local.mp4")
	code, stdout, stderr := execCLI(t, "stream", "--to", ng.URL("nginxkey"), "--record", rec, "--size", c.size,
		"--fps", fmt.Sprint(c.fps), "--bitrate", "800k", "--encoder", "auto", "--duration", c.duration.String())
	require.Equal(t, 0, code, "stderr: %s", stderr)
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	// auto picks an encoder that works here (libx264 without a GPU, a
	// hardware one where it opens) and says which.
	m := regexp.MustCompile(`^live: encoder (\S+) \((hardware|software)\)`).FindStringSubmatch(lines[0])
	require.NotNil(t, m, "first line names the encoder: %q", lines[0])
	require.Equal(t, m[1] == "libx264", m[2] == "software", "libx264 is the software one: %q", lines[0])
	status := 0
	for _, l := range lines {
		if strings.HasPrefix(l, "state=live") {
			status++
		}
	}
	require.GreaterOrEqual(t, status, 4, "one status line per second:\n%s", stdout)
	t.Logf("golive stream:\n%s", stdout)
	ng.WaitUnpublished("nginxkey", 10*time.Second)
	ng.Stop() // closes the recording
	checkRecording(t, ng.RecordPath("nginxkey"), c)
	checkRecording(t, rec, c) // the local recording holds the same stream
}

func TestStreamToFFmpegListen(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	out := filepath.Join(t.TempDir(), "out.flv")
	ff := peers.StartFFmpegListen(t, out)
	c := streamCase{size: "320x240", width: 320, height: 240, fps: 25, duration: 4 * time.Second}
	code, _, stderr := execCLI(t, "stream", "--to", ff.URL(), "--size", c.size, "--fps", "25",
		"--bitrate", "400k", "--audio", "none", "--encoder", "libx264", "--duration", c.duration.String())
	require.Equal(t, 0, code, "stderr: %s", stderr)
	ff.Wait(20 * time.Second)
	checkRecording(t, out, c)
}

func TestStreamRefused(t *testing.T) {
	ng := peers.StartNginxRTMP(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedAddr := l.Addr().String()
	require.NoError(t, l.Close())

	for name, url := range map[string]string{
		"unknown application": ng.AppURL("nosuchapp", "key"),
		"connection refused":  "rtmp://" + closedAddr + "/live/key",
	} {
		t.Run(name, func(t *testing.T) {
			code, _, stderr := execCLI(t, "stream", "--to", url, "--size", "320x240", "--duration", "3s")
			require.Equal(t, 1, code, "stderr: %s", stderr)
			require.Contains(t, stderr, "golive stream: ")
			require.NotContains(t, stderr, "/key", "the stream key must be masked")
		})
	}
}

func TestStreamBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--to", "rtmp://h/live/k", "--size", "1281x720"},
		{"--to", "rtmp://h/live/k", "--size", "big"},
		{"--to", "rtmp://h/live/k", "--fps", "0"},
		{"--to", "rtmp://h/live/k", "--bitrate", "fast"},
		{"--to", "ftp://h/live/k"},
		{"--to", "http:///whip"},
		{"--to", "rtmp://h"},
		{"--size", "1280x720"},
		{"--to", "rtmp://h/live/k", "--duration", "soon"},
		{"--to", "rtmp://h/live/k", "--no-such-flag"},
		{"--to", "rtmp://h/live/k", "--source", "mic"},
		{"--to", "rtmp://h/live/k", "--audio", "camera:1"},
		{"--to", "rtmp://h/live/k", "extra"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"stream"}, args...)...)
		require.Equal(t, exitUsage, code, "%v", args)
		require.Empty(t, stdout)
		require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line for %v: %q", args, stderr)
	}
}

func TestVersionAndDevices(t *testing.T) {
	code, stdout, _ := runCLI(t, "version")
	require.Equal(t, 0, code)
	require.Regexp(t, `golive \S+`, stdout)
	require.Regexp(t, `libavcodec \d+\.\d+\.\d+`, stdout)

	code, stdout, _ = runCLI(t, "devices")
	require.Equal(t, 0, code)
	picked := regexp.MustCompile(`(?m)^\s+\* (\S+)\s+(hardware|software)\s+ok$`).FindAllStringSubmatch(stdout, -1)
	require.Len(t, picked, 1, "one encoder marked as what auto picks, and it opened:\n%s", stdout)
	require.Regexp(t, `(?m)^\s+. libx264\s+software\s+ok$`, stdout, "libx264 opens everywhere:\n%s", stdout)
	require.Contains(t, stdout, "h264_nvenc")
	require.Regexp(t, `(?m)^Cameras`, stdout)
	require.Regexp(t, `(?m)^Microphones`, stdout)

	code, _, stderr := runCLI(t, "bogus")
	require.Equal(t, exitUsage, code)
	require.Contains(t, stderr, "unknown command")
}

// TestStreamSurvivesServerRestart stops nginx-rtmp for a few seconds in the
// middle of `golive stream`: the status lines go to reconnecting and back to
// live by themselves, and the stream ends normally.
func TestStreamSurvivesServerRestart(t *testing.T) {
	ng := peers.StartNginxRTMP(t, peers.NginxOptions{RecordAppend: true})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, golive, "stream", "--to", ng.URL("restart"), "--size", "320x240",
		"--bitrate", "300k", "--duration", "16s")
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())

	lines := make(chan string, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	var seen []string
	waitFor := func(prefix string) {
		t.Helper()
		for l := range lines {
			seen = append(seen, l)
			if strings.HasPrefix(l, prefix) {
				return
			}
		}
		t.Fatalf("no %q line; got:\n%s\nstderr: %s", prefix, strings.Join(seen, "\n"), stderr.String())
	}
	waitFor("state=live")
	ng.Stop()
	waitFor("state=reconnecting")
	ng.Start()
	waitFor("state=live")
	waitFor("done:")
	for range lines {
	}
	require.NoError(t, cmd.Wait(), "stderr: %s", stderr.String())
	require.Contains(t, strings.Join(seen, "\n"), "attempt=")
}

// TestStreamMediaFile streams a media file played once, with its own
// audio: `golive stream` ends by itself when the file does (exit 0, the
// last line says so), and nginx recorded the whole file.
func TestStreamMediaFile(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	peers.RequireTool(t, "ffprobe")
	clip := filepath.Join(t.TempDir(), "clip.mp4")
	out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100", "-t", "4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
		"-c:a", "aac", clip).CombinedOutput()
	require.NoError(t, err, "%s", out)
	ng := peers.StartNginxRTMP(t)
	c := streamCase{size: "320x240", width: 320, height: 240, fps: 25, duration: 4 * time.Second, audio: true}
	code, stdout, stderr := execCLI(t, "stream", "--to", ng.URL("filekey"), "--source", "file:"+clip+"?loop=0", "--audio", "file",
		"--size", c.size, "--fps", "25", "--bitrate", "500k", "--encoder", "libx264")
	require.Equal(t, 0, code, "stderr: %s", stderr)
	require.Regexp(t, `(?m)^done: the source ended; state=.*\n.*/live/\*\*\*\*: the server took \d+ of \d+ frames`, stdout,
		"the end: the source ended, then what the server took")
	ng.WaitUnpublished("filekey", 10*time.Second)
	ng.Stop()
	checkRecording(t, ng.RecordPath("filekey"), c)
}

// TestStreamMediaFileRefused: a media file it cannot play is one line and
// exit code 2, before anything is sent.
func TestStreamMediaFileRefused(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.txt")
	require.NoError(t, os.WriteFile(text, []byte("not a video"), 0o644))
	tone := filepath.Join(dir, "tone.m4a")
	silent := filepath.Join(dir, "silent.mp4")
	for file, args := range map[string][]string{
		tone:   {"-f", "lavfi", "-i", "sine", "-t", "1"},
		silent: {"-f", "lavfi", "-i", "testsrc2=size=64x48", "-t", "1", "-c:v", "libx264"},
	} {
		out, err := exec.Command(ffmpeg, append(append([]string{"-hide_banner", "-loglevel", "error"}, args...), file)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	for _, c := range []struct {
		args []string
		why  string
	}{
		{[]string{"--source", "file:" + filepath.Join(dir, "missing.mp4")}, "no such file"},
		{[]string{"--source", "file:" + text}, "not a media file"},
		{[]string{"--source", "file:" + tone}, "no video track"},
		{[]string{"--source", "file:" + silent, "--audio", "file"}, "no audio track"},
		{[]string{"--audio", "file"}, "--source file:PATH"},
		{[]string{"--source", "file:"}, "file:PATH"},
	} {
		code, stdout, stderr := runCLI(t, append([]string{"stream", "--to", "rtmp://127.0.0.1:1/live/k"}, c.args...)...)
		require.Equal(t, exitUsage, code, "%v: %s", c.args, stderr)
		require.Empty(t, stdout)
		require.Equal(t, 1, strings.Count(strings.TrimSpace(stderr), "\n")+1, "one line for %v: %q", c.args, stderr)
		require.Contains(t, stderr, c.why)
	}
}
