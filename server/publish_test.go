package server

import (
	"bytes"
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// publishExpectRefusal publishes file to url with ffmpeg and requires it to
// fail; it returns ffmpeg's error output.
func publishExpectRefusal(t *testing.T, file, url string) string {
	t.Helper()
	bin := peers.RequireTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", file,
		"-c", "copy", "-f", "flv", url)
	cmd.Stderr = &stderr
	err := cmd.Run()
	require.Error(t, err, "ffmpeg must be refused publishing to %s", url)
	require.NoError(t, ctx.Err(), "ffmpeg was not refused within 30 s")
	return stderr.String()
}

func TestServeRefusesAndComesBack(t *testing.T) {
	file := peers.MakeTestFile(t, peers.TestSource{Width: 320, Height: 240, Duration: 5 * time.Second})
	s := testServer(t, "240p")

	pub := startPublisher(t, file, s.publishURL(testKey))
	require.Eventually(t, func() bool { return s.Status().Live }, 15*time.Second, 20*time.Millisecond)

	out := publishExpectRefusal(t, file, s.publishURL(testKey))
	require.Contains(t, out, "already publishing", "NetStream.Publish.BadName description")
	out = publishExpectRefusal(t, file, s.publishURL("wrong-key"))
	require.Contains(t, out, "wrong stream key")
	require.Equal(t, uint64(2), s.ingest.Stats().Refused)
	require.True(t, s.Status().Live, "the first publisher is still live")

	require.NoError(t, pub.wait(t, 30*time.Second), pub.stderr.String())
	require.Eventually(t, func() bool { return !s.Status().Live }, 10*time.Second, 20*time.Millisecond)
	code, pl := get(t, s.testURL("/hls/240p/video1_stream.m3u8"))
	require.Equal(t, 200, code)
	require.Contains(t, pl, "#EXT-X-ENDLIST")
	code, mv := get(t, s.testURL("/hls/index.m3u8"))
	require.Equal(t, 200, code, "the multivariant playlist stays for the ended stream")
	require.Contains(t, mv, "240p/video1_stream.m3u8")

	// The publisher comes back: same URLs, live again.
	pub = startPublisher(t, file, s.publishURL(testKey))
	require.Eventually(t, func() bool { return s.Status().Live }, 15*time.Second, 20*time.Millisecond)
	code, pl = get(t, s.testURL("/hls/240p/video1_stream.m3u8")) // blocks until the new stream has content
	require.Equal(t, 200, code)
	require.NotContains(t, pl, "#EXT-X-ENDLIST")
	require.Contains(t, pl, "#EXT-X-PART:")
	require.NoError(t, pub.wait(t, 30*time.Second), pub.stderr.String())
}

func TestServeVideoOnlyAndUnsupportedCodec(t *testing.T) {
	bin := peers.RequireTool(t, "ffmpeg")
	s := testServer(t, "240p")

	// An H.263 (FLV1) publisher is refused with a NetStream error.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=320x240:rate=15", "-t", "3", "-c:v", "flv1",
		"-f", "flv", s.publishURL(testKey)).CombinedOutput()
	require.Error(t, err, "an unsupported codec must be refused")
	require.NoError(t, ctx.Err())
	// ffmpeg does not print the onStatus it gets mid-stream: it sees the
	// server close the connection, on a read or on a write.
	require.Regexp(t, `Connection reset by peer|Broken pipe`, string(out))
	require.Eventually(t, func() bool { return s.ingest.Stats().Refused == 1 && !s.Status().Live }, 10*time.Second, 20*time.Millisecond)

	// A stream without audio plays, with no audio rendition.
	file := peers.MakeTestFile(t, peers.TestSource{Width: 320, Height: 240, Duration: 4 * time.Second, NoAudio: true})
	pub := startPublisher(t, file, s.publishURL(testKey))
	mv := waitVariants(t, s, 1)
	require.NotContains(t, mv, "EXT-X-MEDIA")
	require.Contains(t, mv, "RESOLUTION=320x240")
	st := s.Status()
	require.Empty(t, st.Ingest.AudioCodec)
	require.NoError(t, pub.wait(t, 30*time.Second), pub.stderr.String())
}

// TestPlayerFollowsThePublisher checks that a viewer's page starts again
// by itself when the publisher comes back after stopping.
func TestPlayerFollowsThePublisher(t *testing.T) {
	file := peers.MakeTestFile(t, peers.TestSource{Width: 320, Height: 240, Duration: 8 * time.Second})
	s := testServer(t, "240p")
	watch := openInChromium(t, s.testURL("/"))

	pub := startPublisher(t, file, s.publishURL(testKey))
	st, _ := watch.wait(0.5)
	require.True(t, st.Live)
	require.NoError(t, pub.wait(t, 30*time.Second), pub.stderr.String())
	require.Eventually(t, func() bool { return !s.Status().Live }, 10*time.Second, 20*time.Millisecond)

	pub = startPublisher(t, file, s.publishURL(testKey))
	require.Eventually(t, func() bool { return s.Status().Live }, 15*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool { return watch.state().Starts >= 2 }, 20*time.Second, 100*time.Millisecond,
		"the page starts the stream again by itself")
	st, problems := watch.wait(0.5) // the new stream plays
	require.True(t, st.Live)
	for _, p := range problems {
		require.NotContains(t, p, "status of 500")
	}
	require.NoError(t, pub.wait(t, 30*time.Second), pub.stderr.String())
}
