package publisher

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/internal/tcpstat"
)

// linkContents are the two kinds of content the link tests send: one that
// makes far less than its setting (like the test pattern: ~270 kbit/s at a
// 1500k ceiling), one that needs every bit (noise).
var linkContents = []struct {
	name             string
	natural, setting int // bits/s the content makes at most; the user's bitrate
}{
	{"low bitrate like the test pattern", 270_000, 1_500_000},
	{"high bitrate noisy content", 1_500_000, 1_500_000},
}

// linkProxy is nginx-rtmp behind a link carrying rate bits/s whose
// receive window is as small as works (the proxy acknowledges what it
// buffers, which the publisher cannot see past; a real router does not).
// nginx drops a publisher idle for 3 s, so that one whose link died can
// publish again.
func linkProxy(t *testing.T, rate int, opts peers.ProxyOptions) (*peers.Nginx, *peers.Proxy) {
	n := peers.StartNginxRTMP(t, peers.NginxOptions{DropIdlePublisher: 3 * time.Second})
	opts.Rate = rate
	opts.ReadBuffer = linkWindow
	return n, peers.StartProxy(t, n.Addr(), opts)
}

// linkWindow is the proxy's receive buffer in the link tests.
const linkWindow = 4 << 10

// windowTime is how much media time the proxy's window holds at rate:
// what the server may lag beyond what the publisher can know (Linux
// doubles the buffer it is given).
func windowTime(rate int) time.Duration {
	return time.Duration(float64(2*linkWindow*8) / float64(rate) * float64(time.Second))
}

// linkRun is a destination publishing synthetic content to nginx-rtmp
// through a link (see linkProxy).
type linkRun struct {
	n     *peers.Nginx
	link  *peers.Proxy
	r     *RTMP
	src   *syntheticVideo
	start time.Time // when the source began
	stop  func()    // stops the source; idempotent
}

// startLinkRun publishes lc's content at its setting as key through a link
// of rate bits/s (0: unlimited); configure adjusts the destination before
// Initialize. Test cleanup stops the source, then closes the destination.
func startLinkRun(t *testing.T, c clip, natural, setting, rate int, opts peers.ProxyOptions, key string, configure func(*RTMP)) *linkRun {
	lr := &linkRun{}
	lr.n, lr.link = linkProxy(t, rate, opts)
	lr.r = newRTMP(t, "rtmp://"+lr.link.Addr()+"/live/"+key, c)
	if configure != nil {
		configure(lr.r)
	}
	require.NoError(t, lr.r.Initialize())
	t.Cleanup(lr.r.Close)
	lr.src = &syntheticVideo{natural: int64(natural)}
	lr.src.bitrate.Store(int64(setting))
	stop, fed := make(chan struct{}), make(chan struct{})
	lr.start = time.Now()
	go func() { defer close(fed); lr.src.run(lr.r, time.Minute, stop) }()
	var once sync.Once
	lr.stop = func() { once.Do(func() { close(stop); <-fed }) }
	t.Cleanup(lr.stop)
	return lr
}

// serverLag is how far behind the stream the server's recording is: the
// newest media made minus the newest media recorded; and how far behind
// real time: the time since the first frame was made minus the media time
// recorded (which also counts a source that fell behind on a loaded
// machine).
func serverLag(t *testing.T, n *peers.Nginx, key string, src *syntheticVideo, start time.Time) (stream, wall time.Duration, p peers.FLVProgress) {
	p, err := peers.ReadFLVProgress(n.RecordPath(key))
	require.NoError(t, err)
	return time.Duration(src.newest.Load()) - p.Last, time.Since(start) - p.Last, p
}

