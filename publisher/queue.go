package publisher

import (
	"time"

	"golive/media"
)

// QueueMode selects how a Queue makes room when it holds more media time
// than its budget.
type QueueMode int

const (
	// QueueLive is the mode while connected: drop non-key video frames
	// first, then whole keyframes, audio only when no video is left.
	QueueLive QueueMode = iota
	// QueueAway is the mode while disconnected: drop the oldest whole
	// GOPs (video and the audio beside it), so that what is kept starts
	// at a keyframe.
	QueueAway
)

// Queue is a FIFO of encoded packets bounded in media time: Delay, the
// span between the newest DTS pushed and the oldest DTS still queued,
// stays within Budget. It always hands out a stream that starts with a
// video keyframe and never a video frame whose reference was dropped.
// It is not safe for concurrent use.
type Queue struct {
	// Budget is the most media time the queue holds.
	Budget time.Duration
	// Mode selects the drop policy (QueueLive by default).
	Mode QueueMode

	items []*media.Packet
	head  int
	// newest is the largest DTS pushed so far.
	newest  time.Duration
	hasData bool
	// needKey: nothing is handed out until a video keyframe heads the
	// queue (at the start and after Restart); audio is held meanwhile.
	needKey bool
	// skipVideo: non-key video is dropped until the next keyframe,
	// because a frame it depends on was dropped.
	skipVideo bool
	// lastVideo is the newest video packet pushed; lastVideoDropped
	// says it was dropped, so the next video frame must be a keyframe.
	lastVideo        *media.Packet
	lastVideoDropped bool

	droppedVideo, droppedAudio int
}

// NewQueue returns an empty queue that waits for a keyframe.
func NewQueue(budget time.Duration) *Queue {
	return &Queue{Budget: budget, needKey: true}
}

// Len returns the number of queued packets.
func (q *Queue) Len() int { return len(q.items) - q.head }

// Delay returns how much media time the queue holds: the newest DTS pushed
// minus the oldest DTS queued (0 when empty).
func (q *Queue) Delay() time.Duration {
	if q.Len() == 0 {
		return 0
	}
	return q.newest - q.items[q.head].DTS
}

// Newest returns the largest DTS pushed so far (false before any).
func (q *Queue) Newest() (time.Duration, bool) { return q.newest, q.hasData }

// VideoLen returns the number of queued video packets.
func (q *Queue) VideoLen() int {
	n := 0
	for _, p := range q.items[q.head:] {
		if p.Codec.IsVideo() {
			n++
		}
	}
	return n
}

// Oldest returns the DTS of the oldest queued packet (false when empty).
func (q *Queue) Oldest() (time.Duration, bool) {
	if q.Len() == 0 {
		return 0, false
	}
	return q.items[q.head].DTS, true
}

// Dropped returns how many video and audio packets were dropped so far.
func (q *Queue) Dropped() (video, audio int) { return q.droppedVideo, q.droppedAudio }

// Push queues p, dropping as the policy says when the queue is over its
// budget. A non-key video packet that cannot be decoded (its reference
// was dropped, or no keyframe has been seen yet) is dropped at once.
func (q *Queue) Push(p *media.Packet) {
	if !q.hasData || p.DTS > q.newest {
		q.newest, q.hasData = p.DTS, true
	}
	if p.Codec.IsVideo() {
		if !p.Keyframe && (q.skipVideo || q.needKey) {
			q.droppedVideo++
			q.enforce()
			return
		}
		q.lastVideo, q.lastVideoDropped = p, false
		if p.Keyframe {
			q.skipVideo = false
			if q.needKey {
				// Held audio older than the first keyframe goes; the
				// keyframe goes in front of the audio that is kept.
				q.removeIf(func(x *media.Packet) bool { return x.DTS < p.DTS })
				q.items = append(q.items, nil)
				copy(q.items[q.head+1:], q.items[q.head:])
				q.items[q.head] = p
				q.needKey = false
				q.enforce()
				return
			}
		}
	}
	q.items = append(q.items, p)
	q.enforce()
}

// Pop returns the oldest packet, or false when there is none to hand out.
func (q *Queue) Pop() (*media.Packet, bool) {
	if q.needKey || q.Len() == 0 {
		return nil, false
	}
	p := q.items[q.head]
	q.items[q.head] = nil
	q.head++
	q.compact()
	return p, true
}

