package ingest

import (
	"time"

	"github.com/pion/rtp"
)

// Defaults of the reorder buffer a WHIP track's packets go through.
const (
	// defaultReorderWait is how long a hole in the sequence is waited for
	// (a retransmission answering a NACK, a packet overtaken on the way)
	// before it is given up as lost.
	defaultReorderWait = 150 * time.Millisecond
	// reorderMaxHeld is how many packets may wait behind a hole.
	reorderMaxHeld = 512
	// reorderMaxJump is how far the sequence may jump, either way, before
	// the stream counts as restarted rather than reordered.
	reorderMaxJump = 3000
)

// reorder puts one RTP stream's packets back in sequence order. A packet
// that comes early waits for the ones before it for at most wait, or until
// reorderMaxHeld packets are held; then the hole is given up as lost and
// what follows it goes on. Late and duplicate packets are dropped. It is
// used from one goroutine.
type reorder struct {
	wait time.Duration

	started bool
	next    uint16 // the sequence number due
	held    map[uint16]heldPacket
}

type heldPacket struct {
	p  *rtp.Packet
	at time.Time
}

// reorderResult is what one push gave: the packets now in order, how many
// were given up as lost before them, and whether the packet came too late.
type reorderResult struct {
	out  []*rtp.Packet
	lost int
	late bool
}

// push takes one packet that arrived at now.
func (r *reorder) push(p *rtp.Packet, now time.Time) reorderResult {
	var res reorderResult
	if r.held == nil {
		r.held = map[uint16]heldPacket{}
	}
	if !r.started {
		r.started, r.next = true, p.SequenceNumber
	}
	d := int(int16(p.SequenceNumber - r.next))
	switch {
	case d < -reorderMaxJump || d > reorderMaxJump:
		// The sender started over: what was held is lost, the new
		// sequence goes on from here.
		res.lost = len(r.held) + 1
		clear(r.held)
		r.next = p.SequenceNumber
		d = 0
	case d < 0:
		res.late = true
		return res
	}
	if d == 0 {
		res.out = append(res.out, p)
		r.next++
		r.drain(&res)
	} else if _, dup := r.held[p.SequenceNumber]; !dup {
		r.held[p.SequenceNumber] = heldPacket{p: p, at: now}
	} else {
		res.late = true
	}
	for len(r.held) > 0 && (len(r.held) > reorderMaxHeld || now.Sub(r.oldest()) >= r.wait) {
		r.skip(&res)
	}
	return res
}

// drain moves the held packets that follow on without a hole to out.
func (r *reorder) drain(res *reorderResult) {
	for {
		h, ok := r.held[r.next]
		if !ok {
			return
		}
		delete(r.held, r.next)
		res.out = append(res.out, h.p)
		r.next++
	}
}

// skip gives up the hole before the first held packet.
func (r *reorder) skip(res *reorderResult) {
	first := -1
	for seq := range r.held {
		if d := int(seq - r.next); first < 0 || d < first {
			first = d
		}
	}
	res.lost += first
	r.next += uint16(first)
	r.drain(res)
}

// oldest returns when the longest-waiting held packet arrived.
func (r *reorder) oldest() time.Time {
	var t time.Time
	for _, h := range r.held {
		if t.IsZero() || h.at.Before(t) {
			t = h.at
		}
	}
	return t
}
