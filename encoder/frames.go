package encoder

// FFmpeg video frames: allocation, and copies between Go memory
// (media.VideoFrame) and frames: in by rows straight into FFmpeg's planes,
// out through go-astiav's FrameData. No Go pointer is stored in C memory.

import (
	"fmt"
	"image"
	"unsafe"

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
// (checked by the caller), making f writable first. The rows go from Go
// memory straight into FFmpeg's planes: go-astiav's FrameData.FromImage
// would stage every plane in a C copy first (C.CBytes), which doubles the
// cost of the capture → encoder path.
func fillFrame(f *astiav.Frame, src *media.VideoFrame) error {
	if err := f.MakeWritable(); err != nil {
		return fmt.Errorf("%w: av_frame_make_writable: %w", ErrCodec, err)
	}
	cw, ch := src.ChromaSize()
	dst, ls := framePlanes(f, [3]int{src.Height, ch, ch})
	for i, p := range []struct {
		src          []byte
		stride, w, h int
	}{{src.Y, src.StrideY, src.Width, src.Height}, {src.U, src.StrideU, cw, ch}, {src.V, src.StrideV, cw, ch}} {
		if dst[i] == nil || ls[i] < p.w {
			return fmt.Errorf("%w: frame plane %d missing or narrower than %d", ErrCodec, i, p.w)
		}
		if ls[i] == p.stride { // same layout: one copy of the whole plane
			n := p.stride*(p.h-1) + p.w
			copy(dst[i][:n], p.src[:n])
			continue
		}
		for y := range p.h {
			copy(dst[i][y*ls[i]:y*ls[i]+p.w], p.src[y*p.stride:y*p.stride+p.w])
		}
	}
	return nil
}

// framePlanes returns the first three planes of the video frame f, as Go
// slices over FFmpeg's memory of rows[i] lines each, and their line
// sizes. go-astiav gives the AVFrame (UnsafePointer) and the line sizes
// but not the data pointers; AVFrame's public layout begins with them
// (uint8_t *data[AV_NUM_DATA_POINTERS]). The slices are valid while f
// keeps its buffers; nothing is stored in C memory.
func framePlanes(f *astiav.Frame, rows [3]int) ([3][]byte, [3]int) {
	data := (*[astiav.NumDataPointers]*byte)(f.UnsafePointer())
	all := f.Linesize()
	var planes [3][]byte
	var ls [3]int
	for i := range planes {
		ls[i] = all[i]
		if data[i] != nil && ls[i] > 0 {
			planes[i] = unsafe.Slice(data[i], ls[i]*rows[i])
		}
	}
	return planes, ls
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
