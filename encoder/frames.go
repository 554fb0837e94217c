package encoder

// FFmpeg video frames: allocation, and copies between Go memory
// (media.VideoFrame) and frames through go-astiav's FrameData. Go memory
// is only passed as call arguments: no Go pointer is stored in C memory.

import (
	"fmt"
	"image"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// allocVideoFrame allocates a w×h frame of pixel format pf with its
// buffers; the caller frees it.
func allocVideoFrame(w, h int, pf astiav.PixelFormat) (*astiav.Frame, error) {
	f := astiav.AllocFrame()
	if f == nil {
		return nil, fmt.Errorf("%w: av_frame_alloc failed", ErrCodec)
	}
	f.SetWidth(w)
	f.SetHeight(h)
	f.SetPixelFormat(pf)
	if err := f.AllocBuffer(0); err != nil {
		f.Free()
		return nil, fmt.Errorf("%w: av_frame_get_buffer: %w", ErrCodec, err)
	}
	return f, nil
}

// fillFrame copies src into f, an allocated YUV420P frame of src's size
// (checked by the caller), making f writable first.
func fillFrame(f *astiav.Frame, src *media.VideoFrame) error {
	if err := f.MakeWritable(); err != nil {
		return fmt.Errorf("%w: av_frame_make_writable: %w", ErrCodec, err)
	}
	cw, ch := src.ChromaSize()
	v := src.V
	if src.StrideV != src.StrideU { // FrameData takes one chroma stride
		v = restride(src.V, src.StrideV, src.StrideU, cw, ch)
	}
	img := &image.YCbCr{
		Y:       planeBytes(src.Y, src.StrideY, src.Width, src.Height),
		Cb:      planeBytes(src.U, src.StrideU, cw, ch),
		Cr:      planeBytes(v, src.StrideU, cw, ch),
		YStride: src.StrideY, CStride: src.StrideU,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, src.Width, src.Height),
	}
	if err := f.Data().FromImage(img); err != nil {
		return fmt.Errorf("%w: filling frame: %w", ErrCodec, err)
	}
	return nil
}

// planeBytes trims a plane to the bytes its w×h rows at stride span, so
// that no more than the picture is copied.
func planeBytes(p []byte, stride, w, h int) []byte {
	return p[:stride*(h-1)+w]
}

// restride copies a w×h plane at stride from into a new plane at stride to.
func restride(p []byte, from, to, w, h int) []byte {
	out := make([]byte, to*(h-1)+w)
	for y := range h {
		copy(out[y*to:y*to+w], p[y*from:y*from+w])
	}
	return out
}

// videoFrameOut copies the 4:2:0 8-bit frame f into a new, tightly packed
// media.VideoFrame (PTS left zero).
func videoFrameOut(f *astiav.Frame) (*media.VideoFrame, error) {
	var img image.YCbCr
	if err := f.Data().ToImage(&img); err != nil {
		return nil, fmt.Errorf("%w: copying frame out: %w", ErrCodec, err)
	}
	return &media.VideoFrame{
		Width: f.Width(), Height: f.Height(),
		Y: img.Y, U: img.Cb, V: img.Cr,
		StrideY: img.YStride, StrideU: img.CStride, StrideV: img.CStride,
	}, nil
}
