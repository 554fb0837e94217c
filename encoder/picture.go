package encoder

import (
	"fmt"
	"time"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// Picture is a YUV420P picture held in FFmpeg memory, for pipelines that
// decode, scale and encode without copying planes into Go memory (the
// server's ladder): H264Decoder.DecodePictures lends one, Scaler.ScaleInto
// fills one, H264.EncodePicture encodes one.
//
// Ownership is explicit: a Picture made by NewPicture belongs to one
// goroutine at a time (hand it over on a channel, never share it) and its
// last owner calls Free. A Picture lent by DecodePictures is valid only
// during the callback and must not be kept or freed.
type Picture struct {
	// PTS is the picture's presentation time on the capture clock.
	PTS time.Duration

	f        *astiav.Frame
	borrowed bool
}

// NewPicture allocates a width×height YUV420P picture (both even and in
// 2..8192). Its pixels are not initialised.
func NewPicture(width, height int) (*Picture, error) {
	if width <= 0 || height <= 0 || width%2 != 0 || height%2 != 0 || width > 8192 || height > 8192 {
		return nil, fmt.Errorf("new picture: %w: size %dx%d", ErrBadConfig, width, height)
	}
	f, err := allocVideoFrame(width, height, astiav.PixelFormatYuv420P)
	if err != nil {
		return nil, fmt.Errorf("new picture: %w", err)
	}
	return &Picture{f: f}, nil
}

// Width returns the picture's width (0 after Free).
func (p *Picture) Width() int {
	if p == nil || p.f == nil {
		return 0
	}
	return p.f.Width()
}

// Height returns the picture's height (0 after Free).
func (p *Picture) Height() int {
	if p == nil || p.f == nil {
		return 0
	}
	return p.f.Height()
}

// VideoFrame copies the picture into a new media.VideoFrame (for tests
// and callers that need Go memory). It returns nil after Free, when the
// picture is not 4:2:0 8-bit, or when the copy fails.
func (p *Picture) VideoFrame() *media.VideoFrame {
	if p == nil || p.f == nil || !isYuv420(p.f.PixelFormat()) {
		return nil
	}
	vf, err := videoFrameOut(p.f)
	if err != nil {
		return nil
	}
	vf.PTS = p.PTS
	return vf
}

// Free releases the picture's FFmpeg memory; it is idempotent and does
// nothing on a lent picture.
func (p *Picture) Free() {
	if p == nil || p.borrowed || p.f == nil {
		return
	}
	p.f.Free()
	p.f = nil
}

// usable reports why the picture cannot be read, if it cannot.
func (p *Picture) usable() error {
	if p == nil || p.f == nil {
		return fmt.Errorf("%w: picture freed or nil", media.ErrBadFrame)
	}
	if p.f.Width() <= 0 || p.f.Height() <= 0 {
		return fmt.Errorf("%w: empty picture", media.ErrBadFrame)
	}
	return nil
}

// isYuv420 reports whether pf has YUV420P's memory layout.
func isYuv420(pf astiav.PixelFormat) bool {
	return pf == astiav.PixelFormatYuv420P || pf == astiav.PixelFormatYuvj420P
}
