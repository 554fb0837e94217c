package encoder

import (
	"fmt"
	"log/slog"
	"time"
)

// keyintFrames returns the GOP length in frames.
func (e *H264) keyintFrames() int {
	n := int(e.KeyframeInterval.Seconds()*float64(e.FPS) + 0.5)
	return max(n, 1)
}

// applyDefaults fills zero fields with their documented defaults.
func (e *H264) applyDefaults() {
	if e.Encoder == "" {
		e.Encoder = "auto"
	}
	if e.Bitrate == 0 {
		e.Bitrate = DefaultVideoBitrate
	}
	if e.KeyframeInterval == 0 {
		e.KeyframeInterval = 2 * time.Second
	}
	if e.Preset == "" {
		e.Preset = "veryfast"
	}
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
}

// validate checks the configuration.
func (e *H264) validate() error {
	switch {
	case e.Width <= 0 || e.Height <= 0 || e.Width%2 != 0 || e.Height%2 != 0:
		return fmt.Errorf("%w: size %dx%d (must be even and > 0)", ErrBadConfig, e.Width, e.Height)
	case e.Width > 8192 || e.Height > 8192:
		return fmt.Errorf("%w: size %dx%d too large", ErrBadConfig, e.Width, e.Height)
	case e.FPS <= 0 || e.FPS > 240:
		return fmt.Errorf("%w: fps %d", ErrBadConfig, e.FPS)
	case e.Bitrate < 0:
		return fmt.Errorf("%w: bitrate %d", ErrBadConfig, e.Bitrate)
	case e.KeyframeInterval < 0:
		return fmt.Errorf("%w: keyframe interval %v", ErrBadConfig, e.KeyframeInterval)
	case e.Threads < 0:
		return fmt.Errorf("%w: threads %d", ErrBadConfig, e.Threads)
	}
	return nil
}
