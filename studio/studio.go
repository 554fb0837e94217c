// Package studio is the desktop controller the GUI drives, with no
// widgets: settings, destinations, Go Live, the chat panel's model and its
// overlay, the bundled server's lifecycle, CPU use and the LAN address.
package studio

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"sync"
	"time"

	"golive/broadcast"
	"golive/chat"
	"golive/media"
	"golive/preview"
)

// ErrBusy is returned by Studio.GoLive while connecting or live.
var ErrBusy = errors.New("studio: already connecting or live")

// ErrNoDestination is returned by Studio.GoLive when no usable destination
// is ticked.
var ErrNoDestination = errors.New("studio: no destination ticked")

// Engine is what a Studio needs of the pipeline; *broadcast.Broadcast is one.
type Engine interface {
	Initialize() error
	GoLive(ctx context.Context, destinations []string) error
	StopLive()
	LiveDone() <-chan struct{}
	Err() error
	Stats() broadcast.Stats
	Close()
}

// Studio is the desktop app's controller, with no widgets: it runs the
// bundled server and chat hub, owns the broadcast pipeline and its
// preview, keeps the destinations list and settings, and exposes state and
// stats for binding. Exported fields are read at Initialize.
type Studio struct {
	// Store persists settings; nil keeps them in memory.
	Store Store
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// NewServer starts the bundled server (see BundledServer); nil runs
	// without one.
	NewServer func(ServerConfig) Server
	// RTMPAddr and HTTPAddr are the bundled server's preferred addresses,
	// default ":1935" and ":8080"; a busy port falls back to a free one.
	RTMPAddr, HTTPAddr string
	// NewEngine makes the pipeline; default a *broadcast.Broadcast with
	// onFrame as its OnFrame.
	NewEngine func(cfg broadcast.Config, onFrame func(*media.VideoFrame), logger *slog.Logger) Engine
	// PreviewWidth and PreviewHeight bound the preview images; default 640×360.
	PreviewWidth, PreviewHeight int
	// OnImage receives preview images on the preview goroutine (see
	// preview.Preview.OnImage for how long an image stays valid).
	OnImage func(*image.RGBA)
	// OnChange is called (on any goroutine, never with a lock held) when
	// the state, destinations or chat changed.
	OnChange func()
	// Now is the wall clock; default time.Now.
	Now func() time.Time
	// LANAddress overrides the detected LAN address (tests).
	LANAddress string
	// ChatTokenFile keeps the chat's moderator tokens (hashed) across runs;
	// "" keeps them while the app runs.
	ChatTokenFile string

	log     *slog.Logger
	engine  Engine
	server  Server
	hub     *chat.Hub
	prev    preview.Preview
	overlay preview.Overlay
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	connWG  sync.WaitGroup // connect goroutines, which use engine
	// renderMu serializes renderOverlay (taken before mu).
	renderMu sync.Mutex

	mu           sync.Mutex
	mem          map[string]string // the store when Store is nil
	settings     Settings
	dests        []Destination
	bundledOn    bool
	key          string
	connecting   context.CancelFunc
	lastErr      string
	overlayOn    bool
	chatLog      []chat.Message
	chatSettings chat.RoomSettings
	viewers      int
	cpu          cpu
	frameSize    [2]int
	audioPeak    float64
	audioTap     bool // the engine hands audio blocks to onAudio
}

