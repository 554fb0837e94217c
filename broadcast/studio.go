package broadcast

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"golive/chat"
	"golive/media"
	"golive/preview"
)

// ErrStudioBusy is returned by Studio.GoLive while connecting or live.
var ErrStudioBusy = errors.New("studio: already connecting or live")

// ErrNoDestination is returned by Studio.GoLive when no usable destination
// is ticked.
var ErrNoDestination = errors.New("studio: no destination ticked")

// ErrNoModeration is returned by the chat moderation calls when the studio
// has no bundled server to moderate through.
var ErrNoModeration = errors.New("studio: chat moderation needs the bundled server")

// StudioEngine is what a Studio needs of the pipeline; *Broadcast is one.
type StudioEngine interface {
	Initialize() error
	GoLive(ctx context.Context, destinations []string) error
	StopLive()
	LiveDone() <-chan struct{}
	Err() error
	Stats() Stats
	Close()
}

// StudioServer is the bundled server as a Studio drives it.
type StudioServer interface {
	Initialize() error
	Close()
	// RTMPAddr and HTTPAddr are the addresses actually listened on.
	RTMPAddr() net.Addr
	HTTPAddr() net.Addr
}

// StudioServerConfig is what a Studio asks its bundled server for.
type StudioServerConfig struct {
	// RTMPAddr and HTTPAddr are where to listen ("HOST:0" for any port).
	RTMPAddr, HTTPAddr string
	// StreamKey is the key publishers must use (also the chat moderator token).
	StreamKey string
	// Chat serves /chat/ws.
	Chat http.Handler
	// Logger is the studio's logger.
	Logger *slog.Logger
}

// StudioStore persists the studio's settings; the app backs it with Fyne
// preferences. A missing key reads as "".
type StudioStore interface {
	String(key string) string
	SetString(key, value string)
}

// StudioSettings are the capture and encoding settings the user picks.
type StudioSettings struct {
	Source       string `json:"source"`
	Audio        string `json:"audio"`
	Width        int    `json:"width"`
	Height       int    `json:"height"`
	FPS          int    `json:"fps"`
	Bitrate      int    `json:"bitrate"`
	AudioBitrate int    `json:"audio_bitrate"`
	Encoder      string `json:"encoder"`
	// ChatName is the name the creator's chat messages carry.
	ChatName string `json:"chat_name"`
}

// StudioStatus is a snapshot of everything the GUI shows.
type StudioStatus struct {
	// Stats is the pipeline's health; State is Connecting from the Go Live
	// click until the first destination accepts.
	Stats Stats
	// LastError says why the last Go Live failed or the last session ended.
	LastError string
	// CPU is the process's CPU use in percent of one core.
	CPU float64
	// AudioPeak is the last audio block's peak level, 0..1; -1 when the
	// engine exposes no audio level.
	AudioPeak float64
	// Overlay reports whether chat is burned into the video.
	Overlay bool
	// Preview is the preview stage's counters.
	Preview preview.Stats
}

// Store keys.
const (
	storeDestinations = "golive.destinations"
	storeSettings     = "golive.settings"
	storeStreamKey    = "golive.server.key"
	storeBundledOn    = "golive.bundled.enabled"
	storeOverlay      = "golive.overlay"
)

// maxChat is how many chat messages the studio keeps for the panel.
const maxChat = 200

