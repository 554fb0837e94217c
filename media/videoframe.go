package media

import (
	"fmt"
	"time"
)

// VideoFrame is one raw picture in YUV420P (I420): a full-size luma plane
// and two chroma planes of half width and half height (rounded up).
type VideoFrame struct {
	Width, Height int
	// Y, U and V are the planes; row r of plane P starts at P[r*StrideP].
	Y, U, V []byte
	// StrideY, StrideU and StrideV are the planes' line sizes in bytes.
	StrideY, StrideU, StrideV int
	// PTS is the capture time on the capture clock.
	PTS time.Duration
}

// NewVideoFrame allocates a tightly packed YUV420P frame of the given size.
func NewVideoFrame(width, height int) *VideoFrame {
	cw, ch := (width+1)/2, (height+1)/2
	buf := make([]byte, width*height+2*cw*ch)
	return &VideoFrame{
		Width: width, Height: height,
		Y: buf[:width*height], U: buf[width*height : width*height+cw*ch], V: buf[width*height+cw*ch:],
		StrideY: width, StrideU: cw, StrideV: cw,
	}
}

// ChromaSize returns the width and height of the U and V planes.
func (f *VideoFrame) ChromaSize() (int, int) { return (f.Width + 1) / 2, (f.Height + 1) / 2 }

// Validate reports whether the planes are large enough for the frame's size
// and strides; stages call it on frames from outside before using them.
func (f *VideoFrame) Validate() error {
	if f.Width <= 0 || f.Height <= 0 {
		return fmt.Errorf("%w: size %dx%d", ErrBadFrame, f.Width, f.Height)
	}
	cw, ch := f.ChromaSize()
	for _, p := range []struct {
		name         string
		data         []byte
		stride, w, h int
	}{{"Y", f.Y, f.StrideY, f.Width, f.Height}, {"U", f.U, f.StrideU, cw, ch}, {"V", f.V, f.StrideV, cw, ch}} {
		if p.stride < p.w || len(p.data) < p.stride*(p.h-1)+p.w {
			return fmt.Errorf("%w: plane %s has %d bytes, stride %d for %dx%d", ErrBadFrame, p.name, len(p.data), p.stride, p.w, p.h)
		}
	}
	return nil
}