// TestLinkTruthThrottled: through a link at 60 % of what the content makes,
// at a fixed bitrate, the server falls behind; the destination must say
// so, checked against what nginx recorded: what it says the server has
// acknowledged (the newest media minus its queue delay) is on the server's
// recording as soon as the proxy's window has drained (it never claims
// more than the server got), it is congested whenever the recording is
// more than 1.5 s behind the stream, and its link rate is what the link
// carries, not what the encoder makes.
func TestLinkTruthThrottled(t *testing.T) {
	if !tcpstat.Supported() {
		t.Skip("the kernel does not report acknowledgements here")
	}
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, Duration: 200 * time.Millisecond, NoAudio: true})
	for _, lc := range linkContents {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			rate := lc.natural * 6 / 10
			lr := startLinkRun(t, c, lc.natural, lc.setting, rate, peers.ProxyOptions{}, "truth", nil)
			n, link, r, src, start := lr.n, lr.link, lr.r, lr.src, lr.start

			const every = 250 * time.Millisecond
			// Ticks for the proxy's window to reach the server, plus a second
			// for nginx and the proxy — processes of their own — to write it
			// on a loaded machine (the kernel buffers this test is about hold
			// tens of seconds).
			drain := int((windowTime(rate)+time.Second)/every) + 1
			var claims []time.Duration // media the destination said the server acknowledged, per tick
			var congestedAt time.Duration
			for tick := time.NewTicker(every); time.Since(start) < 12*time.Second; <-tick.C {
				st := r.Stats()
				newest := time.Duration(src.newest.Load())
				lag, _, prog := serverLag(t, n, "truth", src, start)
				claims = append(claims, newest-st.QueueDelay)
				if i := len(claims) - 1 - drain; i >= 0 && claims[i] > 0 {
					require.GreaterOrEqual(t, prog.Last, claims[i]-80*time.Millisecond,
						"%v after the destination said the server had the stream up to %v, the server's recording ends at %v",
						time.Duration(drain)*every, claims[i], prog.Last)
				}
				if time.Since(start) < 3*time.Second {
					continue
				}
				require.Equal(t, StateLive, st.State)
				if lag > 1500*time.Millisecond {
					require.True(t, st.Congested, "the server is %v behind and the destination is not congested: %+v", lag, st)
				}
				if st.Congested && congestedAt == 0 {
					congestedAt = time.Since(start)
				}
			}
			lag, wall, prog := serverLag(t, n, "truth", src, start)
			st := r.Stats()
			t.Logf("after 12 s: server %v behind the stream (%v behind real time) with %d frames; destination: delay %v (kernel %v), congested since %v, link %d kbit/s (carried %d), input %d kbit/s, dropped %d",
				lag.Round(time.Millisecond), wall.Round(time.Millisecond), prog.Frames, st.QueueDelay.Round(time.Millisecond), st.KernelDelay.Round(time.Millisecond),
				congestedAt.Round(time.Millisecond), st.LinkBitrate/1000, link.Carried()/1000, st.InputBitrate/1000, st.DroppedVideo)
			require.True(t, st.Congested)
			require.NotZero(t, congestedAt)
			require.Greater(t, st.QueueDelay, time.Second, "the stream waits, and the destination says so")
			// What the kernel says the peer acknowledged is what the proxy
			// carried, but for what waits in its window (and what it
			// carried since the last sample, a tenth of a second ago).
			carried := link.Bytes()
			require.GreaterOrEqual(t, st.BytesAcked, carried-int64(rate/8/5))
			require.LessOrEqual(t, st.BytesAcked, carried+2*linkWindow+4096)
			require.Less(t, st.LinkBitrate, st.InputBitrate, "the link rate is what the link carries")
			require.Greater(t, st.InputBitrate, rate, "the input rate is what the source makes")
			require.Positive(t, st.DroppedVideo, "what the link cannot carry is dropped, whole frames")
		})
	}
}

