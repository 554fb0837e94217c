package publisher

import (
	"crypto/rand"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

// syntheticVideo produces packets sized for the bitrate currently set, 25
// per second, keyframe every second, like an encoder honouring
// SetBitrate; with natural set, never more than that (content that needs
// few bits, like the test pattern, makes less than any target). The
// payload is random (nginx relays and records it without decoding).
type syntheticVideo struct {
	bitrate atomic.Int64
	natural int64
	sent    atomic.Int64
	newest  atomic.Int64 // DTS of the newest packet made, ns
}

func (s *syntheticVideo) run(out interface{ WritePacket(*media.Packet) }, d time.Duration, stop <-chan struct{}) {
	start := time.Now()
	for i := 0; ; i++ {
		pts := time.Duration(i) * 40 * time.Millisecond
		if pts >= d {
			return
		}
		// Frames are due on the wall clock: a late wake-up on a loaded
		// machine sends the ones it missed at once, keeping the rate.
		if wait := time.Until(start.Add(pts)); wait > 0 {
			select {
			case <-stop:
				return
			case <-time.After(wait): // pacing like a live encoder, not synchronisation
			}
		} else {
			select {
			case <-stop:
				return
			default:
			}
		}
		rate := s.bitrate.Load()
		if s.natural > 0 {
			rate = min(rate, s.natural)
		}
		size := int(rate / 8 / 25)
		data := make([]byte, 4+size)
		_, _ = rand.Read(data[4:])
		data[0], data[1], data[2], data[3] = byte(size>>24), byte(size>>16), byte(size>>8), byte(size)
		data[4] = 0x41 // non-IDR slice NAL header
		key := i%25 == 0
		if key {
			data[4] = 0x65
		}
		out.WritePacket(&media.Packet{Codec: media.CodecH264, Data: data, PTS: pts, DTS: pts, Keyframe: key})
		s.sent.Add(int64(len(data)))
		s.newest.Store(int64(pts))
	}
}

// TestBitrateControllerThrottledLink: a 1.5 Mbit/s stream through a link
// throttled to 600 kbit/s makes the bitrate go down; lifting the limit
// brings it back up to the user's setting.
func TestBitrateControllerThrottledLink(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, Duration: 200 * time.Millisecond, NoAudio: true})
	n := peers.StartNginxRTMP(t)
	link := peers.StartProxy(t, n.Addr(), peers.ProxyOptions{Rate: 600_000})

	r := newRTMP(t, "rtmp://"+link.Addr()+"/live/abr", c)
	r.SendBuffer = 16 << 10
	r.QueueDuration = 3 * time.Second
	require.NoError(t, r.Initialize())
	defer r.Close()

	src := &syntheticVideo{}
	const user = 1_500_000
	src.bitrate.Store(user)
	bc := &BitrateController{
		Stats: r.Stats, SetBitrate: func(b int) { src.bitrate.Store(int64(b)) }, Max: user,
		Interval: 250 * time.Millisecond, UpAfter: time.Second, UpEvery: 250 * time.Millisecond, StepUp: 1.3,
		Logger: testLogger(t),
	}
	require.NoError(t, bc.Initialize())
	defer bc.Close()

	stop := make(chan struct{})
	fed := make(chan struct{})
	go func() { defer close(fed); src.run(r, time.Minute, stop) }()
	defer func() { close(stop); <-fed }()

	require.Eventually(t, func() bool { return bc.BitrateStats().Current <= 600_000 }, 15*time.Second, 50*time.Millisecond,
		"bitrate did not go down on a 600 kbit/s link: %+v %+v", bc.BitrateStats(), r.Stats())
	down := bc.BitrateStats()
	t.Logf("throttled: %+v, destination %+v", down, r.Stats())
	require.GreaterOrEqual(t, down.Current, bc.Min)

	link.SetRate(0)
	require.Eventually(t, func() bool { return bc.BitrateStats().Current == user }, 20*time.Second, 50*time.Millisecond,
		"bitrate did not come back up: %+v %+v", bc.BitrateStats(), r.Stats())
	up := bc.BitrateStats()
	t.Logf("lifted: %+v, destination %+v", up, r.Stats())
	require.Positive(t, up.Increases)
	require.Equal(t, StateLive, r.Stats().State)
}
