package capture

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"

	"golive/media"
)

// ErrNoMicrophone is returned by Microphone.Initialize (and the default
// opener) when the asked capture device does not exist or cannot start.
var ErrNoMicrophone = errors.New("capture: no such microphone")

// NullBackend is miniaudio's null backend, which needs no sound card: its
// capture device delivers silence in real time. (malgo v0.11.24's
// BackendNull constant is off by one: it names the custom backend.)
const NullBackend = malgo.Backend(malgo.BackendNull + 1)

// MicDevice is an opened capture device as Microphone sees it.
type MicDevice interface {
	// Close stops and releases the device; no delivery happens after it
	// returns.
	Close()
}

// MicOpener opens a capture device that delivers interleaved 16-bit
// samples at the asked rate and channel count through deliver (from any
// goroutine; samples may be reused after deliver returns) and calls lost
// once if the device stops by itself.
type MicOpener func(rate, channels int, period time.Duration, deliver func(samples []int16), lost func(error)) (MicDevice, error)

// Level is one channel's meter reading for the latest block, as fractions
// of full scale (0..1).
type Level struct {
	Peak, RMS float64
}

// DBFS returns a level fraction in dB full scale (-inf for silence).
func DBFS(v float64) float64 { return 20 * math.Log10(v) }

// Microphone is an AudioSource capturing from a sound card through
// gen2brain/malgo (miniaudio), converted by miniaudio to SampleRate and
// Channels (resampling and up/down-mixing when the device differs), in
// blocks of Period.
//
// Deliveries the owner goroutine could not take in time are counted in
// Dropped and replaced by silence of the same length.
//
// Blocks are stamped by sample count from an anchor on the capture clock
// set at the first delivery, so they are sample-accurate; the anchor is
// nudged (counted in Skipped as a resync when it jumps forward) if the
// sound card's clock drifts from the capture clock by more than MaxDrift.
// When the device stops, stalls or disappears, silence keeps the stream
// going (State Lost, blocks counted in Slate) and the device is reopened
// every RetryInterval.
type Microphone struct {
	// Index selects the device by its position in ListMicrophones; -1
	// means the system default device.
	Index int
	// Backends are miniaudio's backends to try, in order; default malgo's
	// own list (which never falls back to NullBackend by itself).
	Backends []malgo.Backend
	// SampleRate in Hz; default 48000.
	SampleRate int
	// Channels; default 2.
	Channels int
	// Period is the block duration and device period; default 20 ms, at
	// most 20 ms.
	Period time.Duration
	// Clock is the capture clock; default NewClock().
	Clock Clock
	// Ticker makes the ticker that paces silence and the stall and retry
	// checks; default NewTicker.
	Ticker func(d time.Duration) Ticker
	// StallTimeout is how long without audio counts as a lost device;
	// default 1 s.
	StallTimeout time.Duration
	// RetryInterval is how often a lost device is reopened; default 1 s.
	RetryInterval time.Duration
	// MaxDrift is how far the sound card's clock may drift from the
	// capture clock before the timestamps are re-anchored; default 15 ms.
	MaxDrift time.Duration
	// Buffer is the capacity of the Samples channel; default 8 blocks.
	Buffer int
	// Opener opens the device; default: malgo on Backends, device Index.
	Opener MicOpener
	// Logger receives the source's log; default slog.Default().
	Logger *slog.Logger

	spb    int
	in     chan micDelivery
	lostCh chan error
	out    chan *media.AudioFrame
	stats  counters
	levels atomic.Pointer[[]Level]
	name   string
	ctx    context.Context
	lifecycle
	dev    MicDevice
	inDrop atomic.Uint64 // deliveries dropped before the owner saw them
	inLost atomic.Int64  // samples per channel in those deliveries, not yet filled
}

type micDelivery struct {
	samples []int16
	at      time.Duration
}

