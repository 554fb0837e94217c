package chat

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/netip"
	"sort"
	"strings"
	"unicode/utf8"
)

// Limits of a snapshot (NATS' default max_payload is 1 MiB).
const (
	maxSnapshotBytes   = 1 << 20
	maxSnapshotHistory = 1000
	maxSnapshotBans    = 5000
	maxSnapshotMods    = 1000
	snapshotVersion    = 1
)

// snapshot is a room's whole state, as an instance that joins the room gets it
// (from JetStream, or from a peer instance) and as two instances that founded
// the room apart (NATS was down) merge theirs.
type snapshot struct {
	V         int                     `json:"v"`
	Origin    string                  `json:"o"`
	Founded   int64                   `json:"founded"`
	Secret    string                  `json:"secret"` // hex; the HMAC key of public user ids
	Applied   map[string]uint64       `json:"applied"`
	History   []Message               `json:"history"`
	Deleted   []string                `json:"deleted,omitempty"`
	Bans      map[string]int64        `json:"bans,omitempty"`
	BannedIPs []string                `json:"banned_ips,omitempty"`
	Timeouts  map[string]timeoutEntry `json:"timeouts,omitempty"`
	Slow      lww[int]                `json:"slow"`
	Words     lww[[]string]           `json:"words"`
	Mods      []modRecord             `json:"mods,omitempty"`
	Revoked   map[string]int64        `json:"revoked,omitempty"`
	Reserved  []string                `json:"reserved,omitempty"`
}

// roomKey is the short fingerprint of a room's secret that presence carries.
func roomKey(secret []byte) string {
	sum := sha256.Sum256(secret)
	return hex.EncodeToString(sum[:8])
}

// snapshot copies the hub's room, with what it has applied of every instance.
func (h *Hub) snapshot() snapshot {
	r := h.room
	s := snapshot{
		V: snapshotVersion, Origin: h.origin, Founded: r.founded, Secret: hex.EncodeToString(r.secret),
		Applied: map[string]uint64{}, History: r.historyCopy(), Deleted: r.deleted.list(),
		Bans: map[string]int64{}, Timeouts: map[string]timeoutEntry{}, Slow: r.slow, Words: r.words,
		Revoked: map[string]int64{},
	}
	for o, seq := range h.tracker.applied {
		s.Applied[o] = seq
	}
	bans := make([]string, 0, len(r.bannedIDs))
	for id := range r.bannedIDs {
		bans = append(bans, id)
	}
	sort.Slice(bans, func(i, j int) bool { return r.bannedIDs[bans[i]] > r.bannedIDs[bans[j]] }) // latest first
	for _, id := range bans[:min(len(bans), maxSnapshotBans)] {
		s.Bans[id] = r.bannedIDs[id]
	}
	for ip := range r.bannedIPs {
		if len(s.BannedIPs) == maxSnapshotBans {
			break
		}
		s.BannedIPs = append(s.BannedIPs, ip)
	}
	for id, e := range r.timeouts {
		if len(s.Timeouts) == maxSnapshotBans {
			break
		}
		s.Timeouts[id] = e
	}
	for _, m := range r.mods {
		s.Mods = append(s.Mods, m)
	}
	for id, at := range r.revoked {
		s.Revoked[id] = at
	}
	for _, name := range r.reserved {
		s.Reserved = append(s.Reserved, name)
	}
	return s
}

// encodeSnapshot marshals a snapshot for NATS.
func encodeSnapshot(s snapshot) ([]byte, error) {
	data, err := marshalText(s)
	if err != nil {
		return nil, err
	}
	if len(data) > maxSnapshotBytes {
		return nil, fmt.Errorf("snapshot of %d bytes, limit %d: %w", len(data), maxSnapshotBytes, ErrBadEvent)
	}
	return data, nil
}

// decodeSnapshot parses and checks a snapshot from JetStream or another
// instance, as strictly as an event. maxText is the longest message text in
// runes. Errors wrap ErrBadEvent.
func decodeSnapshot(data []byte, maxText int) (snapshot, error) {
	if maxText <= 0 {
		maxText = defaultMaxTextLen
	}
	bad := func(what string) error { return fmt.Errorf("snapshot: %s: %w", what, ErrBadEvent) }
	if len(data) > maxSnapshotBytes {
		return snapshot{}, bad("too large")
	}
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return snapshot{}, bad("invalid JSON")
	}
	if s.V != snapshotVersion || !validOrigin(s.Origin) || s.Founded <= 0 {
		return snapshot{}, bad("invalid header")
	}
	if secret, err := hex.DecodeString(s.Secret); err != nil || len(secret) < 16 || len(secret) > 64 {
		return snapshot{}, bad("invalid secret")
	}
	for o := range s.Applied {
		if !validOrigin(o) {
			return snapshot{}, bad("invalid origin")
		}
	}
	if len(s.History) > maxSnapshotHistory || len(s.Deleted) > maxDeletedIDs || len(s.Bans) > maxSnapshotBans ||
		len(s.BannedIPs) > maxSnapshotBans || len(s.Timeouts) > maxSnapshotBans || len(s.Mods) > maxSnapshotMods ||
		len(s.Revoked) > maxRevoked || len(s.Reserved) > maxReservedNames {
		return snapshot{}, bad("too many entries")
	}
	for _, m := range s.History {
		u := m.User
		if !validRef(m.ID) || !validUser(&u, true) || m.TS < 0 || m.Text != StripControl(m.Text) ||
			strings.TrimSpace(m.Text) == "" || !utf8.ValidString(m.Text) || utf8.RuneCountInString(m.Text) > maxText {
			return snapshot{}, bad("invalid message")
		}
	}
	for _, id := range s.Deleted {
		if !validRef(id) {
			return snapshot{}, bad("invalid deleted id")
		}
	}
	for id := range s.Bans {
		if !validRef(id) {
			return snapshot{}, bad("invalid ban")
		}
	}
	for _, ip := range s.BannedIPs {
		if _, err := netip.ParseAddr(ip); err != nil {
			return snapshot{}, bad("invalid address")
		}
	}
	for id, e := range s.Timeouts {
		if !validRef(id) || e.Until < 0 || (e.By != "" && !validOrigin(e.By)) {
			return snapshot{}, bad("invalid timeout")
		}
	}
	if s.Slow.Value < 0 || s.Slow.Value > MaxSlowModeSeconds || (s.Slow.By != "" && !validOrigin(s.Slow.By)) {
		return snapshot{}, bad("invalid slow mode")
	}
	words, err := cleanWords(s.Words.Value)
	if err != nil || (s.Words.By != "" && !validOrigin(s.Words.By)) {
		return snapshot{}, bad("invalid words")
	}
	s.Words.Value = words
	for _, m := range s.Mods {
		if !m.valid() {
			return snapshot{}, bad("invalid moderator")
		}
	}
	for id := range s.Revoked {
		if !validRef(id) {
			return snapshot{}, bad("invalid revoked id")
		}
	}
	for _, name := range s.Reserved {
		if n, err := cleanName(name); err != nil || n != name {
			return snapshot{}, bad("invalid reserved name")
		}
	}
	return s, nil
}

