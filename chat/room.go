package chat

import (
	"fmt"
	"strconv"

	"github.com/coder/websocket"
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
		if c.user.Name == "" {
			h.reply(c, fmt.Errorf("pick a name (hello with a name) before chatting: %w", ErrBadRequest))
			return
		}
		h.relayMessage(c.user, m.Text)
	case TypeReaction:
		if h.refused(c, true) {
			h.kick(c, fmt.Errorf("you are banned from this chat: %w", ErrBanned), "banned")
			return
		}
		h.stats.reactions.Add(1)
		u := c.user
		h.broadcast(ServerMessage{Type: TypeReaction, Emoji: m.Emoji, User: &u})
	case TypeDelete:
		if !c.moderator {
			h.reply(c, fmt.Errorf("only moderators may delete: %w", ErrForbidden))
			return
		}
		if !h.deleteMessage(m.Ref) {
			h.reply(c, fmt.Errorf("no message %q in history: %w", m.Ref, ErrBadRequest))
		}
	case TypeBan:
		if !c.moderator {
			h.reply(c, fmt.Errorf("only moderators may ban: %w", ErrForbidden))
			return
		}
		h.ban(m.User)
	}
}

// hello joins c (first hello) or renames it (later hellos) and sends welcome.
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
		c.user.Name = m.Name
	}
	u := c.user
	h.sendTo(c, ServerMessage{Type: TypeWelcome, User: &u, History: h.historyCopy(), Moderator: c.moderator})
	h.sendTo(c, ServerMessage{Type: TypeViewers, Count: h.viewers})
}

// leave forgets c; it runs on the hub's goroutine.
func (h *Hub) leave(c *clientConn) {
	h.removeClient(c)
}

// addClient registers a joined connection; moderators are not counted as viewers.
func (h *Hub) addClient(c *clientConn) {
	h.clients[c] = struct{}{}
	if c.moderator {
		h.stats.moderators.Add(1)
	} else {
		h.viewers++
		h.stats.viewers.Store(uint64(h.viewers))
		h.viewersDirty = true
	}
}

// removeClient forgets a connection; it reports whether it was registered.
func (h *Hub) removeClient(c *clientConn) bool {
	if _, ok := h.clients[c]; !ok {
		return false
	}
	delete(h.clients, c)
	if c.moderator {
		h.stats.moderators.Add(^uint64(0))
	} else {
		h.viewers--
		h.stats.viewers.Store(uint64(h.viewers))
		h.viewersDirty = true
	}
	return true
}

// relayMessage stores and broadcasts a new message from u.
func (h *Hub) relayMessage(u User, text string) {
	h.seq++
	msg := Message{ID: h.idPrefix + strconv.FormatUint(h.seq, 10), User: u, Text: text, TS: h.Clock().UnixMilli()}
	h.history = append(h.history, msg)
	if over := len(h.history) - h.HistorySize; over > 0 {
		h.history = append(h.history[:0:0], h.history[over:]...)
	}
	h.stats.messages.Add(1)
	h.broadcast(messageFrame(msg))
}

// deleteMessage removes message id from history and tells everyone.
func (h *Hub) deleteMessage(id string) bool {
	for i, msg := range h.history {
		if msg.ID == id {
			h.history = append(h.history[:i:i], h.history[i+1:]...)
			h.stats.deleted.Add(1)
			h.broadcast(ServerMessage{Type: TypeDeleted, ID: id})
			return true
		}
	}
	return false
}

// kick removes c from the hub, tells it why and closes it with StatusPolicyViolation.
func (h *Hub) kick(c *clientConn, why error, reason string) {
	h.removeClient(c)
	data, err := EncodeServerMessage(errorFrame(why))
	if err != nil || !c.enqueue(outFrame{data: data}) ||
		!c.enqueue(outFrame{closeCode: websocket.StatusPolicyViolation, closeReason: reason}) {
		c.drop()
	}
}

// disconnect removes c from the hub and closes it with StatusPolicyViolation and
// reason, after the frames already queued for it; at once if its queue is full.
func (h *Hub) disconnect(c *clientConn, reason string) {
	h.removeClient(c)
	if !c.enqueue(outFrame{closeCode: websocket.StatusPolicyViolation, closeReason: reason}) {
		c.drop()
	}
}

// sendTo queues one frame for c, dropping c if its queue is full.
func (h *Hub) sendTo(c *clientConn, m ServerMessage) {
	data, err := EncodeServerMessage(m)
	if err != nil {
		h.log.Error("encode frame", "type", m.Type, "error", err)
		return
	}
	if !c.enqueue(outFrame{data: data}) {
		h.dropSlow(c)
	}
}

// broadcast encodes m once and queues it for every joined connection and
// subscriber; connections whose queue is full are dropped.
func (h *Hub) broadcast(m ServerMessage) {
	data, err := EncodeServerMessage(m)
	if err != nil {
		h.log.Error("encode frame", "type", m.Type, "error", err)
		return
	}
	f := outFrame{data: data}
	for c := range h.clients {
		if !c.enqueue(f) {
			h.dropSlow(c)
		}
	}
	for s := range h.subs {
		select {
		case s.ch <- m:
		default:
			h.stats.subscriberDrops.Add(1)
		}
	}
}

// dropSlow disconnects a connection whose send queue is full.
func (h *Hub) dropSlow(c *clientConn) {
	h.removeClient(c)
	h.stats.droppedSlow.Add(1)
	h.log.Info("dropped slow client", "remote", c.ip, "queue", h.SendQueue)
	c.drop()
}

// historyCopy returns a copy of the history, oldest first.
func (h *Hub) historyCopy() []Message {
	return append([]Message(nil), h.history...)
}
