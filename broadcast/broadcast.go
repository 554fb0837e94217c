// Package broadcast owns the pipeline that both the GUI and `golive stream`
// drive: capture → encoder → publisher(s), the live/offline state machine
// and the stats shown to the user. It holds no widgets.
package broadcast

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"

	"golive/capture"
	"golive/media"
	"golive/preview/scene"
)

// ErrNotInitialized is returned by GoLive before Initialize or after Close.
var ErrNotInitialized = errors.New("broadcast not initialized")

// ErrAlreadyLive is returned by GoLive while an onAir is running.
var ErrAlreadyLive = errors.New("already live")

// Broadcast captures continuously from Initialize on (for the preview) and
// encodes and publishes between GoLive and StopLive.
type Broadcast struct {
	// Config holds the capture and encoding settings; read at Initialize
	// (capture) and at each GoLive (encoding).
	Config Config
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Clock is the capture clock, default capture.NewClock().
	Clock capture.Clock
	// MicBackends are the miniaudio backends a microphone source opens
	// (nil: malgo's default list; capture.NullBackend needs no sound card).
	MicBackends []malgo.Backend
	// OnFrame, when set, sees every captured video frame before it is
	// encoded (for the preview, and to draw an overlay into it in place);
	// it runs on the capture goroutine, so it must return at once and must
	// not keep the frame.
	OnFrame func(*media.VideoFrame)

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	video  capture.VideoSource
	audio  capture.AudioSource
	ctl    [2]chan control  // to the video and audio loops
	ended  [2]chan struct{} // closed when that loop has returned
	errs   errorCounter
	stats  *statsKeeper

	onAudio atomic.Pointer[func(*media.AudioFrame)]

	mu      sync.Mutex // guards air, lastErr, summary and connecting
	air     *onAir
	lastErr error
	summary *Summary
	connect bool
}

// control hands an onAir (or nil) to a capture loop, which acknowledges
// by closing ack once it no longer uses the previous one.
type control struct {
	air *onAir
	ack chan struct{}
}

// Initialize starts capture.
func (b *Broadcast) Initialize() error {
	b.Config = b.Config.WithDefaults()
	if b.Logger == nil {
		b.Logger = slog.Default()
	}
	if b.Clock == nil {
		b.Clock = capture.NewClock()
	}
	video, audio, err := openSources(b.Config, capture.Options{
		Width: b.Config.Width, Height: b.Config.Height, FPS: b.Config.FPS, Clock: b.Clock,
		MicBackends: b.MicBackends, Logger: b.Logger.With("stage", "capture"),
	})
	if err != nil {
		return fmt.Errorf("broadcast: %w", err)
	}
	if err := video.Initialize(); err != nil {
		video.Close()
		return fmt.Errorf("broadcast: video source: %w", fileOption(err))
	}
	b.video = video
	if audio != nil {
		if err := audio.Initialize(); err != nil {
			audio.Close()
			video.Close()
			return fmt.Errorf("broadcast: audio source: %w", fileOption(err))
		}
		b.audio = audio
	}
	b.ctx, b.cancel = context.WithCancel(context.Background())
	b.ctl = [2]chan control{make(chan control), make(chan control)}
	b.ended = [2]chan struct{}{make(chan struct{}), make(chan struct{})}
	b.stats = newStatsKeeper(b.Config.FPS)
	b.wg.Add(2)
	go b.videoLoop()
	go b.statsLoop()
	if b.audio != nil {
		b.wg.Add(1)
		go b.audioLoop()
	}
	return nil
}

// fileOption marks a media file the source cannot use as a bad option
// (the user named it), keeping the reason.
func fileOption(err error) error {
	if errors.Is(err, capture.ErrFile) {
		return fmt.Errorf("%w: %w", media.ErrBadOption, err)
	}
	return err
}

// SourceDone returns a channel closed when capture has ended: the video
// source ran out (a media file played once) or Close was called.
func (b *Broadcast) SourceDone() <-chan struct{} { return b.ended[0] }

// GoLive opens the encoders and connects to every destination; it returns
// once at least one destination accepted the stream, or with an error
// wrapping publisher.ErrNoDestination and the reasons all of them refused it.
func (b *Broadcast) GoLive(ctx context.Context, destinations []string) error {
	if b.ctx == nil || b.ctx.Err() != nil {
		return ErrNotInitialized
	}
	b.mu.Lock()
	if b.air != nil || b.connect {
		b.mu.Unlock()
		return ErrAlreadyLive
	}
	b.connect = true
	b.lastErr = nil
	b.mu.Unlock()
	defer func() { b.mu.Lock(); b.connect = false; b.mu.Unlock() }()

	cfg := b.Config
	cfg.Destinations = destinations
	if err := cfg.Validate(); err != nil {
		return err
	}
	air, err := openOnAir(ctx, cfg, b.audio != nil, b.Logger)
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.air = air
	b.mu.Unlock()
	if r, ok := b.video.(capture.Restarter); ok {
		r.Restart() // a media file starts on air from its first frame
	}
	b.handOver(air)
	b.wg.Add(1)
	go b.watch(air)
	return nil
}

// handOver gives air (or nil) to the capture loops and waits until both
// have let go of the previous onAir.
func (b *Broadcast) handOver(air *onAir) {
	n := 1
	if b.audio != nil {
		n = 2
	}
	for i := range n {
		c := control{air: air, ack: make(chan struct{})}
		select {
		case b.ctl[i] <- c:
			<-c.ack
		case <-b.ended[i]: // its source ended: it uses no onAir any more
		case <-b.ctx.Done():
			return
		}
	}
}

