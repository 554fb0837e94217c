package server

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestWHEPInChromium plays the page in headless Chromium, an independent
// WebRTC peer: it picks WebRTC by itself, frames keep decoding at the
// source's size, and the quality menu moves it to another rung.
func TestWHEPInChromium(t *testing.T) {
	src := source720p(t)
	s := testServer(t, "480p,240p")
	startPublisher(t, src, s.publishURL(testKey))
	watch := openInChromium(t, s.testURL("/"))
	ps, problems := watch.wait(1)
	require.Empty(t, problems, "console errors in the player page")
	require.Equal(t, "webrtc", ps.Mode, "WebRTC first: %+v", ps)
	require.Empty(t, ps.Fallback)
	var first playerState
	require.Eventually(t, func() bool {
		first = watch.state()
		return first.VideoWidth == 1280 && first.WebRTC != nil && first.WebRTC.FramesDecoded > 0
	}, 15*time.Second, 100*time.Millisecond, "the source's size over WebRTC: %+v", watch.state())
	require.Eventually(t, func() bool {
		st := watch.state()
		return st.WebRTC != nil && st.WebRTC.FramesDecoded >= first.WebRTC.FramesDecoded+30
	}, 10*time.Second, 100*time.Millisecond, "frames keep decoding: %+v", watch.state())
	require.Len(t, s.Status().WebRTC.Viewers, 1)
	// An audio track plays: Opus packets arrive and are decoded into a
	// second of samples that are not concealment.
	require.Eventually(t, func() bool {
		st := watch.state()
		return st.WebRTC != nil && st.WebRTC.AudioPackets > 50 && st.WebRTC.AudioSamples-st.WebRTC.AudioConceal > 48000
	}, 10*time.Second, 100*time.Millisecond, "audio over WebRTC: %+v", watch.state().WebRTC)

	// The quality menu works over WebRTC: a new session on the 240p rung.
	require.NoError(t, watch.eval(`(function(){var q=document.getElementById('quality');`+
		`q.value='rung:240p';q.dispatchEvent(new Event('change'));})()`))
	require.Eventually(t, func() bool { st := watch.state(); return st.VideoWidth == 426 && st.Mode == "webrtc" },
		15*time.Second, 100*time.Millisecond, "240p chosen: %+v", watch.state())
	require.Eventually(t, func() bool {
		vs := s.Status().WebRTC.Viewers
		return len(vs) == 1 && vs[0].Rung == "240p"
	}, 10*time.Second, 100*time.Millisecond, "the old session was deleted: %+v", s.Status().WebRTC)
	require.Empty(t, watch.problems())
}

// TestWHEPFallsBackToHLS blocks WebRTC two ways — the server has it off
// (WHEP answers 503), and the browser may not use UDP (ICE never connects)
// — and the page falls back to LL-HLS by itself and plays.
func TestWHEPFallsBackToHLS(t *testing.T) {
	src := source720p(t)
	for _, tc := range []struct {
		name     string
		flags    []string
		off      bool
		fallback string
	}{
		{"server without WebRTC", nil, true, "WHEP 503"},
		{"UDP blocked on the way", nil, false, "ICE did not connect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := testServer(t, "240p", func(s *Server) {
				s.NoWebRTC = tc.off
				if !tc.off {
					conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
					require.NoError(t, err)
					s.WebRTCConn = firewalled{conn}
				}
			})
			startPublisher(t, src, s.publishURL(testKey))
			watch := openInChromium(t, s.testURL("/"), tc.flags...)
			require.Eventually(t, func() bool { return watch.state().Mode == "hls" }, 30*time.Second, 100*time.Millisecond,
				"fell back to LL-HLS: %+v %v", watch.state(), watch.problems())
			var ps playerState
			require.Eventually(t, func() bool { ps = watch.state(); return ps.CurrentTime >= 1.5 }, 30*time.Second,
				100*time.Millisecond, "LL-HLS plays: %+v", watch.state())
			require.Equal(t, "hls", ps.Mode)
			require.Contains(t, ps.Fallback, tc.fallback)
			require.NotEmpty(t, ps.Levels, "hls.js plays the variants")
		})
	}
}

// firewalled is a UDP socket behind a firewall that drops what comes in.
type firewalled struct{ net.PacketConn }

// ReadFrom drops every packet until the socket closes.
func (f firewalled) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		if _, _, err := f.PacketConn.ReadFrom(b); err != nil {
			return 0, nil, err
		}
	}
}