// Studio is the desktop app's controller, with no widgets: it runs the
// bundled server and chat hub, owns the broadcast pipeline and its
// preview, keeps the destinations list and settings, and exposes state and
// stats for binding. Exported fields are read at Initialize.
type Studio struct {
	// Store persists settings; nil keeps them in memory.
	Store StudioStore
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// NewServer starts the bundled server; nil runs without one.
	NewServer func(StudioServerConfig) (StudioServer, error)
	// RTMPAddr and HTTPAddr are the bundled server's preferred addresses,
	// default ":1935" and ":8080"; a busy port falls back to a free one.
	RTMPAddr, HTTPAddr string
	// NewEngine makes the pipeline; default a *Broadcast with onFrame as
	// its OnFrame.
	NewEngine func(cfg Config, onFrame func(*media.VideoFrame), logger *slog.Logger) StudioEngine
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

	log     *slog.Logger
	engine  StudioEngine
	server  StudioServer
	hub     *chat.Hub
	prev    preview.Preview
	overlay preview.Overlay
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	connWG  sync.WaitGroup // connect goroutines, which use engine

	mu         sync.Mutex
	mem        map[string]string // the store when Store is nil
	settings   StudioSettings
	dests      []StudioDestination
	bundledOn  bool
	key        string
	connecting context.CancelFunc
	lastErr    string
	overlayOn  bool
	chatLog    []chat.Message
	viewers    int
	mod        *chat.Client
	cpu        studioCPU
	frameSize  [2]int
	audioPeak  float64
	audioTap   bool // the engine hands audio blocks to onAudio
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
		s.NewEngine = func(cfg Config, onFrame func(*media.VideoFrame), logger *slog.Logger) StudioEngine {
			return &Broadcast{Config: cfg, OnFrame: onFrame, Logger: logger}
		}
	}
	s.mem = map[string]string{}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.load()

	s.hub = &chat.Hub{ModeratorToken: s.key, Logger: s.Logger.With("stage", "chat")}
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
		fallback := Config{Width: cfg.Width, Height: cfg.Height, FPS: cfg.FPS, Bitrate: cfg.Bitrate,
			AudioBitrate: cfg.AudioBitrate, Encoder: cfg.Encoder}.withDefaults()
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

// startServer starts the bundled server on the preferred addresses, moving
// to a free port for each one that is busy.
func (s *Studio) startServer() (StudioServer, error) {
	cfg := StudioServerConfig{RTMPAddr: s.RTMPAddr, HTTPAddr: s.HTTPAddr, StreamKey: s.key, Chat: s.hub, Logger: s.Logger}
	for range 3 {
		srv, err := s.NewServer(cfg)
		if err == nil {
			err = srv.Initialize()
			if err == nil {
				return srv, nil
			}
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
		s.log.Info("port busy, using a free one", "err", err)
		cfg.RTMPAddr, cfg.HTTPAddr = freePort(cfg.RTMPAddr), freePort(cfg.HTTPAddr)
	}
	return nil, fmt.Errorf("no free port for the bundled server")
}

// freePort returns addr with a free port if its port is taken.
func freePort(addr string) string {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		l.Close()
		return addr
	}
	host, _, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, "0")
}

// onFrame runs on the capture goroutine for every frame: it burns the chat
// in when asked (so the preview and the stream both show it) and offers
// the frame to the preview.
func (s *Studio) onFrame(f *media.VideoFrame) {
	s.overlay.Blend(f)
	if s.frameSizeChanged(f.Width, f.Height) {
		s.renderOverlay()
	}
	s.prev.Push(f)
}

func (s *Studio) frameSizeChanged(w, h int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.frameSize == [2]int{w, h} {
		return false
	}
	s.frameSize = [2]int{w, h}
	return true
}

// onAudio runs on the audio capture goroutine for every block.
func (s *Studio) onAudio(f *media.AudioFrame) {
	peak, _ := preview.Level(f)
	s.mu.Lock()
	s.audioPeak = peak
	s.mu.Unlock()
}

func (s *Studio) get(key string) string {
	if s.Store != nil {
		return s.Store.String(key)
	}
	return s.mem[key]
}

func (s *Studio) set(key, value string) {
	if s.Store != nil {
		s.Store.SetString(key, value)
		return
	}
	s.mem[key] = value
}

// load reads the settings, destinations and stream key; called with no
// other goroutine running.
func (s *Studio) load() {
	if v := s.get(storeSettings); v != "" {
		var st StudioSettings
		err := json.Unmarshal([]byte(v), &st)
		if err == nil {
			err = validateSettings(st)
		}
		if err != nil {
			s.log.Warn("stored settings unusable; using defaults", "err", err)
		} else {
			s.settings = st
		}
	}
	if s.settings.ChatName == "" {
		s.settings.ChatName = "Creator"
	}
	s.dests = decodeDestinations(s.get(storeDestinations))
	s.bundledOn = s.get(storeBundledOn) != "false"
	s.overlayOn = s.get(storeOverlay) == "true"
	s.key = s.get(storeStreamKey)
	if s.key == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		s.key = hex.EncodeToString(b)
		s.set(storeStreamKey, s.key)
	}
}

