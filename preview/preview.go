package preview

import (
	"context"
	"image"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golive/media"
)

// Preview turns captured frames into RGBA images of at most Width×Height
// at no more than MaxFPS. Push never blocks: it copies the frame into a
// one-slot mailbox where a newer frame replaces an older one not yet
// converted (latest frame wins), and the conversion runs on the preview's
// own goroutine.
type Preview struct {
	// Width and Height bound the image size (the frame's aspect ratio is
	// kept); default 640×360.
	Width, Height int
	// MaxFPS caps the images made per second of frame time (PTS);
	// default 30.
	MaxFPS int
	// OnImage receives each image on the preview goroutine. Two images
	// alternate: the one handed to call n is overwritten by call n+2, so
	// the receiver must have stopped reading it (e.g. swapped it out of
	// the canvas on the GUI thread) before call n+1 returns.
	OnImage func(*image.RGBA)
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	wake   chan struct{}

	mu      sync.Mutex // guards the mailbox and lastPTS
	pending *media.VideoFrame
	spare   *media.VideoFrame
	lastPTS time.Duration
	started bool

	pushed, rateSkipped, replaced, bad, rendered atomic.Int64
	convertNS                                    atomic.Int64
}

// Stats is a snapshot of a Preview's counters.
type Stats struct {
	Pushed      int64 // frames handed to Push
	RateSkipped int64 // frames Push ignored to stay under MaxFPS
	Replaced    int64 // frames replaced in the mailbox before conversion
	Bad         int64 // frames that failed Validate
	Rendered    int64 // images handed to OnImage
	// ConvertTime is the mean time to scale and convert one image.
	ConvertTime time.Duration
}

// Initialize applies the defaults and starts the preview goroutine.
func (p *Preview) Initialize() error {
	if p.Width <= 0 || p.Height <= 0 {
		p.Width, p.Height = 640, 360
	}
	if p.MaxFPS <= 0 {
		p.MaxFPS = 30
	}
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.wake = make(chan struct{}, 1)
	p.wg.Add(1)
	go p.run()
	return nil
}

// Push offers a frame to the preview. It returns at once and does not keep
// f (the frame is copied when it is taken).
func (p *Preview) Push(f *media.VideoFrame) {
	if p.wake == nil || f == nil {
		return
	}
	p.pushed.Add(1)
	interval := time.Second / time.Duration(p.MaxFPS)
	p.mu.Lock()
	if p.started && f.PTS > p.lastPTS && f.PTS-p.lastPTS < interval-interval/8 {
		p.mu.Unlock()
		p.rateSkipped.Add(1)
		return
	}
	if err := f.Validate(); err != nil {
		p.mu.Unlock()
		p.bad.Add(1)
		return
	}
	p.started, p.lastPTS = true, f.PTS
	buf := p.pending
	if buf != nil {
		p.replaced.Add(1)
	} else {
		buf, p.spare = p.spare, nil
	}
	if buf == nil || buf.Width != f.Width || buf.Height != f.Height {
		buf = media.NewVideoFrame(f.Width, f.Height)
	}
	copyFrame(buf, f)
	p.pending = buf
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// copyFrame copies src's planes into dst, a tightly packed frame of the
// same size.
func copyFrame(dst, src *media.VideoFrame) {
	dst.PTS = src.PTS
	cw, ch := src.ChromaSize()
	copyPlane(dst.Y, dst.StrideY, src.Y, src.StrideY, src.Width, src.Height)
	copyPlane(dst.U, dst.StrideU, src.U, src.StrideU, cw, ch)
	copyPlane(dst.V, dst.StrideV, src.V, src.StrideV, cw, ch)
}

func copyPlane(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	if dstStride == srcStride && len(src) >= srcStride*h {
		copy(dst[:srcStride*h], src[:srcStride*h])
		return
	}
	for r := range h {
		copy(dst[r*dstStride:r*dstStride+w], src[r*srcStride:r*srcStride+w])
	}
}

func (p *Preview) run() {
	defer p.wg.Done()
	var (
		sc   *Scaler
		imgs [2]*image.RGBA
		next int
	)
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.wake:
		}
		p.mu.Lock()
		f := p.pending
		p.pending = nil
		p.mu.Unlock()
		if f == nil {
			continue
		}
		if w, h := sc.srcSizeOr0(); w != f.Width || h != f.Height {
			dw, dh := FitSize(f.Width, f.Height, p.Width, p.Height)
			sc = NewScaler(f.Width, f.Height, dw, dh)
			imgs = [2]*image.RGBA{sc.NewImage(), sc.NewImage()}
		}
		start := time.Now()
		img := imgs[next]
		next ^= 1
		sc.Convert(img, f)
		p.convertNS.Add(int64(time.Since(start)))
		p.mu.Lock()
		if p.spare == nil {
			p.spare = f
		}
		p.mu.Unlock()
		p.rendered.Add(1)
		if p.OnImage != nil {
			p.OnImage(img)
		}
	}
}

func (s *Scaler) srcSizeOr0() (int, int) {
	if s == nil {
		return 0, 0
	}
	return s.srcW, s.srcH
}

// Stats returns the preview's counters.
func (p *Preview) Stats() Stats {
	st := Stats{Pushed: p.pushed.Load(), RateSkipped: p.rateSkipped.Load(), Replaced: p.replaced.Load(),
		Bad: p.bad.Load(), Rendered: p.rendered.Load()}
	if st.Rendered > 0 {
		st.ConvertTime = time.Duration(p.convertNS.Load() / st.Rendered)
	}
	return st
}

// Close stops the preview goroutine and waits for it; idempotent.
func (p *Preview) Close() {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
}
