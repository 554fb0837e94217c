package chat

import (
	"time"
)

// Bounds of a room's remembered state.
const (
	maxDeletedIDs    = 4096 // deleted message ids remembered, so a late copy stays deleted
	maxReservedNames = 1024
	maxRevoked       = 4096
)

// stamp orders changes to a setting the same way on every instance, whichever
// order they learn of them in: a later Set (Unix ms) wins; for equal times the
// larger By (the instance that made the change), and for one instance its later
// event (Seq).
type stamp struct {
	Set int64  `json:"set"`
	By  string `json:"by,omitempty"`
	Seq uint64 `json:"seq,omitempty"`
}

// stampOf returns the stamp of the change an event makes.
func stampOf(ev event) stamp { return stamp{Set: ev.TS, By: ev.Origin, Seq: ev.Seq} }

// after reports whether s wins over o.
func (s stamp) after(o stamp) bool {
	if s.Set != o.Set {
		return s.Set > o.Set
	}
	if s.By != o.By {
		return s.By > o.By
	}
	return s.Seq > o.Seq
}

// lww is a setting the latest change wins (see stamp).
type lww[T any] struct {
	Value T `json:"value"`
	stamp
}

// timeoutEntry is one user's timeout: muted until Until (Unix ms, 0: lifted).
type timeoutEntry struct {
	Until int64 `json:"until"`
	stamp
}

// room is the state a chat room shares across instances: history, deleted
// message ids, bans, timeouts, slow mode, the blocked-words list, moderator
// tokens, reserved names, and the key public user ids are derived with. It is
// owned by the hub's goroutine; events change it (Hub.apply) and snapshots copy
// and merge it. It does no I/O.
type room struct {
	historySize int
	history     []Message
	deleted     *idRing
	bannedIDs   map[string]int64 // user id → when banned (Unix ms)
	bannedIPs   map[string]struct{}
	timeouts    map[string]timeoutEntry
	slow        lww[int]
	words       lww[[]string]
	filter      *wordFilter
	mods        map[string]modRecord // by id
	revoked     map[string]int64     // revoked moderator id → when (Unix ms)
	reserved    map[string]string    // folded name → the name
	secret      []byte               // HMAC key of public user ids
	founded     int64                // Unix ns the secret was made; the older wins a merge
}

// newRoom returns an empty room keeping historySize messages, with a fresh
// secret founded now.
func newRoom(historySize int, secret []byte, founded time.Time) *room {
	return &room{
		historySize: historySize,
		deleted:     newIDRing(maxDeletedIDs),
		bannedIDs:   map[string]int64{},
		bannedIPs:   map[string]struct{}{},
		timeouts:    map[string]timeoutEntry{},
		mods:        map[string]modRecord{},
		revoked:     map[string]int64{},
		reserved:    map[string]string{},
		secret:      secret,
		founded:     founded.UnixNano(),
	}
}

// addMessage appends msg to history unless it was deleted or its author is
// banned (a copy arriving late from another instance); it reports whether it did.
func (r *room) addMessage(msg Message) bool {
	if r.deleted.has(msg.ID) {
		return false
	}
	if _, banned := r.bannedIDs[msg.User.ID]; banned && msg.User.ID != CreatorID {
		return false
	}
	for _, m := range r.history {
		if m.ID == msg.ID {
			return false
		}
	}
	r.history = append(r.history, msg)
	if over := len(r.history) - r.historySize; over > 0 {
		r.history = append(r.history[:0:0], r.history[over:]...)
	}
	return true
}

// hasMessage reports whether message id is in history.
func (r *room) hasMessage(id string) bool {
	for _, m := range r.history {
		if m.ID == id {
			return true
		}
	}
	return false
}

// deleteMessage removes message id from history and remembers it as deleted;
// it reports whether it was in history.
func (r *room) deleteMessage(id string) bool {
	r.deleted.add(id)
	for i, m := range r.history {
		if m.ID == id {
			r.history = append(r.history[:i:i], r.history[i+1:]...)
			return true
		}
	}
	return false
}