// config is the pipeline configuration from the settings.
func (s *Studio) config() Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.settings
	return Config{Source: st.Source, Audio: st.Audio, Width: st.Width, Height: st.Height, FPS: st.FPS,
		Bitrate: st.Bitrate, AudioBitrate: st.AudioBitrate, Encoder: st.Encoder}.withDefaults()
}

// Settings returns the current settings with the defaults filled in.
func (s *Studio) Settings() StudioSettings {
	cfg := s.config()
	s.mu.Lock()
	st := s.settings
	s.mu.Unlock()
	st.Source, st.Audio, st.Width, st.Height, st.FPS = cfg.Source, cfg.Audio, cfg.Width, cfg.Height, cfg.FPS
	st.Bitrate, st.AudioBitrate, st.Encoder = cfg.Bitrate, cfg.AudioBitrate, cfg.Encoder
	return st
}

// SetSettings stores new settings; capture changes apply at the next
// start of the app, the bitrate at once when the engine supports it.
func (s *Studio) SetSettings(st StudioSettings) error {
	if err := validateSettings(st); err != nil {
		return err
	}
	data, _ := json.Marshal(st)
	s.mu.Lock()
	s.settings = st
	s.set(storeSettings, string(data))
	s.mu.Unlock()
	if b, ok := s.engine.(interface{ SetBitrate(int) }); ok && st.Bitrate > 0 {
		b.SetBitrate(st.Bitrate)
	}
	s.changed()
	return nil
}

// validateSettings applies the command line's rules to st.
func validateSettings(st StudioSettings) error {
	cfg := Config{Destinations: []string{"rtmp://x/app/key"}, Source: st.Source, Audio: st.Audio, Width: st.Width,
		Height: st.Height, FPS: st.FPS, Bitrate: st.Bitrate, AudioBitrate: st.AudioBitrate, Encoder: st.Encoder}
	if st.Width < 0 || st.Height < 0 || st.FPS < 0 || st.Bitrate < 0 || st.AudioBitrate < 0 {
		return fmt.Errorf("%w: negative size, rate or bitrate", ErrBadOption)
	}
	return cfg.Validate()
}

// StreamKey returns the bundled server's stream key (secret).
func (s *Studio) StreamKey() string { return s.key }

// Bundled returns the bundled server's destination entry, or false when
// the studio runs without one.
func (s *Studio) Bundled() (StudioDestination, bool) {
	if s.server == nil {
		return StudioDestination{}, false
	}
	_, port, _ := net.SplitHostPort(s.server.RTMPAddr().String())
	s.mu.Lock()
	defer s.mu.Unlock()
	return StudioDestination{ID: DestBundled, Kind: DestBundled, Name: "GoLive server (this computer)",
		URL: "rtmp://127.0.0.1:" + port + "/live", Key: s.key, Enabled: s.bundledOn}, true
}

// LAN returns the address viewers on the LAN reach this computer at.
func (s *Studio) LAN() string {
	if s.LANAddress != "" {
		return s.LANAddress
	}
	return hostLANAddress()
}

// ViewerURL returns the bundled server's player page on the LAN address,
// or "" without a bundled server.
func (s *Studio) ViewerURL() string {
	if s.server == nil {
		return ""
	}
	_, port, _ := net.SplitHostPort(s.server.HTTPAddr().String())
	return "http://" + net.JoinHostPort(s.LAN(), port) + "/"
}

// chatURL is the bundled server's chat WebSocket on loopback.
func (s *Studio) chatURL() string {
	_, port, _ := net.SplitHostPort(s.server.HTTPAddr().String())
	return "ws://127.0.0.1:" + port + "/chat/ws"
}

