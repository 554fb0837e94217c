package capture

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"golive/media"
)

var testEpoch = time.Date(2026, 1, 2, 3, 4, 5, 678_000_000, time.UTC)

// patternHarness runs a TestPattern on a manual clock and ticker.
type patternHarness struct {
	t     *testing.T
	p     *TestPattern
	clock *ManualClock
	tick  *ManualTicker
	done  chan struct{}
}

func newPatternHarness(t *testing.T, p *TestPattern) *patternHarness {
	t.Helper()
	h := &patternHarness{t: t, p: p, clock: &ManualClock{}, tick: NewManualTicker(), done: make(chan struct{})}
	p.Clock, p.Ticker, p.Epoch = h.clock, h.tick.Factory(), testEpoch
	require.NoError(t, p.Initialize())
	t.Cleanup(func() { close(h.done); p.Close() })
	return h
}

// step moves the clock to d and ticks twice: a tick returns once the
// source took it, so the second (a no-op at the same time) proves the first
// was handled before the clock moves again.
func (h *patternHarness) step(d time.Duration) {
	h.t.Helper()
	h.clock.Set(d)
	require.True(h.t, h.tick.Tick(h.done))
	require.True(h.t, h.tick.Tick(h.done))
}

// leakCheck verifies, after every cleanup registered later has run, that
// no goroutine was left behind.
func leakCheck(t *testing.T) {
	t.Cleanup(func() { goleak.VerifyNone(t) })
}

func (h *patternHarness) frame() *media.VideoFrame {
	h.t.Helper()
	select {
	case f := <-h.p.Frames():
		require.NotNil(h.t, f)
		require.NoError(h.t, f.Validate())
		return f
	case <-time.After(10 * time.Second):
		h.t.Fatal("no frame within 10 s")
		return nil
	}
}

func TestTestPatternPTS(t *testing.T) {
	leakCheck(t)
	h := newPatternHarness(t, &TestPattern{Width: 64, Height: 48, FPS: 30})
	h.step(0) // first (alignment) tick: frame 0 is due at once
	require.Equal(t, time.Duration(0), h.frame().PTS)
	for n := int64(1); n <= 5; n++ {
		h.step(time.Duration(n) * time.Second / 30)
		f := h.frame()
		require.Equal(t, time.Duration(n*int64(time.Second)/30), f.PTS, "frame %d", n)
	}
	// An early tick (jitter) makes nothing; a late one skips ahead.
	h.step(190 * time.Millisecond) // frame 5 was at 166.7 ms; 6 is due at 200 ms
	h.step(301 * time.Millisecond) // frame 9 due at 300 ms: 6, 7, 8 skipped
	require.Equal(t, 300*time.Millisecond, h.frame().PTS)
	s := h.p.Stats()
	require.Equal(t, StateRunning, s.State)
	require.Equal(t, uint64(7), s.Sent)
	require.Equal(t, uint64(3), s.Skipped)
	require.Equal(t, uint64(0), s.Dropped)
	require.Equal(t, 300*time.Millisecond, s.LastPTS)
	h.p.Close()
	h.p.Close() // idempotent
	_, open := <-h.p.Frames()
	require.False(t, open, "Frames must be closed after Close")
	require.Equal(t, StateClosed, h.p.Stats().State)
}

func TestTestPatternStartsOnGrid(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := &ManualClock{}
	clock.Set(1234 * time.Millisecond) // started between frames
	tick := NewManualTicker()
	done := make(chan struct{})
	defer close(done)
	p := &TestPattern{Width: 32, Height: 32, FPS: 25, Clock: clock, Ticker: tick.Factory()}
	require.NoError(t, p.Initialize())
	defer p.Close()
	clock.Set(1240 * time.Millisecond)
	require.True(t, tick.Tick(done))
	f := <-p.Frames()
	require.Equal(t, 1240*time.Millisecond, f.PTS) // frame 31 at 25 fps
}

func TestTestPatternSlowConsumer(t *testing.T) {
	leakCheck(t)
	h := newPatternHarness(t, &TestPattern{Width: 64, Height: 48, FPS: 10, Buffer: 2})
	for n := range 6 { // nobody reads: 2 fit, 4 are dropped
		h.step(time.Duration(n) * 100 * time.Millisecond)
	}
	s := h.p.Stats()
	require.Equal(t, uint64(2), s.Sent)
	require.Equal(t, uint64(4), s.Dropped)
	require.Equal(t, uint64(0), s.Skipped)
	// The queued frames are the oldest two; the source moves on without a backlog.
	require.Equal(t, time.Duration(0), h.frame().PTS)
	require.Equal(t, 100*time.Millisecond, h.frame().PTS)
	h.step(600 * time.Millisecond)
	require.Equal(t, 600*time.Millisecond, h.frame().PTS)
}

