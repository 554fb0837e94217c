package server

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/stretchr/testify/require"

	"golive/chat"
	"golive/encoder"
	"golive/internal/peers"
	"golive/server/ladder"
)

const testKey = "test-key-0123456789"

// testServer starts a Server on loopback ports with a fixed key.
func testServer(t *testing.T, ladderSpec string, opts ...func(*Server)) *Server {
	t.Helper()
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	specs, err := ladder.ParseSpecs(ladderSpec)
	require.NoError(t, err)
	level := slog.LevelWarn
	var out io.Writer = io.Discard
	if os.Getenv("SERVER_TEST_LOG") != "" {
		out, level = os.Stderr, slog.LevelDebug
	}
	s := &Server{
		RTMPListener: rl, HTTPListener: hl, StreamKey: testKey, Ladder: specs,
		Encoder: "libx264", Preset: "ultrafast", LadderMaxLag: 120, WebRTCAddr: "127.0.0.1:0",
		Logger: slog.New(slog.NewTextHandler(out, &slog.HandlerOptions{Level: level})),
	}
	for _, o := range opts {
		o(s)
	}
	require.NoError(t, s.Initialize())
	t.Cleanup(s.Close)
	return s
}

func (s *Server) testURL(path string) string { return "http://" + s.HTTPAddress().String() + path }
func (s *Server) publishURL(key string) string {
	return "rtmp://" + s.RTMPAddress().String() + "/live/" + key
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err, "GET %s", url)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// publisher is an ffmpeg command line publishing a file in real time.
type publisher struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

