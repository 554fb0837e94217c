// Package app is GoLive's desktop window: Fyne widgets and bindings only.
// Everything it shows and does goes through a Controller (the app/link
// package adapts broadcast.Studio to it), so the widgets are tested with
// a fake and hold no media logic.
package app

import (
	"image"
	"time"
)

// Controller is what the window drives. Its methods may be called from
// the GUI goroutine and must not block for long.
type Controller interface {
	// Status returns the current state and health figures.
	Status() Status
	// GoLive starts connecting to the ticked destinations and returns at
	// once; StopLive cancels connecting or ends the stream.
	GoLive() error
	StopLive()
	// ReconnectNow retries reconnecting destinations at once; false when
	// the pipeline cannot.
	ReconnectNow() bool
	// Destinations returns the list, the bundled server first.
	Destinations() []Destination
	// SaveDestination adds (empty ID) or updates an entry.
	SaveDestination(Destination) error
	RemoveDestination(id string)
	SetEnabled(id string, on bool) error
	// Presets are the services offered when adding a destination.
	Presets() []Preset
	// ViewerURL is the player page on the LAN, "" without the bundled server.
	ViewerURL() string
	// Chat returns the chat log, oldest first.
	Chat() []ChatMessage
	SendChat(text string) error
	DeleteChat(id string) error
	BanChat(userID string) error
	// SetOverlay burns the chat into the preview and outgoing video.
	SetOverlay(on bool)
	// Settings returns the capture and encoding settings; SaveSettings
	// checks and stores them (capture changes apply at the next start).
	Settings() Settings
	SaveSettings(Settings) error
}

// Settings are the capture and encoding choices the settings tab edits.
type Settings struct {
	// Source is "test" or "camera[:N]"; Audio "test", "mic[:N]" or "none".
	Source, Audio string
	Width, Height int
	FPS           int
	// Bitrate and AudioBitrate are in bits/s.
	Bitrate, AudioBitrate int
	// Encoder is "auto" or an FFmpeg encoder name.
	Encoder string
	// ChatName is the name on the creator's chat messages.
	ChatName string
}

// Status is what the health panel, the Go Live button and the meter show.
type Status struct {
	// State is "offline", "connecting", "live" or "reconnecting".
	State    string
	Uptime   time.Duration
	Encoder  string
	Hardware bool
	Bitrate  int // bits/s
	// TargetBitrate is what the encoder aims at now (lower while adaptive
	// bitrate backs off); 0 when unknown.
	TargetBitrate int
	FPS           float64
	TargetFPS     int
	Dropped       int64
	Skipped       int64
	CPU           float64 // percent of one core
	Queue         time.Duration
	// History is the last minute of bitrate samples, oldest first.
	History      []int
	Destinations []DestinationStatus
	// LastError says why the last Go Live failed or the stream ended.
	LastError string
	// AudioPeak is the audio level, 0..1; -1 when unknown.
	AudioPeak float64
	Overlay   bool
	Viewers   int
	// CanReconnect tells whether "Reconnect now" does anything.
	CanReconnect bool
	// ReconnectIn is how long until the next reconnection attempt (the
	// soonest over the destinations), 0 when none is due.
	ReconnectIn time.Duration
}

// DestinationStatus is one destination's line in the health panel.
type DestinationStatus struct {
	URL     string // key masked
	State   string
	Bitrate int
	Err     string
	// Attempts counts failed reconnection attempts since the link was lost.
	Attempts int
}

// Destination is one entry of the destinations list.
type Destination struct {
	ID, Kind, Name string
	// URL is the server and application, without the key.
	URL string
	// Key is the stream key; the list shows MaskedKey.
	Key       string
	MaskedKey string
	Enabled   bool
	// Fixed entries (the bundled server) can only be ticked.
	Fixed bool
}

// Preset is a service's ingest offered by the add dialog.
type Preset struct {
	Kind, Name, URL, Advice string
}

// ChatMessage is one line of the chat panel.
type ChatMessage struct {
	ID, UserID, Name, Text string
	Time                   time.Time
	// Mod marks the creator's and moderators' messages.
	Mod bool
}

// ImageSink receives preview images; see UI.SetImage.
type ImageSink func(*image.RGBA)