// Destinations returns the list: the bundled server first, then the
// user's entries.
func (s *Studio) Destinations() []StudioDestination {
	var out []StudioDestination
	if b, ok := s.Bundled(); ok {
		out = append(out, b)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return append(out, s.dests...)
}

// SaveDestination adds d (empty ID) or replaces the entry with its ID.
// The bundled entry only takes Enabled.
func (s *Studio) SaveDestination(d StudioDestination) (StudioDestination, error) {
	if d.ID == DestBundled {
		return d, s.SetEnabled(DestBundled, d.Enabled)
	}
	if d.Kind == "" {
		d.Kind = DestCustom
	}
	if d.Name == "" {
		d.Name = d.Kind
	}
	if err := d.Validate(); err != nil {
		return d, err
	}
	s.mu.Lock()
	if d.ID == "" {
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		d.ID = hex.EncodeToString(b)
		s.dests = append(s.dests, d)
	} else {
		found := false
		for i := range s.dests {
			if s.dests[i].ID == d.ID {
				s.dests[i], found = d, true
			}
		}
		if !found {
			s.mu.Unlock()
			return d, fmt.Errorf("%w: no destination %q", ErrBadOption, d.ID)
		}
	}
	s.persistLocked()
	s.mu.Unlock()
	s.log.Info("destination saved", "name", d.Name, "url", d.Masked())
	s.changed()
	return d, nil
}

// RemoveDestination deletes a user entry.
func (s *Studio) RemoveDestination(id string) {
	s.mu.Lock()
	for i := range s.dests {
		if s.dests[i].ID == id {
			s.dests = append(s.dests[:i], s.dests[i+1:]...)
			break
		}
	}
	s.persistLocked()
	s.mu.Unlock()
	s.changed()
}

// SetEnabled ticks or unticks an entry.
func (s *Studio) SetEnabled(id string, on bool) error {
	s.mu.Lock()
	found := false
	if id == DestBundled {
		s.bundledOn, found = on, true
		s.set(storeBundledOn, fmt.Sprint(on))
	}
	for i := range s.dests {
		if s.dests[i].ID == id {
			s.dests[i].Enabled, found = on, true
		}
	}
	s.persistLocked()
	s.mu.Unlock()
	if !found {
		return fmt.Errorf("%w: no destination %q", ErrBadOption, id)
	}
	s.changed()
	return nil
}

func (s *Studio) persistLocked() {
	data, _ := json.Marshal(s.dests)
	s.set(storeDestinations, string(data))
}

// publishURLs returns the ticked destinations' publish URLs.
func (s *Studio) publishURLs() []string {
	var urls []string
	for _, d := range s.Destinations() {
		if d.Enabled && d.Validate() == nil {
			urls = append(urls, d.PublishURL())
		}
	}
	return urls
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
		return ErrStudioBusy
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
		masked[i] = MaskURL(u)
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

// CanReconnectNow reports whether the engine supports ReconnectNow.
func (s *Studio) CanReconnectNow() bool {
	_, ok := s.engine.(interface{ ReconnectNow() })
	return ok
}

// Status returns a snapshot for the GUI; call it about once a second (it
// samples the CPU use).
func (s *Studio) Status() StudioStatus {
	var st StudioStatus
	level := -1.0
	if s.engine != nil {
		st.Stats = s.engine.Stats()
		if l, ok := s.engine.(interface{ AudioLevel() float64 }); ok {
			level = l.AudioLevel()
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.connecting != nil && st.Stats.State == StateOffline {
		st.Stats.State = StateConnecting
	}
	st.LastError = s.lastErr
	st.CPU = s.cpu.sample(s.Now())
	st.AudioPeak = s.audioPeak
	if !s.audioTap {
		st.AudioPeak = level
	}
	st.Overlay = s.overlayOn
	st.Preview = s.prev.Stats()
	return st
}

// chatLoop keeps the chat log from the hub's events.
func (s *Studio) chatLoop(events <-chan chat.ServerMessage, unsubscribe func()) {
	defer s.wg.Done()
	defer unsubscribe()
	for {
		select {
		case <-s.ctx.Done():
			return
		case m, ok := <-events:
			if !ok {
				return
			}
			if s.applyChat(m) {
				s.renderOverlay()
				s.changed()
			}
		}
	}
}

// applyChat updates the chat log; it reports whether anything changed.
func (s *Studio) applyChat(m chat.ServerMessage) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch m.Type {
	case chat.TypeWelcome:
		s.chatLog = append(s.chatLog[:0], m.History...)
	case chat.TypeMessage:
		s.chatLog = append(s.chatLog, m.AsMessage())
		if len(s.chatLog) > maxChat {
			s.chatLog = s.chatLog[len(s.chatLog)-maxChat:]
		}
	case chat.TypeDeleted:
		for i, c := range s.chatLog {
			if c.ID == m.ID {
				s.chatLog = append(s.chatLog[:i], s.chatLog[i+1:]...)
				break
			}
		}
	case chat.TypeViewers:
		s.viewers = m.Count
	default:
		return false
	}
	return true
}

// Chat returns the chat log, oldest first.
func (s *Studio) Chat() []chat.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]chat.Message(nil), s.chatLog...)
}

