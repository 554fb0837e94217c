package chat

import "fmt"

// ban bans user id and every address it connected from, disconnects its
// connections (moderators excepted) and removes its messages from history.
func (h *Hub) ban(id string) {
	h.stats.bans.Add(1)
	h.bannedIDs[id] = struct{}{}
	for ip := range h.seenIPs[id] {
		h.bannedIPs[ip] = struct{}{}
	}
	h.log.Info("banned user", "user", id, "addresses", len(h.seenIPs[id]))
	for c := range h.clients {
		if h.refused(c, c.user.Name != "") {
			h.kick(c, fmt.Errorf("you were banned by a moderator: %w", ErrBanned), "banned")
		}
	}
	var purge []string
	for _, msg := range h.history {
		if msg.User.ID == id {
			purge = append(purge, msg.ID)
		}
	}
	for _, mid := range purge {
		h.deleteMessage(mid)
	}
}

// refused reports whether c may not take part: a banned user id is refused
// outright; a banned address is refused when the connection chats (has or asks
// for a name, or reacts), so a read-only page on that address, such as an OBS
// overlay on the creator's machine, keeps showing the chat. Moderators are exempt.
func (h *Hub) refused(c *clientConn, chatting bool) bool {
	if c.moderator {
		return false
	}
	if _, byID := h.bannedIDs[c.user.ID]; byID {
		return true
	}
	_, byIP := h.bannedIPs[c.ip]
	return byIP && chatting
}

// remember records that public id connected from ip (bounded).
func (h *Hub) remember(id, ip string) {
	ips, ok := h.seenIPs[id]
	if !ok {
		if len(h.seenIPs) >= maxSeenUsers {
			return
		}
		ips = make(map[string]struct{}, 1)
		h.seenIPs[id] = ips
	}
	ips[ip] = struct{}{}
}
