package publisher

import (
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rtmp "github.com/yutopp/go-rtmp"
	"go.uber.org/goleak"

	"golive/internal/peers"
	"golive/media"
)

// stallHandler accepts the publish, then stops reading at the first video
// message until release is closed: the TCP window fills up.
type stallHandler struct {
	rtmp.DefaultHandler
	release chan struct{}
}

func (h *stallHandler) OnVideo(uint32, io.Reader) error {
	<-h.release
	return io.EOF
}

// TestMultiOneDeadDestination streams to nginx, ffmpeg -listen, a refused
// address and a server that stalls: the first two receive complete
// streams; the stalled one loses its connection without holding up the
// others.
func TestMultiOneDeadDestination(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 320, Height: 240, FPS: 25, Duration: 3 * time.Second})
	n := peers.StartNginxRTMP(t)
	l := peers.StartFFmpegListen(t, filepath.Join(t.TempDir(), "out.flv"))
	refused := "rtmp://" + closedAddr(t) + "/live/x"
	release := make(chan struct{})
	stalled, stop := startGoRTMPServer(t, func() rtmp.Handler { return &stallHandler{release: release} }, 4096)
	defer stop()
	defer close(release)

	m := &Multi{}
	for _, u := range []string{n.URL("multi"), l.URL(), refused, "rtmp://" + stalled + "/live/x"} {
		r := newRTMP(t, u, c)
		r.WriteTimeout = 500 * time.Millisecond
		r.SendBuffer = 16 << 10
		m.Destinations = append(m.Destinations, r)
	}
	require.NoError(t, m.Initialize())
	errs := m.Errors()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.ErrorIs(t, errs[2], ErrUnreachable)
	require.NoError(t, errs[3])

	start := time.Now()
	feed(m, c.file.Packets, true, 0)
	require.Less(t, time.Since(start), c.src.Duration+time.Second, "feeding was held up")
	// The stalled destination's socket buffers are small next to 3 s of
	// video; its writes time out.
	m.Close()
	n.WaitUnpublished("multi", 10*time.Second)
	l.Wait(20 * time.Second)
	checkReceived(t, n.RecordPath("multi"), c)
	checkReceived(t, l.Output(), c)
	st := m.Stats()
	require.Equal(t, StateClosed, st[0].State)
	require.Zero(t, st[0].DroppedVideo)
	require.Zero(t, st[1].DroppedVideo)
	require.Equal(t, StateFailed, st[2].State)
	t.Logf("stalled destination: %+v", st[3])
	require.Equal(t, StateFailed, st[3].State, "the stalled destination must give up its connection")
	require.ErrorIs(t, st[3].LastError, ErrConnectionLost)
	<-m.Done()
}