// mergeSnapshot merges a snapshot into the hub's room: an instance joining the
// room takes its state whole; two rooms founded apart end as one (the older
// founding's secret, the union of history, bans and tokens, the latest
// settings). Changes that viewers see (deletions, kicks, slow mode, words) are
// told as they would be for an event. Messages new to the room reach its
// viewers as message frames when the room was live (a merge), or in a fresh
// welcome when it was joining.
func (h *Hub) mergeSnapshot(s snapshot) {
	h.version++
	r := h.room
	if s.Founded < r.founded || s.Founded == r.founded && s.Secret < hex.EncodeToString(r.secret) {
		secret, _ := hex.DecodeString(s.Secret)
		r.secret, r.founded = secret, s.Founded
	}
	for _, id := range s.Deleted {
		if r.deleteMessage(id) {
			h.broadcast(ServerMessage{Type: TypeDeleted, ID: id})
		}
	}
	if added := h.mergeHistory(s.History); len(added) > 0 {
		if h.synced {
			for _, m := range added {
				h.stats.messages.Add(1)
				h.broadcast(messageFrame(m))
			}
		} else {
			h.rewelcome()
		}
	}
	ips := append([]string(nil), s.BannedIPs...)
	for id, at := range s.Bans {
		r.ban(id, at, nil)
		ips = append(ips, h.seenIPs[id]...)
	}
	r.banIPs(ips)
	for c := range h.clients {
		if h.refused(c, c.user.Name != "") {
			h.kick(c, fmt.Errorf("you were banned by a moderator: %w", ErrBanned), "banned")
		}
	}
	for id := range s.Bans {
		for _, mid := range r.messagesBy(id) {
			r.deleteMessage(mid)
			h.broadcast(ServerMessage{Type: TypeDeleted, ID: mid})
		}
	}
	for id, e := range s.Timeouts {
		r.timeout(id, e.Until, e.stamp)
	}
	if r.setSlow(s.Slow.Value, s.Slow.stamp) {
		h.broadcast(ServerMessage{Type: TypeSlow, Seconds: s.Slow.Value})
	}
	if r.setWords(s.Words.Value, s.Words.stamp) {
		h.toModerators(ServerMessage{Type: TypeWords, Words: append([]string{}, s.Words.Value...)})
	}
	tokens := false
	for id, at := range s.Revoked {
		if _, known := r.revoked[id]; !known {
			r.revokeMod(id, at)
			tokens = true
		}
	}
	for _, m := range s.Mods {
		tokens = r.addMod(m) || tokens
	}
	if tokens {
		h.tokensChanged()
		for c := range h.clients {
			if _, revoked := r.revoked[c.modID]; c.modID != "" && revoked {
				h.disconnect(c, "moderator token revoked")
			}
		}
	}
	for _, name := range s.Reserved {
		r.reserve(name)
	}
	for _, ev := range h.tracker.merge(s.Applied) {
		h.apply(ev)
	}
}

// mergeHistory adds messages the room lacks, keeping history in time order; it
// returns those it added, oldest first.
func (h *Hub) mergeHistory(msgs []Message) []Message {
	r := h.room
	var added []Message
	for _, m := range msgs {
		if r.deleted.has(m.ID) || r.hasMessage(m.ID) {
			continue
		}
		if _, banned := r.bannedIDs[m.User.ID]; banned {
			continue
		}
		r.history = append(r.history, m)
		added = append(added, m)
		if m.User.Mod && m.User.Name != "" {
			r.reserve(m.User.Name)
		}
	}
	if len(added) == 0 {
		return nil
	}
	sort.SliceStable(r.history, func(i, j int) bool { return r.history[i].TS < r.history[j].TS })
	if over := len(r.history) - r.historySize; over > 0 {
		r.history = append(r.history[:0:0], r.history[over:]...)
	}
	sort.SliceStable(added, func(i, j int) bool { return added[i].TS < added[j].TS })
	return added
}

// rewelcome sends every joined connection and subscriber a fresh welcome after
// the room's history grew from a snapshot (an instance that joined the room
// after its first viewers, or two rooms merged).
func (h *Hub) rewelcome() {
	for c := range h.clients {
		h.sendTo(c, h.welcome(c))
	}
	for s := range h.subs {
		select {
		case s.ch <- h.subscriberWelcome():
		default:
			h.stats.subscriberDrops.Add(1)
		}
	}
}
