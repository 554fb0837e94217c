// Package link joins the window (package app) to the pipeline
// (broadcast.Studio) and the bundled server (package server): it adapts
// the Studio to app.Controller and runs the desktop app.
package link

import (
	"time"

	"golive/app"
	"golive/broadcast"
)

// Controller adapts a *broadcast.Studio to app.Controller.
type Controller struct {
	// S is the studio; it must be initialized.
	S *broadcast.Studio
}

// Status implements app.Controller.
func (c Controller) Status() app.Status {
	st := c.S.Status()
	s := st.Stats
	out := app.Status{
		State: s.State.String(), Uptime: s.Uptime, Encoder: s.Encoder, Hardware: s.Hardware,
		Bitrate: s.Bitrate, FPS: s.FPS, TargetFPS: s.TargetFPS, Dropped: s.Dropped, Skipped: s.Skipped,
		CPU: st.CPU, Queue: s.Queue, History: s.BitrateHistory, LastError: st.LastError,
		AudioPeak: st.AudioPeak, Overlay: st.Overlay, Viewers: c.S.Viewers(), CanReconnect: c.S.CanReconnectNow(),
	}
	out.TargetBitrate = s.TargetBitrate
	out.ReconnectIn = reconnectIn(s.Destinations, time.Now())
	for _, d := range s.Destinations {
		out.Destinations = append(out.Destinations, app.DestinationStatus{URL: d.URL, State: d.State, Bitrate: d.Bitrate, Err: d.Err, Attempts: d.Attempts})
	}
	return out
}

// reconnectIn is the wait until the soonest due reconnection attempt.
func reconnectIn(ds []broadcast.DestinationStats, now time.Time) time.Duration {
	var next time.Duration
	for _, d := range ds {
		if d.NextAttempt.IsZero() {
			continue
		}
		if in := max(d.NextAttempt.Sub(now), time.Millisecond); next == 0 || in < next {
			next = in
		}
	}
	return next
}

// GoLive implements app.Controller.
func (c Controller) GoLive() error { return c.S.GoLive() }

// StopLive implements app.Controller.
func (c Controller) StopLive() { c.S.StopLive() }

// ReconnectNow implements app.Controller.
func (c Controller) ReconnectNow() bool { return c.S.ReconnectNow() }

// Destinations implements app.Controller.
func (c Controller) Destinations() []app.Destination {
	var out []app.Destination
	for _, d := range c.S.Destinations() {
		out = append(out, app.Destination{ID: d.ID, Kind: d.Kind, Name: d.Name, URL: d.URL, Key: d.Key,
			MaskedKey: d.MaskedKey(), Enabled: d.Enabled, Fixed: d.Kind == broadcast.DestBundled})
	}
	return out
}

// SaveDestination implements app.Controller.
func (c Controller) SaveDestination(d app.Destination) error {
	_, err := c.S.SaveDestination(broadcast.StudioDestination{ID: d.ID, Kind: d.Kind, Name: d.Name, URL: d.URL, Key: d.Key, Enabled: d.Enabled})
	return err
}

// RemoveDestination implements app.Controller.
func (c Controller) RemoveDestination(id string) { c.S.RemoveDestination(id) }

// SetEnabled implements app.Controller.
func (c Controller) SetEnabled(id string, on bool) error { return c.S.SetEnabled(id, on) }

// Presets implements app.Controller.
func (c Controller) Presets() []app.Preset {
	var out []app.Preset
	for _, p := range broadcast.StudioPresets() {
		out = append(out, app.Preset{Kind: p.Kind, Name: p.Name, URL: p.URL, Advice: p.Advice})
	}
	return out
}

// ViewerURL implements app.Controller.
func (c Controller) ViewerURL() string { return c.S.ViewerURL() }

// Chat implements app.Controller.
func (c Controller) Chat() []app.ChatMessage {
	var out []app.ChatMessage
	for _, m := range c.S.Chat() {
		out = append(out, app.ChatMessage{ID: m.ID, UserID: m.User.ID, Name: m.User.Name, Text: m.Text,
			Time: time.UnixMilli(m.TS), Mod: m.User.Mod})
	}
	return out
}

// SendChat implements app.Controller.
func (c Controller) SendChat(text string) error { return c.S.SendChat(text) }

// DeleteChat implements app.Controller.
func (c Controller) DeleteChat(id string) error { return c.S.DeleteChat(id) }

// BanChat implements app.Controller.
func (c Controller) BanChat(userID string) error { return c.S.BanChat(userID) }

// SetOverlay implements app.Controller.
func (c Controller) SetOverlay(on bool) { c.S.SetOverlay(on) }

// Settings implements app.Controller.
func (c Controller) Settings() app.Settings {
	s := c.S.Settings()
	return app.Settings{Source: s.Source, Audio: s.Audio, Width: s.Width, Height: s.Height, FPS: s.FPS,
		Bitrate: s.Bitrate, AudioBitrate: s.AudioBitrate, Encoder: s.Encoder, ChatName: s.ChatName}
}

// SaveSettings implements app.Controller.
func (c Controller) SaveSettings(s app.Settings) error {
	return c.S.SetSettings(broadcast.StudioSettings{Source: s.Source, Audio: s.Audio, Width: s.Width, Height: s.Height,
		FPS: s.FPS, Bitrate: s.Bitrate, AudioBitrate: s.AudioBitrate, Encoder: s.Encoder, ChatName: s.ChatName})
}

var _ app.Controller = Controller{}
