package capture

import (
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/gen2brain/malgo"
	"github.com/stretchr/testify/require"

	"golive/media"
)

// fakeMic records what Microphone gave its opener.
type fakeMic struct {
	deliver func([]int16)
	lost    func(error)
	closed  chan struct{}
	once    sync.Once
}

func (f *fakeMic) Close() { f.once.Do(func() { close(f.closed) }) }

func recvBlock(t *testing.T, ch <-chan *media.AudioFrame) *media.AudioFrame {
	t.Helper()
	select {
	case b, ok := <-ch:
		require.True(t, ok, "samples channel closed")
		require.NoError(t, b.Validate())
		return b
	case <-time.After(10 * time.Second):
		t.Fatal("no audio block within 10 s")
		return nil
	}
}

// stereo returns n samples per channel: left at l, right at r.
func stereo(n int, l, r int16) []int16 {
	s := make([]int16, 2*n)
	for i := 0; i < n; i++ {
		s[2*i], s[2*i+1] = l, r
		if i%2 == 1 {
			s[2*i] = -l
		}
	}
	return s
}

func TestMicrophoneStampsLevelsLossAndReturn(t *testing.T) {
	leakCheck(t)
	clock, tick := &ManualClock{}, NewManualTicker()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	opened := make(chan *fakeMic, 4)
	attempt := 0
	mic := &Microphone{
		Clock: clock, Ticker: tick.Factory(), Logger: quietLog, Buffer: 64,
		RetryInterval: time.Second, StallTimeout: time.Second,
		Opener: func(rate, ch int, period time.Duration, deliver func([]int16), lost func(error)) (MicDevice, error) {
			require.Equal(t, 48000, rate)
			require.Equal(t, 2, ch)
			require.Equal(t, 20*time.Millisecond, period)
			attempt++
			if attempt == 2 {
				return nil, errors.New("still unplugged")
			}
			f := &fakeMic{deliver: deliver, lost: lost, closed: make(chan struct{})}
			opened <- f
			return f, nil
		},
	}
	require.NoError(t, mic.Initialize())
	t.Cleanup(mic.Close)
	dev := <-opened

	// Two 10 ms deliveries make one 20 ms block, stamped from the first
	// delivery's arrival minus its length.
	clock.Set(100 * time.Millisecond)
	dev.deliver(stereo(480, 16384, 0))
	clock.Set(110 * time.Millisecond)
	dev.deliver(stereo(480, 16384, 0))
	b := recvBlock(t, mic.Samples())
	require.Equal(t, 90*time.Millisecond, b.PTS)
	require.Equal(t, 960, b.NumSamples())
	require.Equal(t, []Level{{Peak: 0.5, RMS: 0.5}, {}}, mic.Levels())
	// Sample-accurate: later blocks follow by sample count, whatever the jitter.
	clock.Set(133 * time.Millisecond)
	dev.deliver(stereo(960, 100, 200))
	b = recvBlock(t, mic.Samples())
	require.Equal(t, 110*time.Millisecond, b.PTS)
	lv := mic.Levels()
	require.InDelta(t, 100.0/32768, lv[0].Peak, 1e-9)
	require.InDelta(t, 200.0/32768, lv[1].RMS, 1e-9)

	// The device stops by itself: silence on the block grid, then reopen.
	dev.lost(errors.New("unplugged"))
	select {
	case <-dev.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("device not closed")
	}
	clock.Set(200 * time.Millisecond)
	require.True(t, tick.Tick(done))
	require.True(t, tick.Tick(done))
	// Lost at 133 ms: silence continues from 130 ms while blocks complete.
	for _, want := range []time.Duration{130, 150, 170} {
		b = recvBlock(t, mic.Samples())
		require.Equal(t, want*time.Millisecond, b.PTS)
		require.Equal(t, make([]int16, 1920), b.Samples)
	}
	s := mic.Stats()
	require.Equal(t, StateLost, s.State)
	require.Equal(t, uint64(1), s.Losses)
	require.Equal(t, uint64(3), s.Slate)
	require.Equal(t, []Level{{}, {}}, mic.Levels())

	clock.Set(1140 * time.Millisecond) // retry 1 fails (silence still flows)
	require.True(t, tick.Tick(done))
	require.True(t, tick.Tick(done))
	require.Equal(t, 2, attempt)
	clock.Set(2140 * time.Millisecond) // retry 2 succeeds
	require.True(t, tick.Tick(done))
	require.True(t, tick.Tick(done))
	dev2 := <-opened
	for len(mic.Samples()) > 0 {
		<-mic.Samples()
	}
	lastSilence := mic.Stats().LastPTS
	clock.Set(2160 * time.Millisecond)
	dev2.deliver(stereo(960, 1000, 1000))
	b = recvBlock(t, mic.Samples())
	require.Greater(t, b.PTS, lastSilence)
	require.Equal(t, StateRunning, mic.Stats().State)

	// A stall also counts as a loss.
	clock.Set(3300 * time.Millisecond)
	require.True(t, tick.Tick(done))
	require.True(t, tick.Tick(done))
	<-dev2.closed
	require.Equal(t, uint64(2), mic.Stats().Losses)
	mic.Close()
	for range mic.Samples() {
	}
}

