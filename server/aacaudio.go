package server

import (
	"fmt"
	"log/slog"
	"time"

	"golive/encoder"
	"golive/media"
)

// aacAudio transcodes a stream's audio that is not AAC (a WHIP
// publisher's Opus) to AAC once per stream, for LL-HLS: decode (FFmpeg's
// decoder), resample and encode (FFmpeg's AAC encoder, the source's
// channels at 48 kHz). The packets keep the stream's timeline. It is used
// from the ingest's goroutine.
type aacAudio struct {
	dec    *encoder.AudioDecoder
	enc    *encoder.AAC
	params media.CodecParams
	log    *slog.Logger

	errors  int // packets that failed since the last report
	lastLog time.Time
}

// newAACAudio opens the transcoder for a stream's audio.
func newAACAudio(audio media.CodecParams, log *slog.Logger) (*aacAudio, error) {
	dec := &encoder.AudioDecoder{Params: audio, Logger: log}
	if err := dec.Initialize(); err != nil {
		return nil, fmt.Errorf("audio to AAC: %w", err)
	}
	enc := &encoder.AAC{Channels: min(max(audio.Channels, 1), 2), Logger: log}
	if err := enc.Initialize(); err != nil {
		dec.Close()
		return nil, fmt.Errorf("audio to AAC: %w", err)
	}
	return &aacAudio{dec: dec, enc: enc, params: enc.Params(), log: log}, nil
}

// transcode decodes one packet and returns the AAC packets ready.
func (a *aacAudio) transcode(pkt *media.Packet) ([]*media.Packet, error) {
	frames, err := a.dec.Decode(pkt)
	var out []*media.Packet
	for _, f := range frames {
		pkts, eerr := a.enc.Encode(f)
		out = append(out, pkts...)
		if err == nil {
			err = eerr
		}
	}
	return out, err
}

// close frees the decoder and the encoder.
func (a *aacAudio) close() {
	a.dec.Close()
	a.enc.Close()
}

// startAAC opens the AAC transcoder when a new stream's audio is not AAC
// and returns the audio LL-HLS carries (nil: none).
func (p *pipeline) startAAC(audio *media.CodecParams) *media.CodecParams {
	p.stopAAC()
	if audio == nil || audio.Codec == media.CodecAAC {
		return audio
	}
	a, err := newAACAudio(*audio, p.log.With("stage", "aac"))
	if err != nil {
		p.log.Error("LL-HLS without audio: the stream's audio cannot be made AAC", "codec", audio.Codec.String(), "err", err)
		return nil
	}
	p.aac = a
	p.log.Info("audio transcoded for LL-HLS", "from", audio.Codec.String(), "to", "aac")
	return &a.params
}

// stopAAC closes the AAC transcoder, if any.
func (p *pipeline) stopAAC() {
	if p.aac != nil {
		p.aac.close()
		p.aac = nil
	}
}

// writeHLSAudio hands an audio packet to the top rung, made AAC first
// when it is not; failures are counted and reported once a second.
func (p *pipeline) writeHLSAudio(pkt *media.Packet) {
	if p.aac == nil {
		if pkt.Codec == media.CodecAAC {
			_ = p.top.WriteAudio(pkt)
		}
		return
	}
	out, err := p.aac.transcode(pkt)
	for _, a := range out {
		_ = p.top.WriteAudio(a)
	}
	if err != nil {
		p.aac.errors++
		if now := time.Now(); now.Sub(p.aac.lastLog) >= time.Second {
			p.aac.log.Warn("audio packets not transcoded", "count", p.aac.errors, "err", err)
			p.aac.lastLog, p.aac.errors = now, 0
		}
	}
}
