package chat

import (
	"encoding/json"
	"sync"
)

// eventRing keeps an instance's latest events, encoded, so that instances that
// missed some (during a NATS outage, say) can ask for them again. The hub's
// goroutine adds; the link's replay responder reads.
type eventRing struct {
	mu   sync.Mutex
	data [][]byte // data[seq % len(data)]
	last uint64   // the newest seq added (0: none)
}

func newEventRing(n int) *eventRing {
	return &eventRing{data: make([][]byte, n)}
}

// add keeps event seq (seqs are added in order without gaps).
func (r *eventRing) add(seq uint64, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.data[seq%uint64(len(r.data))] = data
	r.last = seq
}

// oldest returns the oldest seq still kept (1 while nothing was overwritten).
func (r *eventRing) oldest() uint64 {
	if r.last < uint64(len(r.data)) {
		return 1
	}
	return r.last - uint64(len(r.data)) + 1
}

// get returns the oldest seq kept and the kept events from..to, at most n of
// them and about maxBytes in all.
func (r *eventRing) get(from, to uint64, n, maxBytes int) (first uint64, events []json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	first = r.oldest()
	from = max(from, first)
	to = min(to, r.last)
	size := 0
	for seq := from; seq <= to && len(events) < n && size < maxBytes; seq++ {
		d := r.data[seq%uint64(len(r.data))]
		events = append(events, json.RawMessage(d))
		size += len(d)
	}
	return first, events
}