// Initialize opens the device (failing with ErrNoMicrophone when it
// cannot) and starts the source's goroutine.
func (m *Microphone) Initialize() error {
	if m.SampleRate == 0 {
		m.SampleRate = 48000
	}
	if m.Channels == 0 {
		m.Channels = 2
	}
	if m.Period == 0 {
		m.Period = 20 * time.Millisecond
	}
	switch {
	case m.SampleRate < 8000 || m.SampleRate > 192000:
		return fmt.Errorf("microphone: %w: sample rate %d", ErrBadConfig, m.SampleRate)
	case m.Channels < 1 || m.Channels > 8:
		return fmt.Errorf("microphone: %w: %d channels", ErrBadConfig, m.Channels)
	case m.Period <= 0 || m.Period > 20*time.Millisecond ||
		int64(m.Period)*int64(m.SampleRate)%int64(time.Second) != 0:
		return fmt.Errorf("microphone: %w: period %v (want ≤ 20 ms, whole samples)", ErrBadConfig, m.Period)
	}
	if m.Clock == nil {
		m.Clock = NewClock()
	}
	if m.Ticker == nil {
		m.Ticker = NewTicker
	}
	if m.StallTimeout <= 0 {
		m.StallTimeout = time.Second
	}
	if m.RetryInterval <= 0 {
		m.RetryInterval = time.Second
	}
	if m.MaxDrift <= 0 {
		m.MaxDrift = 15 * time.Millisecond
	}
	if m.Buffer <= 0 {
		m.Buffer = 8
	}
	if m.Logger == nil {
		m.Logger = slog.Default().With("stage", "capture")
	}
	m.Logger = m.Logger.With("source", "microphone")
	if m.Opener == nil {
		mo := &malgoOpener{backends: m.Backends, index: m.Index, logger: m.Logger}
		m.Opener = mo.open
		defer func() { m.name = mo.name }()
	}
	m.spb = int(int64(m.Period) * int64(m.SampleRate) / int64(time.Second))
	m.in = make(chan micDelivery, 16)
	m.lostCh = make(chan error, 1)
	m.out = make(chan *media.AudioFrame, m.Buffer)
	m.levels.Store(&[]Level{})
	dev, err := m.open()
	if err != nil {
		return fmt.Errorf("microphone: %w", err)
	}
	m.dev = dev
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.stats.setState(StateRunning)
	m.wg.Add(1)
	go m.run()
	return nil
}

// open opens the device with callbacks that feed the owner goroutine.
func (m *Microphone) open() (MicDevice, error) {
	var lostOnce sync.Once
	deliver := func(s []int16) {
		d := micDelivery{samples: append([]int16(nil), s...), at: m.Clock.Now()}
		select {
		case m.in <- d:
		default:
			// Owner far behind: never block the audio thread. The owner
			// fills the gap with silence so later stamps stay right.
			m.inDrop.Add(1)
			m.inLost.Add(int64(len(s) / m.Channels))
		}
	}
	lost := func(err error) {
		lostOnce.Do(func() {
			select {
			case m.lostCh <- err:
			default:
			}
		})
	}
	// Drain a stale loss report from an earlier device.
	select {
	case <-m.lostCh:
	default:
	}
	return m.Opener(m.SampleRate, m.Channels, m.Period, deliver, lost)
}

// Samples returns the channel of audio blocks; it is closed after Close.
func (m *Microphone) Samples() <-chan *media.AudioFrame { return m.out }

// Close stops the source and the device and waits for the goroutine; it
// is idempotent.
func (m *Microphone) Close() {
	m.lifecycle.close(&m.stats)
}

// Stats returns a snapshot of the source's counters.
func (m *Microphone) Stats() SourceStats {
	name := m.name
	if name == "" {
		name = "microphone"
	}
	s := m.stats.snapshot(name)
	s.Dropped += m.inDrop.Load()
	return s
}

// Levels returns the peak and RMS of each channel over the latest block
// (zero while lost or before the first block).
func (m *Microphone) Levels() []Level {
	p := m.levels.Load()
	if p == nil {
		return nil
	}
	return append([]Level(nil), (*p)...)
}

