package broadcast

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"golive/internal/peers"
	"golive/media"
	"golive/publisher"
)

func TestBroadcastLifecycle(t *testing.T) {
	verifyNoLeaks(t)
	ng := peers.StartNginxRTMP(t)

	var frames atomic.Int64
	b := &Broadcast{
		Config:  Config{Width: 320, Height: 240, FPS: 15, Bitrate: 300_000, Encoder: "libx264"},
		OnFrame: func(*media.VideoFrame) { frames.Add(1) },
	}
	require.NoError(t, b.Initialize())
	defer b.Close()
	require.Eventually(t, func() bool { return frames.Load() > 3 }, 10*time.Second, 10*time.Millisecond, "preview frames while offline")
	require.Equal(t, StateOffline, b.Stats().State)
	require.Nil(t, b.LiveDone())

	for round := range 2 { // a second Go Live after Stop works the same
		ctx := context.Background()
		require.NoError(t, b.GoLive(ctx, []string{ng.URL("k")}), "round %d", round)
		require.ErrorIs(t, b.GoLive(ctx, []string{ng.URL("k")}), ErrAlreadyLive)
		require.Eventually(t, func() bool {
			st := b.Stats()
			return st.State == StateLive && st.FPS > 10 && st.Bitrate > 0
		}, 10*time.Second, 50*time.Millisecond, "live with frames flowing: %+v", b.Stats())
		st := b.Stats()
		require.Equal(t, "libx264", st.Encoder)
		require.False(t, st.Hardware)
		require.Equal(t, 15, st.TargetFPS)
		require.Len(t, st.Destinations, 1)
		require.Equal(t, "live", st.Destinations[0].State)
		require.Contains(t, st.Destinations[0].URL, "/live/****")
		require.NotEmpty(t, st.BitrateHistory)
		b.SetBitrate(200_000)
		done := b.LiveDone()
		b.StopLive()
		<-done
		require.NoError(t, b.Err())
		require.Equal(t, StateOffline, b.Stats().State)
	}
}

func TestBroadcastRefused(t *testing.T) {
	verifyNoLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	b := &Broadcast{Config: Config{Width: 160, Height: 120, FPS: 10, Audio: "none", Encoder: "libx264"}}
	require.ErrorIs(t, b.GoLive(context.Background(), nil), ErrNotInitialized)
	require.NoError(t, b.Initialize())
	defer b.Close()
	err = b.GoLive(context.Background(), []string{"rtmp://" + addr + "/live/secret"})
	require.ErrorIs(t, err, publisher.ErrNoDestination)
	require.ErrorIs(t, err, publisher.ErrUnreachable)
	require.NotContains(t, err.Error(), "secret")
	require.ErrorIs(t, b.GoLive(context.Background(), []string{"http://x/live/k"}), ErrBadOption)
	require.Equal(t, StateOffline, b.Stats().State)
}

func TestBroadcastBadSource(t *testing.T) {
	for _, c := range []Config{{Source: "telescope"}, {Audio: "kazoo"}} {
		b := &Broadcast{Config: c}
		require.ErrorIs(t, b.Initialize(), ErrBadOption)
		b.Close()
	}
}

// verifyNoLeaks checks, after every other cleanup (peers included), that the
// test left no goroutine behind.
func verifyNoLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}
