package capture

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"time"

	"golive/media"
)

// Tone is an AudioSource that plays a sine wave (1 kHz by default, like a
// broadcast line-up tone), stamped on the capture clock by sample count:
// block k holds samples k*N .. k*N+N-1 and its PTS is k*N/SampleRate, so
// it never drifts against the video. Like a microphone, a block is handed
// on once its last sample's time has passed.
//
// Blocks the consumer was not ready for are dropped and counted; if the
// source itself falls more than MaxCatchUp blocks behind (its goroutine was
// starved), it skips the oldest ones and counts them as Skipped, leaving a
// gap in the PTS sequence rather than a backlog.
type Tone struct {
	// SampleRate in Hz; default 48000.
	SampleRate int
	// Channels, interleaved; default 2 (the same tone on every channel).
	Channels int
	// Frequency of the sine in Hz; default 1000.
	Frequency float64
	// Period is each block's duration; default 20 ms. SampleRate×Period
	// must be a whole number of samples.
	Period time.Duration
	// Amplitude is the peak as a fraction of full scale, 0 < a ≤ 1; 0
	// means the default 0.25 (-12 dBFS).
	Amplitude float64
	// Clock is the capture clock; default NewClock(). Share it with the
	// video source.
	Clock Clock
	// Ticker makes the ticker that wakes the source; default NewTicker.
	Ticker func(d time.Duration) Ticker
	// Buffer is the capacity of the Samples channel; default 4 blocks.
	Buffer int
	// MaxCatchUp is how many late blocks are still delivered after a
	// stall before older ones are skipped; default 5.
	MaxCatchUp int
	// Logger receives the source's log; default slog.Default().
	Logger *slog.Logger

	spb   int // samples per block
	grid  grid
	out   chan *media.AudioFrame
	stats counters
	ctx   context.Context
	lifecycle
}

// Initialize checks the configuration and starts the source's goroutine.
func (t *Tone) Initialize() error {
	if t.SampleRate == 0 {
		t.SampleRate = 48000
	}
	if t.Channels == 0 {
		t.Channels = 2
	}
	if t.Frequency == 0 {
		t.Frequency = 1000
	}
	if t.Period == 0 {
		t.Period = 20 * time.Millisecond
	}
	if t.Amplitude == 0 {
		t.Amplitude = 0.25
	}
	switch {
	case t.SampleRate < 8000 || t.SampleRate > 192000:
		return fmt.Errorf("tone: %w: sample rate %d", ErrBadConfig, t.SampleRate)
	case t.Channels < 1 || t.Channels > 8:
		return fmt.Errorf("tone: %w: %d channels", ErrBadConfig, t.Channels)
	case !(t.Frequency > 0 && t.Frequency < float64(t.SampleRate)/2):
		return fmt.Errorf("tone: %w: frequency %g Hz", ErrBadConfig, t.Frequency)
	case !(t.Amplitude > 0 && t.Amplitude <= 1):
		return fmt.Errorf("tone: %w: amplitude %g", ErrBadConfig, t.Amplitude)
	case t.Period <= 0 || t.Period > time.Second ||
		int64(t.Period)*int64(t.SampleRate)%int64(time.Second) != 0:
		return fmt.Errorf("tone: %w: period %v is not a whole number of samples at %d Hz", ErrBadConfig, t.Period, t.SampleRate)
	}
	if t.Clock == nil {
		t.Clock = NewClock()
	}
	if t.Ticker == nil {
		t.Ticker = NewTicker
	}
	if t.Buffer <= 0 {
		t.Buffer = 4
	}
	if t.MaxCatchUp <= 0 {
		t.MaxCatchUp = 5
	}
	if t.Logger == nil {
		t.Logger = slog.Default().With("stage", "capture")
	}
	t.Logger = t.Logger.With("source", "tone")
	t.spb = int(int64(t.Period) * int64(t.SampleRate) / int64(time.Second))
	t.grid = newGrid(uint64(t.spb)*uint64(time.Second), uint64(t.SampleRate))
	t.out = make(chan *media.AudioFrame, t.Buffer)
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.stats.setState(StateRunning)
	start := t.grid.ceil(t.Clock.Now()) // read here, not in run: the start is Initialize's moment
	t.wg.Add(1)
	go t.run(start)
	return nil
}

// Samples returns the channel of audio blocks; it is closed after Close.
// It is nil before Initialize.
func (t *Tone) Samples() <-chan *media.AudioFrame { return t.out }

// Close stops the source and waits for its goroutine; it is idempotent.
func (t *Tone) Close() {
	t.lifecycle.close(&t.stats)
}

// Stats returns a snapshot of the source's counters.
func (t *Tone) Stats() SourceStats { return t.stats.snapshot("tone") }

// run is the source's goroutine: on every tick, hand on every block that
// has completed since the last one, starting with block next.
func (t *Tone) run(next int64) {
	defer t.wg.Done()
	defer close(t.out)
	// Wake first when that block is complete, to stay on the block grid.
	tk := t.Ticker(max(t.grid.at(next+1)-t.Clock.Now(), time.Millisecond))
	first := true
	for {
		select {
		case <-t.ctx.Done():
			tk.Stop()
			return
		case <-tk.C():
		}
		if first {
			tk.Stop()
			tk = t.Ticker(t.Period)
			first = false
		}
		complete := t.grid.index(t.Clock.Now()) // blocks before this one are complete
		if complete-next > int64(t.MaxCatchUp) {
			skip := complete - next - int64(t.MaxCatchUp)
			t.stats.skipped.Add(uint64(skip))
			next += skip
		}
		for ; next < complete; next++ {
			b := t.Block(next)
			if !offer(&t.stats, t.ctx.Done(), t.out, b, b.PTS, false) && t.ctx.Err() != nil {
				tk.Stop()
				return
			}
		}
	}
}

// Block returns block k of the tone in a new frame; Initialize must have
// succeeded. It is exported for benchmarks and tests.
func (t *Tone) Block(k int64) *media.AudioFrame {
	f := &media.AudioFrame{
		SampleRate: t.SampleRate,
		Channels:   t.Channels,
		Samples:    make([]int16, t.spb*t.Channels),
		PTS:        t.grid.at(k),
	}
	first := k * int64(t.spb)
	amp := t.Amplitude * math.MaxInt16
	// Phase of the block's first sample from its absolute index, reduced
	// exactly so precision holds over long runs; then step sample by sample.
	step := t.Frequency / float64(t.SampleRate)
	rate := int64(t.SampleRate)
	cyc := math.Mod(float64(first%rate)*step+math.Mod(float64(first/rate)*t.Frequency, 1), 1)
	for i := 0; i < t.spb; i++ {
		v := int16(math.Round(amp * math.Sin(2*math.Pi*cyc)))
		for c := 0; c < t.Channels; c++ {
			f.Samples[i*t.Channels+c] = v
		}
		if cyc += step; cyc >= 1 {
			cyc--
		}
	}
	return f
}
