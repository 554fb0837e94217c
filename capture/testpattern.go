package capture

import (
	"context"
	"log/slog"
	"time"

	"golive/media"
)

// TestPattern is a VideoSource that draws SMPTE-like colour bars, a box
// that bounces around (so the encoder's motion search has work and a
// frozen picture shows), and the wall-clock time with milliseconds plus a
// frame counter in large digits (readable off a 240p downscale, and by
// ReadStamp, to measure latency from a picture). Across its top eighth it
// carries the same capture time (Unix ms) and frame number as a block
// clock strip (see ClockStrip) that DecodeClockStrip and the browser's
// clockstrip.js read back after scaling and lossy coding.
//
// Frame n is due at n/FPS on the capture clock and carries that PTS; the
// source wakes on its ticker, reads the clock and makes the latest due
// frame, so it never drifts. Frames it was too late to make are counted as
// Skipped; frames the consumer was not ready for are counted as Dropped —
// nothing queues beyond Buffer frames.
type TestPattern struct {
	// Width and Height are the picture size; default 1280×720. Both must
	// be even.
	Width, Height int
	// FPS is the frame rate; default 30.
	FPS int
	// Clock is the capture clock; default NewClock(). Share it with the
	// audio source.
	Clock Clock
	// Ticker makes the ticker that wakes the source; default NewTicker.
	Ticker func(d time.Duration) Ticker
	// Epoch is the wall-clock time of the capture clock's zero, used for
	// the burned-in time; default: the clock's own (see Epocher), else
	// time.Now()-Clock.Now() at Initialize.
	Epoch time.Time
	// Buffer is the capacity of the Frames channel; default 2.
	Buffer int
	// Logger receives the source's log; default slog.Default().
	Logger *slog.Logger

	bg    *media.VideoFrame // bars and stamp background, drawn once
	grid  grid
	out   chan *media.VideoFrame
	stats counters
	ctx   context.Context
	lifecycle
}

// Initialize checks the configuration, draws the background and starts
// the source's goroutine.
func (p *TestPattern) Initialize() error {
	if err := videoDefaults("test pattern", &p.Width, &p.Height, &p.FPS, &p.Clock, &p.Ticker); err != nil {
		return err
	}
	if p.Epoch.IsZero() {
		p.Epoch = epochOf(p.Clock)
	}
	if p.Buffer <= 0 {
		p.Buffer = 2
	}
	if p.Logger == nil {
		p.Logger = slog.Default().With("stage", "capture")
	}
	p.Logger = p.Logger.With("source", "test pattern")
	p.grid = newGrid(uint64(time.Second), uint64(p.FPS))
	p.bg = drawBackground(p.Width, p.Height)
	p.out = make(chan *media.VideoFrame, p.Buffer)
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.stats.setState(StateRunning)
	start := p.grid.ceil(p.Clock.Now()) // read here, not in run: the start is Initialize's moment
	p.wg.Add(1)
	go p.run(start)
	return nil
}

// Frames returns the channel of frames; it is closed after Close. It is
// nil before Initialize.
func (p *TestPattern) Frames() <-chan *media.VideoFrame { return p.out }

// Close stops the source and waits for its goroutine; it is idempotent.
func (p *TestPattern) Close() {
	p.lifecycle.close(&p.stats)
}

// Stats returns a snapshot of the source's counters.
func (p *TestPattern) Stats() SourceStats { return p.stats.snapshot("test pattern") }