func startPublisher(t *testing.T, file, url string) *publisher {
	t.Helper()
	bin := peers.RequireTool(t, "ffmpeg")
	p := &publisher{done: make(chan struct{})}
	p.cmd = exec.Command(bin, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", file,
		"-c", "copy", "-f", "flv", url)
	p.cmd.Stderr = &p.stderr
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

func (p *publisher) wait(t *testing.T, timeout time.Duration) error {
	t.Helper()
	select {
	case <-p.done:
		return p.err
	case <-time.After(timeout):
		t.Fatalf("ffmpeg publisher still running after %v: %s", timeout, p.stderr.String())
		return nil
	}
}

var (
	sourceOnce sync.Once
	sourceFile string
)

// source720p encodes (once per test binary) 16 s of 720p30 test pattern
// with AAC, keyframes every 2 s, in FLV.
func source720p(t *testing.T) string {
	t.Helper()
	peers.RequireTool(t, "ffmpeg")
	sourceOnce.Do(func() {
		dir, err := os.MkdirTemp("", "golive-server-test")
		require.NoError(t, err)
		sourceFile = dir + "/src.flv"
		out, err := exec.Command("ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
			"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
			"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
			"-t", "16", "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-g", "60",
			"-b:v", "2500k", "-c:a", "aac", "-ac", "2", "-y", sourceFile).CombinedOutput()
		require.NoError(t, err, "encode test source: %s", out)
	})
	require.NotEmpty(t, sourceFile, "test source")
	return sourceFile
}

func TestMain(m *testing.M) {
	encoder.RouteFFmpegLog(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	code := m.Run()
	if sourceFile != "" {
		_ = os.RemoveAll(strings.TrimSuffix(sourceFile, "/src.flv"))
	}
	os.Exit(code)
}

var resolutionRE = regexp.MustCompile(`RESOLUTION=(\d+)x(\d+)`)

// waitVariants polls the multivariant playlist until it lists n variants.
func waitVariants(t *testing.T, s *Server, n int) string {
	t.Helper()
	var body string
	require.Eventually(t, func() bool {
		code, b := get(t, s.testURL("/hls/index.m3u8"))
		body = b
		return code == 200 && len(resolutionRE.FindAllString(b, -1)) >= n
	}, 20*time.Second, 100*time.Millisecond, "multivariant playlist with %d variants: %s", n, body)
	return body
}

func TestServeEndToEnd(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	src := source720p(t)
	hub := &chat.Hub{ModeratorToken: testKey, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	require.NoError(t, hub.Initialize())
	t.Cleanup(hub.Close)
	s := testServer(t, "720p,480p,360p,240p", func(s *Server) { s.Chat = hub })
	pub := startPublisher(t, src, s.publishURL(testKey))
	// The browser starts now; the page begins playing once the stream is live.
	watch := openInChromium(t, s.testURL("/?via=hls"))

	mv := waitVariants(t, s, 4)
	got := resolutionRE.FindAllString(mv, -1)
	require.Equal(t, []string{"RESOLUTION=1280x720", "RESOLUTION=854x480", "RESOLUTION=640x360", "RESOLUTION=426x240"}, got, mv)
	require.Contains(t, mv, "CODECS=\"avc1.")
	require.Contains(t, mv, "mp4a.40.2")
	require.Contains(t, mv, "AVERAGE-BANDWIDTH=")
	require.Contains(t, mv, "FRAME-RATE=30.000")

	st := s.Status()
	require.True(t, st.Live)
	require.Equal(t, 1280, st.Ingest.Width)
	require.Len(t, st.Rungs, 4)

	// While live: a media playlist is an LL-HLS one.
	code, pl := get(t, s.testURL("/hls/240p/video1_stream.m3u8"))
	require.Equal(t, 200, code)
	require.Contains(t, pl, "#EXT-X-PART:")
	require.Contains(t, pl, "CAN-BLOCK-RELOAD=YES")

	// Headless Chromium plays the page with hls.js, with no console error.
	minPlay := 1.5 // SERVER_TEST_PLAY=8 watches longer (to read hls.js's settled latency)
	if v, err := strconv.ParseFloat(os.Getenv("SERVER_TEST_PLAY"), 64); err == nil && v > 0 {
		minPlay = v
	}
	ps, problems := watch.wait(minPlay)
	require.Empty(t, problems, "console errors in the player page")
	require.True(t, ps.Live, "the page shows the stream live")
	require.Equal(t, []int{240, 360, 480, 720}, ps.Levels, "quality levels (hls.js sorts them)")
	if ps.Latency != nil {
		t.Logf("hls.js latency in Chromium: %.2f s", *ps.Latency)
	}

	require.NoError(t, pub.wait(t, 40*time.Second), pub.stderr.String())
	require.Eventually(t, func() bool { return !s.Status().Live }, 10*time.Second, 50*time.Millisecond)
	require.Eventually(t, func() bool { return waitingPlaylistRequests(s) == 0 }, 10*time.Second, 20*time.Millisecond,
		"the page's pending blocking reloads are answered")
	for _, p := range watch.problems() {
		require.NotContains(t, p, "status of 500", "waiting playlist requests get the ended playlist, not an error")
	}

	// After the publisher left, every playlist ends cleanly and every
	// variant decodes without errors from the kept segments.
	for _, rung := range []string{"720p", "480p", "360p", "240p"} {
		code, pl := get(t, s.testURL("/hls/"+rung+"/video1_stream.m3u8"))
		require.Equal(t, 200, code, rung)
		require.Contains(t, pl, "#EXT-X-ENDLIST", rung)
	}
	// The multivariant playlist lists what each rung's muxer measured:
	// the rungs' bitrates (2500k source, ladder targets below) rank them.
	_, endedMV := get(t, s.testURL("/hls/index.m3u8"))
	parsed, err := playlist.Unmarshal([]byte(endedMV))
	require.NoError(t, err, endedMV)
	variants := parsed.(*playlist.Multivariant).Variants
	require.Len(t, variants, 4, endedMV)
	for i := 1; i < len(variants); i++ {
		require.Greater(t, variants[i-1].Bandwidth, variants[i].Bandwidth, endedMV)
	}
	require.Greater(t, variants[0].Bandwidth, 2_000_000, "the 2500k source, measured: %s", endedMV)
	info := probe(t, s.testURL("/hls/index.m3u8"))
	videos := 0
	for _, st := range info.Streams {
		if st.CodecType == "video" {
			videos++
			require.GreaterOrEqual(t, st.Frames(), 120, "variant %dx%d decodes at least 4 s", st.Width, st.Height)
		}
	}
	require.Equal(t, 4, videos, "every variant is readable")
	a, ok := info.Audio()
	require.True(t, ok, "audio rendition")
	require.Equal(t, "aac", a.CodecName)
	require.Empty(t, info.Stderr, "ffprobe reports no errors")
}

// waitingPlaylistRequests counts the playlist requests the variants'
// muxers hold (blocking reloads waiting for content).
func waitingPlaylistRequests(s *Server) int {
	s.pipe.mu.RLock()
	defer s.pipe.mu.RUnlock()
	n := 0
	for _, v := range s.pipe.variants {
		n += v.Stats().Waiting
	}
	return n
}

// probe runs ffprobe with frame counting over url.
func probe(t *testing.T, url string) peers.ProbeInfo {
	t.Helper()
	return runProbe(t, url, "-v", "error", "-show_streams", "-show_format", "-count_frames", "-of", "json")
}

// runProbe runs ffprobe with args and url and reads its JSON.
func runProbe(t *testing.T, url string, args ...string) peers.ProbeInfo {
	t.Helper()
	bin := peers.RequireTool(t, "ffprobe")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "ffprobe %s: %s", url, stderr.String())
	info, err := peers.ParseProbe(stdout.Bytes())
	require.NoError(t, err)
	info.Stderr = stderr.String()
	return info
}

var _ = fmt.Sprintf
