package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// whepClient connects a pion WHEP viewer to the server.
func whepClient(t *testing.T, s *Server, query string) *peers.WHEPClient {
	t.Helper()
	c := &peers.WHEPClient{URL: s.testURL("/whep" + query)}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, c.Connect(ctx))
	t.Cleanup(func() { c.Close() })
	return c
}

func waitFrames(t *testing.T, c *peers.WHEPClient, n int) peers.WHEPStats {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	st, err := c.WaitFrames(ctx, n)
	require.NoError(t, err, "%+v", st)
	return st
}

// TestWHEPPlayback plays the live stream over WebRTC with pion viewers:
// H.264 passed through from the source and from a ladder rung, a first
// frame that is a keyframe, a step down a rung under loss, the cap, and
// /api/status and /metrics.
func TestWHEPPlayback(t *testing.T) {
	src := source720p(t)
	s := testServer(t, "480p,240p", func(s *Server) { s.WebRTCMaxViewers = 3 })
	resp, err := http.Post(s.testURL("/whep"), "application/sdp", strings.NewReader("v=0\r\n"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusBadRequest, resp.StatusCode, "a malformed offer is refused before anything else")
	c := &peers.WHEPClient{URL: s.testURL("/whep")}
	err = c.Connect(context.Background())
	c.Vanish()
	var we *peers.WHEPError
	require.ErrorAs(t, err, &we)
	require.Equal(t, http.StatusNotFound, we.Status, "no stream is live")

	startPublisher(t, src, s.publishURL(testKey))
	require.Eventually(t, func() bool { return s.Status().Live }, 15*time.Second, 20*time.Millisecond)
	waitVariants(t, s, 3)

	top := whepClient(t, s, "")
	st := waitFrames(t, top, 60)
	require.True(t, st.FirstFrameKey, "the first frame a viewer gets is a keyframe: %+v", st)
	require.Zero(t, st.SeqGaps, "one continuous RTP sequence across rung switches")
	require.Eventually(t, func() bool { st = top.Stats(); return st.Width == 1280 }, 10*time.Second, 50*time.Millisecond,
		"the default rung is the source, passed through: %+v", st)
	t.Logf("source viewer: first frame after %v, sizes %v", st.FirstFrame, st.Sizes)

	low := whepClient(t, s, "?rung=240p")
	st = waitFrames(t, low, 30)
	require.True(t, st.FirstFrameKey)
	require.Equal(t, []string{"426x240"}, st.Sizes, "?rung=240p is sent the 240p rung only")
	require.Less(t, st.FirstFrame, 5*time.Second, "a ladder rung forces a keyframe for a joining viewer")

	// Heavy loss in the source viewer's receiver report: it steps down.
	require.NoError(t, top.SendRTCP(&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{
		{SSRC: top.VideoSSRC(), FractionLost: 128, TotalLost: 500}}}))
	require.NoError(t, top.SendPLI())
	require.Eventually(t, func() bool { return top.Stats().Width == 854 }, 10*time.Second, 50*time.Millisecond,
		"loss moves the viewer to 480p: %+v", top.Stats())
	require.Zero(t, top.Stats().SeqGaps)

	status := s.Status()
	require.NotNil(t, status.WebRTC)
	require.Len(t, status.WebRTC.Viewers, 2)
	rungs := map[string]int{}
	for _, v := range status.WebRTC.Viewers {
		rungs[v.Rung]++
	}
	require.Equal(t, map[string]int{"480p": 1, "240p": 1}, rungs)
	require.GreaterOrEqual(t, status.WebRTC.PLIs, uint64(1))
	code, body := get(t, s.testURL("/metrics"))
	require.Equal(t, 200, code)
	require.Contains(t, body, "golive_webrtc_viewers 2")
	require.Contains(t, body, `golive_webrtc_viewers_by_rung{rung="240p"} 1`)
	require.Contains(t, body, "golive_webrtc_plis_total")
	code, body = get(t, s.testURL("/api/status"))
	require.Equal(t, 200, code)
	require.Contains(t, body, `"webrtc"`)
	require.Contains(t, body, `"packets_lost"`)

	// The cap: a third viewer fits, a fourth is refused.
	whepClient(t, s, "?rung=480p")
	c = &peers.WHEPClient{URL: s.testURL("/whep")}
	err = c.Connect(context.Background())
	c.Vanish()
	require.ErrorAs(t, err, &we)
	require.Equal(t, http.StatusServiceUnavailable, we.Status)

	// A viewer that vanishes is reaped; one that DELETEs is gone at once.
	low.Vanish()
	require.Equal(t, http.StatusOK, top.Close())
	require.Eventually(t, func() bool { return len(s.Status().WebRTC.Viewers) == 1 }, 20*time.Second, 100*time.Millisecond)
}
