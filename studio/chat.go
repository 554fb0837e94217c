package studio

import "golive/chat"

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
