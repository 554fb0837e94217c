package studio

import (
	"fmt"
	"net/url"
	"time"

	"golive/chat"
)

// ModeratorInvite is a minted moderator token with the player page link that
// carries it (opened once, the page keeps the token in a cookie).
type ModeratorInvite struct {
	chat.ModeratorToken
	// URL is the player page on the LAN with ?token=; "" without the bundled server.
	URL string
}

// maxChat is how many chat messages the studio keeps for the panel.
const maxChat = 200

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
		s.chatSettings = chat.RoomSettings{SlowMode: time.Duration(m.Slow) * time.Second, BlockedWords: m.Words}
	case chat.TypeSlow:
		s.chatSettings.SlowMode = time.Duration(m.Seconds) * time.Second
	case chat.TypeWords:
		s.chatSettings.BlockedWords = m.Words
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

// SendChat posts a message as the creator.
func (s *Studio) SendChat(text string) error {
	return s.hub.Post(s.Settings().ChatName, text)
}

// DeleteChat removes a message for everyone (see chat.Hub.Delete).
func (s *Studio) DeleteChat(id string) error { return s.hub.Delete(id) }

// BanChat bans a user (by public user id) from the chat (see chat.Hub.Ban).
func (s *Studio) BanChat(userID string) error { return s.hub.Ban(userID) }

// TimeoutChat mutes a user (by public user id) for d; 0 lifts a timeout (see
// chat.Hub.Timeout).
func (s *Studio) TimeoutChat(userID string, d time.Duration) error { return s.hub.Timeout(userID, d) }

// ChatSettings returns the chat's slow mode and blocked-words list as the
// panel last heard them.
func (s *Studio) ChatSettings() chat.RoomSettings {
	s.mu.Lock()
	defer s.mu.Unlock()
	return chat.RoomSettings{SlowMode: s.chatSettings.SlowMode, BlockedWords: append([]string(nil), s.chatSettings.BlockedWords...)}
}

// SetSlowMode sets the shortest time between two messages of a viewer; 0
// turns slow mode off (see chat.Hub.SetSlowMode).
func (s *Studio) SetSlowMode(d time.Duration) error { return s.hub.SetSlowMode(d) }

// SetBlockedWords replaces the blocked-words list (see chat.Hub.SetBlockedWords).
func (s *Studio) SetBlockedWords(words []string) error { return s.hub.SetBlockedWords(words) }

// InviteModerator mints a moderator token for name and returns it with the
// player page link that carries it.
func (s *Studio) InviteModerator(name string) (ModeratorInvite, error) {
	tok, err := s.hub.MintModerator(name)
	if err != nil {
		return ModeratorInvite{}, fmt.Errorf("studio: invite moderator: %w", err)
	}
	inv := ModeratorInvite{ModeratorToken: tok}
	if page := s.ViewerURL(); page != "" {
		inv.URL = page + "?token=" + url.QueryEscape(tok.Token)
	}
	return inv, nil
}

// RevokeModerator revokes a moderator token; its connections are closed.
func (s *Studio) RevokeModerator(id string) error { return s.hub.RevokeModerator(id) }

// Moderators lists the minted moderator tokens, oldest first.
func (s *Studio) Moderators() ([]chat.Moderator, error) { return s.hub.Moderators() }
