package encoder

import (
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// Defaults of the Opus encoder.
const (
	// OpusSampleRate is Opus's rate over WebRTC (RFC 7587).
	OpusSampleRate = 48000
	// OpusFrame is the duration of one Opus packet.
	OpusFrame = 20 * time.Millisecond
	// DefaultOpusBitrate is the default target (stereo music and speech).
	DefaultOpusBitrate = 96000
)

// Opus encodes interleaved s16 PCM at any rate and channel count into
// Opus with libopus, for WebRTC: 48 kHz, 20 ms frames (960 samples),
// variable bitrate, in-band FEC. It resamples to 48 kHz and Channels
// (packed s16) and buffers to whole frames; timestamps follow the input
// (see audioEncoder). Encode, Flush and Close belong to one goroutine;
// Stats may be called from any.
type Opus struct {
	// Channels is the output channel count, 1 or 2. Default 2.
	Channels int
	// Bitrate is the target in bits/s (6000–510000). Default 96000.
	Bitrate int
	// PacketLoss is the loss (percent) libopus prepares its in-band FEC
	// for. Default 5.
	PacketLoss int
	// Logger receives the stage's logs. Default slog.Default().
	Logger *slog.Logger

	audioEncoder
}

// Initialize validates the configuration and opens libopus.
func (o *Opus) Initialize() error {
	if o.Channels == 0 {
		o.Channels = DefaultAudioChannels
	}
	if o.Bitrate == 0 {
		o.Bitrate = DefaultOpusBitrate
	}
	if o.PacketLoss == 0 {
		o.PacketLoss = 5
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	switch {
	case o.Channels != 1 && o.Channels != 2:
		return fmt.Errorf("opus initialize: %w: %d channels (1 or 2)", ErrBadConfig, o.Channels)
	case o.Bitrate < 6000 || o.Bitrate > 510000:
		return fmt.Errorf("opus initialize: %w: bitrate %d (6000-510000)", ErrBadConfig, o.Bitrate)
	case o.PacketLoss < 0 || o.PacketLoss > 100:
		return fmt.Errorf("opus initialize: %w: packet loss %d%%", ErrBadConfig, o.PacketLoss)
	}
	log := o.Logger.With("codec", "opus")
	frame := int(OpusFrame * OpusSampleRate / time.Second)
	ac := audioCodec{name: "libopus", codec: media.CodecOpus, format: astiav.SampleFormatS16, frameSize: frame,
		options: map[string]string{
			"application":    "audio",
			"frame_duration": strconv.Itoa(int(OpusFrame / time.Millisecond)),
			"vbr":            "on",
			"fec":            "1",
			"packet_loss":    strconv.Itoa(o.PacketLoss),
		}}
	if err := o.open(ac, OpusSampleRate, o.Channels, o.Bitrate, log); err != nil {
		return fmt.Errorf("opus initialize: %w", err)
	}
	log.Info("opus encoder opened", "channels", o.Channels, "bitrate", o.Bitrate)
	return nil
}
