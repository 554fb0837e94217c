package capture

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/media"
)

// goertzel returns the power of frequency f in x (normalised by length).
func goertzel(x []float64, f float64, rate int) float64 {
	w := 2 * math.Pi * f / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s1, s2 = v+c*s1-s2, s1
	}
	p := s1*s1 + s2*s2 - c*s1*s2
	return p / float64(len(x)*len(x))
}

func newTone(t *testing.T, tone *Tone) *Tone {
	t.Helper()
	if tone.Clock == nil {
		tone.Clock = &ManualClock{}
	}
	if tone.Ticker == nil {
		tone.Ticker = NewManualTicker().Factory()
	}
	require.NoError(t, tone.Initialize())
	t.Cleanup(tone.Close)
	return tone
}

func TestToneSignal(t *testing.T) {
	cases := []struct {
		rate, ch int
		freq     float64
		period   time.Duration
	}{
		{48000, 2, 1000, 20 * time.Millisecond},
		{48000, 1, 440, 10 * time.Millisecond},
		{44100, 2, 1000, 20 * time.Millisecond},
	}
	for _, c := range cases {
		tone := newTone(t, &Tone{SampleRate: c.rate, Channels: c.ch, Frequency: c.freq, Period: c.period})
		spb := int(int64(c.period) * int64(c.rate) / int64(time.Second))
		blocks := int(time.Second / c.period)
		var left []float64
		var peak int16
		for k := range blocks {
			b := tone.Block(int64(k))
			require.NoError(t, b.Validate())
			require.Equal(t, spb, b.NumSamples(), "block %d sample count", k)
			require.Equal(t, time.Duration(k)*c.period, b.PTS, "block %d PTS", k)
			for i := 0; i < b.NumSamples(); i++ {
				for ch := 1; ch < c.ch; ch++ {
					require.Equal(t, b.Samples[i*c.ch], b.Samples[i*c.ch+ch])
				}
				v := b.Samples[i*c.ch]
				peak = max(peak, v)
				left = append(left, float64(v))
			}
		}
		require.Len(t, left, c.rate, "one second of samples, exactly")
		// Zero crossings (upward) over one second: one per cycle.
		up := 0
		for i := 1; i < len(left); i++ {
			if left[i-1] < 0 && left[i] >= 0 {
				up++
			}
		}
		require.InDelta(t, c.freq, float64(up), 1, "upward zero crossings in 1 s")
		// Goertzel: the energy is at the tone, not a semitone away.
		on := goertzel(left, c.freq, c.rate)
		off := goertzel(left, c.freq*1.06, c.rate)
		require.Greater(t, on, 1000*off, "tone energy at %g Hz", c.freq)
		require.InDelta(t, 0.25*math.MaxInt16, float64(peak), 0.01*math.MaxInt16, "peak is -12 dBFS")
	}
}

func TestTonePhaseContinuousOverHours(t *testing.T) {
	tone := newTone(t, &Tone{})
	// Block boundaries after 10 hours still continue the sine exactly.
	k := int64(10 * time.Hour / (20 * time.Millisecond))
	a, b := tone.Block(k), tone.Block(k+1)
	require.Equal(t, 10*time.Hour, a.PTS)
	// 1 kHz at 48 kHz repeats every 48 samples: block k+1 (960 samples on)
	// starts exactly like block k.
	require.Equal(t, a.Samples[:96], b.Samples[:96])
	require.Equal(t, tone.Block(0).Samples, a.Samples)
}

