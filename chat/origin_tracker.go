package chat

import "sort"

// maxPendingEvents bounds the events one origin may have waiting for a gap
// before it to close; past it the gap is given up.
const maxPendingEvents = 4096

// originTracker remembers, per instance, which of its events this hub has
// applied: every instance numbers its events 1, 2, 3…, so an event is applied
// once however often it arrives (live, replayed after an outage, in a
// snapshot), and in its origin's order. It belongs to the hub's goroutine.
type originTracker struct {
	self    string
	applied map[string]uint64           // origin → all its events up to this one are applied
	pending map[string]map[uint64]event // origin → events that arrived after a gap
	since   map[string]int64            // origin → when its current gap was first seen (Unix ms)
}

func newOriginTracker(self string) *originTracker {
	return &originTracker{self: self, applied: map[string]uint64{}, pending: map[string]map[uint64]event{},
		since: map[string]int64{}}
}

// own records that this instance made its event seq.
func (t *originTracker) own(seq uint64) { t.applied[t.self] = seq }

// accept files an event from another instance and returns the events now
// ready to apply, in order: ev and the pending events it unblocks. A duplicate
// (already applied or already pending) returns dup; an event after a gap
// returns nothing and waits (see gap) until the gap is filled or given up.
func (t *originTracker) accept(ev event, now int64) (ready []event, dup bool) {
	if ev.Origin == t.self {
		return nil, true // our own event coming back
	}
	done := t.applied[ev.Origin]
	switch {
	case ev.Seq <= done:
		return nil, true
	case ev.Seq > done+1:
		p := t.pending[ev.Origin]
		if p == nil {
			p = map[uint64]event{}
			t.pending[ev.Origin] = p
			t.since[ev.Origin] = now
		}
		if _, ok := p[ev.Seq]; ok {
			return nil, true
		}
		p[ev.Seq] = ev
		if len(p) > maxPendingEvents {
			return t.giveUp(ev.Origin), false
		}
		return nil, false
	}
	t.applied[ev.Origin] = ev.Seq
	return append([]event{ev}, t.drain(ev.Origin)...), false
}

// drain returns the pending events of origin that now follow in order.
func (t *originTracker) drain(origin string) []event {
	p := t.pending[origin]
	var ready []event
	for len(p) > 0 {
		next := t.applied[origin] + 1
		ev, ok := p[next]
		if !ok {
			break
		}
		delete(p, next)
		t.applied[origin] = next
		ready = append(ready, ev)
	}
	if len(p) == 0 {
		delete(t.pending, origin)
		delete(t.since, origin)
	}
	return ready
}

// gap returns the first missing event of origin and the last one known to be
// missing (before its first pending event, or up to upTo, the origin's latest
// as its presence tells); ok is false when nothing is missing.
func (t *originTracker) gap(origin string, upTo uint64) (from, to uint64, ok bool) {
	from = t.applied[origin] + 1
	to = upTo
	if p := t.pending[origin]; len(p) > 0 {
		to = t.firstPending(origin) - 1
	}
	return from, to, from <= to
}

// firstPending returns the lowest pending sequence number of origin (0 if none).
func (t *originTracker) firstPending(origin string) uint64 {
	var first uint64
	for seq := range t.pending[origin] {
		if first == 0 || seq < first {
			first = seq
		}
	}
	return first
}

// skip gives up events of origin up to seq (they are lost: their origin no
// longer has them, or does not answer) and returns the pending events that now
// follow, and how many were lost.
func (t *originTracker) skip(origin string, seq uint64) (ready []event, lost uint64) {
	if done := t.applied[origin]; seq > done {
		lost = seq - done
		t.applied[origin] = seq
	}
	for s := range t.pending[origin] {
		if s <= seq {
			delete(t.pending[origin], s)
		}
	}
	return t.drain(origin), lost
}

// giveUp skips the gap before origin's first pending event.
func (t *originTracker) giveUp(origin string) []event {
	ready, _ := t.skip(origin, t.firstPending(origin)-1)
	return ready
}

// gapOrigins lists, sorted, the origins with events waiting behind a gap.
func (t *originTracker) gapOrigins() []string {
	list := make([]string, 0, len(t.pending))
	for o := range t.pending {
		list = append(list, o)
	}
	sort.Strings(list)
	return list
}

// merge raises what is applied to a snapshot's marks (events before them are in
// the snapshot's state) and returns the pending events that now follow.
func (t *originTracker) merge(applied map[string]uint64) []event {
	var ready []event
	for o, seq := range applied {
		if o == t.self {
			continue
		}
		r, _ := t.skip(o, seq)
		ready = append(ready, r...)
	}
	return ready
}
