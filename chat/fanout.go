package chat

import (
	"github.com/coder/websocket"
)

// leave forgets c; it runs on the hub's goroutine.
func (h *Hub) leave(c *clientConn) {
	h.removeClient(c)
}

// addClient registers a joined connection; moderators are not counted as viewers.
func (h *Hub) addClient(c *clientConn) {
	h.clients[c] = struct{}{}
	if c.moderator {
		h.moderators++
	} else {
		h.viewers++
	}
	h.countsChanged()
}

// removeClient forgets a connection; it reports whether it was registered.
func (h *Hub) removeClient(c *clientConn) bool {
	if _, ok := h.clients[c]; !ok {
		return false
	}
	delete(h.clients, c)
	if c.moderator {
		h.moderators--
	} else {
		h.viewers--
	}
	h.countsChanged()
	return true
}

// countsChanged publishes the connection counts to Stats; the viewers frame
// follows on the next tick, so joins and leaves are coalesced.
func (h *Hub) countsChanged() {
	h.stats.localViewers.Store(uint64(h.viewers))
	h.stats.moderators.Store(uint64(h.moderators))
	h.stats.viewers.Store(uint64(h.roomViewers()))
	h.stats.peers.Store(uint64(len(h.peers)))
}

// roomViewers is the room's viewer count: this instance's and its peers'.
func (h *Hub) roomViewers() int {
	n := h.viewers
	for _, p := range h.peers {
		n += p.viewers
	}
	return n
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
	h.fanout(m, false)
}

// toModerators encodes m once and queues it for every joined moderator
// connection and every subscriber (the app).
func (h *Hub) toModerators(m ServerMessage) {
	h.fanout(m, true)
}

// fanout queues m for joined connections (moderators only, if modsOnly) and subscribers.
func (h *Hub) fanout(m ServerMessage, modsOnly bool) {
	data, err := EncodeServerMessage(m)
	if err != nil {
		h.log.Error("encode frame", "type", m.Type, "error", err)
		return
	}
	f := outFrame{data: data, latest: m.Type == TypeViewers}
	for c := range h.clients {
		if modsOnly && !c.moderator {
			continue
		}
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
