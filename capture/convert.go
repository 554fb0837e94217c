package capture

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/jpeg"

	"golive/media"
)

// ErrBadPixels is returned by ConvertRaw and ConvertImage when a buffer
// does not hold a whole picture of the expected size and format.
var ErrBadPixels = errors.New("capture: bad pixel buffer")

// PixelFormat names a camera's raw pixel layout.
type PixelFormat string

// The raw formats ConvertRaw reads.
const (
	// FormatI420 is planar Y, then U, then V at half width and height.
	FormatI420 PixelFormat = "I420"
	// FormatNV12 is planar Y, then interleaved U,V at half size.
	FormatNV12 PixelFormat = "NV12"
	// FormatNV21 is planar Y, then interleaved V,U at half size.
	FormatNV21 PixelFormat = "NV21"
	// FormatYUYV is packed 4:2:2: Y0 U Y1 V for every two pixels.
	FormatYUYV PixelFormat = "YUYV"
	// FormatUYVY is packed 4:2:2: U Y0 V Y1 for every two pixels.
	FormatUYVY PixelFormat = "UYVY"
	// FormatMJPEG is one JPEG picture per frame (full-range YCbCr).
	FormatMJPEG PixelFormat = "MJPEG"
)

// RawSize returns how many bytes one w×h picture takes in format, or 0 for
// MJPEG (variable); it fails for unknown formats and odd sizes where the
// format needs even ones.
func RawSize(format PixelFormat, w, h int) (int, error) {
	if w <= 0 || h <= 0 || w > 16384 || h > 16384 {
		return 0, fmt.Errorf("%w: size %dx%d", ErrBadPixels, w, h)
	}
	cw, ch := (w+1)/2, (h+1)/2
	switch format {
	case FormatI420:
		return w*h + 2*cw*ch, nil
	case FormatNV12, FormatNV21:
		return w*h + 2*cw*ch, nil
	case FormatYUYV, FormatUYVY:
		if w%2 != 0 {
			return 0, fmt.Errorf("%w: %s needs an even width, got %d", ErrBadPixels, format, w)
		}
		return 2 * w * h, nil
	case FormatMJPEG:
		return 0, nil
	}
	return 0, fmt.Errorf("%w: unknown pixel format %q", ErrBadPixels, format)
}

// ConvertRaw converts one raw camera buffer of format into dst, whose
// Width and Height give the picture size. A buffer of the wrong length,
// an empty one, or a JPEG of another size is refused with ErrBadPixels and
// dst is left in an unspecified state.
func ConvertRaw(dst *media.VideoFrame, format PixelFormat, data []byte) error {
	if err := dst.Validate(); err != nil {
		return fmt.Errorf("%w: destination: %w", ErrBadPixels, err)
	}
	w, h := dst.Width, dst.Height
	want, err := RawSize(format, w, h)
	if err != nil {
		return err
	}
	if len(data) == 0 || (want > 0 && len(data) != want) {
		return fmt.Errorf("%w: %s %dx%d needs %d bytes, got %d", ErrBadPixels, format, w, h, want, len(data))
	}
	cw, ch := dst.ChromaSize()
	switch format {
	case FormatI420:
		copyPlane(dst.Y, dst.StrideY, data, w, w, h)
		copyPlane(dst.U, dst.StrideU, data[w*h:], cw, cw, ch)
		copyPlane(dst.V, dst.StrideV, data[w*h+cw*ch:], cw, cw, ch)
	case FormatNV12, FormatNV21:
		copyPlane(dst.Y, dst.StrideY, data, w, w, h)
		u, v := dst.U, dst.V
		su, sv := dst.StrideU, dst.StrideV
		if format == FormatNV21 {
			u, v, su, sv = v, u, sv, su
		}
		uv := data[w*h:]
		for y := 0; y < ch; y++ {
			row := uv[y*2*cw : (y+1)*2*cw]
			ur, vr := u[y*su:y*su+cw], v[y*sv:y*sv+cw]
			for x := range ur {
				ur[x], vr[x] = row[2*x], row[2*x+1]
			}
		}
	case FormatYUYV, FormatUYVY:
		convertPacked422(dst, data, format == FormatUYVY)
	case FormatMJPEG:
		img, err := jpeg.Decode(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("%w: MJPEG: %w", ErrBadPixels, err)
		}
		if err := ConvertImage(dst, img); err != nil {
			return err
		}
		FullToLimitedRange(dst)
	}
	return nil
}

