package publisher

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rtmp "github.com/yutopp/go-rtmp"

	"golive/internal/peers"
)

// stallable returns a destination, not yet initialized, on a fake clock,
// that publishes to a go-rtmp server through a proxy the test can stall.
func stallable(t *testing.T, c clip) (*RTMP, *peers.Proxy, *fakeClock) {
	upstream, stop := startGoRTMPServer(t, func() rtmp.Handler { return &rtmp.DefaultHandler{} })
	t.Cleanup(stop)
	p := peers.StartProxy(t, upstream, peers.ProxyOptions{})
	r := newRTMP(t, "rtmp://"+p.Addr()+"/live/stall", c)
	r.Clock, r.SendBuffer, r.QueueDuration = newFakeClock(), 16<<10, time.Minute
	return r, p, r.Clock.(*fakeClock)
}

// TestStallThenReconnect: the server stops reading while live; the
// publisher notices through WriteTimeout, goes to reconnecting with the
// reason, and comes back on a fresh connection.
func TestStallThenReconnect(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 320, Height: 240, FPS: 25, Duration: 4 * time.Second, Bitrate: "800k"})
	r, p, clock := stallable(t, c)
	r.WriteTimeout = time.Second
	r.Reconnect = &ReconnectPolicy{Buffer: time.Minute}
	require.NoError(t, r.Initialize())
	defer r.Close()

	half := len(c.file.Packets) / 2
	feed(r, c.file.Packets[:10], false, 0)
	require.Eventually(t, func() bool { return r.Stats().PacketsSent == 10 }, 5*time.Second, time.Millisecond)
	p.Stall()
	feed(r, c.file.Packets[10:half], false, 0) // far more than the socket buffers hold
	require.Eventually(t, func() bool { return r.Stats().State == StateReconnecting }, 10*time.Second, 5*time.Millisecond,
		"a server that stops reading must be noticed: %+v", r.Stats())
	st := r.Stats()
	require.ErrorIs(t, st.LastError, ErrConnectionLost)
	require.Contains(t, st.LastError.Error(), "timeout")
	t.Log("reason:", st.LastError)

	require.Eventually(t, func() bool { return clock.Waiters() == 1 }, 5*time.Second, time.Millisecond)
	clock.Advance(time.Minute)
	require.Eventually(t, func() bool { return r.Stats().State == StateLive }, 10*time.Second, 5*time.Millisecond)
	t.Logf("live again: %+v", r.Stats())
	feed(r, c.file.Packets[half:], false, 0)
	t.Logf("fed: %+v", r.Stats())
	r.Close()
	st = r.Stats()
	require.Equal(t, 1, st.Reconnects)
	require.NoError(t, r.Err())
	t.Logf("after: sent %d packets, dropped %d video %d audio", st.PacketsSent, st.DroppedVideo, st.DroppedAudio)
	require.Greater(t, st.PacketsSent, int64(len(c.file.Packets)-half))
}

// TestCloseWhileStalled: Close on a link that stopped carrying anything
// gives up FlushTimeout and a second after it was called, on the stage's
// clock, although no write times out.
func TestCloseWhileStalled(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 320, Height: 240, FPS: 25, Duration: 2 * time.Second, Bitrate: "800k"})
	r, p, clock := stallable(t, c)
	r.WriteTimeout = time.Hour
	require.NoError(t, r.Initialize())
	p.Stall()
	feed(r, c.file.Packets, false, 0) // far more than the socket buffers hold

	closed := make(chan struct{})
	go func() { defer close(closed); r.Close() }()
	// The only wait on the clock: the grace Close gives the stuck writes.
	require.Eventually(t, func() bool { return clock.Waiters() == 1 }, 5*time.Second, time.Millisecond)
	clock.Advance(r.FlushTimeout + time.Second)
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not give up on the stalled link")
	}
	st := r.Stats()
	require.Equal(t, StateClosed, st.State)
	require.Less(t, st.PacketsSent, int64(len(c.file.Packets)))
}
