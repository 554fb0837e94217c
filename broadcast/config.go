package broadcast

import (
	"fmt"

	"golive/capture"
	"golive/media"
	"golive/preview/scene"
)

// Config is what a broadcast sends and where; the zero value of each field
// takes the default documented on it.
type Config struct {
	// Destinations are RTMP(S) publish URLs or WHIP endpoints
	// (http(s)://KEY@HOST/PATH); several means multistream.
	Destinations []string
	// Source is the video source: "test" (default), "camera[:N]",
	// "screen[:N]", "window:TITLE" (see capture.Parse) or a media file,
	// "file:PATH" (looping; "file:PATH?loop=0" plays it once and then ends
	// the stream).
	Source string
	// Audio is the audio source: "test" (default), "mic[:N]", "file" (the
	// audio track of Source's file) or "none".
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
	// Scene, when set, composes the video: its layers over its own source,
	// or over Source when it names none (see preview/scene).
	Scene *scene.Scene
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
	vspec, err := capture.Parse(c.Source)
	if err != nil || vspec.Kind == capture.KindMic || vspec.Kind == capture.KindNone || (vspec.Kind == capture.KindFile && vspec.Path == "") {
		return fmt.Errorf("%w: source %q: want test, camera[:N], screen[:N], window:TITLE or file:PATH", media.ErrBadOption, c.Source)
	}
	if c.Scene != nil {
		if err := c.Scene.Validate(); err != nil {
			return fmt.Errorf("%w: scene: %w", media.ErrBadOption, err)
		}
	}
	aspec, err := capture.Parse(c.Audio)
	if err != nil || aspec.Kind == capture.KindCamera || aspec.Kind == capture.KindScreen || aspec.Kind == capture.KindWindow || (aspec.Kind == capture.KindFile && aspec.Path != "") {
		return fmt.Errorf("%w: audio %q: want test, mic[:N], file or none", media.ErrBadOption, c.Audio)
	}
	if aspec.Kind == capture.KindFile && vspec.Kind != capture.KindFile {
		return fmt.Errorf("%w: audio \"file\" is the audio track of --source file:PATH", media.ErrBadOption)
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