// watch ends the onAir when every destination has failed for good.
func (b *Broadcast) watch(air *onAir) {
	defer b.wg.Done()
	select {
	case <-air.out.Done():
		err := air.err()
		b.Logger.Error("broadcast ended", "err", err)
		b.stop(air, err)
	case <-air.stopped:
	case <-b.ctx.Done():
	}
}

// Scene returns the scene being composed (to change it live), nil when
// the configuration has none.
func (b *Broadcast) Scene() *scene.Source {
	s, _ := b.video.(*scene.Source)
	return s
}

// SetOnAudio sets a function that sees every captured audio block (for a
// level meter), on the capture goroutine: it must return at once and must
// not keep the block. Nil removes it. Safe to call at any time.
func (b *Broadcast) SetOnAudio(f func(*media.AudioFrame)) {
	if f == nil {
		b.onAudio.Store(nil)
		return
	}
	b.onAudio.Store(&f)
}

// StopLive stops publishing, flushing what is queued, and returns to offline;
// capture goes on.
func (b *Broadcast) StopLive() {
	b.mu.Lock()
	air := b.air
	b.mu.Unlock()
	if air != nil {
		b.stop(air, nil)
	}
}

func (b *Broadcast) stop(air *onAir, err error) {
	b.mu.Lock()
	if b.air != air {
		b.mu.Unlock()
		return
	}
	b.air = nil
	b.lastErr = err
	b.mu.Unlock()
	b.handOver(nil)
	air.close()
	b.mu.Lock()
	b.summary = &air.summary
	b.mu.Unlock()
}

// LastSummary returns what the last finished Go Live delivered to each
// destination (false before one has finished). StopLive returns once it is
// there.
func (b *Broadcast) LastSummary() (Summary, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.summary == nil {
		return Summary{}, false
	}
	return *b.summary, true
}

// LiveDone returns a channel closed when the current onAir ends, by
// StopLive or because every destination failed (then Err says why); nil
// when offline.
func (b *Broadcast) LiveDone() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.air == nil {
		return nil
	}
	return b.air.stopped
}

// Err returns why the last onAir ended, nil if it was stopped by the user.
func (b *Broadcast) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lastErr
}

// SetBitrate changes the video bitrate of the running onAir and of the
// next ones. With adaptive bitrate it is the new ceiling: a current bitrate
// above it comes down at once, a lower one climbs back as the link allows.
func (b *Broadcast) SetBitrate(bps int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.Config.Bitrate = bps
	switch {
	case b.air == nil:
	case b.air.abr != nil:
		b.air.abr.SetMax(bps)
	default:
		b.air.venc.SetBitrate(bps)
	}
}

// ReconnectNow makes every reconnecting destination try again at once
// instead of waiting out its backoff.
func (b *Broadcast) ReconnectNow() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.air != nil {
		for _, d := range b.air.out.Destinations {
			d.ReconnectNow()
		}
	}
}

// Close stops publishing and capture and waits for every goroutine.
func (b *Broadcast) Close() {
	if b.cancel == nil {
		return
	}
	b.StopLive()
	b.cancel()
	b.video.Close()
	if b.audio != nil {
		b.audio.Close()
	}
	b.wg.Wait()
}

func (b *Broadcast) videoLoop() {
	defer b.wg.Done()
	defer close(b.ended[0])
	var air *onAir
	needKey := false
	for {
		select {
		case <-b.ctx.Done():
			return
		case c := <-b.ctl[0]:
			air, needKey = c.air, true
			close(c.ack)
		case f, ok := <-b.video.Frames():
			if !ok {
				return
			}
			if b.OnFrame != nil {
				b.OnFrame(f)
			}
			if air == nil {
				continue
			}
			pkts, err := air.venc.Encode(f, needKey)
			if err != nil {
				b.errs.add("video encode", err)
				continue
			}
			needKey = false
			air.write(pkts)
		}
	}
}

func (b *Broadcast) audioLoop() {
	defer b.wg.Done()
	defer close(b.ended[1])
	var air *onAir
	for {
		select {
		case <-b.ctx.Done():
			return
		case c := <-b.ctl[1]:
			air = c.air
			close(c.ack)
		case f, ok := <-b.audio.Samples():
			if !ok {
				return
			}
			if tap := b.onAudio.Load(); tap != nil {
				(*tap)(f)
			}
			if air == nil || !air.hasAudio() || !air.videoOut.Load() {
				continue
			}
			if err := air.encodeAudio(f); err != nil {
				b.errs.add("audio encode", err)
			}
		}
	}
}

func (b *Broadcast) statsLoop() {
	defer b.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-b.ctx.Done():
			return
		case now := <-t.C:
			b.errs.report(b.Logger)
			b.mu.Lock()
			air := b.air
			b.mu.Unlock()
			b.stats.sample(now, air, b.video)
		}
	}
}

// Stats returns the figures of the last second.
func (b *Broadcast) Stats() Stats {
	if b.stats == nil {
		return Stats{}
	}
	b.mu.Lock()
	air, connecting := b.air, b.connect
	b.mu.Unlock()
	st := b.stats.snapshot(air, connecting)
	st.Errors = b.errs.sum()
	return st
}