// Initialize loads the settings, starts the chat hub, the bundled server
// and capture (so the preview runs while offline).
func (s *Studio) Initialize() error {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	s.log = s.Logger.With("stage", "studio")
	if s.Now == nil {
		s.Now = time.Now
	}
	if s.RTMPAddr == "" {
		s.RTMPAddr = ":1935"
	}
	if s.HTTPAddr == "" {
		s.HTTPAddr = ":8080"
	}
	if s.NewEngine == nil {
		s.NewEngine = func(cfg broadcast.Config, onFrame func(*media.VideoFrame), logger *slog.Logger) Engine {
			return &broadcast.Broadcast{Config: cfg, OnFrame: onFrame, Logger: logger}
		}
	}
	s.mem = map[string]string{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.load()

	// The stream key only publishes: moderators get tokens of their own (InviteModerator).
	s.hub = &chat.Hub{TokenFile: s.ChatTokenFile, Logger: s.Logger.With("stage", "chat")}
	if err := s.hub.Initialize(); err != nil {
		return fmt.Errorf("studio: chat: %w", err)
	}
	events, unsubscribe, err := s.hub.Subscribe(256)
	if err != nil {
		s.hub.Close()
		return fmt.Errorf("studio: chat: %w", err)
	}
	s.wg.Add(1)
	go s.chatLoop(events, unsubscribe)

	if s.NewServer != nil {
		srv, err := s.startServer()
		if err != nil {
			s.Close()
			return fmt.Errorf("studio: bundled server: %w", err)
		}
		s.server = srv
	}

	s.prev = preview.Preview{Width: s.PreviewWidth, Height: s.PreviewHeight, OnImage: s.OnImage, Logger: s.Logger.With("stage", "preview")}
	if err := s.prev.Initialize(); err != nil {
		s.Close()
		return fmt.Errorf("studio: preview: %w", err)
	}
	cfg := s.config()
	s.engine = s.NewEngine(cfg, s.onFrame, s.Logger.With("stage", "broadcast"))
	if err := s.engine.Initialize(); err != nil {
		// A camera or microphone that is gone must not keep the app shut:
		// fall back to the test pattern and tone, and say so.
		fallback := cfg
		fallback.Source, fallback.Audio = "test", "test"
		s.log.Warn("capture failed; using the test pattern", "err", err)
		s.engine = s.NewEngine(fallback, s.onFrame, s.Logger.With("stage", "broadcast"))
		if err2 := s.engine.Initialize(); err2 != nil {
			s.engine = nil
			s.Close()
			return fmt.Errorf("studio: %w", errors.Join(err, err2))
		}
		s.lastErr = fmt.Sprintf("capture: %v (showing the test pattern)", err)
	}
	if t, ok := s.engine.(interface {
		SetOnAudio(func(*media.AudioFrame))
	}); ok {
		t.SetOnAudio(s.onAudio)
		s.audioTap = true
	}
	return nil
}

// onAudio runs on the audio capture goroutine for every block.
func (s *Studio) onAudio(f *media.AudioFrame) {
	peak, _ := preview.Level(f)
	s.mu.Lock()
	s.audioPeak = peak
	s.mu.Unlock()
}

// GoLive starts connecting to the ticked destinations and returns at once;
// Status shows Connecting, then Live, or Offline with LastError.
func (s *Studio) GoLive() error {
	urls := s.publishURLs()
	if len(urls) == 0 {
		s.setErr(ErrNoDestination.Error())
		return ErrNoDestination
	}
	s.mu.Lock()
	if s.connecting != nil || s.engine == nil || s.engine.LiveDone() != nil {
		s.mu.Unlock()
		return ErrBusy
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.connecting = cancel
	s.lastErr = ""
	s.mu.Unlock()
	s.changed()
	s.connWG.Add(1)
	go s.connect(ctx, cancel, urls)
	return nil
}

func (s *Studio) connect(ctx context.Context, cancel context.CancelFunc, urls []string) {
	defer s.connWG.Done()
	defer cancel()
	masked := make([]string, len(urls))
	for i, u := range urls {
		masked[i] = broadcast.MaskURL(u)
	}
	s.log.Info("going live", "destinations", masked)
	err := s.engine.GoLive(ctx, urls)
	s.mu.Lock()
	s.connecting = nil
	if err != nil {
		s.lastErr = err.Error()
	}
	s.mu.Unlock()
	s.changed()
	if err != nil {
		s.log.Warn("go live failed", "err", err)
		return
	}
	done := s.engine.LiveDone()
	if done == nil {
		return
	}
	select {
	case <-done:
		if err := s.engine.Err(); err != nil {
			s.setErr(err.Error())
		}
		s.changed()
	case <-s.ctx.Done():
	}
}

func (s *Studio) setErr(msg string) {
	s.mu.Lock()
	s.lastErr = msg
	s.mu.Unlock()
	s.changed()
}

// StopLive cancels connecting or ends the session; capture goes on.
func (s *Studio) StopLive() {
	s.mu.Lock()
	cancel := s.connecting
	s.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	if s.engine != nil {
		s.engine.StopLive()
	}
	s.changed()
}

// ReconnectNow asks every reconnecting destination to retry at once, when
// the engine supports it; it reports whether it did.
func (s *Studio) ReconnectNow() bool {
	r, ok := s.engine.(interface{ ReconnectNow() })
	if ok {
		r.ReconnectNow()
	}
	return ok
}

func (s *Studio) changed() {
	if s.OnChange != nil {
		s.OnChange()
	}
}

// Close stops everything and waits; idempotent.
func (s *Studio) Close() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	s.connWG.Wait() // they use the engine until they see the cancel
	if s.engine != nil {
		s.engine.Close()
		s.engine = nil
	}
	s.prev.Close()
	if s.server != nil {
		s.server.Close()
	}
	if s.hub != nil {
		s.hub.Close()
	}
	s.wg.Wait()
}
