package chat

// maxIPsPerUser bounds the addresses remembered for one user id.
const maxIPsPerUser = 16

// refused reports whether c may not take part: a banned user id is refused
// outright; a banned address is refused when the connection chats (has or asks
// for a name, or reacts), so a read-only page on that address, such as an OBS
// overlay on the creator's machine, keeps showing the chat. Moderators are exempt.
func (h *Hub) refused(c *clientConn, chatting bool) bool {
	if c.moderator {
		return false
	}
	if _, byID := h.room.bannedIDs[c.user.ID]; byID {
		return true
	}
	_, byIP := h.room.bannedIPs[c.ip]
	return byIP && chatting
}

// remember records that public id connected from ip (bounded).
func (h *Hub) remember(id, ip string) {
	ips, ok := h.seenIPs[id]
	if !ok && len(h.seenIPs) >= maxSeenUsers {
		return
	}
	for _, known := range ips {
		if known == ip {
			return
		}
	}
	if len(ips) >= maxIPsPerUser {
		return
	}
	h.seenIPs[id] = append(ips, ip)
}