// run is the owner goroutine.
func (m *Microphone) run() {
	defer m.wg.Done()
	defer close(m.out)
	defer func() {
		if m.dev != nil {
			m.dev.Close()
		}
	}()
	tk := m.Ticker(m.Period)
	defer func() { tk.Stop() }()
	blockDur := time.Duration(int64(m.spb) * int64(time.Second) / int64(m.SampleRate))
	var (
		pending   []int16
		anchored  bool
		anchor    time.Duration // capture time of sample 0 since anchoring
		count     int64         // samples (per channel) stamped since anchoring
		drift     float64       // smoothed arrival error, ns
		lastPTS   time.Duration = -1
		lastAudio               = m.Clock.Now()
		nextPTS   time.Duration // next silence block's PTS while lost
		nextRetry time.Duration
	)
	ptsAt := func(n int64) time.Duration {
		return anchor + time.Duration(n*int64(time.Second)/int64(m.SampleRate))
	}
	emit := func(f *media.AudioFrame, silent bool) {
		if f.PTS <= lastPTS {
			m.stats.bad.Add(1)
			return
		}
		lv := make([]Level, m.Channels)
		if !silent {
			lv = levelsOf(f.Samples, m.Channels)
		}
		m.levels.Store(&lv)
		if offer(&m.stats, m.ctx.Done(), m.out, f, f.PTS, silent) {
			lastPTS = f.PTS
		}
	}
	lose := func(why error) {
		m.Logger.Warn("microphone lost; sending silence", "err", why)
		now := m.Clock.Now()
		if m.dev != nil {
			m.dev.Close()
			m.dev = nil
		}
		for len(m.in) > 0 {
			<-m.in
		}
		pending, anchored = pending[:0], false
		m.stats.losses.Add(1)
		m.stats.setState(StateLost)
		nextPTS = max(lastPTS+blockDur, now-blockDur)
		nextRetry = now + m.RetryInterval
	}
	for {
		select {
		case <-m.ctx.Done():
			return
		case d := <-m.in:
			if m.dev == nil {
				continue // late delivery from a closed device
			}
			lastAudio = d.at
			n := int64(len(d.samples) / m.Channels)
			if !anchored {
				anchor = max(d.at-time.Duration(n*int64(time.Second)/int64(m.SampleRate)), 0)
				if lastPTS >= 0 {
					anchor = max(anchor, lastPTS+blockDur)
				}
				anchored, count, drift = true, 0, 0
			} else {
				// Arrival error of this delivery's end against the stamps.
				e := float64(d.at - ptsAt(count+int64(len(pending)/m.Channels)+n))
				drift += (e - drift) / 50
				if math.Abs(drift) > float64(m.MaxDrift) {
					shift := time.Duration(drift)
					m.Logger.Info("microphone clock drift: re-anchoring", "shift", shift)
					anchor += shift
					if shift > 0 {
						m.stats.skipped.Add(1)
					}
					drift = 0
				}
			}
			if gap := m.inLost.Swap(0); gap > 0 {
				pending = append(pending, make([]int16, gap*int64(m.Channels))...)
			}
			pending = append(pending, d.samples...)
			for len(pending) >= m.spb*m.Channels {
				f := &media.AudioFrame{SampleRate: m.SampleRate, Channels: m.Channels,
					Samples: append([]int16(nil), pending[:m.spb*m.Channels]...), PTS: ptsAt(count)}
				pending = append(pending[:0], pending[m.spb*m.Channels:]...)
				count += int64(m.spb)
				emit(f, false)
			}
		case err := <-m.lostCh:
			if m.dev != nil {
				lose(err)
			}
		case <-tk.C():
			now := m.Clock.Now()
			if m.dev != nil {
				if now-lastAudio > m.StallTimeout {
					lose(fmt.Errorf("no audio for %v", now-lastAudio))
				} else {
					continue
				}
			}
			// Lost: silence blocks as they complete on the clock.
			for nextPTS+blockDur <= now {
				emit(&media.AudioFrame{SampleRate: m.SampleRate, Channels: m.Channels,
					Samples: make([]int16, m.spb*m.Channels), PTS: nextPTS}, true)
				nextPTS += blockDur
			}
			if now >= nextRetry {
				nextRetry = now + m.RetryInterval
				dev, err := m.open()
				if err != nil {
					m.Logger.Debug("microphone reopen failed", "err", err)
					continue
				}
				m.Logger.Info("microphone back")
				m.dev = dev
				lastAudio = now
				m.stats.setState(StateRunning)
			}
		}
	}
}

