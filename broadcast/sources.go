package broadcast

import (
	"fmt"

	"golive/capture"
	"golive/media"
	"golive/preview/scene"
)

// audioBuffer is how many 20 ms audio blocks may wait for the encoder.
const audioBuffer = 16

// videoBuffer is how many frames may wait for the encoder: a quarter of a
// second absorbs a slow encode without adding latency when it keeps up.
func videoBuffer(fps int) int { return max(2, fps/4) }

// openSources builds the configured video and audio sources (audio nil for
// "none"); they are not yet initialized.
func openSources(cfg Config, opts capture.Options) (capture.VideoSource, capture.AudioSource, error) {
	vspec, err := capture.Parse(cfg.Source)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --source: %w", media.ErrBadOption, err)
	}
	aspec, err := capture.Parse(cfg.Audio)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --audio: %w", media.ErrBadOption, err)
	}
	var video capture.VideoSource
	if cfg.Scene != nil { // the scene opens its sources itself
		video = &scene.Source{Scene: *cfg.Scene, Main: cfg.Source, Options: opts, Buffer: videoBuffer(cfg.FPS), Logger: opts.Logger}
	} else if video, err = vspec.Video(opts); err != nil {
		return nil, nil, fmt.Errorf("%w: --source: %w", media.ErrBadOption, err)
	}
	if f, ok := video.(*capture.File); ok {
		opts.File = f // --audio file: its audio track
	}
	audio, err := aspec.Audio(opts)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: --audio: %w", media.ErrBadOption, err)
	}
	switch v := video.(type) {
	case *capture.TestPattern:
		v.Buffer = videoBuffer(cfg.FPS)
	case *capture.Camera:
		v.Buffer = videoBuffer(cfg.FPS)
	case *capture.File:
		v.Buffer = videoBuffer(cfg.FPS)
	}
	switch a := audio.(type) {
	case *capture.Tone:
		a.Buffer = audioBuffer
	case *capture.Microphone:
		a.Buffer = audioBuffer
	case *capture.FileAudio:
		a.Buffer = audioBuffer
	}
	return video, audio, nil
}
