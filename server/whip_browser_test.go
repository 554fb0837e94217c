package server

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// whipPublishJS publishes the page's fake camera and microphone to a WHIP
// endpoint the way a browser WHIP client does: getUserMedia, a sendonly
// RTCPeerConnection preferring H.264 (packetization-mode 1), the offer
// POSTed with the key as a bearer token once ICE gathering completed.
// It resolves to the POST's status (the Location kept in window.whip).
const whipPublishJS = `(async () => {
  const stream = await navigator.mediaDevices.getUserMedia({video: {width: 640, height: 360, frameRate: 30}, audio: true});
  const pc = new RTCPeerConnection();
  const h264 = RTCRtpSender.getCapabilities('video').codecs.filter(c =>
    c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || ''));
  for (const track of stream.getTracks()) {
    const tr = pc.addTransceiver(track, {direction: 'sendonly'});
    if (track.kind === 'video') {
      tr.setCodecPreferences(h264);
      const p = tr.sender.getParameters();
      p.degradationPreference = 'maintain-resolution';
      await tr.sender.setParameters(p);
    }
  }
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise(done => {
    if (pc.iceGatheringState === 'complete') return done();
    pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && done());
    setTimeout(done, 3000);
  });
  const resp = await fetch(%q, {method: 'POST', body: pc.localDescription.sdp,
    headers: {'Content-Type': 'application/sdp', 'Authorization': 'Bearer ' + %q}});
  const answer = await resp.text();
  if (resp.status !== 201) return resp.status;
  await pc.setRemoteDescription({type: 'answer', sdp: answer});
  window.whip = {pc, location: new URL(resp.headers.get('Location'), %q).href};
  return resp.status;
})()`

// TestWHIPFromChromium publishes from headless Chromium, an independent
// WHIP publisher (its fake camera and microphone, its own H.264 and Opus
// encoders): the stream plays on the player page over LL-HLS in a second
// Chromium and ffprobe reads its variant as H.264 with AAC; the page's
// DELETE ends it.
func TestWHIPFromChromium(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	s := testServer(t, "240p")
	browser := peers.StartChromium(t, "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	page, err := browser.NewPage(ctx, s.testURL("/healthz")) // a page on the server's origin
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var state string
		return page.Evaluate(ctx, "document.readyState", &state) == nil && state == "complete"
	}, 20*time.Second, 50*time.Millisecond)
	var status int
	require.NoError(t, page.Evaluate(ctx, fmt.Sprintf(whipPublishJS, s.testURL("/whip"), testKey, s.testURL("/")), &status))
	require.Equal(t, 201, status)

	require.Eventually(t, func() bool { st := s.Status(); return st.Live && st.Ingest != nil && st.Ingest.AudioCodec == "opus" },
		30*time.Second, 50*time.Millisecond, "Chromium's H.264 and Opus come in: %+v", s.Status().Ingest)
	in := s.Status().Ingest
	require.Equal(t, "h264", in.Codec)
	require.Positive(t, in.Width)
	t.Logf("Chromium publishes %dx%d, audio %s %d Hz %d ch", in.Width, in.Height, in.AudioCodec, in.SampleRate, in.Channels)

	// The player page plays it over LL-HLS.
	watch := openInChromium(t, s.testURL("/?via=hls"))
	ps, problems := watch.wait(1.5)
	require.Empty(t, problems, "console errors in the player page")
	require.True(t, ps.Live)
	require.Equal(t, "hls", ps.Mode)
	// hls.js picks its own level (lower on a busy machine): the publisher's
	// picture is the top one, and what plays is one of the ladder's.
	require.Contains(t, ps.Levels, in.Height, "the publisher's picture is a level: %+v", ps)
	require.Contains(t, ps.Levels, ps.VideoHeight, "the player shows a level of the stream: %+v", ps)

	// ffprobe reads the top variant: H.264 at the publisher's size, AAC.
	info := peers.ProbeStreams(t, s.testURL("/hls/index.m3u8"))
	v, ok := info.Video()
	require.True(t, ok)
	require.Equal(t, "h264", v.CodecName)
	require.Equal(t, in.Width, v.Width)
	a, ok := info.Audio()
	require.True(t, ok, "audio rendition")
	require.Equal(t, "aac", a.CodecName)
	require.Zero(t, s.WHIPStats().BadPackets)

	// The page ends its session.
	require.NoError(t, page.Evaluate(ctx, fmt.Sprintf(`fetch(window.whip.location, {method: 'DELETE', `+
		`headers: {'Authorization': 'Bearer ' + %q}}).then(r => r.status)`, testKey), &status))
	require.Equal(t, 200, status)
	require.Eventually(t, func() bool { return !s.Status().Live }, 10*time.Second, 20*time.Millisecond)
	for _, e := range page.Errors() {
		require.Contains(t, e, "favicon.ico", "console errors in the publishing page") // /healthz has no icon
	}
}