// levelsOf returns each channel's peak and RMS over interleaved samples.
func levelsOf(s []int16, channels int) []Level {
	lv := make([]Level, channels)
	sum := make([]float64, channels)
	n := len(s) / channels
	if n == 0 {
		return lv
	}
	for i := 0; i < n*channels; i++ {
		c := i % channels
		v := math.Abs(float64(s[i])) / 32768
		lv[c].Peak = max(lv[c].Peak, v)
		sum[c] += v * v
	}
	for c := range lv {
		lv[c].RMS = math.Sqrt(sum[c] / float64(n))
	}
	return lv
}

// malgoOpener opens a capture device through malgo.
type malgoOpener struct {
	backends []malgo.Backend
	index    int
	logger   *slog.Logger
	name     string
}

// malgoDevice is an opened malgo capture device and its context.
type malgoDevice struct {
	ctx     *malgo.AllocatedContext
	dev     *malgo.Device
	closing atomic.Bool
	once    sync.Once
}

func (d *malgoDevice) Close() {
	d.once.Do(func() {
		d.closing.Store(true)
		d.dev.Uninit()
		_ = d.ctx.Uninit()
		d.ctx.Free()
	})
}

func (o *malgoOpener) open(rate, channels int, period time.Duration, deliver func([]int16), lost func(error)) (MicDevice, error) {
	mctx, err := malgo.InitContext(o.backends, malgo.ContextConfig{}, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: audio context: %w", ErrNoMicrophone, err)
	}
	fail := func(err error) (MicDevice, error) {
		_ = mctx.Uninit()
		mctx.Free()
		return nil, err
	}
	cfg := malgo.DefaultDeviceConfig(malgo.Capture)
	cfg.Capture.Format = malgo.FormatS16
	cfg.Capture.Channels = uint32(channels)
	cfg.SampleRate = uint32(rate)
	cfg.PeriodSizeInFrames = uint32(int64(period) * int64(rate) / int64(time.Second))
	cfg.Periods = 2
	o.name = "default microphone"
	if o.index >= 0 {
		infos, err := mctx.Devices(malgo.Capture)
		if err != nil {
			return fail(fmt.Errorf("%w: list devices: %w", ErrNoMicrophone, err))
		}
		if o.index >= len(infos) {
			return fail(fmt.Errorf("%w: no microphone %d (%d found)", ErrNoMicrophone, o.index, len(infos)))
		}
		id := infos[o.index].ID
		cfg.Capture.DeviceID = id.Pointer()
		o.name = infos[o.index].Name()
	}
	d := &malgoDevice{ctx: mctx}
	var buf []int16
	cb := malgo.DeviceCallbacks{
		Data: func(_, in []byte, frames uint32) {
			n := min(int(frames)*channels, len(in)/2)
			if cap(buf) < n {
				buf = make([]int16, n)
			}
			buf = buf[:n]
			for i := range buf {
				buf[i] = int16(binary.LittleEndian.Uint16(in[2*i:]))
			}
			deliver(buf)
		},
		Stop: func() {
			if !d.closing.Load() {
				lost(errors.New("device stopped"))
			}
		},
	}
	dev, err := malgo.InitDevice(mctx.Context, cfg, cb)
	if err != nil {
		return fail(fmt.Errorf("%w: init %s: %w", ErrNoMicrophone, o.name, err))
	}
	d.dev = dev
	if err := dev.Start(); err != nil {
		d.closing.Store(true)
		dev.Uninit()
		return fail(fmt.Errorf("%w: start %s: %w", ErrNoMicrophone, o.name, err))
	}
	o.logger.Info("microphone open", "device", o.name, "rate", dev.SampleRate(), "channels", dev.CaptureChannels())
	return d, nil
}
