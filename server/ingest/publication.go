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
// back until the codecs are known, and drives the Sink. It is used from
// the publisher's connection goroutine, under the server's sinkMu.
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
	// lastDTS is the newest DTS handed to the sink.
	lastDTS time.Duration
	// After a takeover (resume): the next packet goes at resumeAt and
	// every packet moves by offset; resuming holds while the new
	// publisher's sequence headers are still coming.
	rebase   bool
	resumeAt time.Duration
	offset   time.Duration
	resuming bool
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

// resume makes s continue prev's stream, as a publisher that took over
// from prev: while the codec parameters are the same the sink's stream
// goes on, and timestamps continue one frame after prev's last.
func (s *publication) resume(prev *publication) {
	if !prev.started {
		return // nothing reached the sink: s starts it afresh
	}
	s.started, s.video, s.audio = true, prev.video, prev.audio
	s.md, s.haveMD = prev.md, prev.haveMD
	frame := 33 * time.Millisecond
	if prev.video != nil && prev.video.FPS > 0 {
		frame = time.Duration(float64(time.Second) / prev.video.FPS)
	}
	s.lastDTS = prev.lastDTS
	s.rebase, s.resumeAt, s.resuming = true, prev.lastDTS+frame, true
}

// write hands p to the sink, moved by the takeover offset.
func (s *publication) write(p *media.Packet) {
	if s.rebase {
		s.offset, s.rebase = s.resumeAt-p.DTS, false
	}
	if s.offset != 0 {
		q := *p
		q.DTS += s.offset
		q.PTS += s.offset
		p = &q
	}
	s.lastDTS = max(s.lastDTS, p.DTS)
	s.sink.WritePacket(p)
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
		s.resuming = false // the new publisher's headers are in
		if s.started {
			if !r.Packet.Codec.IsVideo() && s.audio == nil {
				return nil
			}
			s.write(r.Packet)
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
		if x == nil && s.resuming {
			return true // not sent yet by the publisher that took over
		}
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
		s.write(p)
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
