package encoder

import (
	"fmt"
	"log/slog"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// Defaults of the AAC encoder.
const (
	DefaultAudioSampleRate = 48000
	DefaultAudioChannels   = 2
	DefaultAudioBitrate    = 128000
)

// AAC encodes interleaved s16 PCM at any rate and channel count into
// AAC-LC with FFmpeg's native "aac" encoder, resampling to SampleRate and
// Channels (planar float) and buffering to the encoder's 1024-sample
// frames; timestamps follow the input (see audioEncoder). Encode, Flush
// and Close belong to one goroutine; Stats may be called from any.
type AAC struct {
	// SampleRate is the output rate in Hz. Default 48000.
	SampleRate int
	// Channels is the output channel count, 1 or 2. Default 2.
	Channels int
	// Bitrate is the target in bits/s. Default 128000.
	Bitrate int
	// Logger receives the stage's logs. Default slog.Default().
	Logger *slog.Logger

	audioEncoder
}

// Initialize validates the configuration and opens the encoder.
func (a *AAC) Initialize() error {
	if a.SampleRate == 0 {
		a.SampleRate = DefaultAudioSampleRate
	}
	if a.Channels == 0 {
		a.Channels = DefaultAudioChannels
	}
	if a.Bitrate == 0 {
		a.Bitrate = DefaultAudioBitrate
	}
	if a.Logger == nil {
		a.Logger = slog.Default()
	}
	switch {
	case a.SampleRate < 8000 || a.SampleRate > 96000:
		return fmt.Errorf("aac initialize: %w: sample rate %d", ErrBadConfig, a.SampleRate)
	case a.Channels != 1 && a.Channels != 2:
		return fmt.Errorf("aac initialize: %w: %d channels (1 or 2)", ErrBadConfig, a.Channels)
	case a.Bitrate < 0:
		return fmt.Errorf("aac initialize: %w: bitrate %d", ErrBadConfig, a.Bitrate)
	}
	log := a.Logger.With("codec", "aac")
	ac := audioCodec{name: "aac", codec: media.CodecAAC, format: astiav.SampleFormatFltp,
		options: map[string]string{"profile": "aac_low"}, globalHeader: true}
	if err := a.open(ac, a.SampleRate, a.Channels, a.Bitrate, log); err != nil {
		return fmt.Errorf("aac initialize: %w", err)
	}
	if len(a.params.Config) < 2 {
		a.Close()
		return fmt.Errorf("aac initialize: %w: no AudioSpecificConfig", ErrOpen)
	}
	log.Info("aac encoder opened", "rate", a.SampleRate, "channels", a.Channels, "bitrate", a.Bitrate)
	return nil
}
