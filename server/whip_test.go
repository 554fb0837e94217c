package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	pion "github.com/pion/webrtc/v4"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// whipPublisher connects a pion WHIP publisher sending ffmpeg-made H.264
// and Opus (a zero source: none) to the server.
func whipPublisher(t *testing.T, s *Server, src peers.WHIPSource) *peers.WHIPClient {
	t.Helper()
	c := &peers.WHIPClient{URL: s.testURL("/whip"), Bearer: testKey, Source: src}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, c.Connect(ctx))
	t.Cleanup(func() { c.Close() })
	return c
}

// TestWHIPIngest publishes over WHIP with an independent pion publisher
// (ffmpeg's H.264 and Opus, pion's packetizers): the stream goes through
// the ladder into LL-HLS with its audio made AAC, and out over WHEP; the
// DELETE ends it cleanly and ffprobe reads every variant.
func TestWHIPIngest(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	src := peers.MakeWHIPSource(t, t.TempDir(), 6)
	s := testServer(t, "240p")
	pub := whipPublisher(t, s, src)

	mv := waitVariants(t, s, 2)
	require.Contains(t, mv, "RESOLUTION=640x360", mv)
	require.Contains(t, mv, "RESOLUTION=426x240", mv)
	require.Contains(t, mv, "mp4a.40.2", "LL-HLS carries the Opus made AAC: %s", mv)
	require.Eventually(t, func() bool {
		code, mpd := get(t, s.testURL("/dash/manifest.mpd"))
		return code == 200 && strings.Contains(mpd, `contentType="audio"`) && strings.Contains(mpd, "mp4a.40.2")
	}, 20*time.Second, 100*time.Millisecond, "DASH, over the same segments, has the AAC too")
	st := s.Status()
	require.True(t, st.Live)
	require.Equal(t, "h264", st.Ingest.Codec)
	require.Equal(t, 640, st.Ingest.Width)
	require.Equal(t, "opus", st.Ingest.AudioCodec)
	require.NotEmpty(t, st.Ingest.Publisher)
	require.Equal(t, "whip", st.Ingest.Protocol)
	code, metrics := get(t, s.testURL("/metrics"))
	require.Equal(t, 200, code)
	require.Contains(t, metrics, "golive_whip_sessions 1")
	require.Contains(t, metrics, "golive_whip_plis_total")

	// WHEP out: a viewer gets the WHIP publisher's H.264 as it came.
	viewer := whepClient(t, s, "")
	vs := waitFrames(t, viewer, 30)
	require.Equal(t, 640, vs.Width)

	// Let it run a few seconds, then DELETE.
	require.Eventually(t, func() bool { f, _ := pub.Sent(); return f >= 150 }, 20*time.Second, 50*time.Millisecond)
	require.Equal(t, http.StatusOK, pub.Close())
	require.Eventually(t, func() bool { return !s.Status().Live }, 10*time.Second, 20*time.Millisecond)
	ws := s.WHIPStats()
	require.EqualValues(t, 1, ws.Endpoint.Deleted)
	require.Zero(t, ws.PacketsLost, "loopback loses nothing")
	require.Zero(t, ws.BadPackets)
	for _, rung := range []string{"360p", "240p"} {
		code, pl := get(t, s.testURL("/hls/"+rung+"/video1_stream.m3u8"))
		require.Equal(t, 200, code, rung)
		require.Contains(t, pl, "#EXT-X-ENDLIST", rung)
	}
	info := probe(t, s.testURL("/hls/index.m3u8"))
	require.Empty(t, info.Stderr, "ffprobe reports no errors")
	videos := 0
	for _, vst := range info.Streams {
		if vst.CodecType == "video" {
			videos++
			require.Equal(t, "h264", vst.CodecName)
			require.GreaterOrEqual(t, vst.Frames(), 90, "variant %dx%d decodes at least 3 s", vst.Width, vst.Height)
		}
	}
	require.Equal(t, 2, videos)
	a, ok := info.Audio()
	require.True(t, ok, "audio rendition")
	require.Equal(t, "aac", a.CodecName)
	require.Equal(t, 48000, a.Rate())
	require.Equal(t, 2, a.Channels)
}

