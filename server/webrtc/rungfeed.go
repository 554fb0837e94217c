package webrtc

import (
	"sync"
	"sync/atomic"
	"time"

	"golive/media"
)

// Rung is one rendition of the live stream that WHEP viewers can be sent:
// H.264 passed through as the pipeline made it.
type Rung struct {
	// Name is the rung's name ("480p"), as ?rung= names it.
	Name string
	// Params are its H.264 parameters: Config (the avcC record), Width,
	// Height.
	Params media.CodecParams
	// Bitrate is its video bitrate in bit/s, which adaptation compares
	// with the viewer's bandwidth estimate.
	Bitrate int
	// ForceKeyframe, if set, asks the rung's encoder for a keyframe and
	// reports whether one comes soon (a ladder rung; nil for the source,
	// whose keyframes come when the publisher sends them).
	ForceKeyframe func() bool
}

// accessUnit is one H.264 frame of a rung, packetized once for every
// viewer of the rung.
type accessUnit struct {
	feed     *rungFeed
	pts      time.Duration
	key      bool
	payloads [][]byte
	size     int
}

// rungFeed is one rung of the live stream as WHEP sees it: its packets
// come from one goroutine (the ingest's for the source, the rung's own
// for a ladder rung), are packetized once and offered to the viewers
// subscribed to it, who each send them at their own pace.
type rungFeed struct {
	Rung
	index int // in the stream's rungs, top first
	pk    *h264Packetizer

	bframes   atomic.Bool // a packet had PTS ≠ DTS: WebRTC plays it badly
	dropped   atomic.Bool // the ladder dropped the rung
	badPkts   atomic.Int64
	mu        sync.Mutex                // serialises subscription changes
	subs      atomic.Pointer[[]*viewer] // read by the writer without a lock
	lastError time.Time                 // writer only
}

// write packetizes one packet and offers it to the subscribers. Nothing is
// packetized while nobody watches the rung.
func (f *rungFeed) write(pkt *media.Packet, log func(err error)) {
	if pkt.PTS != pkt.DTS {
		f.bframes.Store(true)
	}
	subs := f.subs.Load()
	if subs == nil || len(*subs) == 0 {
		return
	}
	payloads, err := f.pk.packetize(pkt.Data, pkt.Keyframe)
	if err != nil {
		f.badPkts.Add(1)
		if time.Since(f.lastError) > time.Second {
			f.lastError = time.Now()
			log(err)
		}
		return
	}
	au := &accessUnit{feed: f, pts: pkt.PTS, key: pkt.Keyframe, payloads: payloads}
	for _, p := range payloads {
		au.size += len(p)
	}
	for _, v := range *subs {
		v.push(item{au: au})
	}
}

// subscribe adds a viewer (idempotent).
func (f *rungFeed) subscribe(v *viewer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var cur []*viewer
	if p := f.subs.Load(); p != nil {
		cur = *p
	}
	for _, s := range cur {
		if s == v {
			return
		}
	}
	next := append(append(make([]*viewer, 0, len(cur)+1), cur...), v)
	f.subs.Store(&next)
}

// unsubscribe removes a viewer (idempotent).
func (f *rungFeed) unsubscribe(v *viewer) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.subs.Load()
	if p == nil {
		return
	}
	next := make([]*viewer, 0, len(*p))
	for _, s := range *p {
		if s != v {
			next = append(next, s)
		}
	}
	f.subs.Store(&next)
}

// forceKeyframe asks for a keyframe where the rung can make one.
func (f *rungFeed) forceKeyframe() bool {
	return f.ForceKeyframe != nil && !f.dropped.Load() && f.ForceKeyframe()
}

// liveStream is one publisher's stream as WHEP sees it.
type liveStream struct {
	feeds []*rungFeed // top (the source) first
	audio *media.CodecParams
}

// eligible returns the rungs a viewer may be sent, top first: not dropped,
// and the source only when it has no B-frames or nothing else is left
// (browsers' WebRTC decoders expect frames in presentation order).
func (s *liveStream) eligible() []*rungFeed {
	var out []*rungFeed
	for _, f := range s.feeds {
		if !f.dropped.Load() && !f.bframes.Load() {
			out = append(out, f)
		}
	}
	if len(out) == 0 {
		for _, f := range s.feeds {
			if !f.dropped.Load() {
				return []*rungFeed{f}
			}
		}
	}
	return out
}

// feed returns the rung named name.
func (s *liveStream) feed(name string) *rungFeed {
	for _, f := range s.feeds {
		if f.Name == name {
			return f
		}
	}
	return nil
}

// height returns the picture height of the rung named name (0: none).
func (s *liveStream) height(name string) int {
	if f := s.feed(name); f != nil {
		return f.Params.Height
	}
	return 0
}
