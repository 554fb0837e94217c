package publisher

import (
	"crypto/rand"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

// throttle is a TCP proxy whose client→server direction is limited to
// Rate bytes per second (0: unlimited), with small socket buffers so that
// back-pressure reaches the client quickly.
type throttle struct {
	ln    net.Listener
	rate  atomic.Int64
	wg    sync.WaitGroup
	mu    sync.Mutex
	conns []net.Conn
}

func newThrottle(t *testing.T, upstream string) *throttle {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &throttle{ln: ln}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*net.TCPConn).SetReadBuffer(32 << 10) // smaller windows stall on delayed ACKs
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
			go func() { defer p.wg.Done(); p.pump(up, c); up.Close() }()
		}
	}()
	t.Cleanup(p.Close)
	return p
}

// pump copies src to dst at the current rate: a token bucket on the
// total since the last rate change, so late wake-ups on a loaded machine
// do not slow the link down; idle time earns at most 100 ms of credit.
func (p *throttle) pump(dst io.Writer, src io.Reader) {
	buf := make([]byte, 64<<10)
	start := time.Now()
	var sent int64
	lastRate := p.rate.Load()
	for {
		rate := p.rate.Load()
		if rate != lastRate {
			start, sent, lastRate = time.Now(), 0, rate
		}
		n := len(buf)
		if rate > 0 {
			n = int(max(1, rate/100))
		}
		m, err := src.Read(buf[:n])
		if m > 0 {
			if _, werr := dst.Write(buf[:m]); werr != nil {
				return
			}
			sent += int64(m)
		}
		if err != nil {
			return
		}
		if rate > 0 {
			due := start.Add(time.Duration(float64(sent) / float64(rate) * float64(time.Second)))
			if d := time.Until(due); d > 5*time.Millisecond {
				time.Sleep(d) // pacing the link, not synchronising the test
			} else if d < -100*time.Millisecond {
				start = start.Add(-d - 100*time.Millisecond)
			}
		}
	}
}

func (p *throttle) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// syntheticVideo produces packets sized for the bitrate currently set, 25
// per second, keyframe every second, like an encoder honouring
// SetBitrate. The payload is random (nginx relays and records it without
// decoding).
type syntheticVideo struct {
	bitrate atomic.Int64
	sent    atomic.Int64
}

func (s *syntheticVideo) run(out interface{ WritePacket(*media.Packet) }, d time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(40 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		pts := time.Duration(i) * 40 * time.Millisecond
		if pts >= d {
			return
		}
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		size := int(s.bitrate.Load() / 8 / 25)
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
	}
}

// TestBitrateControllerThrottledLink: a 1.5 Mbit/s stream through a link
// throttled to 600 kbit/s makes the bitrate go down; lifting the limit
// brings it back up to the user's setting.
func TestBitrateControllerThrottledLink(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, Duration: 200 * time.Millisecond, NoAudio: true})
	n := peers.StartNginxRTMP(t)
	link := newThrottle(t, n.Addr())
	link.rate.Store(600_000 / 8)

	r := newRTMP(t, "rtmp://"+link.ln.Addr().String()+"/live/abr", c)
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

	link.rate.Store(0)
	require.Eventually(t, func() bool { return bc.BitrateStats().Current == user }, 20*time.Second, 50*time.Millisecond,
		"bitrate did not come back up: %+v %+v", bc.BitrateStats(), r.Stats())
	up := bc.BitrateStats()
	t.Logf("lifted: %+v, destination %+v", up, r.Stats())
	require.Positive(t, up.Increases)
	require.Equal(t, StateLive, r.Stats().State)
}
