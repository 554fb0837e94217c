package broadcast

import (
	"fmt"

	"golive/capture"
	"golive/media"
)

// Config is what a broadcast sends and where; the zero value of each field
// takes the default documented on it.
type Config struct {
	// Destinations are RTMP(S) publish URLs or WHIP endpoints
	// (http(s)://KEY@HOST/PATH); several means multistream.
	Destinations []string
	// Source is the video source: "test" (default) or "camera[:N]".
	Source string
	// Audio is the audio source: "test" (default), "mic[:N]" or "none".
	Audio string
	// Width and Height are the frame size, default 1280x720.
	Width, Height int
	// FPS is the frame rate, default 30.
	FPS int
	// Bitrate is the video bitrate in bits/s, default 3,000,000.
	Bitrate int
	// AudioBitrate is the AAC bitrate in bits/s, default 128,000.
	AudioBitrate int
	// Encoder is "auto" (default: hardware first, then libx264) or an FFmpeg encoder name.
	Encoder string
	// Record, when set, is a file the encoded stream is also written to
	// (fragmented MP4, or Matroska for .mkv), whatever the network does.
	Record string
	// FixedBitrate turns adaptive bitrate off; by default the bitrate goes
	// down when the link cannot carry it and back up to Bitrate after.
	FixedBitrate bool
}

// WithDefaults returns c with every zero field set to its default.
func (c Config) WithDefaults() Config {
	if c.Source == "" {
		c.Source = "test"
	}
	if c.Audio == "" {
		c.Audio = "test"
	}
	if c.Width == 0 || c.Height == 0 {
		c.Width, c.Height = 1280, 720
	}
	if c.FPS == 0 {
		c.FPS = 30
	}
	if c.Bitrate == 0 {
		c.Bitrate = 3_000_000
	}
	if c.AudioBitrate == 0 {
		c.AudioBitrate = 128_000
	}
	if c.Encoder == "" {
		c.Encoder = "auto"
	}
	return c
}

// Validate checks the configuration a user gave, with the same rules as the
// command-line parsers.
func (c Config) Validate() error {
	c = c.WithDefaults()
	if len(c.Destinations) == 0 {
		return fmt.Errorf("%w: no destination (want --to rtmp://HOST/APP/KEY or --to http://KEY@HOST/whip)", media.ErrBadOption)
	}
	for _, d := range c.Destinations {
		if _, err := ParseDestination(d); err != nil {
			return err
		}
	}
	if spec, err := capture.Parse(c.Source); err != nil || (spec.Kind != capture.KindTest && spec.Kind != capture.KindCamera) {
		return fmt.Errorf("%w: source %q: want test or camera[:N]", media.ErrBadOption, c.Source)
	}
	if spec, err := capture.Parse(c.Audio); err != nil || spec.Kind == capture.KindCamera {
		return fmt.Errorf("%w: audio %q: want test, mic[:N] or none", media.ErrBadOption, c.Audio)
	}
	if _, _, err := ParseSize(fmt.Sprintf("%dx%d", c.Width, c.Height)); err != nil {
		return err
	}
	if _, err := ParseFPS(fmt.Sprint(c.FPS)); err != nil {
		return err
	}
	if _, err := media.ParseBitrate(fmt.Sprint(c.Bitrate)); err != nil {
		return err
	}
	if _, err := media.ParseBitrate(fmt.Sprint(c.AudioBitrate)); err != nil {
		return err
	}
	return nil
}