// convertPacked422 converts YUYV (or UYVY) rows two at a time: luma
// copied, the two rows' chroma averaged into one 4:2:0 row. The width is
// even (RawSize checked it).
func convertPacked422(dst *media.VideoFrame, data []byte, uyvy bool) {
	w, h := dst.Width, dst.Height
	yo, uo, vo := 0, 1, 3
	if uyvy {
		yo, uo, vo = 1, 0, 2
	}
	cw := w / 2
	for y := 0; y < h; y += 2 {
		r0 := data[y*2*w : (y+1)*2*w]
		r1 := r0
		y0 := dst.Y[y*dst.StrideY : y*dst.StrideY+w]
		y1 := y0
		if y+1 < h {
			r1 = data[(y+1)*2*w : (y+2)*2*w]
			y1 = dst.Y[(y+1)*dst.StrideY : (y+1)*dst.StrideY+w]
		}
		ur := dst.U[y/2*dst.StrideU : y/2*dst.StrideU+cw]
		vr := dst.V[y/2*dst.StrideV : y/2*dst.StrideV+cw]
		r0, r1 = r0[:4*cw], r1[:4*cw]
		y0, y1 = y0[:2*cw], y1[:2*cw]
		vr = vr[:len(ur)]
		for i := range ur {
			j, k := 4*i, 2*i
			y0[k], y0[k+1] = r0[j+yo], r0[j+yo+2]
			y1[k], y1[k+1] = r1[j+yo], r1[j+yo+2]
			ur[i] = byte((uint(r0[j+uo]) + uint(r1[j+uo]) + 1) >> 1)
			vr[i] = byte((uint(r0[j+vo]) + uint(r1[j+vo]) + 1) >> 1)
		}
	}
}

// ConvertImage converts img into dst, which must have img's size. YCbCr
// pictures of any subsampling are resampled to 4:2:0 (averaging chroma);
// grey pictures get neutral chroma; anything else goes through BT.601
// RGB→YCbCr, limited range. YCbCr and grey samples are copied as they are:
// for full-range sources (JPEG) call FullToLimitedRange afterwards.
func ConvertImage(dst *media.VideoFrame, img image.Image) error {
	if img == nil {
		return fmt.Errorf("%w: no picture", ErrBadPixels)
	}
	if err := dst.Validate(); err != nil {
		return fmt.Errorf("%w: destination: %w", ErrBadPixels, err)
	}
	b := img.Bounds()
	w, h := dst.Width, dst.Height
	if b.Dx() != w || b.Dy() != h {
		return fmt.Errorf("%w: picture is %dx%d, want %dx%d", ErrBadPixels, b.Dx(), b.Dy(), w, h)
	}
	cw, ch := dst.ChromaSize()
	switch m := img.(type) {
	case *image.YCbCr:
		if err := checkYCbCr(m); err != nil {
			return err
		}
		for y := 0; y < h; y++ {
			off := m.YOffset(b.Min.X, b.Min.Y+y)
			copy(dst.Y[y*dst.StrideY:y*dst.StrideY+w], m.Y[off:off+w])
		}
		if m.SubsampleRatio == image.YCbCrSubsampleRatio420 && b.Min.X%2 == 0 && b.Min.Y%2 == 0 {
			for y := 0; y < ch; y++ {
				off := m.COffset(b.Min.X, b.Min.Y+2*y)
				copy(dst.U[y*dst.StrideU:y*dst.StrideU+cw], m.Cb[off:off+cw])
				copy(dst.V[y*dst.StrideV:y*dst.StrideV+cw], m.Cr[off:off+cw])
			}
			return nil
		}
		if m.SubsampleRatio == image.YCbCrSubsampleRatio422 && b.Min.X%2 == 0 {
			for cy := 0; cy < ch; cy++ {
				o0 := m.COffset(b.Min.X, b.Min.Y+2*cy)
				o1 := m.COffset(b.Min.X, min(b.Min.Y+2*cy+1, b.Max.Y-1))
				avgRows(dst.U[cy*dst.StrideU:cy*dst.StrideU+cw], m.Cb[o0:o0+cw], m.Cb[o1:o1+cw])
				avgRows(dst.V[cy*dst.StrideV:cy*dst.StrideV+cw], m.Cr[o0:o0+cw], m.Cr[o1:o1+cw])
			}
			return nil
		}
		// Any other subsampling: average the chroma of the (up to) four
		// luma positions each 4:2:0 sample covers.
		for cy := 0; cy < ch; cy++ {
			y0 := b.Min.Y + 2*cy
			y1 := min(y0+1, b.Max.Y-1)
			for cx := 0; cx < cw; cx++ {
				x0 := b.Min.X + 2*cx
				x1 := min(x0+1, b.Max.X-1)
				a, c, d, e := m.COffset(x0, y0), m.COffset(x1, y0), m.COffset(x0, y1), m.COffset(x1, y1)
				dst.U[cy*dst.StrideU+cx] = avg4(m.Cb[a], m.Cb[c], m.Cb[d], m.Cb[e])
				dst.V[cy*dst.StrideV+cx] = avg4(m.Cr[a], m.Cr[c], m.Cr[d], m.Cr[e])
			}
		}
	case *image.Gray:
		for y := 0; y < h; y++ {
			off := m.PixOffset(b.Min.X, b.Min.Y+y)
			copy(dst.Y[y*dst.StrideY:y*dst.StrideY+w], m.Pix[off:off+w])
		}
		fillChroma(dst, 128, 128)
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				r, g, bb, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
				yy, u, v := rgbToYUV601(r>>8, g>>8, bb>>8)
				dst.Y[y*dst.StrideY+x] = yy
				if x%2 == 0 && y%2 == 0 {
					dst.U[y/2*dst.StrideU+x/2], dst.V[y/2*dst.StrideV+x/2] = u, v
				}
			}
		}
	}
	return nil
}