// TestMultiLateDestinationJoins streams to two nginx servers, one of them
// stopped at Initialize: Multi starts with the other, the stopped one
// keeps trying with its backoff (on a fake clock) and shows it in Stats,
// and once started it receives the stream from a keyframe. A refused
// destination is not retried.
func TestMultiLateDestinationJoins(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, FPS: 25, GOP: 12, Duration: 3 * time.Second})
	up := peers.StartNginxRTMP(t)
	down := peers.StartNginxRTMP(t)
	down.Stop()

	clock := newFakeClock()
	m := &Multi{}
	// The third destination is refused (unknown application): a wrong
	// URL does not fix itself.
	for _, u := range []string{up.URL("a"), down.URL("b"), up.AppURL("nosuchapp", "c")} {
		r := newRTMP(t, u, c)
		r.Clock = clock
		// Little media kept while away, so that the late destination
		// starts at a keyframe after dropped GOPs.
		r.Reconnect = &ReconnectPolicy{Rand: func() float64 { return 0.5 }, Buffer: 500 * time.Millisecond}
		m.Destinations = append(m.Destinations, r)
	}
	require.NoError(t, m.Initialize())
	defer m.Close()
	late := m.Destinations[1]
	errs := m.Errors()
	require.NoError(t, errs[0])
	require.ErrorIs(t, errs[1], ErrUnreachable)
	require.ErrorIs(t, errs[2], ErrRefused)
	st := m.Stats()
	require.Equal(t, StateLive, st[0].State)
	require.Equal(t, StateReconnecting, st[1].State, "an unreachable destination keeps trying")
	require.ErrorIs(t, st[1].LastError, ErrUnreachable)
	require.Equal(t, StateFailed, st[2].State, "a refused destination is left out")

	require.Eventually(t, func() bool { return clock.Waiters() == 1 }, 5*time.Second, time.Millisecond)
	require.Equal(t, clock.Now().Add(2*time.Second), late.Stats().NextAttempt, "first wait is 2 s")
	clock.Advance(2 * time.Second)
	require.Eventually(t, func() bool { return late.Stats().Attempts == 1 && clock.Waiters() == 1 }, 10*time.Second, time.Millisecond)
	require.ErrorIs(t, late.Stats().LastError, ErrUnreachable)
	require.Equal(t, clock.Now().Add(3*time.Second), late.Stats().NextAttempt, "backoff ×1.5")

	var before, after []*media.Packet
	for _, p := range c.file.Packets {
		if p.DTS < time.Second {
			before = append(before, p)
		} else {
			after = append(after, p)
		}
	}
	feed(m, before, true, 0)
	require.Equal(t, StateReconnecting, late.Stats().State)
	require.LessOrEqual(t, late.Stats().QueueDelay, 500*time.Millisecond, "the away buffer is bounded")
	down.Start()
	clock.Advance(3 * time.Second)
	require.Eventually(t, func() bool { return late.Stats().State == StateLive }, 10*time.Second, 10*time.Millisecond)
	st = m.Stats()
	require.Zero(t, st[1].Reconnects, "joining is not a reconnection")
	require.Zero(t, st[1].Attempts)
	require.True(t, st[1].NextAttempt.IsZero())
	feed(m, after, true, 0)
	m.Close()
	up.WaitUnpublished("a", 10*time.Second)
	down.WaitUnpublished("b", 10*time.Second)
	<-m.Done()

	checkReceived(t, up.RecordPath("a"), c)
	st = m.Stats()
	t.Logf("late destination: %+v", st[1])
	require.Equal(t, StateClosed, st[1].State)
	require.Positive(t, st[1].DroppedVideo, "GOPs older than the away buffer were dropped")
	info := peers.FFprobe(t, down.RecordPath("b"))
	require.Empty(t, strings.TrimSpace(info.Stderr), "decode errors")
	v, ok := info.Video()
	require.True(t, ok, "no video from the late destination")
	pk := peers.ProbePackets(t, down.RecordPath("b"))
	var frames int
	var firstVideo *peers.ProbePacket
	for i, p := range pk {
		if p.CodecType == "video" {
			if firstVideo == nil {
				firstVideo = &pk[i]
			}
			frames++
		}
	}
	require.NotNil(t, firstVideo)
	require.True(t, firstVideo.Keyframe, "the late destination's stream starts at a keyframe")
	require.Equal(t, frames, v.Frames(), "every recorded frame decodes")
	var afterFrames int
	for _, p := range after {
		if p.Codec.IsVideo() {
			afterFrames++
		}
	}
	t.Logf("late destination recorded %d video frames; %d were fed after it joined, %d in the clip", frames, afterFrames, c.frames)
	require.GreaterOrEqual(t, frames, afterFrames, "everything fed after the join arrived")
	require.Less(t, frames, c.frames, "media older than the away buffer was not sent")
}

// TestMultiRetryingDestinationsClose: with a Reconnect policy, destinations
// that were unreachable or timed out at Initialize keep trying; without
// one they are left out. Close stops the retries and leaks nothing.
func TestMultiRetryingDestinationsClose(t *testing.T) {
	c := makeClip(t, peers.TestSource{Duration: 200 * time.Millisecond, NoAudio: true})
	cases := []struct {
		name      string
		reconnect bool
		want      RTMPState
	}{
		{"with reconnect", true, StateReconnecting},
		{"without reconnect", false, StateFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			good, stopGood := startGoRTMPServer(t, func() rtmp.Handler { return &rtmp.DefaultHandler{} })
			defer stopGood()
			silent, stopSilent := badServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
			defer stopSilent()
			closed := closedAddr(t)
			clock := newFakeClock()
			m := &Multi{}
			for _, a := range []string{good, closed, silent} {
				r := newRTMP(t, "rtmp://"+a+"/live/key", c)
				r.Clock = clock
				r.ConnectTimeout = 300 * time.Millisecond
				if tc.reconnect {
					r.Reconnect = DefaultReconnect()
				}
				m.Destinations = append(m.Destinations, r)
			}
			require.NoError(t, m.Initialize())
			errs := m.Errors()
			require.ErrorIs(t, errs[1], ErrUnreachable)
			require.ErrorIs(t, errs[2], ErrTimeout)
			st := m.Stats()
			require.Equal(t, StateLive, st[0].State)
			require.Equal(t, tc.want, st[1].State)
			require.Equal(t, tc.want, st[2].State)
			feed(m, c.file.Packets, false, 0) // queued while away; ignored when left out
			if tc.reconnect {
				require.Eventually(t, func() bool { return clock.Waiters() == 2 }, 5*time.Second, time.Millisecond)
				require.Positive(t, m.Stats()[1].QueueLen, "a retrying destination queues")
			} else {
				require.Zero(t, m.Stats()[1].QueueLen)
			}
			start := time.Now()
			m.Close()
			require.Less(t, time.Since(start), 5*time.Second)
			select {
			case <-m.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("Multi.Done not closed after Close")
			}
			st = m.Stats()
			require.Equal(t, StateClosed, st[0].State)
			if tc.reconnect {
				require.Equal(t, StateClosed, st[1].State)
				require.Equal(t, StateClosed, st[2].State)
				require.NoError(t, m.Destinations[1].Err(), "closed while retrying is a plain close")
			} else {
				require.Equal(t, StateFailed, st[1].State)
				require.ErrorIs(t, m.Destinations[1].Err(), ErrUnreachable)
			}
		})
	}
}