// Restart makes the queue hand out a keyframe first again (after a
// reconnection): everything before the oldest queued keyframe is dropped;
// without a queued keyframe, audio is held and video skipped until one
// comes.
func (q *Queue) Restart() {
	for i := q.head; i < len(q.items); i++ {
		if p := q.items[i]; p.Codec.IsVideo() && p.Keyframe {
			q.dropWhile(func(x *media.Packet) bool { return x != p }, 0)
			q.needKey = false
			return
		}
	}
	q.removeIf(func(p *media.Packet) bool { return p.Codec.IsVideo() })
	q.needKey = true
	q.skipVideo = true
}

// enforce drops packets until Delay is within Budget.
func (q *Queue) enforce() {
	if q.Budget <= 0 {
		return
	}
	dropped := false
	for q.Len() > 0 && q.Delay() > q.Budget {
		dropped = true
		if q.Mode == QueueAway {
			q.dropOldestGOP()
			continue
		}
		// Video goes before audio: 1. stale non-key video frames
		// (older than the budget allows), with the frames that depend
		// on them; 2. the oldest stale keyframe with its GOP; 3. the
		// head, which is then audio.
		cutoff := q.newest - q.Budget
		if q.dropChain(func(p *media.Packet) bool { return p.DTS < cutoff && !p.Keyframe }) {
			continue
		}
		if q.dropChain(func(p *media.Packet) bool { return p.DTS < cutoff }) {
			continue
		}
		q.dropWhile(func(*media.Packet) bool { return true }, 1)
	}
	if dropped && q.lastVideoDropped {
		q.skipVideo = true
	}
}

// dropChain finds the oldest video packet matching start and drops it with
// every non-key video packet after it up to the next keyframe (they
// reference it). It reports whether it dropped anything.
func (q *Queue) dropChain(start func(*media.Packet) bool) bool {
	from := -1
	for i := q.head; i < len(q.items); i++ {
		if p := q.items[i]; p.Codec.IsVideo() && start(p) {
			from = i
			break
		}
	}
	if from < 0 {
		return false
	}
	kept := q.items[:from]
	inChain := true
	for i, p := range q.items[from:] {
		if p.Codec.IsVideo() && inChain {
			if i > 0 && p.Keyframe {
				inChain = false
			} else {
				q.count(p)
				continue
			}
		}
		kept = append(kept, p)
	}
	for i := len(kept); i < len(q.items); i++ {
		q.items[i] = nil
	}
	q.items = kept
	q.compact()
	return true
}

// dropOldestGOP drops the head packet and everything after it up to the
// next video keyframe.
func (q *Queue) dropOldestGOP() {
	first := true
	q.dropWhile(func(p *media.Packet) bool {
		if first {
			first = false
			return true
		}
		return !(p.Codec.IsVideo() && p.Keyframe)
	}, 0)
}

// dropWhile drops packets from the head while drop(p) is true, at most
// max of them (max <= 0: no limit).
func (q *Queue) dropWhile(drop func(*media.Packet) bool, max int) {
	for n := 0; q.Len() > 0 && (max <= 0 || n < max) && drop(q.items[q.head]); n++ {
		q.count(q.items[q.head])
		q.items[q.head] = nil
		q.head++
	}
	q.compact()
}

// removeIf drops every queued packet matching and returns how many.
func (q *Queue) removeIf(match func(*media.Packet) bool) int {
	kept := q.items[:q.head]
	n := 0
	for _, p := range q.items[q.head:] {
		if match(p) {
			q.count(p)
			n++
			continue
		}
		kept = append(kept, p)
	}
	for i := len(kept); i < len(q.items); i++ {
		q.items[i] = nil
	}
	q.items = kept
	return n
}

func (q *Queue) count(p *media.Packet) {
	if p.Codec.IsVideo() {
		q.droppedVideo++
		if p == q.lastVideo {
			q.lastVideoDropped = true
		}
	} else {
		q.droppedAudio++
	}
}

func (q *Queue) compact() {
	if q.head > 64 && q.head*2 > len(q.items) {
		n := copy(q.items, q.items[q.head:])
		for i := n; i < len(q.items); i++ {
			q.items[i] = nil
		}
		q.items = q.items[:n]
		q.head = 0
	}
	if q.Len() == 0 {
		q.items = q.items[:0]
		q.head = 0
	}
}