// messagesBy returns the ids of user id's messages in history.
func (r *room) messagesBy(id string) []string {
	var ids []string
	for _, m := range r.history {
		if m.User.ID == id {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// ban bans user id and addresses.
func (r *room) ban(id string, at int64, ips []string) {
	if old, ok := r.bannedIDs[id]; !ok || at < old {
		r.bannedIDs[id] = at
	}
	r.banIPs(ips)
}

// banIPs bans addresses.
func (r *room) banIPs(ips []string) {
	for _, ip := range ips {
		r.bannedIPs[ip] = struct{}{}
	}
}

// timeout records a timeout of user id until until (0 lifts it), unless a later
// decision is already known; it reports whether it changed anything.
func (r *room) timeout(id string, until int64, st stamp) bool {
	if old, ok := r.timeouts[id]; ok && !st.after(old.stamp) {
		return false
	}
	r.timeouts[id] = timeoutEntry{Until: until, stamp: st}
	return true
}

// timedOut returns how long user id stays muted at now (0: not muted).
func (r *room) timedOut(id string, now time.Time) time.Duration {
	e, ok := r.timeouts[id]
	if !ok {
		return 0
	}
	left := time.UnixMilli(e.Until).Sub(now)
	if left <= 0 {
		return 0
	}
	return left
}

// pruneTimeouts forgets timeouts that ended before now.
func (r *room) pruneTimeouts(now time.Time) {
	for id, e := range r.timeouts {
		if time.UnixMilli(e.Until).Before(now) && now.Sub(time.UnixMilli(e.Set)) > time.Hour {
			delete(r.timeouts, id)
		}
	}
}

// setSlow sets slow mode's interval unless a later change is known.
func (r *room) setSlow(seconds int, st stamp) bool {
	if !st.after(r.slow.stamp) {
		return false
	}
	r.slow = lww[int]{Value: seconds, stamp: st}
	return true
}

// setWords replaces the blocked-words list unless a later change is known.
func (r *room) setWords(words []string, st stamp) bool {
	if !st.after(r.words.stamp) {
		return false
	}
	r.words = lww[[]string]{Value: append([]string(nil), words...), stamp: st}
	r.filter = newWordFilter(words)
	return true
}

// addMod adds a moderator token unless it was revoked; it reports whether it is new.
func (r *room) addMod(m modRecord) bool {
	if _, gone := r.revoked[m.ID]; gone {
		return false
	}
	if _, ok := r.mods[m.ID]; ok {
		return false
	}
	r.mods[m.ID] = m
	r.reserve(m.Name)
	return true
}

// revokeMod revokes moderator token id; it reports whether it was known.
func (r *room) revokeMod(id string, at int64) bool {
	_, ok := r.mods[id]
	delete(r.mods, id)
	if _, done := r.revoked[id]; !done {
		if len(r.revoked) >= maxRevoked {
			r.pruneRevoked()
		}
		r.revoked[id] = at
	}
	return ok
}

// pruneRevoked forgets the older half of the revoked ids.
func (r *room) pruneRevoked() {
	var oldest int64
	for _, at := range r.revoked {
		if oldest == 0 || at < oldest {
			oldest = at
		}
	}
	var newest int64
	for _, at := range r.revoked {
		newest = max(newest, at)
	}
	mid := oldest + (newest-oldest)/2
	for id, at := range r.revoked {
		if at <= mid {
			delete(r.revoked, id)
		}
	}
}

// reserve keeps name for the creator and moderators: no viewer may take it or
// a look-alike of it.
func (r *room) reserve(name string) {
	key := foldName(name)
	if key == "" || len(r.reserved) >= maxReservedNames {
		return
	}
	r.reserved[key] = name
}

// isReserved reports whether name, folded, is the creator's or a moderator's.
func (r *room) isReserved(name string) bool {
	_, ok := r.reserved[foldName(name)]
	return ok
}

// historyCopy returns a copy of the history, oldest first.
func (r *room) historyCopy() []Message {
	return append([]Message(nil), r.history...)
}
