package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"golive/encoder"
	"golive/internal/peers"
	"golive/media"
)

// whepClient connects a pion WHEP viewer to the server.
func whepClient(t *testing.T, s *Server, query string, opts ...func(*peers.WHEPClient)) *peers.WHEPClient {
	t.Helper()
	c := &peers.WHEPClient{URL: s.testURL("/whep" + query)}
	for _, o := range opts {
		o(c)
	}
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

	top := whepClient(t, s, "", func(c *peers.WHEPClient) { c.KeepAudio = true })
	st := waitFrames(t, top, 60)
	require.True(t, st.FirstFrameKey, "the first frame a viewer gets is a keyframe: %+v", st)
	require.Eventually(t, func() bool { return top.Stats().SeqGaps == 0 }, 5*time.Second, 50*time.Millisecond,
		"one continuous RTP sequence across rung switches (NACKs fill what the loopback dropped): %+v", top.Stats())
	require.Eventually(t, func() bool { st = top.Stats(); return st.Width == 1280 }, 10*time.Second, 50*time.Millisecond,
		"the default rung is the source, passed through: %+v", st)
	t.Logf("source viewer: first frame after %v, sizes %v", st.FirstFrame, st.Sizes)
	require.Eventually(t, func() bool { return top.Stats().AudioPackets >= 75 }, 10*time.Second, 50*time.Millisecond,
		"Opus audio, transcoded from the stream's AAC: %+v", top.Stats())
	requireTone(t, top.Audio(), 1000)

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
	require.Eventually(t, func() bool { return top.Stats().SeqGaps == 0 }, 5*time.Second, 50*time.Millisecond,
		"no gap after the step down: %+v", top.Stats())

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

// requireTone decodes Opus payloads (FFmpeg's decoder) and requires the
// test source's tone at freq Hz in the middle second.
func requireTone(t *testing.T, payloads [][]byte, freq int) {
	t.Helper()
	d := &encoder.AudioDecoder{Params: media.CodecParams{Codec: media.CodecOpus, Channels: 2}}
	require.NoError(t, d.Initialize())
	defer d.Close()
	var pcm []int16
	for i, p := range payloads {
		frames, err := d.Decode(&media.Packet{Codec: media.CodecOpus, Data: p, PTS: time.Duration(i) * 20 * time.Millisecond})
		require.NoError(t, err)
		for _, f := range frames {
			pcm = append(pcm, f.Samples...)
		}
	}
	require.Greater(t, len(pcm), 2*48000*3/2, "1.5 s of stereo audio")
	mid := pcm[2*12000 : 2*60000] // 0.25 s to 1.25 s
	crossings := 0
	for i := 2; i < len(mid); i += 2 {
		if mid[i-2] < 0 && mid[i] >= 0 {
			crossings++
		}
	}
	require.InDelta(t, freq, crossings, float64(freq)/50, "a %d Hz tone over 1 s", freq)
}

// TestWHEPPictureLoss has a viewer of the source (which cannot make a
// keyframe on demand) report a lost picture: it gets one at once from a
// ladder rung, and goes back to the source at the source's next keyframe.
// Segments of 4 s let the ladder force a keyframe anywhere in the
// source's 2 s GOP.
func TestWHEPPictureLoss(t *testing.T) {
	src := source720p(t)
	s := testServer(t, "480p", func(s *Server) { s.Segment = 4 * time.Second })
	startPublisher(t, src, s.publishURL(testKey))
	waitVariants(t, s, 2)
	c := whepClient(t, s, "")
	require.Eventually(t, func() bool { return c.Stats().Width == 1280 }, 15*time.Second, 50*time.Millisecond,
		"on the source: %+v", c.Stats())
	before := c.Stats()
	require.NoError(t, c.SendPLI())
	require.Eventually(t, func() bool {
		st := c.Stats()
		n := len(st.Sizes)
		return n >= len(before.Sizes)+2 && st.Sizes[n-2] == "854x480" && st.Sizes[n-1] == "1280x720"
	}, 15*time.Second, 50*time.Millisecond, "a 480p keyframe at once, then the source again: %+v", c.Stats())
	require.Eventually(t, func() bool { return c.Stats().SeqGaps == 0 }, 5*time.Second, 50*time.Millisecond)
}

// TestWHEPCloseLeavesNoGoroutines closes the server while WebRTC viewers
// watch: every session, feed, transcoder and RTCP reader goroutine ends.
func TestWHEPCloseLeavesNoGoroutines(t *testing.T) {
	src := source720p(t)
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	s := testServer(t, "480p")
	pub := startPublisher(t, src, s.publishURL(testKey))
	waitVariants(t, s, 2)
	var cs []*peers.WHEPClient
	for _, q := range []string{"", "?rung=480p"} {
		c := &peers.WHEPClient{URL: s.testURL("/whep" + q)}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		require.NoError(t, c.Connect(ctx))
		_, err := c.WaitFrames(ctx, 10)
		cancel()
		require.NoError(t, err)
		cs = append(cs, c)
	}
	s.Close()
	for _, c := range cs {
		c.Vanish()
	}
	_ = pub.wait(t, 20*time.Second)
	http.DefaultClient.CloseIdleConnections()
}

// TestWHEPRungDropped drops a ladder rung (as the ladder does when the
// machine cannot keep up): its viewer moves to the nearest rung left; a
// viewer of another rung plays on untouched.
func TestWHEPRungDropped(t *testing.T) {
	src := source720p(t)
	s := testServer(t, "480p,240p")
	startPublisher(t, src, s.publishURL(testKey))
	waitVariants(t, s, 3)
	low := whepClient(t, s, "?rung=240p")
	mid := whepClient(t, s, "?rung=480p")
	waitFrames(t, low, 10)
	waitFrames(t, mid, 10)
	before := mid.Stats()
	s.pipe.onDrop(1) // the 240p rung
	require.Eventually(t, func() bool { return low.Stats().Width == 854 }, 15*time.Second, 50*time.Millisecond,
		"the 240p viewer moves to 480p: %+v", low.Stats())
	st := waitFrames(t, mid, 30)
	require.Equal(t, before.Sizes, st.Sizes, "the 480p viewer plays on")
	require.Eventually(t, func() bool { return low.Stats().SeqGaps == 0 && mid.Stats().SeqGaps == 0 }, 5*time.Second, 50*time.Millisecond)
}
