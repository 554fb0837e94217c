package capture

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"golive/media"
)

// ErrNotInitialized is returned by a source's methods that need
// Initialize to have succeeded first.
var ErrNotInitialized = errors.New("capture: source not initialized")

// ErrBadConfig is returned by Initialize when a source's configuration is
// unusable (size, rate, channels); the message names the field.
var ErrBadConfig = errors.New("capture: bad source configuration")

// VideoSource produces raw pictures on the capture clock.
//
// Initialize starts the source; Frames then delivers frames until Close,
// after which the channel is closed. The receiver owns each frame. Close
// is idempotent and waits for the source's goroutines.
type VideoSource interface {
	Initialize() error
	Frames() <-chan *media.VideoFrame
	Close()
	Stats() SourceStats
}

// AudioSource produces raw PCM blocks on the capture clock.
//
// Initialize starts the source; Samples then delivers blocks until Close,
// after which the channel is closed. The receiver owns each block. Close
// is idempotent and waits for the source's goroutines.
type AudioSource interface {
	Initialize() error
	Samples() <-chan *media.AudioFrame
	Close()
	Stats() SourceStats
}

// SourceState says whether a source is delivering real media.
type SourceState int

// The states of a source.
const (
	// StateIdle: not initialized yet.
	StateIdle SourceState = iota
	// StateRunning: delivering media from its generator or device.
	StateRunning
	// StateLost: the device is gone; the source delivers a slate (video)
	// or silence (audio) so the stream stays up, and retries.
	StateLost
	// StateClosed: Close was called.
	StateClosed
)

// String returns the state's name.
func (s SourceState) String() string {
	switch s {
	case StateIdle:
		return "idle"
	case StateRunning:
		return "running"
	case StateLost:
		return "lost"
	case StateClosed:
		return "closed"
	}
	return "unknown"
}

// SourceStats is a snapshot of a source's counters.
type SourceStats struct {
	// State is the source's current state.
	State SourceState
	// Sent counts frames (or audio blocks) handed to the consumer.
	Sent uint64
	// Dropped counts frames made but not taken because the consumer's
	// channel was full.
	Dropped uint64
	// Skipped counts due frames never made because the source itself ran
	// late (its goroutine was not scheduled in time); for audio it counts
	// skipped blocks.
	Skipped uint64
	// Bad counts device frames rejected: wrong size, empty, or with a
	// timestamp that went backwards.
	Bad uint64
	// Slate counts slate frames (or silent blocks) sent while the device
	// was lost.
	Slate uint64
	// Losses counts the times the device was lost.
	Losses uint64
	// LastPTS is the PTS of the last frame sent.
	LastPTS time.Duration
	// Device names the device in use ("test pattern", a camera label...).
	Device string
}

// videoDefaults fills a video source's zero settings (1280x720, 30 fps,
// the real clock and ticker) and checks the rest: even sizes up to 8192,
// 1 to 240 fps. name prefixes the error.
func videoDefaults(name string, w, h, fps *int, clock *Clock, ticker *func(time.Duration) Ticker) error {
	if *w == 0 && *h == 0 {
		*w, *h = 1280, 720
	}
	if *w <= 0 || *h <= 0 || *w%2 != 0 || *h%2 != 0 || *w > 8192 || *h > 8192 {
		return fmt.Errorf("%s: %w: size %dx%d (want even, up to 8192)", name, ErrBadConfig, *w, *h)
	}
	if *fps == 0 {
		*fps = 30
	}
	if *fps < 1 || *fps > 240 {
		return fmt.Errorf("%s: %w: fps %d (want 1..240)", name, ErrBadConfig, *fps)
	}
	if *clock == nil {
		*clock = NewClock()
	}
	if *ticker == nil {
		*ticker = NewTicker
	}
	return nil
}

// lifecycle is what every source's goroutines hang on: a cancel, the
// goroutines to wait for, and one Close.
type lifecycle struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// close cancels the source, waits for its goroutines and marks it closed;
// it does so once, whatever the number of calls.
func (l *lifecycle) close(stats *counters) {
	l.once.Do(func() {
		if l.cancel != nil {
			l.cancel()
			l.wg.Wait()
		}
		stats.setState(StateClosed)
	})
}
