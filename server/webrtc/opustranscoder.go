package webrtc

import (
	"fmt"
	"log/slog"

	"golive/encoder"
	"golive/media"
)

// opusTranscoder turns a stream's AAC into Opus: decode (FFmpeg's AAC
// decoder), resample to 48 kHz and encode (libopus, 20 ms frames). The
// packets keep the stream's timeline.
type opusTranscoder struct {
	dec *encoder.AudioDecoder
	enc *encoder.Opus
}

// NewOpusTranscoder returns the AAC → Opus transcoder WHEP uses by
// default; Opus passes through untouched.
func NewOpusTranscoder(audio media.CodecParams, log *slog.Logger) (AudioTranscoder, error) {
	if audio.Codec == media.CodecOpus {
		return passThrough{}, nil
	}
	if audio.Codec != media.CodecAAC {
		return nil, fmt.Errorf("whep: no Opus from %s audio", audio.Codec)
	}
	dec := &encoder.AudioDecoder{Params: audio, Logger: log}
	if err := dec.Initialize(); err != nil {
		return nil, fmt.Errorf("whep: %w", err)
	}
	ch := min(max(audio.Channels, 1), 2)
	enc := &encoder.Opus{Channels: ch, Logger: log}
	if err := enc.Initialize(); err != nil {
		dec.Close()
		return nil, fmt.Errorf("whep: %w", err)
	}
	return &opusTranscoder{dec: dec, enc: enc}, nil
}

// Transcode decodes one AAC packet and returns the Opus packets ready.
func (t *opusTranscoder) Transcode(pkt *media.Packet) ([]*media.Packet, error) {
	frames, err := t.dec.Decode(pkt)
	var out []*media.Packet
	for _, f := range frames {
		pkts, eerr := t.enc.Encode(f)
		out = append(out, pkts...)
		if eerr != nil && err == nil {
			err = eerr
		}
	}
	return out, err
}

// Close frees the decoder and the encoder.
func (t *opusTranscoder) Close() {
	t.dec.Close()
	t.enc.Close()
}

// passThrough hands Opus packets on as they are.
type passThrough struct{}

func (passThrough) Transcode(pkt *media.Packet) ([]*media.Packet, error) {
	return []*media.Packet{pkt}, nil
}

func (passThrough) Close() {}