// TestLinkAdapts: the same links with the bitrate controller on its
// defaults. Where the link carries more than the floor (an eighth of the
// setting), the target falls below the link rate within seconds, the
// server ends less than 2 s behind the stream and the destination is no
// longer congested. Where it does not (the test pattern's 270 kbit/s at a
// 1500k setting through 162 kbit/s: the floor is 187.5 kbit/s), the target
// stays at the floor, the destination stays congested and drops whole
// frames, and the server stays within the queue's bound of the stream.
func TestLinkAdapts(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, Duration: 200 * time.Millisecond, NoAudio: true})
	for _, lc := range linkContents {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			rate := lc.natural * 6 / 10
			lr := startLinkRun(t, c, lc.natural, lc.setting, rate, peers.ProxyOptions{}, "adapt", nil)
			n, r, src, start := lr.n, lr.r, lr.src, lr.start
			bc := &BitrateController{Stats: r.Stats, SetBitrate: func(b int) { src.bitrate.Store(int64(b)) }, Max: lc.setting,
				Logger: testLogger(t)}
			require.NoError(t, bc.Initialize())
			defer bc.Close()

			floor := bc.Floor()
			want := max(rate-1, floor)
			require.Eventually(t, func() bool { return bc.BitrateStats().Current <= want }, 10*time.Second, 50*time.Millisecond,
				"the target did not fall to %d kbit/s (link %d kbit/s, floor %d kbit/s)", want/1000, rate/1000, floor/1000)
			adapted := time.Since(start)
			for time.Since(start) < 20*time.Second {
				time.Sleep(100 * time.Millisecond) // real-time run
			}
			lag, wall, prog := serverLag(t, n, "adapt", src, start)
			st := r.Stats()
			t.Logf("target at %d kbit/s after %v (link %d, floor %d); after 20 s: server %v behind the stream (%v behind real time) with %d frames, destination delay %v, congested %v, link %d kbit/s, dropped %d",
				want/1000, adapted.Round(time.Millisecond), rate/1000, floor/1000, lag.Round(time.Millisecond), wall.Round(time.Millisecond),
				prog.Frames, st.QueueDelay.Round(time.Millisecond), st.Congested, st.LinkBitrate/1000, st.DroppedVideo)
			if rate > floor {
				require.Less(t, lag, 2*time.Second, "the server fell behind the stream")
				require.False(t, st.Congested, "%+v", st)
				return
			}
			require.Equal(t, floor, bc.BitrateStats().Current)
			require.True(t, st.Congested, "a link under the floor stays congested: %+v", st)
			require.Positive(t, st.DroppedVideo, "and drops whole frames")
			require.Less(t, lag, r.QueueDuration+windowTime(rate)+time.Second, "the queue bounds how far behind the server is")
		})
	}
}

