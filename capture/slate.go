package capture

import (
	"time"

	"golive/media"
)

// slate draws the "camera lost" picture a camera source sends while its
// device is gone: dark grey, a large message, and the same burned-in wall
// clock and frame counter as the test pattern (so ReadStamp works on it and
// a viewer sees the stream is alive).
type slate struct {
	bg    *media.VideoFrame
	epoch time.Time
}

// newSlate pre-renders the slate's fixed parts for a w×h picture.
func newSlate(w, h int, msg string, epoch time.Time) *slate {
	bg := media.NewVideoFrame(w, h)
	fillRect(bg, 0, 0, w, h, 40, 128, 128)
	// The message in a red band across the upper half.
	scale := max(min(h/40, w/(cellW*(len(msg)+2))), 1)
	tw, th := len(msg)*cellW*scale, glyphH*scale
	y := h/3 - th/2
	fillRect(bg, 0, y-2*scale, w, th+4*scale, 63, 102, 200)
	drawText(bg, (w-tw)/2, y, scale, msg, 235)
	l := layoutFor(w, h)
	x0, y0, x1, y1 := l.box(w, h)
	fillRect(bg, x0, y0, x1-x0, y1-y0, backY, 128, 128)
	return &slate{bg: bg, epoch: epoch}
}

// render returns slate frame n with the given PTS.
func (s *slate) render(n int64, pts time.Duration) *media.VideoFrame {
	f := media.NewVideoFrame(s.bg.Width, s.bg.Height)
	copy(f.Y, s.bg.Y)
	copy(f.U, s.bg.U)
	copy(f.V, s.bg.V)
	f.PTS = pts
	l := layoutFor(f.Width, f.Height)
	wall, counter := stampText(s.epoch.Add(pts), n)
	drawText(f, l.x, l.y, l.scale, wall, textY)
	drawText(f, l.x, l.y+cellH*l.scale, l.scale, counter, textY)
	return f
}