// Viewers returns the chat's viewer count.
func (s *Studio) Viewers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.viewers
}

// SendChat posts a message as the creator.
func (s *Studio) SendChat(text string) error {
	return s.hub.Post(s.Settings().ChatName, text)
}

// moderator returns the moderator chat connection, dialling it on first
// use.
func (s *Studio) moderator(ctx context.Context) (*chat.Client, error) {
	if s.server == nil {
		return nil, ErrNoModeration
	}
	s.mu.Lock()
	if s.mod != nil && s.mod.Err() == nil && s.mod.Events() != nil {
		c := s.mod
		s.mu.Unlock()
		return c, nil
	}
	s.mu.Unlock()
	// Dial without the lock, so Status and the GUI never wait on it.
	c := &chat.Client{URL: s.chatURL(), Token: s.key}
	if err := c.Dial(ctx); err != nil {
		return nil, fmt.Errorf("studio: moderator connection: %w", err)
	}
	s.mu.Lock()
	if s.ctx.Err() != nil || (s.mod != nil && s.mod.Err() == nil && s.mod.Events() != nil) {
		// Closed meanwhile, or another call won the race: use that one.
		winner := s.mod
		s.mu.Unlock()
		_ = c.Close()
		if winner == nil {
			return nil, ErrNoModeration
		}
		return winner, nil
	}
	old := s.mod
	s.mod = c
	s.wg.Add(1)
	s.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	go func() { // drain its events; the log comes from the hub directly
		defer s.wg.Done()
		for range c.Events() {
		}
	}()
	return c, nil
}

// DeleteChat removes a message for everyone.
func (s *Studio) DeleteChat(id string) error {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	c, err := s.moderator(ctx)
	if err != nil {
		return err
	}
	return c.Delete(ctx, id)
}

// BanChat bans a user (by public user id) from the chat.
func (s *Studio) BanChat(userID string) error {
	ctx, cancel := context.WithTimeout(s.ctx, 5*time.Second)
	defer cancel()
	c, err := s.moderator(ctx)
	if err != nil {
		return err
	}
	return c.Ban(ctx, userID)
}

// SetOverlay turns burning the chat into the preview and outgoing video
// on or off.
func (s *Studio) SetOverlay(on bool) {
	s.mu.Lock()
	s.overlayOn = on
	s.set(storeOverlay, fmt.Sprint(on))
	s.mu.Unlock()
	s.renderOverlay()
	s.changed()
}

// renderOverlay redraws the chat layer; it runs only when the chat, the
// toggle or the frame size changes.
func (s *Studio) renderOverlay() {
	s.mu.Lock()
	on, size := s.overlayOn, s.frameSize
	var lines []preview.ChatLine
	for _, m := range s.chatLog {
		lines = append(lines, preview.ChatLine{Name: m.User.Name, Text: m.Text})
	}
	s.mu.Unlock()
	if !on || size[0] == 0 {
		s.overlay.Clear()
		return
	}
	img, x, y := preview.ChatLayer{}.Render(lines, size[0], size[1])
	s.overlay.Set(img, x, y)
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
	s.mu.Lock()
	mod := s.mod
	s.mod = nil
	s.mu.Unlock()
	if mod != nil {
		_ = mod.Close()
	}
	if s.server != nil {
		s.server.Close()
	}
	if s.hub != nil {
		s.hub.Close()
	}
	s.wg.Wait()
}
