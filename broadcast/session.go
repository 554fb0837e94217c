package broadcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golive/encoder"
	"golive/media"
	"golive/publisher"
)

// session is one Go Live: the encoders and the destinations they feed.
type session struct {
	venc    *encoder.H264
	aenc    *encoder.AAC // nil without audio
	dests   []*destination
	started time.Time
	stopped chan struct{} // closed by close
	once    sync.Once
}

// destination is one publish URL and its RTMP client.
type destination struct {
	url string // masked, for logs and stats
	rtmp *publisher.RTMP
}

// openSession opens the encoders and connects to every destination in
// parallel. It fails only when no destination accepts the stream.
func openSession(ctx context.Context, cfg Config, withAudio bool, logger *slog.Logger) (*session, error) {
	venc := &encoder.H264{
		Encoder: cfg.Encoder, Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS,
		Bitrate: cfg.Bitrate, Logger: logger.With("stage", "encoder"),
	}
	if err := venc.Initialize(); err != nil {
		return nil, fmt.Errorf("video encoder: %w", err)
	}
	s := &session{venc: venc, stopped: make(chan struct{}), started: time.Now()}
	vp := venc.Params()
	var ap *media.CodecParams
	if withAudio {
		s.aenc = &encoder.AAC{Bitrate: cfg.AudioBitrate, Logger: logger.With("stage", "aac")}
		if err := s.aenc.Initialize(); err != nil {
			venc.Close()
			return nil, fmt.Errorf("audio encoder: %w", err)
		}
		p := s.aenc.Params()
		ap = &p
	}
	logger.Info("encoding", "encoder", venc.Name(), "hardware", venc.Hardware(),
		"size", fmt.Sprintf("%dx%d", cfg.Width, cfg.Height), "fps", cfg.FPS, "bitrate", cfg.Bitrate)

	dests := make([]*destination, len(cfg.Destinations))
	errs := make([]error, len(cfg.Destinations))
	var wg sync.WaitGroup
	for i, u := range cfg.Destinations {
		masked := MaskURL(u)
		dests[i] = &destination{url: masked, rtmp: &publisher.RTMP{
			URL: u, Video: vp, Audio: ap, Logger: logger.With("stage", "publisher", "url", masked),
		}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := dests[i].rtmp.Initialize(); err != nil {
				errs[i] = fmt.Errorf("%s: %w", masked, err)
			}
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil {
			s.dests = append(s.dests, dests[i])
		} else {
			logger.Error("destination refused the stream", "err", err)
		}
	}
	if ctx.Err() != nil || len(s.dests) == 0 {
		s.close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %w", ErrAllDestinationsFailed, errors.Join(errs...))
	}
	return s, nil
}

// write hands packets to every destination; it never blocks.
func (s *session) write(pkts []*media.Packet) {
	for _, p := range pkts {
		for _, d := range s.dests {
			d.rtmp.WritePacket(p)
		}
	}
}

// allDone returns a channel closed once every destination has ended.
func (s *session) allDone() <-chan struct{} {
	done := make(chan struct{})
	go func() {
		for _, d := range s.dests {
			select {
			case <-d.rtmp.Done():
			case <-s.stopped:
				return
			}
		}
		close(done)
	}()
	return done
}

// err joins the destinations' errors.
func (s *session) err() error {
	var errs []error
	for _, d := range s.dests {
		if err := d.rtmp.Err(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", d.url, err))
		}
	}
	return fmt.Errorf("%w: %w", ErrAllDestinationsFailed, errors.Join(errs...))
}

// close flushes and closes the destinations, then the encoders.
func (s *session) close() {
	s.once.Do(func() {
		close(s.stopped)
		var wg sync.WaitGroup
		for _, d := range s.dests {
			wg.Add(1)
			go func() { defer wg.Done(); d.rtmp.Close() }()
		}
		wg.Wait()
		s.venc.Close()
		if s.aenc != nil {
			s.aenc.Close()
		}
	})
}
