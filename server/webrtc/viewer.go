package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"golive/media"
)

// viewerQueue is how many items (frames and audio packets) a viewer may
// have waiting; beyond, it loses frames and restarts at a keyframe.
const viewerQueue = 256

// keyframeAskEvery limits how often one viewer's picture losses ask a
// rung for a keyframe.
const keyframeAskEvery = 500 * time.Millisecond

// item is what a viewer's queue carries: a video frame or an Opus packet.
type item struct {
	au    *accessUnit
	audio *media.Packet
}

// control is what a viewer's control channel carries: the stream's rungs
// changed, or feedback from its RTCP.
type control struct {
	stream *liveStream // a new stream (or rungs dropped); nil: none
	loss   float64     // fraction lost of a receiver report; <0 none
	remb   int         // bandwidth estimate; 0 none
	pli    bool        // the receiver lost its picture
}

// ViewerStats describes one WebRTC viewer.
type ViewerStats struct {
	// ID is the session id (the last element of its Location).
	ID string `json:"id"`
	// Remote is the viewer's HTTP address.
	Remote string `json:"remote"`
	// Rung is the rung it is sent ("" before its first frame).
	Rung string `json:"rung"`
	// Since is when it connected.
	Since time.Time `json:"since"`
	// Frames, Packets and Bytes count video sent; AudioPackets Opus.
	Frames, Packets, Bytes, AudioPackets uint64
	// NACKs counts packets it asked again for; PLIs the pictures it lost
	// (PLI and FIR).
	NACKs, PLIs uint64
	// PacketsLost is the loss its last receiver report counted;
	// FractionLost that report's fraction (0–1).
	PacketsLost  int64
	FractionLost float64
	// REMB is its last bandwidth estimate in bit/s (0: none).
	REMB int
	// Switches counts rung changes; Overflows the times its queue was
	// full and frames were lost.
	Switches, Overflows uint64
}

// viewer is one WHEP session's media: it follows one rung (switching at
// keyframes as its feedback asks), gives every frame its own RTP
// sequence numbers and timestamps, and sends them from its own goroutine.
type viewer struct {
	id     string
	remote string
	w      *WHEP
	log    *slog.Logger
	video  *pion.TrackLocalStaticRTP
	audio  *pion.TrackLocalStaticRTP // nil: no audio negotiated
	want   string                    // the rung asked for ("": the top)
	vSSRC  atomic.Uint32

	in       chan item
	ctl      chan control
	overflow atomic.Bool
	ctx      context.Context
	cancel   context.CancelFunc
	done     chan struct{}
	started  atomic.Bool

	// The run goroutine's.
	stream   *liveStream
	rungs    []*rungFeed // eligible rungs, top first
	cur      *rungFeed   // the rung being sent
	target   *rungFeed   // the rung to switch to at its next keyframe
	waitKey  bool
	seq      uint16
	aseq     uint16
	tsBase   uint32
	atsBase  uint32
	shift    time.Duration // added to video PTS so RTP time never goes back
	lastPTS  time.Duration
	sentAny  bool
	ashift   time.Duration
	lastAPTS time.Duration
	sentA    bool
	ad       *adapter
	lastAsk  time.Time

	mu    sync.Mutex
	stats ViewerStats
}

func newViewer(w *WHEP, id, remote, want string) *viewer {
	v := &viewer{id: id, remote: remote, w: w, want: want,
		log: w.Logger.With("viewer", id[:8]),
		in:  make(chan item, viewerQueue), ctl: make(chan control, 16), done: make(chan struct{})}
	var b [12]byte
	_, _ = rand.Read(b[:])
	v.seq, v.aseq = binary.BigEndian.Uint16(b[0:]), binary.BigEndian.Uint16(b[2:])
	v.tsBase, v.atsBase = binary.BigEndian.Uint32(b[4:]), binary.BigEndian.Uint32(b[8:])
	v.ctx, v.cancel = context.WithCancel(context.Background())
	v.stats.ID, v.stats.Remote = id, remote
	return v
}

