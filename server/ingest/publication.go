package ingest

import (
	"bytes"
	"log/slog"
	"time"

	"golive/media"
)

// maxPending and maxPendingBytes bound what a publication buffers while it
// waits for both sequence headers.
const (
	maxPending      = 512
	maxPendingBytes = 16 << 20
)

// noAudioAfter is how much video a publication buffers waiting for an audio
// sequence header before it starts the stream without audio.
const noAudioAfter = time.Second

// publication is one accepted publisher: it demuxes its tags, holds packets
// back until the codecs are known, and drives the Sink. It is used only
// from the publisher's connection goroutine.
type publication struct {
	sink    Sink
	log     *slog.Logger
	demux   FLVDemuxer
	started bool
	video   *media.CodecParams // what StartStream was called with
	audio   *media.CodecParams
	pending []*media.Packet
	// pendingBytes is the size of the pending packets.
	pendingBytes int
	md           Metadata
	haveMD       bool
	// src tells the codec parameters when the packets do not come from
	// demux (WHIP); nil: demux's.
	src paramSource
}

// paramSource tells a publication its stream's current codec parameters.
type paramSource interface {
	VideoParams() *media.CodecParams
	AudioParams() *media.CodecParams
}

// codecs returns the current codec parameters (nil until known).
func (s *publication) codecs() (video, audio *media.CodecParams) {
	if s.src != nil {
		return s.src.VideoParams(), s.src.AudioParams()
	}
	return s.demux.VideoParams(), s.demux.AudioParams()
}

// metadata records the publisher's onMetaData.
func (s *publication) metadata(md Metadata) {
	s.md, s.haveMD = md, true
}

// handle feeds one demuxed tag result through the gate.
func (s *publication) handle(r TagResult) error {
	if r.Params != nil && s.started && !s.sameParams() {
		s.log.Info("codec parameters changed: restarting the stream")
		s.sink.StopStream()
		s.started = false
	}
	if r.Packet != nil {
		if s.started {
			if !r.Packet.Codec.IsVideo() && s.audio == nil {
				return nil
			}
			s.sink.WritePacket(r.Packet)
			return nil
		}
		for len(s.pending) > 0 && (len(s.pending) == maxPending || s.pendingBytes+len(r.Packet.Data) > maxPendingBytes) {
			s.pendingBytes -= len(s.pending[0].Data)
			s.pending = s.pending[1:]
		}
		s.pending = append(s.pending, r.Packet)
		s.pendingBytes += len(r.Packet.Data)
	}
	if !s.started {
		return s.tryStart()
	}
	return nil
}

func (s *publication) sameParams() bool {
	v, a := s.codecs()
	same := func(x, y *media.CodecParams) bool {
		if x == nil || y == nil {
			return x == y
		}
		return bytes.Equal(x.Config, y.Config)
	}
	return same(v, s.video) && same(a, s.audio)
}

// tryStart starts the stream once the video parameters are known and the
// audio parameters are known too, or are not coming.
func (s *publication) tryStart() error {
	v, a := s.codecs()
	if v == nil {
		return nil
	}
	if a == nil {
		noAudio := s.haveMD && !s.md.HasAudio
		if !noAudio && s.videoSpan() < noAudioAfter {
			return nil
		}
	}
	vp := *v
	if vp.FPS == 0 && s.md.FPS > 0 {
		vp.FPS = s.md.FPS
	}
	if s.md.VideoKbps > 0 {
		vp.Bitrate = int(s.md.VideoKbps * 1000)
	}
	if err := s.sink.StartStream(&vp, a); err != nil {
		return err
	}
	s.started, s.video, s.audio = true, v, a
	s.log.Info("stream started", "video", describe(&vp), "audio", describe(a))
	for _, p := range s.pending {
		if !p.Codec.IsVideo() && a == nil {
			continue
		}
		s.sink.WritePacket(p)
	}
	s.pending, s.pendingBytes = nil, 0
	return nil
}

// videoSpan returns the time covered by the buffered video packets.
func (s *publication) videoSpan() time.Duration {
	var first, last time.Duration
	seen := false
	for _, p := range s.pending {
		if p.Codec != media.CodecH264 {
			continue
		}
		if !seen {
			first, seen = p.DTS, true
		}
		last = p.DTS
	}
	return last - first
}

// stop ends the stream if it started.
func (s *publication) stop() {
	if s.started {
		s.sink.StopStream()
		s.started = false
	}
	s.pending, s.pendingBytes = nil, 0
}

func describe(p *media.CodecParams) string {
	if p == nil {
		return "none"
	}
	if p.Codec.IsVideo() {
		return p.Codec.String() + " " + itoa(int64(p.Width)) + "x" + itoa(int64(p.Height))
	}
	return p.Codec.String() + " " + itoa(int64(p.SampleRate)) + " Hz " + itoa(int64(p.Channels)) + " ch"
}

func itoa(n int64) string { return formatFloat(float64(n)) }
