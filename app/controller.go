// Package app is GoLive's desktop window: Fyne widgets and bindings only.
// Everything it shows and does goes through a Controller, which
// *studio.Studio is, so the widgets are tested with a fake and hold no
// media logic.
package app

import (
	"time"

	"golive/chat"
	"golive/studio"
)

// Controller is what the window drives. Its methods may be called from
// the GUI goroutine and must not block for long.
type Controller interface {
	// Status returns the current state and health figures.
	Status() studio.Status
	// GoLive starts connecting to the ticked destinations and returns at
	// once; StopLive cancels connecting or ends the stream.
	GoLive() error
	StopLive()
	// ReconnectNow retries reconnecting destinations at once; false when
	// the pipeline cannot.
	ReconnectNow() bool
	// Destinations returns the list, the bundled server first.
	Destinations() []studio.Destination
	// SaveDestination adds (empty ID) or updates an entry.
	SaveDestination(studio.Destination) error
	RemoveDestination(id string)
	SetEnabled(id string, on bool) error
	// Presets are the services offered when adding a destination.
	Presets() []studio.Preset
	// ViewerURL is the player page on the LAN, "" without the bundled server.
	ViewerURL() string
	// Chat returns the chat log, oldest first.
	Chat() []chat.Message
	SendChat(text string) error
	DeleteChat(id string) error
	BanChat(userID string) error
	// TimeoutChat mutes a user for d (0 lifts it).
	TimeoutChat(userID string, d time.Duration) error
	// ChatSettings returns slow mode and the blocked-words list;
	// SetSlowMode and SetBlockedWords change them for every viewer.
	ChatSettings() chat.RoomSettings
	SetSlowMode(d time.Duration) error
	SetBlockedWords(words []string) error
	// InviteModerator mints a moderator token with its player page link;
	// RevokeModerator revokes one; Moderators lists them.
	InviteModerator(name string) (studio.ModeratorInvite, error)
	RevokeModerator(id string) error
	Moderators() ([]chat.Moderator, error)
	// SetOverlay burns the chat into the preview and outgoing video.
	SetOverlay(on bool)
	// Settings returns the capture and encoding settings; SetSettings
	// checks and stores them (capture changes apply at the next start).
	Settings() studio.Settings
	SetSettings(studio.Settings) error
}

var _ Controller = (*studio.Studio)(nil)
