package broadcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golive/encoder"
	"golive/media"
	"golive/publisher"
)

// onAir is one Go Live, from the button to the stop: the encoders and the destinations they feed.
type onAir struct {
	venc    *encoder.H264
	aenc    *encoder.AAC  // nil without audio, or when only WHIP destinations take it
	oenc    *encoder.Opus // nil without audio or without a WHIP destination
	out     *publisher.Multi
	urls    []string                     // masked, in the order of out.Destinations
	rec     *publisher.Recorder          // nil unless recording
	abr     *publisher.BitrateController // nil when the bitrate is fixed
	started time.Time
	fps     int
	// videoOut is set once the first video packet went out: audio waits for
	// it, since a stream starts at a keyframe and earlier audio would only
	// be dropped by the destinations' queues (and counted as dropped).
	videoOut atomic.Bool
	stopped  chan struct{} // closed by close
	once     sync.Once
	summary  Summary // what was delivered, once closed
}

// openOnAir opens the encoders and connects to every destination in
// parallel. It fails only when no destination accepts the stream; the ones
// that did reconnect by themselves when their connection is lost.
func openOnAir(ctx context.Context, cfg Config, withAudio bool, logger *slog.Logger) (*onAir, error) {
	venc := &encoder.H264{
		Encoder: cfg.Encoder, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
		Bitrate: cfg.Bitrate, Logger: logger.With("stage", "encoder"),
	}
	if err := venc.Initialize(); err != nil {
		return nil, fmt.Errorf("video encoder: %w", err)
	}
	s := &onAir{venc: venc, out: &publisher.Multi{}, stopped: make(chan struct{}), started: time.Now(), fps: cfg.FPS}
	whip, rtmp := 0, 0
	for _, u := range cfg.Destinations {
		if t, err := publisher.ParseURL(u); err == nil && t.IsWHIP() {
			whip++
		} else {
			rtmp++
		}
	}
	var ap, op *media.CodecParams
	if withAudio && (rtmp > 0 || cfg.Record != "") {
		s.aenc = &encoder.AAC{Bitrate: cfg.AudioBitrate, Logger: logger.With("stage", "aac")}
		if err := s.aenc.Initialize(); err != nil {
			venc.Close()
			return nil, fmt.Errorf("audio encoder: %w", err)
		}
		p := s.aenc.Params()
		ap = &p
	}
	if withAudio && whip > 0 {
		// WebRTC carries Opus, not AAC: one Opus encode for every WHIP
		// destination.
		s.oenc = &encoder.Opus{Bitrate: min(max(cfg.AudioBitrate, 6000), 510000), Logger: logger.With("stage", "opus")}
		if err := s.oenc.Initialize(); err != nil {
			s.close()
			return nil, fmt.Errorf("audio encoder: %w", err)
		}
		p := s.oenc.Params()
		op = &p
	}

	for _, u := range cfg.Destinations {
		masked := MaskURL(u)
		s.urls = append(s.urls, masked)
		if t, err := publisher.ParseURL(u); err == nil && t.IsWHIP() {
			s.out.Destinations = append(s.out.Destinations, &publisher.WHIP{
				URL: u, Video: venc.Params(), Audio: op, Reconnect: publisher.DefaultReconnect(),
				Logger: logger, // it adds its stage and the masked URL
			})
			continue
		}
		s.out.Destinations = append(s.out.Destinations, &publisher.RTMP{
			URL: u, Video: venc.Params(), Audio: ap, Reconnect: publisher.DefaultReconnect(),
			Logger: logger, // it adds its stage and the masked URL
		})
	}
	err := s.out.InitializeContext(ctx)
	for i, e := range s.out.Errors() {
		if e != nil && err == nil { // when none started, the error says it all
			logger.Warn("destination failed to start; going on with the others (one that was only unreachable keeps retrying)",
				"url", s.urls[i], "err", e)
		}
	}
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		s.close()
		return nil, err
	}
	if cfg.Record != "" {
		rec := &publisher.Recorder{Path: cfg.Record, Video: venc.Params(), Audio: ap, Logger: logger} // it adds its stage and path
		if err := rec.Initialize(); err != nil {
			s.close()
			return nil, fmt.Errorf("record: %w", err)
		}
		s.rec = rec
	}
	if !cfg.FixedBitrate {
		// The worst live destination steers while it is worth keeping
		// (see publisher.BitrateController): a dead one, reconnecting,
		// does not, nor one that cannot keep up even at the floor.
		abr := &publisher.BitrateController{
			Destinations: s.out.Stats, SetBitrate: venc.SetBitrate, Max: cfg.Bitrate,
			OtherBitrate: cfg.AudioBitrate, Logger: logger, // it adds its stage
		}
		if err := abr.Initialize(); err != nil {
			s.close()
			return nil, fmt.Errorf("adaptive bitrate: %w", err)
		}
		s.abr = abr
	}
	return s, nil
}

// write hands packets to every destination (each takes its own audio
// codec) and the recorder; it never blocks.
func (s *onAir) write(pkts []*media.Packet) {
	for _, p := range pkts {
		if p.Codec.IsVideo() {
			s.videoOut.Store(true)
		}
		s.out.WritePacket(p)
		if s.rec != nil && p.Codec != media.CodecOpus {
			s.rec.WritePacket(p)
		}
	}
}

// hasAudio reports whether the destinations take audio.
func (s *onAir) hasAudio() bool { return s.aenc != nil || s.oenc != nil }

// encodeAudio encodes one audio frame to AAC and to Opus, as the
// destinations need, and hands the packets on.
func (s *onAir) encodeAudio(f *media.AudioFrame) error {
	var errs []error
	if s.aenc != nil {
		pkts, err := s.aenc.Encode(f)
		s.write(pkts)
		errs = append(errs, err)
	}
	if s.oenc != nil {
		pkts, err := s.oenc.Encode(f)
		s.write(pkts)
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// err joins the destinations' errors once all of them have ended.
func (s *onAir) err() error {
	var errs []error
	for i, d := range s.out.Destinations {
		if err := d.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.urls[i], err))
		}
	}
	return fmt.Errorf("%w: %w", publisher.ErrNoDestination, errors.Join(errs...))
}

// close drains the encoders into the destinations (the capture loops have
// let go of the onAir by then), then flushes and closes the destinations
// and the recorder, then the encoders.
func (s *onAir) close() {
	s.once.Do(func() {
		close(s.stopped)
		if s.abr != nil {
			s.abr.Close()
		}
		if pkts, err := s.venc.Flush(); err == nil {
			s.write(pkts)
		}
		if s.aenc != nil {
			if pkts, err := s.aenc.Flush(); err == nil {
				s.write(pkts)
			}
		}
		if s.oenc != nil {
			if pkts, err := s.oenc.Flush(); err == nil {
				s.write(pkts)
			}
		}
		s.out.Close()
		s.summary = summarize(s)
		if s.rec != nil {
			s.rec.Close()
		}
		s.venc.Close()
		if s.aenc != nil {
			s.aenc.Close()
		}
		if s.oenc != nil {
			s.oenc.Close()
		}
	})
}
