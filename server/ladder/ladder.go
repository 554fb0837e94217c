package ladder

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golive/encoder"
	"golive/media"
)

// ErrClosed is returned by WriteVideo after Close.
var ErrClosed = errors.New("ladder closed")

// Rung is one transcoded rendition.
type Rung struct {
	// Name is the rung's name ("480p").
	Name string
	// Width and Height are the picture size (even).
	Width, Height int
	// Bitrate is the video bitrate in bit/s.
	Bitrate int
}

// Ladder decodes the source once, scales it in a cascade (each rung from
// the one above it, on the decode goroutine) and encodes every Rung in its
// own goroutine. WriteVideo and Close belong to one goroutine (the ingest's);
// Output is called from the rung goroutines.
type Ladder struct {
	// Source is the source's video parameters (H.264 Config required;
	// FPS default 30).
	Source media.CodecParams
	// Rungs are the renditions to make, tallest first.
	Rungs []Rung
	// Encoder is the encoder package's choice ("auto" by default: a
	// hardware encoder when one opens, else libx264).
	Encoder string
	// Preset is the libx264 preset (default the encoder's, "veryfast").
	Preset string
	// EncoderThreads is each encoder's thread count (0: FFmpeg's default).
	EncoderThreads int
	// Output receives each rung's packets (index into Rungs), in order per
	// rung, from that rung's goroutine.
	Output func(rung int, pkt *media.Packet)
	// OnDrop is called (from the decode goroutine) when the lowest active
	// rung is dropped because the machine cannot keep up.
	OnDrop func(rung int)
	// KeyframeWindow is how long after the last segment cut a forced
	// keyframe (ForceKeyframe) may still come: an HLS muxer starts a
	// segment at a keyframe at least its segment duration after the last
	// cut, so a forced keyframe later than that would cut this rung's
	// segments where the other rungs have none. Set it to the segment
	// duration; 0 lets ForceKeyframe always act.
	KeyframeWindow time.Duration
	// MaxLag is how far (in frames) a rung may fall behind the decoder
	// before the lowest rung is dropped (default 20, about 0.7 s at 30 fps).
	MaxLag int
	// Logger receives the stage's logs (default slog.Default()).
	Logger *slog.Logger

	ctx     context.Context
	cancel  context.CancelFunc
	in      chan *media.Packet
	wg      sync.WaitGroup
	workers []*worker
	params  []media.CodecParams

	encoderName string
	gap         atomic.Bool // WriteVideo skipped a packet
	// sinceCut is how far the last decoded frame is past the last segment
	// cut (decode goroutine writes, ForceKeyframe reads).
	sinceCut atomic.Int64

	mu      sync.Mutex
	dropped []string
	stats   Stats
}

// Stats is a snapshot of the ladder.
type Stats struct {
	// FramesDecoded counts decoded source frames.
	FramesDecoded int64
	// DecodeErrors counts packets the decoder rejected.
	DecodeErrors int64
	// Dropped names the rungs dropped for lack of CPU.
	Dropped []string
	// Rungs holds each rung's counters, in Rungs order.
	Rungs []RungStats
	// Behind counts source packets dropped because the decoder lagged.
	Behind int64
}

// RungStats are one rung's counters.
type RungStats struct {
	// Name is the rung's name.
	Name string
	// Frames counts frames encoded; Packets packets output.
	Frames, Packets int64
	// Queue is the number of frames waiting for the encoder.
	Queue int
	// Dropped reports whether the rung was dropped.
	Dropped bool
	// EncodeTime is the total time spent encoding.
	EncodeTime time.Duration
	// Encoder names the encoder in use.
	Encoder string
}

// worker owns one rung's encoder; its scaler belongs to the decode
// goroutine.
//
// The rung's pictures (FFmpeg memory, never copied into Go) circulate
// between the two goroutines: the decode goroutine takes one from free
// (or allocates one), scales into it and sends it on frames; the rung
// goroutine encodes it and puts it back on free (or frees it when free is
// full). Whoever holds a picture owns it; Close frees the ones left on
// free once both goroutines are gone.
type worker struct {
	idx      int
	rung     Rung
	frames   chan rungFrame
	free     chan *encoder.Picture
	scaler   *encoder.Scaler
	enc      *encoder.H264
	stop     chan struct{}
	stopped  bool
	allocs   int         // pictures allocated (decode goroutine)
	forceKey atomic.Bool // ForceKeyframe asked for a keyframe

	mu      sync.Mutex
	frameN  int64
	packetN int64
}