func TestMicrophoneNullBackend(t *testing.T) {
	leakCheck(t)
	for _, index := range []int{-1, 0} {
		mic := &Microphone{Index: index, Backends: []malgo.Backend{NullBackend}, Logger: quietLog}
		require.NoError(t, mic.Initialize())
		var last *media.AudioFrame
		for range 5 {
			b := recvBlock(t, mic.Samples())
			require.Equal(t, 48000, b.SampleRate)
			require.Equal(t, 2, b.Channels)
			require.Equal(t, 960, b.NumSamples())
			if last != nil {
				require.Equal(t, last.PTS+20*time.Millisecond, b.PTS, "blocks follow by sample count")
			}
			last = b
		}
		require.Equal(t, []Level{{}, {}}, mic.Levels(), "the null device records silence")
		s := mic.Stats()
		require.Equal(t, StateRunning, s.State)
		require.NotEmpty(t, s.Device)
		mic.Close()
		for range mic.Samples() {
		}
	}
}

func TestMicrophoneErrors(t *testing.T) {
	require.ErrorIs(t, (&Microphone{Period: 40 * time.Millisecond}).Initialize(), ErrBadConfig)
	require.ErrorIs(t, (&Microphone{Channels: 12}).Initialize(), ErrBadConfig)
	err := (&Microphone{Index: 99, Backends: []malgo.Backend{NullBackend}, Logger: quietLog}).Initialize()
	require.ErrorIs(t, err, ErrNoMicrophone)
	mics, err := ListMicrophones([]malgo.Backend{NullBackend})
	require.NoError(t, err)
	require.Len(t, mics, 1)
	require.Equal(t, 0, mics[0].Index)
	require.NotEmpty(t, mics[0].Name)
}

func TestLevelsOf(t *testing.T) {
	lv := levelsOf([]int16{-32768, 0, 32767, 0, -32768, 16384, 32767, -16384}, 2)
	require.InDelta(t, 1.0, lv[0].Peak, 1e-4)
	require.InDelta(t, 1.0, lv[0].RMS, 1e-4)
	require.InDelta(t, 0.5, lv[1].Peak, 1e-9)
	require.InDelta(t, 0.5/1.4142135, lv[1].RMS, 1e-6)
	require.InDelta(t, -6.02, DBFS(0.5), 0.01)
	require.Equal(t, []Level{{}, {}}, levelsOf(nil, 2))
}

func TestMicrophoneDriftStaysBounded(t *testing.T) {
	// A sound card 0.5% fast (or slow) for two minutes would put the audio
	// 600 ms off the capture clock if stamped by sample count alone;
	// re-anchoring keeps every block within MaxDrift (+ one delivery).
	leakCheck(t)
	for _, permille := range []int64{1005, 995} {
		worst, s := runDriftingMic(t, permille, 0)
		require.Less(t, worst, 40*time.Millisecond, "%d‰: stamps drifted from the capture clock", permille)
		require.Equal(t, uint64(6000), s.Sent)
		require.Zero(t, s.Dropped)
		require.Zero(t, s.Bad)
	}
	// Without re-anchoring (a MaxDrift longer than the run) the drift shows.
	worst, _ := runDriftingMic(t, 1005, time.Hour)
	require.Greater(t, worst, 500*time.Millisecond)
}

// runDriftingMic feeds 6000 20 ms deliveries from a device whose clock
// runs at permille/1000 of the capture clock and returns the worst gap
// between a block's arrival and its stamped end.
func runDriftingMic(t *testing.T, permille int64, maxDrift time.Duration) (time.Duration, SourceStats) {
	t.Helper()
	clock, tick := &ManualClock{}, NewManualTicker()
	var dev *fakeMic
	mic := &Microphone{
		Clock: clock, Ticker: tick.Factory(), Logger: quietLog, Buffer: 4, StallTimeout: time.Hour, MaxDrift: maxDrift,
		Opener: func(_, _ int, _ time.Duration, deliver func([]int16), lost func(error)) (MicDevice, error) {
			dev = &fakeMic{deliver: deliver, lost: lost, closed: make(chan struct{})}
			return dev, nil
		},
	}
	require.NoError(t, mic.Initialize())
	defer mic.Close()
	block := stereo(960, 10, 10)
	period := 20 * time.Millisecond * 1000 / time.Duration(permille) // real time 960 samples take
	var worst time.Duration
	last := time.Duration(-1)
	for k := 1; k <= 6000; k++ {
		arrival := time.Second + time.Duration(k)*period
		clock.Set(arrival)
		dev.deliver(block)
		var b *media.AudioFrame
		select {
		case b = <-mic.Samples():
		case <-time.After(10 * time.Second):
			t.Fatalf("no block for delivery %d: %+v", k, mic.Stats())
		}
		require.Greater(t, b.PTS, last)
		last = b.PTS
		off := arrival - (b.PTS + 20*time.Millisecond) // arrival vs the stamped end of the block
		worst = max(worst, off, -off)
	}
	return worst, mic.Stats()
}
