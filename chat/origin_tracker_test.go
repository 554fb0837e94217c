package chat

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func seqs(evs []event) []uint64 {
	var out []uint64
	for _, ev := range evs {
		out = append(out, ev.Seq)
	}
	return out
}

func TestOriginTrackerAppliesOnceInOrder(t *testing.T) {
	tr := newOriginTracker("self")
	ev := func(o string, seq uint64) event { return event{Origin: o, Seq: seq} }

	ready, dup := tr.accept(ev("a", 1), 0)
	require.False(t, dup)
	require.Equal(t, []uint64{1}, seqs(ready))
	_, dup = tr.accept(ev("a", 1), 0)
	require.True(t, dup, "the same event again")
	_, dup = tr.accept(ev("self", 7), 0)
	require.True(t, dup, "our own event coming back")

	// 4 and 3 come before 2: they wait, then follow 2 in order.
	ready, dup = tr.accept(ev("a", 4), 100)
	require.False(t, dup)
	require.Empty(t, ready)
	ready, _ = tr.accept(ev("a", 3), 100)
	require.Empty(t, ready)
	_, dup = tr.accept(ev("a", 4), 100)
	require.True(t, dup, "pending twice")
	from, to, ok := tr.gap("a", 4)
	require.True(t, ok)
	require.Equal(t, []uint64{2, 2}, []uint64{from, to})
	require.Equal(t, []string{"a"}, tr.gapOrigins())
	ready, _ = tr.accept(ev("a", 2), 200)
	require.Equal(t, []uint64{2, 3, 4}, seqs(ready))
	require.Empty(t, tr.gapOrigins())
	_, _, ok = tr.gap("a", 4)
	require.False(t, ok)

	// Presence tells of events never received: the gap runs up to them.
	from, to, ok = tr.gap("a", 9)
	require.True(t, ok)
	require.Equal(t, []uint64{5, 9}, []uint64{from, to})

	// A gap given up: the events after it are applied, the missing ones counted lost.
	tr.accept(ev("b", 3), 0)
	tr.accept(ev("b", 5), 0)
	ready = tr.giveUp("b")
	require.Equal(t, []uint64{3}, seqs(ready))
	ready, lost := tr.skip("b", 4)
	require.Equal(t, []uint64{5}, seqs(ready))
	require.Equal(t, uint64(1), lost)

	// A snapshot's marks: what they cover is in the snapshot, pending events after follow.
	tr.accept(ev("c", 10), 0)
	ready = tr.merge(map[string]uint64{"c": 9, "self": 100})
	require.Equal(t, []uint64{10}, seqs(ready))
	require.Zero(t, tr.applied["self"], "a snapshot never speaks for us")
}

func TestOriginTrackerBoundsPending(t *testing.T) {
	tr := newOriginTracker("self")
	var ready []event
	for seq := uint64(2); seq <= maxPendingEvents+2; seq++ {
		r, _ := tr.accept(event{Origin: "a", Seq: seq}, 0)
		ready = append(ready, r...)
	}
	require.Len(t, ready, maxPendingEvents+1, "past the bound the gap is given up")
	require.Equal(t, uint64(maxPendingEvents+2), tr.applied["a"])
}

func TestEventRing(t *testing.T) {
	r := newEventRing(4)
	first, evs := r.get(1, 10, 100, 1<<20)
	require.Equal(t, uint64(1), first)
	require.Empty(t, evs)
	for seq := uint64(1); seq <= 6; seq++ {
		r.add(seq, []byte{byte('0' + seq)})
	}
	first, evs = r.get(1, 10, 100, 1<<20)
	require.Equal(t, uint64(3), first, "1 and 2 were overwritten")
	require.Len(t, evs, 4)
	require.Equal(t, "3", string(evs[0]))
	_, evs = r.get(4, 5, 1, 1<<20)
	require.Equal(t, []string{"4"}, []string{string(evs[0])}, "at most n")
}
