package chat

import (
	"fmt"
	"strconv"
	"time"
)

// emit makes a local action the next event of this instance: it stamps it
// (origin, sequence number, time, message id), applies it here and publishes
// it to the other instances of the room.
func (h *Hub) emit(ev event) {
	h.seq++
	ev.Origin, ev.Seq, ev.TS = h.origin, h.seq, h.Clock().UnixMilli()
	switch ev.Type {
	case evMessage:
		ev.ID = h.origin + "-" + strconv.FormatUint(h.seq, 10)
	case evTimeout:
		if ev.Seconds > 0 {
			ev.Until = ev.TS + int64(ev.Seconds)*1000
		}
	}
	h.tracker.own(h.seq)
	h.apply(ev)
	if h.NATS != nil {
		h.NATS.publish(ev)
	}
}

// apply changes the room by one event, made here or by another instance, and
// tells the connections concerned. It runs on the hub's goroutine.
func (h *Hub) apply(ev event) {
	h.version++
	switch ev.Type {
	case evMessage:
		msg := Message{ID: ev.ID, User: *ev.User, Text: ev.Text, TS: ev.TS}
		if !h.room.addMessage(msg) {
			h.stats.suppressed.Add(1) // deleted or banned before this copy arrived
			return
		}
		if msg.User.Mod && msg.User.Name != "" {
			h.room.reserve(msg.User.Name)
		}
		h.stats.messages.Add(1)
		h.broadcast(messageFrame(msg))
	case evReaction:
		h.stats.reactions.Add(1)
		h.broadcast(ServerMessage{Type: TypeReaction, Emoji: ev.Emoji, User: ev.User})
	case evDelete:
		if h.room.deleteMessage(ev.ID) {
			h.stats.deleted.Add(1)
		}
		h.broadcast(ServerMessage{Type: TypeDeleted, ID: ev.ID})
	case evBan:
		h.applyBan(ev)
	case evTimeout:
		if !h.room.timeout(ev.Target, ev.Until, stampOf(ev)) {
			return
		}
		h.stats.timeouts.Add(1)
		now := h.Clock()
		left := h.room.timedOut(ev.Target, now)
		h.log.Info("timed out user", "user", ev.Target, "for", left.Round(time.Second))
		if left > 0 {
			for c := range h.clients {
				if c.user.ID == ev.Target && !c.moderator {
					h.reply(c, fmt.Errorf("a moderator timed you out for %s: %w", roundUp(left), ErrTimedOut))
				}
			}
		}
	case evSlow:
		if h.room.setSlow(ev.Seconds, stampOf(ev)) {
			clear(h.lastSent) // a new interval counts from the next message
			h.log.Info("slow mode", "seconds", ev.Seconds)
			h.broadcast(ServerMessage{Type: TypeSlow, Seconds: ev.Seconds})
		}
	case evWords:
		if h.room.setWords(ev.Words, stampOf(ev)) {
			h.log.Info("blocked words changed", "entries", len(ev.Words))
			h.toModerators(ServerMessage{Type: TypeWords, Words: append([]string{}, ev.Words...)})
		}
	case evModAdd:
		if h.room.addMod(*ev.Mod) {
			h.log.Info("moderator token added", "moderator", ev.Mod.ID, "name", ev.Mod.Name)
			h.tokensChanged()
		}
	case evModRevoke:
		if h.room.revokeMod(ev.Target, ev.TS) {
			h.log.Info("moderator token revoked", "moderator", ev.Target)
		}
		h.tokensChanged()
		for c := range h.clients {
			if c.modID == ev.Target {
				h.disconnect(c, "moderator token revoked")
			}
		}
	}
}

// applyBan bans a user id and the addresses the event names and this instance
// saw it use, disconnects its connections (moderators excepted) and removes its
// messages from history.
func (h *Hub) applyBan(ev event) {
	h.stats.bans.Add(1)
	ips := append(append([]string(nil), ev.IPs...), h.seenIPs[ev.Target]...)
	h.room.ban(ev.Target, ev.TS, ips)
	h.log.Info("banned user", "user", ev.Target, "addresses", len(ips))
	for c := range h.clients {
		if h.refused(c, c.user.Name != "") {
			h.kick(c, fmt.Errorf("you were banned by a moderator: %w", ErrBanned), "banned")
		}
	}
	for _, id := range h.room.messagesBy(ev.Target) {
		h.room.deleteMessage(id)
		h.stats.deleted.Add(1)
		h.broadcast(ServerMessage{Type: TypeDeleted, ID: id})
	}
}
