package server

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// TestLadderFitsPortraitSource publishes a portrait phone stream: its
// rungs are named after the picture's short side and keep its shape, in
// /api/status and in the multivariant playlist.
func TestLadderFitsPortraitSource(t *testing.T) {
	file := peers.MakeTestFile(t, peers.TestSource{Width: 360, Height: 640, Duration: 4 * time.Second})
	s := testServer(t, "720p,480p,360p,240p")
	pub := startPublisher(t, file, s.publishURL(testKey))
	mv := waitVariants(t, s, 2)
	require.Equal(t, []string{"RESOLUTION=360x640", "RESOLUTION=240x426"}, resolutionRE.FindAllString(mv, -1), mv)
	require.Contains(t, mv, "360p/video1_stream.m3u8")
	require.Contains(t, mv, "240p/video1_stream.m3u8")
	st := s.Status()
	require.Len(t, st.Rungs, 2)
	require.Equal(t, RungStatus{Name: "360p", Width: 360, Height: 640, FPS: 30, Bitrate: st.Rungs[0].Bitrate, Source: true, Live: true, Bytes: st.Rungs[0].Bytes}, st.Rungs[0])
	require.Equal(t, "240p", st.Rungs[1].Name)
	require.Equal(t, []int{240, 426}, []int{st.Rungs[1].Width, st.Rungs[1].Height})
	require.NoError(t, pub.wait(t, 30*time.Second), pub.stderr.String())
}
