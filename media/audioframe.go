package media

import (
	"fmt"
	"time"
)

// AudioFrame is a block of raw PCM audio: signed 16-bit samples,
// interleaved by channel.
type AudioFrame struct {
	SampleRate int
	Channels   int
	// Samples holds NumSamples()*Channels values, interleaved.
	Samples []int16
	// PTS is the capture time of the first sample on the capture clock.
	PTS time.Duration
}

// NumSamples returns the number of samples per channel.
func (f *AudioFrame) NumSamples() int {
	if f.Channels <= 0 {
		return 0
	}
	return len(f.Samples) / f.Channels
}

// Duration returns how long the frame plays.
func (f *AudioFrame) Duration() time.Duration {
	if f.SampleRate <= 0 {
		return 0
	}
	return time.Duration(f.NumSamples()) * time.Second / time.Duration(f.SampleRate)
}

// Validate reports whether the frame's format is usable.
func (f *AudioFrame) Validate() error {
	if f.SampleRate <= 0 || f.Channels <= 0 || f.Channels > 8 {
		return fmt.Errorf("%w: %d Hz, %d channels", ErrBadFrame, f.SampleRate, f.Channels)
	}
	if len(f.Samples) == 0 || len(f.Samples)%f.Channels != 0 {
		return fmt.Errorf("%w: %d samples for %d channels", ErrBadFrame, len(f.Samples), f.Channels)
	}
	return nil
}