func TestTestPatternCloseWhileBlocked(t *testing.T) {
	defer goleak.VerifyNone(t)
	// Real clock and ticker: Close must stop the goroutine whatever it is doing.
	p := &TestPattern{Width: 32, Height: 32, FPS: 50}
	require.NoError(t, p.Initialize())
	select {
	case f := <-p.Frames():
		require.NotNil(t, f)
	case <-time.After(10 * time.Second):
		t.Fatal("no frame from the real clock within 10 s")
	}
	p.Close()
	for range p.Frames() { // drains and ends: the channel is closed
	}
}

func TestTestPatternRealTimePacing(t *testing.T) {
	defer goleak.VerifyNone(t)
	clock := NewClock()
	p := &TestPattern{Width: 32, Height: 32, FPS: 20, Clock: clock}
	require.NoError(t, p.Initialize())
	defer p.Close()
	var last time.Duration = -1
	for range 5 {
		select {
		case f := <-p.Frames():
			require.Greater(t, f.PTS, last)
			require.Zero(t, f.PTS%(50*time.Millisecond), "PTS %v off the 20 fps grid", f.PTS)
			require.LessOrEqual(t, f.PTS, clock.Now(), "frame handed on before it was due")
			last = f.PTS
		case <-time.After(10 * time.Second):
			t.Fatal("no frame within 10 s")
		}
	}
}

func TestTestPatternBadConfig(t *testing.T) {
	for _, p := range []*TestPattern{
		{Width: 63, Height: 48}, {Width: -2, Height: 48}, {Width: 64, Height: 0},
		{Width: 10000, Height: 48}, {Width: 64, Height: 48, FPS: -1}, {Width: 64, Height: 48, FPS: 1000},
	} {
		err := p.Initialize()
		require.ErrorIs(t, err, ErrBadConfig, "%dx%d@%d", p.Width, p.Height, p.FPS)
		p.Close()
	}
	var p TestPattern
	p.Close() // Close without Initialize is fine
}

func newRenderPattern(t testing.TB, w, h, fps int) *TestPattern {
	p := &TestPattern{Width: w, Height: h, FPS: fps, Clock: &ManualClock{}, Ticker: NewManualTicker().Factory(), Epoch: testEpoch}
	require.NoError(t, p.Initialize())
	t.Cleanup(p.Close)
	return p
}

func TestTestPatternContent(t *testing.T) {
	p := newRenderPattern(t, 1280, 720, 30)
	f0, f1 := p.Render(0), p.Render(1)
	// Bars: sample each bar's centre below the box's reach at frame 0.
	row := 720 * 2 / 3 * 3 / 4
	for i, b := range smpteBars {
		x := (2*i + 1) * 1280 / 14
		require.Equal(t, b.y, f0.Y[row*f0.StrideY+x], "bar %d luma", i)
		require.Equal(t, b.u, f0.U[row/2*f0.StrideU+x/2], "bar %d U", i)
		require.Equal(t, b.v, f0.V[row/2*f0.StrideV+x/2], "bar %d V", i)
	}
	// The box moves between consecutive frames: the bars area differs.
	barsH := 720 * 2 / 3
	require.NotEqual(t, f0.Y[:barsH*f0.StrideY], f1.Y[:barsH*f1.StrideY], "box did not move")
	require.NotEqual(t, f0.U[:barsH/2*f0.StrideU], f1.U[:barsH/2*f1.StrideU], "box chroma did not move")
	// The stamp reads back and changes with the frame.
	s0, err := ReadStamp(f0)
	require.NoError(t, err)
	require.Equal(t, Stamp{Wall: "03:04:05.678", Frame: 0}, s0)
	s1, err := ReadStamp(f1)
	require.NoError(t, err)
	require.Equal(t, Stamp{Wall: "03:04:05.711", Frame: 1}, s1)
	s30, err := ReadStamp(p.Render(30))
	require.NoError(t, err)
	require.Equal(t, Stamp{Wall: "03:04:06.678", Frame: 30}, s30)
	tod, err := s30.TimeOfDay()
	require.NoError(t, err)
	require.Equal(t, 3*time.Hour+4*time.Minute+6678*time.Millisecond, tod)
}

func TestReadStampSizesAndNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, size := range [][2]int{{1920, 1080}, {1280, 720}, {854, 480}, {640, 360}, {426, 240}, {320, 240}, {160, 120}} {
		p := newRenderPattern(t, size[0], size[1], 30)
		n := int64(123456)
		f := p.Render(n)
		// Lossy coding: add noise of ±40 to every luma sample.
		for i := range f.Y {
			v := int(f.Y[i]) + rng.IntN(81) - 40
			f.Y[i] = byte(min(max(v, 0), 255))
		}
		s, err := ReadStamp(f)
		require.NoError(t, err, "%dx%d", size[0], size[1])
		require.Equal(t, n, s.Frame)
		require.Equal(t, testEpoch.Add(p.grid.at(n)).UTC().Format("15:04:05.000"), s.Wall)
	}
	// A picture with no stamp is refused.
	blank := media.NewVideoFrame(1280, 720)
	_, err := ReadStamp(blank)
	require.ErrorIs(t, err, ErrNoStamp)
	_, err = ReadStamp(media.NewVideoFrame(8, 8))
	require.ErrorIs(t, err, ErrNoStamp)
}