type rungFrame struct {
	pic *encoder.Picture
	key bool
}

// poolSize is how many idle pictures a rung keeps for reuse.
const poolSize = 16

// take returns an idle picture of the rung's size (decode goroutine).
func (w *worker) take() (*encoder.Picture, error) {
	select {
	case p := <-w.free:
		return p, nil
	default:
		w.allocs++
		return encoder.NewPicture(w.rung.Width, w.rung.Height)
	}
}

// recycle puts a picture back for reuse, or frees it when the pool is full.
func (w *worker) recycle(p *encoder.Picture) {
	select {
	case w.free <- p:
	default:
		p.Free()
	}
}

// freePool frees the idle pictures; only once no goroutine uses the rung.
func (w *worker) freePool() {
	for {
		select {
		case p := <-w.free:
			p.Free()
		default:
			return
		}
	}
}

// Initialize opens every rung's encoder (so Params is known at once) and
// starts the decode and rung goroutines.
func (l *Ladder) Initialize() error {
	if l.Logger == nil {
		l.Logger = slog.Default()
	}
	if l.Encoder == "" {
		l.Encoder = "auto"
	}
	if l.MaxLag <= 0 {
		l.MaxLag = 20
	}
	fps := int(l.Source.FPS + 0.5)
	if fps <= 0 || fps > 240 {
		fps = 30
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	name := l.Encoder
	for i, r := range l.Rungs {
		enc := &encoder.H264{
			Encoder: name, Width: r.Width, Height: r.Height, FPS: fps, Bitrate: r.Bitrate,
			// Keyframes come only where the source has them (forced), so a
			// long GOP here keeps the encoder from adding its own.
			KeyframeInterval: time.Minute,
			Preset:           l.Preset,
			Threads:          l.EncoderThreads,
			Logger:           l.Logger.With("rung", r.Name),
		}
		if err := enc.Initialize(); err != nil {
			l.closeWorkers()
			return fmt.Errorf("ladder %s: %w", r.Name, err)
		}
		name = enc.Name() // "auto" probes once; the other rungs use what opened
		l.encoderName = name
		w := &worker{
			idx: i, rung: r, enc: enc,
			scaler: &encoder.Scaler{Width: r.Width, Height: r.Height, Logger: l.Logger.With("rung", r.Name)},
			frames: make(chan rungFrame, 4*l.MaxLag),
			free:   make(chan *encoder.Picture, poolSize),
			stop:   make(chan struct{}),
		}
		l.workers = append(l.workers, w)
		l.params = append(l.params, enc.Params())
	}
	l.in = make(chan *media.Packet, 8*l.MaxLag)
	dec := &encoder.H264Decoder{Params: l.Source, Threads: 1, Logger: l.Logger}
	if err := dec.Initialize(); err != nil {
		l.closeWorkers()
		return fmt.Errorf("ladder: %w", err)
	}
	l.stats.Rungs = make([]RungStats, len(l.Rungs))
	for _, w := range l.workers {
		l.wg.Add(1)
		go l.runWorker(w)
	}
	l.wg.Add(1)
	go l.runDecoder(dec)
	return nil
}

func (l *Ladder) closeWorkers() {
	for _, w := range l.workers {
		w.enc.Close()
		w.scaler.Close()
	}
}

// EncoderName returns the FFmpeg encoder the rungs use (what "auto"
// resolved to), after Initialize.
func (l *Ladder) EncoderName() string { return l.encoderName }

// Params returns rung i's codec parameters (from its encoder).
func (l *Ladder) Params(i int) media.CodecParams { return l.params[i] }

// WriteVideo hands one source packet to the decoder. It never blocks for
// long: when the decoder is a whole queue behind, the packet is dropped
// and counted (and the next frames are broken until a keyframe).
func (l *Ladder) WriteVideo(pkt *media.Packet) error {
	if l.ctx.Err() != nil {
		return ErrClosed
	}
	select {
	case l.in <- pkt:
	default:
		l.gap.Store(true) // the decoder restarts at the next keyframe
		l.mu.Lock()
		l.stats.Behind++
		l.mu.Unlock()
	}
	return nil
}

// runDecoder decodes the source and fans the frames out to the rungs,
// dropping the lowest active rung when one falls behind.
func (l *Ladder) runDecoder(dec *encoder.H264Decoder) {
	defer l.wg.Done()
	defer dec.Close()
	defer func() {
		for _, w := range l.workers {
			w.scaler.Close()
		}
	}()
	defer func() {
		for _, w := range l.workers {
			if !w.stopped {
				close(w.frames)
			}
		}
	}()
	keys := map[time.Duration]bool{}
	cuts := cutTracker{window: l.KeyframeWindow}
	var lastDrop time.Time
	errLog := time.Time{}
	waitKey := false
	for {
		var pkt *media.Packet
		select {
		case <-l.ctx.Done():
			return
		case pkt = <-l.in:
		}
		if l.gap.Swap(false) {
			waitKey = true // frames after a skipped packet would decode broken
		}
		if waitKey && !pkt.Keyframe {
			continue
		}
		waitKey = false
		if pkt.Keyframe {
			keys[pkt.PTS] = true
		}
		err := dec.DecodePictures(pkt, func(pic *encoder.Picture) {
			key := keys[pic.PTS]
			delete(keys, pic.PTS)
			if len(keys) > 64 { // keyframes whose frames never came out
				clear(keys)
			}
			l.mu.Lock()
			l.stats.FramesDecoded++
			l.mu.Unlock()
			force := cuts.frame(pic.PTS, key)
			l.sinceCut.Store(int64(cuts.since))
			l.fanOut(pic, key, force, &lastDrop, &errLog)
		})
		if err != nil {
			l.mu.Lock()
			l.stats.DecodeErrors++
			l.mu.Unlock()
			if time.Since(errLog) > time.Second {
				errLog = time.Now()
				l.Logger.Warn("ladder: decode error", "err", err)
			}
		}
	}
}

// fanOut scales one decoded picture in a cascade, tallest rung first (each
// rung scaled from the one above it, so every scale reads a smaller
// picture), then hands each rung its picture. The decoder's picture is
// only lent; the rungs' pictures come from their pools.
func (l *Ladder) fanOut(src *encoder.Picture, key, mayForce bool, lastDrop, errLog *time.Time) {
	var scaled [8]*encoder.Picture
	out := scaled[:0]
	cur := src
	for _, w := range l.workers {
		if w.stopped {
			break // the rungs below a dropped one are dropped too
		}
		if len(w.frames) > l.MaxLag && time.Since(*lastDrop) > 3*time.Second {
			*lastDrop = time.Now()
			l.dropLowest()
		}
		if w.stopped {
			break
		}
		pic, err := w.take()
		if err == nil {
			if err = w.scaler.ScaleInto(cur, pic); err != nil {
				w.recycle(pic)
			}
		}
		if err != nil {
			if time.Since(*errLog) > time.Second {
				*errLog = time.Now()
				l.Logger.Warn("ladder: scale error", "rung", w.rung.Name, "err", err)
			}
			break
		}
		cur = pic
		out = append(out, pic)
	}
	for i, pic := range out {
		w := l.workers[i]
		k := key
		if key {
			w.forceKey.Store(false) // a keyframe anyway
		} else if mayForce && w.forceKey.Swap(false) {
			k = true
		}
		select {
		case w.frames <- rungFrame{pic: pic, key: k}:
		default: // cannot happen after a drop frees CPU; never block the decoder
			w.recycle(pic)
		}
	}
}

// ForceKeyframe asks rung i for a keyframe on its next frame, so a viewer
// joining it gets a picture at once. It reports whether one comes soon:
// false when the rung is gone or the last segment cut is KeyframeWindow
// past (the request is then dropped: the source's next keyframe comes
// first). Safe from any goroutine.
func (l *Ladder) ForceKeyframe(i int) bool {
	if i < 0 || i >= len(l.workers) || l.ctx.Err() != nil {
		return false
	}
	w := l.workers[i]
	if l.Stats().Rungs[i].Dropped {
		return false
	}
	if l.KeyframeWindow > 0 && time.Duration(l.sinceCut.Load()) >= l.KeyframeWindow-forceMargin {
		return false
	}
	w.forceKey.Store(true)
	return true
}

// forceMargin keeps forced keyframes this far inside KeyframeWindow: two
// frames at 30 fps, for the frames decoded while the request travels.
const forceMargin = 70 * time.Millisecond

// cutTracker follows where an HLS muxer with KeyframeWindow as its segment
// duration cuts segments (at a source keyframe at least window after the
// last cut) and says whether a forced keyframe may come on a frame.
type cutTracker struct {
	window time.Duration
	last   time.Duration // PTS of the last cut
	since  time.Duration // last frame's PTS - last
	seen   bool
}

// frame notes a decoded frame and reports whether it may be a forced
// keyframe without cutting a segment of its own.
func (c *cutTracker) frame(pts time.Duration, key bool) bool {
	if key && (!c.seen || pts-c.last >= c.window) {
		c.last, c.seen = pts, true
	}
	if !c.seen {
		c.since = 0
		return c.window == 0
	}
	c.since = pts - c.last
	return c.window == 0 || c.since < c.window-forceMargin
}

// dropLowest stops the lowest rung still running.
func (l *Ladder) dropLowest() {
	for i := len(l.workers) - 1; i >= 0; i-- {
		w := l.workers[i]
		if w.stopped {
			continue
		}
		w.stopped = true
		close(w.frames)
		l.mu.Lock()
		l.dropped = append(l.dropped, w.rung.Name)
		l.mu.Unlock()
		l.Logger.Warn("ladder: the machine cannot keep up, dropping a rung", "rung", w.rung.Name, "queue", len(w.frames))
		if l.OnDrop != nil {
			l.OnDrop(i)
		}
		return
	}
}

// runWorker scales and encodes one rung.
func (l *Ladder) runWorker(w *worker) {
	defer l.wg.Done()
	defer w.enc.Close()
	errLog := time.Time{}
	for rf := range w.frames {
		if l.ctx.Err() != nil {
			rf.pic.Free() // drain
			continue
		}
		pkts, err := w.enc.EncodePicture(rf.pic, rf.key)
		w.recycle(rf.pic)
		{
			w.mu.Lock()
			w.frameN++
			w.packetN += int64(len(pkts))
			w.mu.Unlock()
			for _, p := range pkts {
				if l.Output != nil && l.ctx.Err() == nil {
					l.Output(w.idx, p)
				}
			}
		}
		if err != nil && time.Since(errLog) > time.Second {
			errLog = time.Now()
			l.Logger.Warn("ladder: rung error", "rung", w.rung.Name, "err", err)
		}
	}
}

// Stats returns a snapshot of the ladder.
func (l *Ladder) Stats() Stats {
	l.mu.Lock()
	st := l.stats
	st.Rungs = make([]RungStats, len(l.workers))
	st.Dropped = append([]string(nil), l.dropped...)
	l.mu.Unlock()
	dropped := map[string]bool{}
	for _, d := range st.Dropped {
		dropped[d] = true
	}
	for i, w := range l.workers {
		w.mu.Lock()
		es := w.enc.Stats()
		st.Rungs[i] = RungStats{Name: w.rung.Name, Frames: w.frameN, Packets: w.packetN,
			Queue: len(w.frames), Dropped: dropped[w.rung.Name], EncodeTime: es.EncodeTime, Encoder: es.Encoder}
		w.mu.Unlock()
	}
	return st
}

// Close stops the goroutines and frees the decoder, scalers and encoders.
// It is idempotent.
func (l *Ladder) Close() {
	if l.cancel == nil {
		return
	}
	l.cancel()
	l.wg.Wait()
	for _, w := range l.workers {
		w.freePool()
	}
}
