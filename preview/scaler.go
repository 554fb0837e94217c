package preview

import (
	"image"

	"golive/media"
)

// Scaler converts YUV420P frames of one size to RGBA images of another in
// a single pass (nearest-neighbour sampling, BT.601 limited range), so a
// frame is scaled once and only the pixels shown are converted.
type Scaler struct {
	srcW, srcH, dstW, dstH int
	xs, xcs                []int // per destination column: luma and chroma source column
	ys, ycs                []int // per destination row: luma and chroma source row
}

// NewScaler returns a Scaler from srcW×srcH frames to dstW×dstH images;
// sizes below 1 are raised to 1.
func NewScaler(srcW, srcH, dstW, dstH int) *Scaler {
	srcW, srcH, dstW, dstH = max(srcW, 1), max(srcH, 1), max(dstW, 1), max(dstH, 1)
	s := &Scaler{srcW: srcW, srcH: srcH, dstW: dstW, dstH: dstH,
		xs: make([]int, dstW), xcs: make([]int, dstW), ys: make([]int, dstH), ycs: make([]int, dstH)}
	for x := range dstW {
		sx := (2*x + 1) * srcW / (2 * dstW)
		s.xs[x], s.xcs[x] = sx, sx/2
	}
	for y := range dstH {
		sy := (2*y + 1) * srcH / (2 * dstH)
		s.ys[y], s.ycs[y] = sy, sy/2
	}
	return s
}

// FitSize returns the largest size within maxW×maxH with the aspect ratio
// of w×h (at least 1×1).
func FitSize(w, h, maxW, maxH int) (int, int) {
	if w <= 0 || h <= 0 || maxW <= 0 || maxH <= 0 {
		return 1, 1
	}
	if w*maxH > h*maxW { // wider than the box
		return maxW, max(1, h*maxW/w)
	}
	return max(1, w*maxH/h), maxH
}

// SrcSize returns the frame size the Scaler was made for.
func (s *Scaler) SrcSize() (int, int) { return s.srcW, s.srcH }

// DstSize returns the image size the Scaler makes.
func (s *Scaler) DstSize() (int, int) { return s.dstW, s.dstH }

// NewImage allocates an image of the Scaler's destination size.
func (s *Scaler) NewImage() *image.RGBA { return image.NewRGBA(image.Rect(0, 0, s.dstW, s.dstH)) }

// Convert writes f, which must have the Scaler's source size and pass
// Validate, into dst, which must have its destination size.
func (s *Scaler) Convert(dst *image.RGBA, f *media.VideoFrame) {
	for y := range s.dstH {
		yrow := f.Y[s.ys[y]*f.StrideY:]
		urow := f.U[s.ycs[y]*f.StrideU:]
		vrow := f.V[s.ycs[y]*f.StrideV:]
		out := dst.Pix[y*dst.Stride : y*dst.Stride+4*s.dstW]
		for x := range s.dstW {
			c := 298 * (int32(yrow[s.xs[x]]) - 16)
			d := int32(urow[s.xcs[x]]) - 128
			e := int32(vrow[s.xcs[x]]) - 128
			o := out[4*x : 4*x+4 : 4*x+4]
			o[0] = clamp8((c + 409*e + 128) >> 8)
			o[1] = clamp8((c - 100*d - 208*e + 128) >> 8)
			o[2] = clamp8((c + 516*d + 128) >> 8)
			o[3] = 0xff
		}
	}
}

func clamp8(v int32) uint8 {
	if v < 0 {
		return 0
	}
	if v > 255 {
		return 255
	}
	return uint8(v)
}