func TestTonePacing(t *testing.T) {
	leakCheck(t)
	clock, tick := &ManualClock{}, NewManualTicker()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	tone := newTone(t, &Tone{Clock: clock, Ticker: tick.Factory(), Buffer: 100, MaxCatchUp: 5})
	step := func(d time.Duration) {
		clock.Set(d)
		require.True(t, tick.Tick(done))
		require.True(t, tick.Tick(done))
	}
	recv := func() *media.AudioFrame {
		select {
		case b := <-tone.Samples():
			return b
		case <-time.After(10 * time.Second):
			t.Fatal("no block within 10 s")
			return nil
		}
	}
	step(19 * time.Millisecond) // block 0 not complete yet
	require.Len(t, tone.Samples(), 0)
	step(20 * time.Millisecond)
	require.Equal(t, time.Duration(0), recv().PTS)
	step(95 * time.Millisecond) // blocks 1, 2, 3 complete (3 ends at 80 ms)
	for k := 1; k <= 3; k++ {
		require.Equal(t, time.Duration(k)*20*time.Millisecond, recv().PTS)
	}
	require.Len(t, tone.Samples(), 0)
	// A stall of one second: only the last MaxCatchUp blocks come out.
	step(1095 * time.Millisecond) // blocks 4..53 complete; 4..48 skipped
	for k := 49; k <= 53; k++ {
		require.Equal(t, time.Duration(k)*20*time.Millisecond, recv().PTS)
	}
	s := tone.Stats()
	require.Equal(t, uint64(9), s.Sent)
	require.Equal(t, uint64(45), s.Skipped)
	require.Equal(t, 1060*time.Millisecond, s.LastPTS)
	tone.Close()
	for range tone.Samples() {
	}
}

func TestToneSlowConsumer(t *testing.T) {
	leakCheck(t)
	clock, tick := &ManualClock{}, NewManualTicker()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	tone := newTone(t, &Tone{Clock: clock, Ticker: tick.Factory(), Buffer: 4})
	for ms := 20; ms <= 200; ms += 20 {
		clock.Set(time.Duration(ms) * time.Millisecond)
		require.True(t, tick.Tick(done))
		require.True(t, tick.Tick(done))
	}
	s := tone.Stats()
	require.Equal(t, uint64(4), s.Sent)
	require.Equal(t, uint64(6), s.Dropped)
	require.Equal(t, time.Duration(0), (<-tone.Samples()).PTS) // oldest kept
}

func TestToneBadConfig(t *testing.T) {
	for _, tone := range []*Tone{
		{SampleRate: 1000}, {Channels: 9}, {Channels: -1}, {Frequency: 30000},
		{Frequency: -5}, {Amplitude: 1.5}, {Amplitude: -0.1},
		{Period: 7 * time.Microsecond}, {Period: 2 * time.Second}, {SampleRate: 44100, Period: 1001 * time.Microsecond},
	} {
		require.ErrorIs(t, tone.Initialize(), ErrBadConfig, "%d Hz %d ch %g Hz %g %v", tone.SampleRate, tone.Channels, tone.Frequency, tone.Amplitude, tone.Period)
		tone.Close()
	}
}

func TestAVAlignedOnOneClock(t *testing.T) {
	leakCheck(t)
	// Video and audio started at different moments on one clock agree on
	// what time it is: frame n and the block containing it share the grid.
	clock := &ManualClock{}
	clock.Set(777 * time.Millisecond)
	vt, at := NewManualTicker(), NewManualTicker()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	v := &TestPattern{Width: 64, Height: 48, FPS: 30, Clock: clock, Ticker: vt.Factory()}
	require.NoError(t, v.Initialize())
	t.Cleanup(v.Close)
	clock.Set(1 * time.Second)
	tone := newTone(t, &Tone{Clock: clock, Ticker: at.Factory(), Buffer: 64})
	clock.Set(2 * time.Second)
	require.True(t, vt.Tick(done))
	require.True(t, at.Tick(done))
	require.True(t, at.Tick(done))
	require.Equal(t, 2*time.Second, (<-v.Frames()).PTS)
	// The tone started at 1 s; blocks from 1 s to 2 s are complete, the
	// newest MaxCatchUp of them come out, the last ending at 2 s.
	var last *media.AudioFrame
	for len(tone.Samples()) > 0 {
		last = <-tone.Samples()
	}
	require.NotNil(t, last)
	require.Equal(t, 2*time.Second, last.PTS+last.Duration())
}