// TestLinkStallAfterPublish: a link that lets the handshake and the
// publish through, then carries nothing: the destination shows
// reconnecting within 6 s of the last byte the link carried (5 s without
// acknowledgement, sampled every 100 ms), with the reason; until then its
// queue delay grows and it is congested; every new connection stalls the
// same way; after Close it says nothing reached the server.
func TestLinkStallAfterPublish(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, Duration: 200 * time.Millisecond, NoAudio: true})
	for _, lc := range linkContents {
		t.Run(lc.name, func(t *testing.T) {
			t.Parallel()
			const stallAfter = 8 << 10
			lr := startLinkRun(t, c, lc.natural, lc.setting, 0, peers.ProxyOptions{StallAfter: stallAfter}, "stall",
				func(r *RTMP) { r.Reconnect = &ReconnectPolicy{Initial: 500 * time.Millisecond} })
			n, link, r := lr.n, lr.link, lr.r

			require.Eventually(t, func() bool { return link.Bytes() == stallAfter }, 10*time.Second, time.Millisecond)
			stalled := time.Now()
			require.Eventually(t, func() bool { st := r.Stats(); return st.State == StateLive && st.Congested }, 6*time.Second, 10*time.Millisecond,
				"a link that carries nothing must show as congested before it is declared stalled: %+v", r.Stats())
			require.Eventually(t, func() bool { return r.Stats().State == StateReconnecting }, 10*time.Second, 10*time.Millisecond,
				"a stalled link must be noticed: %+v", r.Stats())
			noticed := time.Since(stalled)
			st := r.Stats()
			t.Logf("reconnecting %v after the link stopped; reason: %v", noticed.Round(time.Millisecond), st.LastError)
			require.ErrorIs(t, st.LastError, ErrStalled)
			require.ErrorIs(t, st.LastError, ErrConnectionLost)
			require.Contains(t, st.LastError.Error(), "acknowledged nothing for 5s")
			require.Less(t, noticed, 8*time.Second, "5 s without acknowledgement, sampled every 100 ms, on a loaded machine")

			// The next connection goes the same way.
			require.Eventually(t, func() bool { return link.Connections() >= 2 && r.Stats().State == StateLive }, 10*time.Second, 10*time.Millisecond)
			require.Eventually(t, func() bool { return r.Stats().Reconnects >= 1 && r.Stats().State == StateReconnecting }, 10*time.Second, 10*time.Millisecond)

			lr.stop()
			r.Close()
			st = r.Stats()
			prog, err := peers.ReadFLVProgress(n.RecordPath("stall"))
			require.NoError(t, err)
			t.Logf("closed: server recorded %d frames; destination: %d frames delivered, %d lost, %d undelivered at the end (%v), %d dropped",
				prog.Frames, st.FramesDelivered, st.FramesLost, st.FramesUndelivered, st.Undelivered.Round(time.Millisecond), st.DroppedVideo)
			frameBytes := lc.natural / 8 / 25
			require.Less(t, prog.Frames*frameBytes, stallAfter, "the link carried no more than the publish and what fits after it")
			require.Positive(t, st.FramesLost+st.FramesUndelivered+int64(st.DroppedVideo))
			require.Less(t, st.FramesDelivered, int64(25), "no more than the proxy's window can have been acknowledged")
		})
	}
}

// TestLinkTakenBackAfterStall: a link that stalls once, while live (the
// proxy's connections of the moment hang; new ones work): the destination
// reconnects and the server records the stream again.
func TestLinkTakenBackAfterStall(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, Duration: 200 * time.Millisecond, NoAudio: true})
	lr := startLinkRun(t, c, 0, 500_000, 0, peers.ProxyOptions{}, "back", func(r *RTMP) {
		r.Reconnect = &ReconnectPolicy{Initial: 200 * time.Millisecond}
		r.StallTimeout = 2 * time.Second
	})
	n, link, r := lr.n, lr.link, lr.r

	require.Eventually(t, func() bool { return r.Stats().FramesDelivered > 25 }, 10*time.Second, 10*time.Millisecond)
	link.Stall()
	require.Eventually(t, func() bool { return r.Stats().State == StateReconnecting }, 10*time.Second, 10*time.Millisecond)
	require.ErrorIs(t, r.Stats().LastError, ErrStalled)
	require.Contains(t, r.Stats().LastError.Error(), fmt.Sprint(r.StallTimeout))
	require.Eventually(t, func() bool { return r.Stats().State == StateLive }, 10*time.Second, 10*time.Millisecond)
	before := r.Stats().FramesDelivered
	require.Eventually(t, func() bool { return r.Stats().FramesDelivered > before+25 }, 10*time.Second, 10*time.Millisecond)
	require.Eventually(t, func() bool {
		p, err := peers.ReadFLVProgress(n.RecordPath("back"))
		return err == nil && p.Frames > 25 // nginx records the new publication afresh
	}, 10*time.Second, 50*time.Millisecond)
}