// run is the source's goroutine: wait for the next frame's due time, then
// make the latest due frame on every tick, starting with frame next.
func (p *TestPattern) run(next int64) {
	defer p.wg.Done()
	defer close(p.out)
	// Wake first at the next frame's due time, so that ticks fall on the
	// frame grid and frames leave as soon as they are due.
	t := p.Ticker(max(p.grid.at(next)-p.Clock.Now(), time.Millisecond))
	first := true
	for {
		select {
		case <-p.ctx.Done():
			t.Stop()
			return
		case <-t.C():
		}
		if first {
			t.Stop()
			t = p.Ticker(p.grid.at(1))
			first = false
		}
		due := p.grid.index(p.Clock.Now())
		if due < next {
			continue // early tick
		}
		p.stats.skipped.Add(uint64(due - next))
		next = due + 1
		f := p.Render(due)
		if !offer(&p.stats, p.ctx.Done(), p.out, f, f.PTS, false) && p.ctx.Err() != nil {
			t.Stop()
			return
		}
	}
}

// Render draws frame n (due at n/FPS) into a new frame; Initialize must
// have succeeded. It is exported for benchmarks and tests.
func (p *TestPattern) Render(n int64) *media.VideoFrame {
	f := media.NewVideoFrame(p.Width, p.Height)
	copy(f.Y, p.bg.Y)
	copy(f.U, p.bg.U)
	copy(f.V, p.bg.V)
	f.PTS = p.grid.at(n)
	// The box crosses the picture in about two seconds each way, under
	// the clock strip.
	bs := (p.Height / 6) &^ 1
	bs = max(bs, 2)
	barsH := p.Height * 2 / 3
	top := (clockStripHeight(p.Height) + 1) &^ 1
	bx := bounce(n*int64(p.Width)/int64(2*p.FPS), p.Width-bs) &^ 1
	by := top + bounce(n*int64(barsH-top)/int64(3*p.FPS), barsH-top-bs)&^1
	fillRect(f, bx, by, bs, bs, 235, 128, 128)
	in := (bs / 4) &^ 1
	fillRect(f, bx+in, by+in, bs-2*in, bs-2*in, 41, 240, 110) // blue core: chroma moves too
	l := layoutFor(p.Width, p.Height)
	wall, counter := stampText(p.Epoch.Add(f.PTS), n)
	drawText(f, l.x, l.y, l.scale, wall, textY)
	drawText(f, l.x, l.y+cellH*l.scale, l.scale, counter, textY)
	NewClockStrip(p.Epoch.Add(f.PTS), n).Encode(f)
	return f
}

// bounce folds v into 0..span and back (a triangle wave).
func bounce(v int64, span int) int {
	if span <= 0 {
		return 0
	}
	p := v % int64(2*span)
	if p > int64(span) {
		p = int64(2*span) - p
	}
	return int(p)
}

// bar is one colour in BT.601 limited-range YUV.
type bar struct{ y, u, v byte }

// smpteBars are the 75% colour bars, left to right.
var smpteBars = [7]bar{
	{180, 128, 128}, // white
	{162, 44, 142},  // yellow
	{131, 156, 44},  // cyan
	{112, 72, 58},   // green
	{84, 184, 198},  // magenta
	{65, 100, 212},  // red
	{35, 212, 114},  // blue
}

// drawBackground draws the parts of the pattern that never change: bars
// in the top two thirds, a reversed strip under them, black below with the
// stamp's background.
func drawBackground(w, h int) *media.VideoFrame {
	f := media.NewVideoFrame(w, h)
	fillRect(f, 0, 0, w, h, 16, 128, 128)
	barsH := h * 2 / 3
	stripH := h / 12
	black := bar{16, 128, 128}
	for i, b := range smpteBars {
		x0, x1 := i*w/7&^1, (i+1)*w/7&^1
		if i == 6 {
			x1 = w
		}
		fillRect(f, x0, 0, x1-x0, barsH, b.y, b.u, b.v)
		rb := black
		if i%2 == 0 {
			rb = smpteBars[6-i]
		}
		fillRect(f, x0, barsH, x1-x0, stripH, rb.y, rb.u, rb.v)
	}
	l := layoutFor(w, h)
	x0, y0, x1, y1 := l.box(w, h)
	fillRect(f, x0, y0, x1-x0, y1-y0, backY, 128, 128)
	return f
}