// publishOffer returns a sendonly H.264 + Opus offer made by a plain pion
// peer connection (closed again: nobody answers its ICE).
func publishOffer(t *testing.T, dir pion.RTPTransceiverDirection) string {
	t.Helper()
	pc, err := pion.NewPeerConnection(pion.Configuration{})
	require.NoError(t, err)
	defer pc.Close()
	for _, k := range []pion.RTPCodecType{pion.RTPCodecTypeVideo, pion.RTPCodecTypeAudio} {
		_, err := pc.AddTransceiverFromKind(k, pion.RTPTransceiverInit{Direction: dir})
		require.NoError(t, err)
	}
	offer, err := pc.CreateOffer(nil)
	require.NoError(t, err)
	return offer.SDP
}

// post sends one WHIP request and returns its status and body.
func post(t *testing.T, url, bearer, ctype, body string) (int, string, http.Header) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", ctype)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b), resp.Header
}

// TestWHIPRefusals: a wrong or missing key is 401, an offer the server
// cannot take 400 or 415, and WHIP and RTMP share the one publisher slot:
// a second publisher, over either, is refused (409, or RTMP's refusal).
func TestWHIPRefusals(t *testing.T) {
	s := testServer(t, "240p")
	send := publishOffer(t, pion.RTPTransceiverDirectionSendonly)
	noH264 := strings.NewReplacer("H264/90000", "VP7/90000").Replace(send)
	for _, tc := range []struct {
		name, bearer, ctype, body string
		status                    int
	}{
		{"no bearer token", "", "application/sdp", send, 401},
		{"wrong stream key", "wrong-key", "application/sdp", send, 401},
		{"malformed SDP", testKey, "application/sdp", "v=0\r\nthis is not sdp\r\n", 400},
		{"an offer that only receives (WHEP's)", testKey, "application/sdp",
			publishOffer(t, pion.RTPTransceiverDirectionRecvonly), 400},
		{"no H.264", testKey, "application/sdp", noH264, 400},
		{"not SDP", testKey, "text/plain", send, 415},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, h := post(t, s.testURL("/whip"), tc.bearer, tc.ctype, tc.body)
			require.Equal(t, tc.status, status, body)
			if status == 401 {
				require.Contains(t, h.Get("WWW-Authenticate"), "Bearer")
			}
		})
	}
	require.False(t, s.Status().Live)
	require.Zero(t, s.WHIPStats().Endpoint.Created)

	// A WHIP publisher holds the slot: a second one is 409, an RTMP one
	// refused.
	pub := whipPublisher(t, s, peers.WHIPSource{})
	status, body, _ := post(t, s.testURL("/whip"), testKey, "application/sdp", send)
	require.Equal(t, http.StatusConflict, status, body)
	file := peers.MakeTestFile(t, peers.TestSource{Width: 320, Height: 240, Duration: 3 * time.Second})
	require.Contains(t, publishExpectRefusal(t, file, s.publishURL(testKey)), "already publishing")
	require.Equal(t, http.StatusOK, pub.Close())

	// An RTMP publisher holds it: WHIP is 409.
	rtmp := startPublisher(t, file, s.publishURL(testKey))
	require.Eventually(t, func() bool { return s.Status().Live }, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, "rtmp", s.Status().Ingest.Protocol)
	status, body, _ = post(t, s.testURL("/whip"), testKey, "application/sdp", send)
	require.Equal(t, http.StatusConflict, status, body)
	require.NoError(t, rtmp.wait(t, 30*time.Second), rtmp.stderr.String())
	require.Eventually(t, func() bool { return !s.Status().Live }, 10*time.Second, 20*time.Millisecond)

	// Free again: WHIP is taken.
	whipPublisher(t, s, peers.WHIPSource{}).Close()
}

