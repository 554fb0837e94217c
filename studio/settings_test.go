package studio

import (
	"golive/media"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSettings(t *testing.T) {
	store := &memStore{}
	h := newStudio(t, store, false)
	st := h.Settings()
	require.Equal(t, Settings{Source: "test", Audio: "test", Width: 1280, Height: 720, FPS: 30, Bitrate: 3_000_000,
		AudioBitrate: 128_000, Encoder: "auto", ChatName: "Creator"}, st, "defaults filled in")
	st.Width, st.Height, st.FPS, st.Bitrate = 854, 480, 25, 1_500_000
	require.NoError(t, h.SetSettings(st))
	bad := st
	bad.Width = 853
	require.ErrorIs(t, h.SetSettings(bad), media.ErrBadOption)
	h.Close()
	h2 := newStudio(t, store, false)
	require.Equal(t, st, h2.Settings())
	require.Equal(t, 854, h2.config().Width)
	require.Equal(t, h.StreamKey(), h2.StreamKey())
}
