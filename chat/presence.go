package chat

import (
	"encoding/json"
	"fmt"
	"time"
)

// Timing of the catch-up between instances.
const (
	// replayRetry is how long an unanswered replay request waits before it is asked again.
	replayRetry = 2 * time.Second
	// gapGiveUp is how long events may be missing before they count as lost and
	// the events after them are applied.
	gapGiveUp = 15 * time.Second
	// maxPresenceBytes bounds a presence message.
	maxPresenceBytes = 1024
	// maxPeerViewers bounds the viewer count one instance may claim.
	maxPeerViewers = 10_000_000
)

// presence is what every instance tells the room each PresenceInterval: its
// viewers, its latest event (so the others notice events they missed and ask
// for them) and which founding of the room it is in.
type presence struct {
	Origin     string `json:"o"`
	Seq        uint64 `json:"s"`
	Viewers    int    `json:"viewers"`
	Moderators int    `json:"moderators"`
	Founded    int64  `json:"founded"`
	Key        string `json:"key"`
	// Bye says the instance is leaving the room (it closes).
	Bye bool `json:"bye,omitempty"`
}

// decodePresence parses and checks a presence message. Errors wrap ErrBadEvent.
func decodePresence(data []byte) (presence, error) {
	if len(data) > maxPresenceBytes {
		return presence{}, fmt.Errorf("presence too large: %w", ErrBadEvent)
	}
	var p presence
	if err := json.Unmarshal(data, &p); err != nil {
		return presence{}, fmt.Errorf("presence: invalid JSON: %w", ErrBadEvent)
	}
	if !validOrigin(p.Origin) || p.Viewers < 0 || p.Viewers > maxPeerViewers || p.Moderators < 0 ||
		p.Moderators > maxPeerViewers || p.Founded <= 0 || len(p.Key) != 16 || !isHex(p.Key) {
		return presence{}, fmt.Errorf("presence: invalid fields: %w", ErrBadEvent)
	}
	return p, nil
}

// isHex reports whether s is lower-case hexadecimal.
func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f') {
			return false
		}
	}
	return true
}

// peer is another instance of the room as its presence tells it.
type peer struct {
	viewers, moderators int
	seq                 uint64
	seen                time.Time
}

// presence returns what this instance tells the room.
func (h *Hub) presence() presence {
	return presence{Origin: h.origin, Seq: h.seq, Viewers: h.viewers, Moderators: h.moderators,
		Founded: h.room.founded, Key: roomKey(h.room.secret)}
}

// receivePresence records another instance's presence: its viewers join the
// room's count, events of it this instance lacks are asked for, and if it is in
// an older founding of the room, its state is fetched and merged.
func (h *Hub) receivePresence(p presence) {
	if p.Origin == h.origin {
		return
	}
	if p.Bye {
		if _, ok := h.peers[p.Origin]; ok {
			delete(h.peers, p.Origin)
			h.log.Info("chat instance left", "instance", p.Origin)
			h.countsChanged()
		}
		return
	}
	now := h.Clock()
	pr, ok := h.peers[p.Origin]
	if !ok {
		pr = &peer{}
		h.peers[p.Origin] = pr
		h.log.Info("chat instance joined", "instance", p.Origin, "viewers", p.Viewers)
	}
	changed := pr.viewers != p.Viewers || pr.moderators != p.Moderators
	pr.viewers, pr.moderators, pr.seq, pr.seen = p.Viewers, p.Moderators, p.Seq, now
	if changed || !ok {
		h.countsChanged()
	}
	if h.synced {
		h.askMissing(p.Origin, now)
		if key := roomKey(h.room.secret); p.Founded < h.room.founded || p.Founded == h.room.founded && p.Key < key {
			h.NATS.fetchState(p.Origin)
		}
	}
}

// prunePeers forgets instances not heard from for five presence intervals (at
// least two seconds), so a busy instance is not dropped from the count.
func (h *Hub) prunePeers(now time.Time) {
	if h.NATS == nil {
		return
	}
	silence := max(5*h.NATS.PresenceInterval, 2*time.Second)
	for o, p := range h.peers {
		if now.Sub(p.seen) > silence {
			delete(h.peers, o)
			h.log.Info("chat instance left", "instance", o)
			h.countsChanged()
		}
	}
}

// askMissing asks origin for the events this instance lacks (up to its latest
// as its presence told), unless they were asked for within replayRetry.
func (h *Hub) askMissing(origin string, now time.Time) {
	upTo := uint64(0)
	if p := h.peers[origin]; p != nil {
		upTo = p.seq
	}
	from, to, ok := h.tracker.gap(origin, upTo)
	if !ok {
		delete(h.asked, origin)
		return
	}
	if now.Sub(h.asked[origin]) < replayRetry {
		return
	}
	h.asked[origin] = now
	h.NATS.requestReplay(origin, from, to)
}

// checkGaps runs on every tick: it asks again for events still missing and
// gives up those missing for longer than gapGiveUp.
func (h *Hub) checkGaps(now time.Time) {
	if h.NATS == nil || !h.synced {
		return
	}
	for origin := range h.peers {
		h.askMissing(origin, now)
	}
	for _, origin := range h.tracker.gapOrigins() {
		h.askMissing(origin, now)
		if since := h.tracker.since[origin]; now.Sub(time.UnixMilli(since)) > gapGiveUp {
			before := h.tracker.applied[origin]
			for _, ev := range h.tracker.giveUp(origin) {
				h.apply(ev)
			}
			lost := h.tracker.applied[origin] - before
			h.stats.lost.Add(lost)
			h.log.Warn("chat events lost", "instance", origin, "events", lost)
		}
	}
}

// receive applies an event from another instance once, in its origin's order.
func (h *Hub) receive(ev event) {
	ready, dup := h.tracker.accept(ev, h.Clock().UnixMilli())
	if dup {
		if ev.Origin != h.origin {
			h.stats.duplicates.Add(1)
		}
		return
	}
	for _, e := range ready {
		h.apply(e)
	}
	if len(ready) == 0 && h.synced {
		h.askMissing(ev.Origin, h.Clock())
	}
}

// replayed applies events an instance sent again on request; first is its
// oldest event it still had: anything missing before it is lost.
func (h *Hub) replayed(origin string, first uint64, events []event) {
	if first > 1 {
		ready, lost := h.tracker.skip(origin, first-1)
		if lost > 0 {
			h.stats.lost.Add(lost)
			h.log.Warn("chat events lost: the instance no longer has them", "instance", origin, "events", lost)
		}
		for _, ev := range ready {
			h.apply(ev)
		}
	}
	for _, ev := range events {
		h.stats.replayed.Add(1)
		h.receive(ev)
	}
	delete(h.asked, origin) // more may be missing: ask again at once
	if h.synced {
		h.askMissing(origin, h.Clock())
	}
}
