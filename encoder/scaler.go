package encoder

import (
	"fmt"
	"log/slog"
	"sync"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// Scaler resizes YUV420P frames with libswscale (bilinear). The source
// size is taken from each frame; the scaling context is rebuilt when it
// changes. Scale and Close belong to one goroutine.
type Scaler struct {
	// Width and Height are the destination size; 0 keeps the source's.
	Width, Height int
	// Logger receives the stage's logs. Default slog.Default().
	Logger *slog.Logger

	mu           sync.Mutex
	ssc          *astiav.SoftwareScaleContext
	src, dst     *astiav.Frame
	srcW, srcH   int
	srcFmt       astiav.PixelFormat
	dstW, dstH   int
	dstFmt       astiav.PixelFormat
	closed       bool
	reinits      int
	loggedReinit bool
}

// Scale returns a new frame holding src resized to the destination size,
// with src's PTS.
func (s *Scaler) Scale(src *media.VideoFrame) (*media.VideoFrame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("scale: %w", ErrClosed)
	}
	if s.Width < 0 || s.Height < 0 || s.Width > 8192 || s.Height > 8192 {
		return nil, fmt.Errorf("scale: %w: destination %dx%d", ErrBadConfig, s.Width, s.Height)
	}
	if err := src.Validate(); err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	if err := s.setup(src.Width, src.Height, astiav.PixelFormatYuv420P, s.Width, s.Height, astiav.PixelFormatYuv420P); err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	if err := ensureFrame(&s.src, src.Width, src.Height); err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	if err := fillFrame(s.src, src); err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	out, err := s.run(s.src)
	if err != nil {
		return nil, fmt.Errorf("scale: %w", err)
	}
	out.PTS = src.PTS
	return out, nil
}

// ScaleInto scales src into dst at dst's size (the Width and Height
// fields are not used) without copying planes through Go memory, and
// sets dst.PTS to src.PTS. The caller owns dst; src is only read.
func (s *Scaler) ScaleInto(src, dst *Picture) error {
	if err := src.usable(); err != nil {
		return fmt.Errorf("scale into: %w", err)
	}
	if err := dst.usable(); err != nil {
		return fmt.Errorf("scale into: %w", err)
	}
	if dst.borrowed {
		return fmt.Errorf("scale into: %w: destination is a lent picture", ErrBadConfig)
	}
	if err := s.frameInto(src.f, dst.f); err != nil {
		return fmt.Errorf("scale into: %w", err)
	}
	dst.PTS = src.PTS
	return nil
}

// frameInto converts the frame f, of any software pixel format, into dst
// at dst's size and pixel format (used by ScaleInto, the decoder and the
// encoder). YUVJ420P is read as YUV420P: the same layout, its range passed
// through as Scale does.
func (s *Scaler) frameInto(f, dst *astiav.Frame) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	pf := f.PixelFormat()
	if pf == astiav.PixelFormatYuvj420P {
		pf = astiav.PixelFormatYuv420P
	}
	if err := s.setup(f.Width(), f.Height(), pf, dst.Width(), dst.Height(), dst.PixelFormat()); err != nil {
		return err
	}
	if err := dst.MakeWritable(); err != nil {
		return fmt.Errorf("%w: av_frame_make_writable: %w", ErrCodec, err)
	}
	if err := s.ssc.ScaleFrame(f, dst); err != nil {
		return fmt.Errorf("%w: sws_scale_frame: %w", ErrCodec, err)
	}
	return nil
}

// convertFrame converts an FFmpeg frame of any software pixel format into
// a YUV420P media.VideoFrame at the destination size (used by the decoder).
func (s *Scaler) convertFrame(f *astiav.Frame) (*media.VideoFrame, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, fmt.Errorf("convert: %w", ErrClosed)
	}
	if err := s.setup(f.Width(), f.Height(), f.PixelFormat(), s.Width, s.Height, astiav.PixelFormatYuv420P); err != nil {
		return nil, fmt.Errorf("convert: %w", err)
	}
	return s.run(f)
}

// setup (re)builds the context for the given source and destination
// (a destination size of 0 keeps the source's).
func (s *Scaler) setup(w, h int, pf astiav.PixelFormat, dw, dh int, dpf astiav.PixelFormat) error {
	if dw == 0 {
		dw = w
	}
	if dh == 0 {
		dh = h
	}
	if s.ssc != nil && w == s.srcW && h == s.srcH && pf == s.srcFmt && dw == s.dstW && dh == s.dstH && dpf == s.dstFmt {
		return nil
	}
	if s.ssc != nil {
		s.reinits++
		if s.Logger == nil {
			s.Logger = slog.Default()
		}
		if !s.loggedReinit {
			s.Logger.Debug("scaler source changed", "from", fmt.Sprintf("%dx%d", s.srcW, s.srcH), "to", fmt.Sprintf("%dx%d", w, h))
			s.loggedReinit = true
		}
	}
	s.free()
	ssc, err := astiav.CreateSoftwareScaleContext(w, h, pf, dw, dh, dpf,
		astiav.NewSoftwareScaleContextFlags(astiav.SoftwareScaleContextFlagBilinear))
	if err != nil {
		return fmt.Errorf("%w: sws_getContext %dx%d %s → %dx%d %s: %w", ErrCodec, w, h, pf, dw, dh, dpf, err)
	}
	s.ssc = ssc
	s.srcW, s.srcH, s.srcFmt, s.dstW, s.dstH, s.dstFmt = w, h, pf, dw, dh, dpf
	return nil
}

// ensureFrame (re)allocates *f as a w×h YUV420P frame unless it already
// is one.
func ensureFrame(f **astiav.Frame, w, h int) error {
	if *f != nil && (*f).Width() == w && (*f).Height() == h {
		return nil
	}
	if *f != nil {
		(*f).Free()
		*f = nil
	}
	nf, err := allocVideoFrame(w, h, astiav.PixelFormatYuv420P)
	if err != nil {
		return err
	}
	*f = nf
	return nil
}

// run scales src into s.dst and copies the result out.
func (s *Scaler) run(src *astiav.Frame) (*media.VideoFrame, error) {
	if err := ensureFrame(&s.dst, s.dstW, s.dstH); err != nil {
		return nil, err
	}
	if err := s.dst.MakeWritable(); err != nil {
		return nil, fmt.Errorf("%w: av_frame_make_writable: %w", ErrCodec, err)
	}
	if err := s.ssc.ScaleFrame(src, s.dst); err != nil {
		return nil, fmt.Errorf("%w: sws_scale_frame: %w", ErrCodec, err)
	}
	return videoFrameOut(s.dst)
}

// free releases the context and frames.
func (s *Scaler) free() {
	if s.ssc != nil {
		s.ssc.Free()
		s.ssc = nil
	}
	if s.src != nil {
		s.src.Free()
		s.src = nil
	}
	if s.dst != nil {
		s.dst.Free()
		s.dst = nil
	}
}

// Close frees the scaler; it is idempotent.
func (s *Scaler) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.free()
}