// push offers an item without blocking; a full queue loses it, and the
// viewer restarts at a keyframe.
func (v *viewer) push(it item) {
	select {
	case v.in <- it:
	default:
		v.overflow.Store(true)
	}
}

// control offers a control message without blocking (feedback may be
// lost under a flood; a new stream may not).
func (v *viewer) control(c control) {
	if c.stream != nil {
		select {
		case v.ctl <- c:
		case <-v.ctx.Done():
		}
		return
	}
	select {
	case v.ctl <- c:
	default:
	}
}

// Start begins sending, once the session is connected.
func (v *viewer) Start() {
	if v.started.Swap(true) {
		return
	}
	v.mu.Lock()
	v.stats.Since = v.w.now()
	v.mu.Unlock()
	go v.run()
}

// Close stops sending and waits for the viewer's goroutine.
func (v *viewer) Close() {
	v.cancel()
	if v.started.Swap(true) { // a viewer never started has no goroutine
		<-v.done
	} else {
		close(v.done)
	}
	v.w.removeViewer(v)
}

// run owns the viewer's state: it sends what its rungs bring.
func (v *viewer) run() {
	defer close(v.done)
	defer v.unsubscribeAll()
	if st := v.w.stream.Load(); st != nil {
		v.restart(st)
	}
	for {
		select {
		case <-v.ctx.Done():
			return
		case c := <-v.ctl:
			v.handle(c)
		case it := <-v.in:
			if v.overflow.Swap(false) {
				v.lost()
			}
			var err error
			if it.au != nil {
				err = v.frame(it.au)
			} else {
				err = v.sendAudio(it.audio)
			}
			if errors.Is(err, io.ErrClosedPipe) {
				return
			}
		}
	}
}

// lost restarts the picture after frames were lost from the queue.
func (v *viewer) lost() {
	v.mu.Lock()
	v.stats.Overflows++
	v.mu.Unlock()
	v.waitKey = true
	v.askKeyframe(v.cur)
}

// handle takes a control message.
func (v *viewer) handle(c control) {
	now := v.w.now()
	switch {
	case c.stream != nil:
		v.restart(c.stream)
		return
	case v.ad == nil:
		return
	case c.pli:
		v.askKeyframe(v.cur)
		return
	}
	want := v.ad.cur
	if c.loss >= 0 {
		want = v.ad.lossReport(now, c.loss)
	}
	if c.remb > 0 {
		want = v.ad.rembReport(now, c.remb)
	}
	if want >= 0 && want < len(v.rungs) && v.rungs[want] != v.cur && v.rungs[want] != v.target {
		v.switchTo(v.rungs[want], "feedback")
	}
}

// restart follows a new stream (or the same one with rungs dropped): the
// rung of the same name if it is still there, else the nearest below.
func (v *viewer) restart(st *liveStream) {
	v.unsubscribeAll()
	v.stream, v.cur, v.target = st, nil, nil
	v.rungs = st.eligible()
	if len(v.rungs) == 0 {
		return
	}
	ceiling := 0
	if h := st.height(v.want); h > 0 {
		ceiling = len(v.rungs) - 1
		for i, f := range v.rungs {
			if f.Params.Height <= h {
				ceiling = i
				break
			}
		}
	}
	rates := make([]int, len(v.rungs))
	for i, f := range v.rungs {
		rates[i] = max(f.Bitrate, 1)
	}
	start := ceiling
	if v.ad != nil && v.ad.cur > ceiling && v.ad.cur < len(v.rungs) {
		start = v.ad.cur // keep where feedback had brought it
	}
	v.ad = newAdapter(rates, ceiling, start, v.w.now())
	v.begin(v.rungs[start])
}

// begin waits for a keyframe of rung f; when f cannot make one now (the
// source), it starts on the best rung below that can, and moves up to f at
// f's next keyframe — a picture at once for a viewer joining mid-GOP.
func (v *viewer) begin(f *rungFeed) {
	v.target = f
	f.subscribe(v)
	if f.forceKeyframe() {
		return
	}
	for _, g := range v.rungs {
		if g.Params.Height < f.Params.Height && g.forceKeyframe() {
			v.cur, v.waitKey = g, true
			g.subscribe(v)
			return
		}
	}
}

