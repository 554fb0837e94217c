package chat

import (
	"fmt"
	"time"
)

// handle applies one valid client frame; it runs on the hub's goroutine.
func (h *Hub) handle(c *clientConn, m ClientMessage) {
	if m.Type == TypeHello {
		h.hello(c, m)
		return
	}
	if !c.joined {
		h.reply(c, fmt.Errorf("send hello first: %w", ErrBadRequest))
		return
	}
	switch m.Type {
	case TypeMessage:
		h.message(c, m.Text)
	case TypeReaction:
		if h.refused(c, true) {
			h.kick(c, fmt.Errorf("you are banned from this chat: %w", ErrBanned), "banned")
			return
		}
		if err := h.muted(c); err != nil {
			h.reply(c, err)
			return
		}
		u := c.user
		h.emit(event{Type: evReaction, User: &u, Emoji: m.Emoji})
	case TypeDelete, TypeBan, TypeTimeout, TypeSlow, TypeWords:
		if !c.moderator {
			h.reply(c, fmt.Errorf("only moderators may %s: %w", m.Type, ErrForbidden))
			return
		}
		if err := h.moderate(m); err != nil {
			h.reply(c, err)
		}
	}
}

// message relays a viewer's message unless its author is muted, writes sooner
// than slow mode allows, or used a blocked word; moderators are exempt from all three.
func (h *Hub) message(c *clientConn, text string) {
	if c.user.Name == "" {
		h.reply(c, fmt.Errorf("pick a name (hello with a name) before chatting: %w", ErrBadRequest))
		return
	}
	if !c.moderator {
		if err := h.muted(c); err != nil {
			h.reply(c, err)
			return
		}
		now := h.Clock()
		if slow := time.Duration(h.room.slow.Value) * time.Second; slow > 0 {
			if wait := h.lastSent[c.user.ID].Add(slow).Sub(now); wait > 0 {
				h.stats.slowRefused.Add(1)
				h.reply(c, fmt.Errorf("slow mode is on: one message every %s; wait %s: %w",
					slow, wait.Round(time.Second), ErrSlowMode))
				return
			}
		}
		if word, ok := h.room.filter.match(text); ok {
			h.stats.blocked.Add(1)
			h.reply(c, fmt.Errorf("your message was not sent: %q is blocked in this chat: %w", word, ErrBlocked))
			return
		}
		h.lastSent[c.user.ID] = now
	}
	u := c.user
	h.emit(event{Type: evMessage, User: &u, Text: text})
}

// muted returns ErrTimedOut (wrapped) while c's user is timed out.
func (h *Hub) muted(c *clientConn) error {
	if c.moderator {
		return nil
	}
	left := h.room.timedOut(c.user.ID, h.Clock())
	if left <= 0 {
		return nil
	}
	h.stats.mutedRefused.Add(1)
	return fmt.Errorf("a moderator timed you out: you can write again in %s: %w", roundUp(left), ErrTimedOut)
}

// moderate applies a moderator's delete, ban, timeout, slow or words frame.
func (h *Hub) moderate(m ClientMessage) error {
	switch m.Type {
	case TypeDelete:
		if !h.room.hasMessage(m.Ref) {
			return fmt.Errorf("no message %q in history: %w", m.Ref, ErrBadRequest)
		}
		h.emit(event{Type: evDelete, ID: m.Ref})
	case TypeBan:
		h.emit(event{Type: evBan, Target: m.User, IPs: h.seenIPs[m.User]})
	case TypeTimeout:
		h.emit(event{Type: evTimeout, Target: m.User, Seconds: m.Seconds})
	case TypeSlow:
		h.emit(event{Type: evSlow, Seconds: m.Seconds})
	case TypeWords:
		h.emit(event{Type: evWords, Words: m.Words})
	}
	return nil
}

// hello joins c (first hello) or renames it (later hellos) and sends welcome. A
// viewer asking for a reserved name is told name_taken and keeps the name it had
// (none, on a first hello).
func (h *Hub) hello(c *clientConn, m ClientMessage) {
	id := ""
	if m.ClientID != "" {
		id = h.publicID(m.ClientID)
	}
	if !c.joined {
		if id == "" {
			id = randomID()
		}
		c.user = User{ID: id, Mod: c.moderator}
		if h.refused(c, m.HasName) {
			h.stats.bannedRejected.Add(1)
			h.kick(c, fmt.Errorf("you are banned from this chat: %w", ErrBanned), "banned")
			return
		}
		c.joined = true
		h.addClient(c)
		h.remember(id, c.ip)
	} else if id != "" && id != c.user.ID {
		h.reply(c, fmt.Errorf("id cannot change on a connection: %w", ErrBadRequest))
		return
	} else if m.HasName && h.refused(c, true) {
		h.stats.bannedRejected.Add(1)
		h.kick(c, fmt.Errorf("you are banned from this chat: %w", ErrBanned), "banned")
		return
	}
	if m.HasName {
		switch {
		case c.moderator:
			c.user.Name = m.Name
			h.room.reserve(m.Name)
		case h.room.isReserved(m.Name):
			h.stats.namesRefused.Add(1)
			h.reply(c, fmt.Errorf("%q is the creator's or a moderator's name; pick another: %w", m.Name, ErrNameTaken))
			if c.user.Name != "" {
				return // a rename: keep the name it has
			}
		default:
			c.user.Name = m.Name
		}
	}
	h.sendTo(c, h.welcome(c))
	h.sendTo(c, ServerMessage{Type: TypeViewers, Count: h.roomViewers()})
}

// welcome builds c's welcome frame: its user, the history, slow mode and, for
// moderators, the blocked-words list.
func (h *Hub) welcome(c *clientConn) ServerMessage {
	u := c.user
	w := ServerMessage{Type: TypeWelcome, User: &u, History: h.room.historyCopy(), Moderator: c.moderator,
		Slow: h.room.slow.Value}
	if c.moderator {
		w.Words = append([]string{}, h.room.words.Value...)
	}
	return w
}

// subscriberWelcome builds the welcome frame of an in-process subscriber.
func (h *Hub) subscriberWelcome() ServerMessage {
	return ServerMessage{Type: TypeWelcome, User: &User{}, History: h.room.historyCopy(),
		Slow: h.room.slow.Value, Words: append([]string{}, h.room.words.Value...)}
}

// roundUp rounds d up to a whole second, or a whole minute above two minutes.
func roundUp(d time.Duration) time.Duration {
	unit := time.Second
	if d > 2*time.Minute {
		unit = time.Minute
	}
	return (d + unit - 1).Truncate(unit)
}