// TestLinkMultistreamNeverSlowsOthers: one source, two destinations on
// nginx-rtmp — one direct, one through a link that carries less than the
// floor, which later stalls. The slow one steers the bitrate down, is
// left behind once it stays congested at the floor, and the fast one gets
// its bitrate back; when the slow link stalls it reconnects and never
// steers. Throughout, the fast destination's server stays within a
// second of the stream.
func TestLinkMultistreamNeverSlowsOthers(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, Duration: 200 * time.Millisecond, NoAudio: true})
	n := peers.StartNginxRTMP(t, peers.NginxOptions{DropIdlePublisher: 3 * time.Second})
	fastLink := peers.StartProxy(t, n.Addr(), peers.ProxyOptions{ReadBuffer: linkWindow})
	slowLink := peers.StartProxy(t, n.Addr(), peers.ProxyOptions{Rate: 100_000, ReadBuffer: linkWindow})
	m := &Multi{}
	for _, u := range []string{"rtmp://" + fastLink.Addr() + "/live/fast", "rtmp://" + slowLink.Addr() + "/live/slow"} {
		r := newRTMP(t, u, c)
		r.Reconnect = &ReconnectPolicy{Initial: 500 * time.Millisecond}
		m.Destinations = append(m.Destinations, r)
	}
	require.NoError(t, m.Initialize())
	defer m.Close()
	const setting = 1_500_000
	src := &syntheticVideo{}
	src.bitrate.Store(setting)
	bc := &BitrateController{Destinations: m.Stats, SetBitrate: func(b int) { src.bitrate.Store(int64(b)) }, Max: setting,
		LeaveBehind: 3 * time.Second, UpAfter: time.Second, UpEvery: 250 * time.Millisecond, StepUp: 1.3, Logger: testLogger(t)}
	require.NoError(t, bc.Initialize())
	defer bc.Close()
	stop, fed := make(chan struct{}), make(chan struct{})
	go func() { defer close(fed); src.run(m, time.Minute, stop) }()
	defer func() { close(stop); <-fed }()

	// The fast server never falls behind, whatever the slow link does.
	var checks int
	fastKeepsUp := func() bool {
		p, err := peers.ReadFLVProgress(n.RecordPath("fast"))
		require.NoError(t, err)
		if p.Frames > 0 {
			lag := time.Duration(src.newest.Load()) - p.Last
			require.Less(t, lag, time.Second, "the fast destination's server fell behind: %+v", m.Stats()[0])
			checks++
		}
		return true
	}
	wait := func(what string, cond func() bool) {
		t.Helper()
		require.Eventually(t, func() bool { return fastKeepsUp() && cond() }, 30*time.Second, 100*time.Millisecond, "%s: %+v %+v", what, bc.BitrateStats(), m.Stats())
	}
	wait("the slow link steers down to the floor", func() bool { return bc.BitrateStats().Current == bc.Floor() })
	wait("it is left behind", func() bool { return slices.Equal(bc.BitrateStats().LeftBehind, []int{1}) })
	wait("the fast one gets its bitrate back", func() bool { return bc.BitrateStats().Current == setting })
	st := m.Stats()
	require.True(t, st[1].Congested, "%+v", st[1])
	require.Positive(t, st[1].DroppedVideo, "the slow one drops frames in its own queue")
	require.Zero(t, st[0].DroppedVideo, "the fast one drops nothing")

	slowLink.Stall()
	wait("the slow link stalls: reconnecting", func() bool { return m.Stats()[1].State == StateReconnecting })
	require.ErrorIs(t, m.Stats()[1].LastError, ErrStalled)
	for range 10 { // a second more: the fast one keeps its bitrate
		time.Sleep(100 * time.Millisecond) // real-time run
		fastKeepsUp()
	}
	require.Equal(t, setting, bc.BitrateStats().Current)
	require.Empty(t, bc.BitrateStats().LeftBehind, "a reconnecting destination is not left behind, it just does not steer")
	require.Zero(t, m.Stats()[0].DroppedVideo)
	t.Logf("fast destination checked %d times: %+v", checks, m.Stats()[0])
}
