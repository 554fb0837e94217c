package server

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"golive/internal/peers"
)

// TestCloseLeavesNoGoroutines closes a server in the middle of a live
// stream with a transcoded rung: Close must end the stream and wait for
// every goroutine it started.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	file := peers.MakeTestFile(t, peers.TestSource{Width: 320, Height: 240, Duration: 6 * time.Second})
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := testServer(t, "160p")
	pub := startPublisher(t, file, s.publishURL(testKey))
	for _, p := range []string{"/", "/api/status", "/metrics", "/healthz"} {
		get(t, s.testURL(p))
	}
	mv := waitVariants(t, s, 2)
	require.Contains(t, mv, "160p/")
	code, _ := get(t, s.testURL("/hls/160p/video1_stream.m3u8")) // waits for content
	require.Equal(t, 200, code)
	s.Close()
	require.False(t, s.Status().Live)
	_ = pub.wait(t, 20*time.Second) // ffmpeg fails: the server went away
	http.DefaultClient.CloseIdleConnections()
}
