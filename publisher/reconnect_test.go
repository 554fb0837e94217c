package publisher

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

func TestReconnectPolicyDelay(t *testing.T) {
	p := ReconnectPolicy{Rand: func() float64 { return 0.5 }} // no jitter
	want := []time.Duration{2 * time.Second, 3 * time.Second, 4500 * time.Millisecond, 6750 * time.Millisecond}
	for i, w := range want {
		require.Equal(t, w, p.Delay(i+1), "attempt %d", i+1)
	}
	require.Equal(t, 60*time.Second, p.Delay(30), "capped")
	lo := ReconnectPolicy{Rand: func() float64 { return 0 }}
	hi := ReconnectPolicy{Rand: func() float64 { return 0.999999 }}
	require.Equal(t, 1800*time.Millisecond, lo.Delay(1), "-10% jitter")
	require.InDelta(t, float64(2200*time.Millisecond), float64(hi.Delay(1)), float64(time.Millisecond), "+10% jitter")
	require.Equal(t, 60*time.Second, hi.Delay(30), "jitter never exceeds the cap")
}

// TestReconnectNginxRestart stops nginx mid-stream, keeps feeding while it
// is down, starts it again and checks that the stream comes back by itself
// at a keyframe, with the recording continuing after the gap. Backoff
// waits run on a fake clock.
func TestReconnectNginxRestart(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, FPS: 25, GOP: 12, Duration: 3 * time.Second})
	n := peers.StartNginxRTMP(t, peers.NginxOptions{RecordAppend: true})
	clock := newFakeClock()
	r := newRTMP(t, n.URL("cam"), c)
	r.Clock = clock
	r.Reconnect = &ReconnectPolicy{Rand: func() float64 { return 0.5 }}
	require.NoError(t, r.Initialize())
	defer r.Close()

	var first, during, after []*media.Packet
	for _, p := range c.file.Packets {
		switch {
		case p.DTS < time.Second:
			first = append(first, p)
		case p.DTS < 2*time.Second:
			during = append(during, p)
		default:
			after = append(after, p)
		}
	}
	feed(r, first, true, 0)
	require.Eventually(t, func() bool { return r.Stats().QueueLen == 0 }, 5*time.Second, 10*time.Millisecond)
	n.Stop()
	require.Eventually(t, func() bool { return r.Stats().State == StateReconnecting }, 10*time.Second, 10*time.Millisecond,
		"a stopped server must be noticed")
	st := r.Stats()
	require.Error(t, st.LastError)
	t.Log("lost: ", st.LastError)
	require.Eventually(t, func() bool { return clock.Waiters() == 1 }, 5*time.Second, time.Millisecond)
	require.Equal(t, clock.Now().Add(2*time.Second), r.Stats().NextAttempt, "first wait is 2 s")

	// An attempt while nginx is down fails and backs off ×1.5.
	clock.Advance(2 * time.Second)
	require.Eventually(t, func() bool { return r.Stats().Attempts == 1 && clock.Waiters() == 1 }, 10*time.Second, time.Millisecond)
	require.ErrorIs(t, r.Stats().LastError, ErrUnreachable)
	require.Equal(t, clock.Now().Add(3*time.Second), r.Stats().NextAttempt)

	feed(r, during, true, 0) // kept while away (5 s budget)
	n.Start()
	r.ReconnectNow()
	require.Eventually(t, func() bool { return r.Stats().State == StateLive }, 10*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, r.Stats().Reconnects)
	feed(r, after, true, 0)
	r.Close()
	n.WaitUnpublished("cam", 10*time.Second)
	n.Stop()

	st = r.Stats()
	t.Logf("stats after: %+v", st)
	info := peers.FFprobe(t, n.RecordPath("cam"))
	v, ok := info.Video()
	require.True(t, ok)
	pk := peers.ProbePackets(t, n.RecordPath("cam"))
	var last float64
	var frames int
	for _, p := range pk {
		if p.CodecType == "video" {
			frames++
			last = max(last, p.PTS)
		}
	}
	t.Logf("recorded %d video frames (%d decoded), last PTS %.2f s of a %d-frame clip", frames, v.Frames(), last, c.frames)
	// The recording goes on after the gap: every frame that was not
	// dropped to resume at a keyframe made it (a few may have been in
	// flight when nginx went down), and the last part is there.
	require.LessOrEqual(t, st.DroppedVideo, 12, "at most one GOP dropped to resume at a keyframe")
	require.GreaterOrEqual(t, frames, c.frames-st.DroppedVideo-3, "frames lost across the restart")
	require.Equal(t, frames, v.Frames(), "every recorded frame decodes")
	require.InDelta(t, c.src.Duration.Seconds(), last, 0.2, "the stream ran to its end after the restart")
}