// TestWHIPVanishedPublisher: a publisher whose network goes away without a
// DELETE is let go when ICE times out, and the next one is taken.
func TestWHIPVanishedPublisher(t *testing.T) {
	src := peers.MakeWHIPSource(t, t.TempDir(), 4)
	s := testServer(t, "240p")
	pub := whipPublisher(t, s, src)
	require.Eventually(t, func() bool { return s.Status().Live }, 15*time.Second, 20*time.Millisecond)
	pub.Vanish()
	require.Eventually(t, func() bool { return !s.Status().Live && s.WHIPStats().Endpoint.Sessions == 0 },
		30*time.Second, 50*time.Millisecond, "released by ICE timeout")
	require.EqualValues(t, 1, s.WHIPStats().Endpoint.Reaped)
	next := whipPublisher(t, s, src)
	require.Eventually(t, func() bool { return s.Status().Live }, 15*time.Second, 20*time.Millisecond)
	require.Equal(t, http.StatusOK, next.Close())
}

// TestWHIPUnderLoss: a publisher whose link loses one media packet in 25
// (retransmissions too). The server asks for them again (NACK); what
// stays lost costs the frames up to the next keyframe, never a broken
// frame: the stream goes on and every variant decodes without an error.
func TestWHIPUnderLoss(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	src := peers.MakeWHIPSource(t, t.TempDir(), 6)
	s := testServer(t, "240p")
	pub := &peers.WHIPClient{URL: s.testURL("/whip"), Bearer: testKey, Source: src, LossEvery: 25}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, pub.Connect(ctx))
	t.Cleanup(func() { pub.Close() })
	require.Eventually(t, func() bool { f, _ := pub.Sent(); return f >= 180 }, 30*time.Second, 50*time.Millisecond)
	require.Equal(t, http.StatusOK, pub.Close())
	require.Eventually(t, func() bool { return !s.Status().Live }, 10*time.Second, 20*time.Millisecond)
	ws := s.WHIPStats()
	t.Logf("the link dropped %d packets; the server: %+v", pub.Dropped(), ws)
	require.Greater(t, pub.Dropped(), int64(20))
	require.Zero(t, ws.BadPackets)

	info := probe(t, s.testURL("/hls/index.m3u8"))
	require.Empty(t, info.Stderr, "no broken frame reached LL-HLS")
	for _, vst := range info.Streams {
		if vst.CodecType == "video" {
			// Without retransmission nearly every GOP would be cut; with it
			// most frames come through (a loaded machine's late NACKs lose
			// some more).
			require.GreaterOrEqual(t, vst.Frames(), 45, "variant %dx%d goes on", vst.Width, vst.Height)
		}
	}
}

// TestWHIPTakeover: a publisher whose link died is taken over by a new
// one with the key (a broadcaster reconnecting) once it has sent nothing
// for the takeover time, before ICE would time out.
func TestWHIPTakeover(t *testing.T) {
	src := peers.MakeWHIPSource(t, t.TempDir(), 4)
	s := testServer(t, "240p")
	pub := whipPublisher(t, s, src)
	require.Eventually(t, func() bool { return s.Status().Live }, 15*time.Second, 20*time.Millisecond)
	pub.Vanish()
	var next *peers.WHIPClient
	require.Eventually(t, func() bool {
		c := &peers.WHIPClient{URL: s.testURL("/whip"), Bearer: testKey, Source: src}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := c.Connect(ctx); err != nil {
			require.True(t, peers.IsWHIPStatus(err, http.StatusConflict), "%v", err)
			c.Close()
			return false
		}
		next = c
		return true
	}, 8*time.Second, 250*time.Millisecond, "taken over before ICE times out (10 s)")
	t.Cleanup(func() { next.Close() })
	require.EqualValues(t, 1, s.ingest.Stats().Takeovers)
	require.Zero(t, s.WHIPStats().Endpoint.Reaped, "the old session was let go by the takeover, not by ICE")
	require.Eventually(t, func() bool { st := s.Status(); return st.Live && st.Ingest != nil && st.Ingest.Protocol == "whip" },
		15*time.Second, 20*time.Millisecond)
	require.Equal(t, http.StatusOK, next.Close())
}