// switchTo moves to rung f at its next keyframe, asking for one.
func (v *viewer) switchTo(f *rungFeed, why string) {
	if v.target != nil && v.target != v.cur && v.target != f {
		v.target.unsubscribe(v)
	}
	v.target = f
	f.subscribe(v)
	f.forceKeyframe()
	v.log.Debug("whep: switching rung", "from", feedName(v.cur), "to", f.Name, "why", why)
}

func feedName(f *rungFeed) string {
	if f == nil {
		return ""
	}
	return f.Name
}

// askKeyframe asks rung f for a keyframe, at most every keyframeAskEvery.
func (v *viewer) askKeyframe(f *rungFeed) {
	now := v.w.now()
	if f == nil || now.Sub(v.lastAsk) < keyframeAskEvery {
		return
	}
	v.lastAsk = now
	f.forceKeyframe()
}

// frame sends a frame of the current rung, or switches to the target rung
// at its keyframe; frames of rungs left behind are dropped.
func (v *viewer) frame(au *accessUnit) error {
	switch {
	case au.feed == v.target && au.key:
		if v.cur != nil && v.cur != v.target {
			v.cur.unsubscribe(v)
			v.mu.Lock()
			v.stats.Switches++
			v.mu.Unlock()
		}
		v.cur, v.target, v.waitKey = v.target, nil, false
		if v.ad != nil {
			for i, f := range v.rungs {
				if f == v.cur {
					v.ad.cur = i
				}
			}
		}
		if v.sentAny && au.pts+v.shift <= v.lastPTS { // a rung behind the last: keep RTP time going forward
			v.shift = v.lastPTS + frameStep - au.pts
		}
		v.mu.Lock()
		v.stats.Rung = v.cur.Name
		v.mu.Unlock()
	case au.feed == v.cur:
		if v.waitKey && !au.key {
			return nil
		}
		v.waitKey = false
	default:
		return nil
	}
	return v.sendVideo(au)
}

// frameStep is the RTP time given a frame after a switch that went back
// in time.
const frameStep = 33 * time.Millisecond

// sendVideo writes one frame's RTP packets.
func (v *viewer) sendVideo(au *accessUnit) error {
	pts := au.pts + v.shift
	ts := v.tsBase + uint32(media.ToTicks(pts, 90000))
	v.lastPTS, v.sentAny = pts, true
	for i, pl := range au.payloads {
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == len(au.payloads)-1,
			SequenceNumber: v.seq, Timestamp: ts}, Payload: pl}
		v.seq++
		if err := v.video.WriteRTP(&pkt); err != nil {
			return err
		}
	}
	v.mu.Lock()
	v.stats.Frames++
	v.stats.Packets += uint64(len(au.payloads))
	v.stats.Bytes += uint64(au.size)
	v.mu.Unlock()
	return nil
}

// sendAudio writes one Opus packet.
func (v *viewer) sendAudio(p *media.Packet) error {
	if v.audio == nil || v.cur == nil {
		return nil // audio starts with the picture
	}
	if v.sentA && p.PTS+v.ashift <= v.lastAPTS {
		v.ashift = v.lastAPTS + 20*time.Millisecond - p.PTS
	}
	pts := p.PTS + v.ashift
	v.lastAPTS, v.sentA = pts, true
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, Marker: false, SequenceNumber: v.aseq,
		Timestamp: v.atsBase + uint32(media.ToTicks(pts, 48000))}, Payload: p.Data}
	v.aseq++
	if err := v.audio.WriteRTP(&pkt); err != nil {
		return err
	}
	v.mu.Lock()
	v.stats.AudioPackets++
	v.mu.Unlock()
	return nil
}

// unsubscribeAll leaves every rung.
func (v *viewer) unsubscribeAll() {
	if v.stream == nil {
		return
	}
	for _, f := range v.stream.feeds {
		f.unsubscribe(v)
	}
}

// Stats returns a snapshot of the viewer.
func (v *viewer) Stats() ViewerStats {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.stats
}