// checkYCbCr makes sure a YCbCr picture's planes cover its bounds, so a
// malformed one from a driver cannot make the converter index out of range.
func checkYCbCr(m *image.YCbCr) error {
	b := m.Rect
	if b.Empty() || m.YStride < b.Dx() || m.CStride <= 0 {
		return fmt.Errorf("%w: YCbCr %v with strides %d/%d", ErrBadPixels, b, m.YStride, m.CStride)
	}
	if m.YOffset(b.Max.X-1, b.Max.Y-1) >= len(m.Y) || m.YOffset(b.Min.X, b.Min.Y) < 0 {
		return fmt.Errorf("%w: Y plane of %d bytes for %v", ErrBadPixels, len(m.Y), b)
	}
	last := m.COffset(b.Max.X-1, b.Max.Y-1)
	if last >= len(m.Cb) || last >= len(m.Cr) || m.COffset(b.Min.X, b.Min.Y) < 0 {
		return fmt.Errorf("%w: chroma planes of %d/%d bytes for %v", ErrBadPixels, len(m.Cb), len(m.Cr), b)
	}
	return nil
}

// FullToLimitedRange maps a full-range (JPEG, 0-255) picture in place to
// the limited range encoders expect (Y 16-235, chroma 16-240).
func FullToLimitedRange(f *media.VideoFrame) {
	var ly, lc [256]byte
	for i := range 256 {
		ly[i] = byte(16 + (i*219+127)/255)
		lc[i] = byte(16 + (i*224+127)/255)
	}
	cw, ch := f.ChromaSize()
	mapPlane(f.Y, f.StrideY, f.Width, f.Height, &ly)
	mapPlane(f.U, f.StrideU, cw, ch, &lc)
	mapPlane(f.V, f.StrideV, cw, ch, &lc)
}

func mapPlane(p []byte, stride, w, h int, lut *[256]byte) {
	for y := 0; y < h; y++ {
		row := p[y*stride : y*stride+w]
		for i, v := range row {
			row[i] = lut[v]
		}
	}
}

func copyPlane(dst []byte, dstStride int, src []byte, srcStride, w, h int) {
	for y := 0; y < h; y++ {
		copy(dst[y*dstStride:y*dstStride+w], src[y*srcStride:y*srcStride+w])
	}
}

func fillChroma(f *media.VideoFrame, u, v byte) {
	cw, ch := f.ChromaSize()
	for y := 0; y < ch; y++ {
		ur, vr := f.U[y*f.StrideU:y*f.StrideU+cw], f.V[y*f.StrideV:y*f.StrideV+cw]
		for x := range ur {
			ur[x], vr[x] = u, v
		}
	}
}

// avgRows sets dst[i] to the rounded mean of a[i] and b[i].
func avgRows(dst, a, b []byte) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] = byte((uint(a[i]) + uint(b[i]) + 1) >> 1)
	}
}

func avg2(a, b byte) byte       { return byte((uint(a) + uint(b) + 1) / 2) }
func avg4(a, b, c, d byte) byte { return byte((uint(a) + uint(b) + uint(c) + uint(d) + 2) / 4) }

// rgbToYUV601 converts 8-bit RGB to BT.601 limited-range YCbCr.
func rgbToYUV601(r, g, b uint32) (byte, byte, byte) {
	ri, gi, bi := int(r), int(g), int(b)
	y := (66*ri+129*gi+25*bi+128)>>8 + 16
	u := (-38*ri-74*gi+112*bi+128)>>8 + 128
	v := (112*ri-94*gi-18*bi+128)>>8 + 128
	return clamp8(y), clamp8(u), clamp8(v)
}

func clamp8(v int) byte { return byte(min(max(v, 0), 255)) }
