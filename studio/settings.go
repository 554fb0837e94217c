package studio

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"golive/broadcast"
	"golive/media"
)

// Store persists the studio's settings; the app backs it with Fyne
// preferences. A missing key reads as "".
type Store interface {
	String(key string) string
	SetString(key, value string)
}

// Settings are the capture and encoding settings the user picks.
type Settings struct {
	// Source is "test" or "camera[:N]"; Audio "test", "mic[:N]" or "none".
	Source string `json:"source"`
	Audio  string `json:"audio"`
	Width  int    `json:"width"`
	Height int    `json:"height"`
	FPS    int    `json:"fps"`
	// Bitrate and AudioBitrate are in bits/s.
	Bitrate      int `json:"bitrate"`
	AudioBitrate int `json:"audio_bitrate"`
	// Encoder is "auto" or an FFmpeg encoder name.
	Encoder string `json:"encoder"`
	// ChatName is the name the creator's chat messages carry.
	ChatName string `json:"chat_name"`
}

// Store keys.
const (
	storeDestinations = "golive.destinations"
	storeSettings     = "golive.settings"
	storeStreamKey    = "golive.server.key"
	storeBundledOn    = "golive.bundled.enabled"
	storeOverlay      = "golive.overlay"
	storeScene        = "golive.scene"
)

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
		var st Settings
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
	s.loadScene()
	s.key = s.get(storeStreamKey)
	if s.secrets != nil {
		s.loadSecrets()
	}
	if s.key == "" {
		b := make([]byte, 12)
		_, _ = rand.Read(b)
		s.key = hex.EncodeToString(b)
		if s.secrets == nil || s.secrets.Set(secretServer, s.key) != nil {
			s.set(storeStreamKey, s.key)
		}
	}
}

// config is the pipeline configuration st asks for, without destinations
// and defaults.
func (st Settings) config() broadcast.Config {
	return broadcast.Config{Source: st.Source, Audio: st.Audio, Width: st.Width, Height: st.Height, FPS: st.FPS,
		Bitrate: st.Bitrate, AudioBitrate: st.AudioBitrate, Encoder: st.Encoder}
}

// config is the pipeline configuration from the settings and the scene.
func (s *Studio) config() broadcast.Config {
	s.mu.Lock()
	defer s.mu.Unlock()
	cfg := s.settings.config().WithDefaults()
	sc := s.scene.Clone()
	cfg.Scene = &sc
	return cfg
}

// Settings returns the current settings with the defaults filled in.
func (s *Studio) Settings() Settings {
	s.mu.Lock()
	st := s.settings
	s.mu.Unlock()
	cfg := st.config().WithDefaults()
	st.Source, st.Audio, st.Width, st.Height, st.FPS = cfg.Source, cfg.Audio, cfg.Width, cfg.Height, cfg.FPS
	st.Bitrate, st.AudioBitrate, st.Encoder = cfg.Bitrate, cfg.AudioBitrate, cfg.Encoder
	return st
}

// SetSettings stores new settings; capture changes apply at the next
// start of the app, the bitrate at once when the engine supports it.
func (s *Studio) SetSettings(st Settings) error {
	if err := validateSettings(st); err != nil {
		return err
	}
	data, _ := json.Marshal(st)
	s.mu.Lock()
	s.settings = st
	s.set(storeSettings, string(data))
	s.mu.Unlock()
	if b, ok := s.eng().(interface{ SetBitrate(int) }); ok && st.Bitrate > 0 {
		b.SetBitrate(st.Bitrate)
	}
	s.changed()
	return nil
}

// validateSettings applies the command line's rules to st.
func validateSettings(st Settings) error {
	if st.Width < 0 || st.Height < 0 || st.FPS < 0 || st.Bitrate < 0 || st.AudioBitrate < 0 {
		return fmt.Errorf("%w: negative size, rate or bitrate", media.ErrBadOption)
	}
	cfg := st.config()
	cfg.Destinations = []string{"rtmp://x/app/key"}
	return cfg.Validate()
}

// StreamKey returns the bundled server's stream key (secret).
func (s *Studio) StreamKey() string { return s.key }
