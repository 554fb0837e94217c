package broadcast

import (
	"fmt"
	"log/slog"

	"golive/capture"
)

// audioBuffer is how many 20 ms audio blocks may wait for the encoder.
const audioBuffer = 16

// videoBuffer is how many frames may wait for the encoder: a quarter of a
// second absorbs a slow encode without adding latency when it keeps up.
func videoBuffer(fps int) int { return max(2, fps/4) }

// openSources builds the configured video and audio sources (audio nil for
// "none"); they are not yet initialized.
func openSources(cfg Config, clock capture.Clock, logger *slog.Logger) (capture.VideoSource, capture.AudioSource, error) {
	var video capture.VideoSource
	switch cfg.Source {
	case "test":
		video = &capture.TestPattern{Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, Clock: clock,
			Buffer: videoBuffer(cfg.FPS), Logger: logger.With("stage", "testpattern")}
	default:
		return nil, nil, fmt.Errorf("%w: video source %q: want test or camera[:N]", ErrBadOption, cfg.Source)
	}
	switch cfg.Audio {
	case "none":
		return video, nil, nil
	case "test":
		return video, &capture.Tone{Clock: clock, Buffer: audioBuffer, Logger: logger.With("stage", "tone")}, nil
	}
	return nil, nil, fmt.Errorf("%w: audio source %q: want test, mic[:N] or none", ErrBadOption, cfg.Audio)
}
