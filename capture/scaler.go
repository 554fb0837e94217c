package capture

import (
	"golive/media"
)

// Scaler resizes YUV420P pictures of one size into another with bilinear
// filtering, keeping the aspect ratio: the picture is fitted inside the
// destination and the rest is black (letterbox or pillarbox). Tables are
// computed once per size pair; a Scaler is not safe for concurrent use.
type Scaler struct {
	srcW, srcH, dstW, dstH int
	// The fitted picture's rectangle inside the destination (even-aligned).
	fx, fy, fw, fh int
	luma, chroma   planeMap
}

// planeMap holds one plane's source positions and weights per destination
// column and row (weights in 1/256).
type planeMap struct {
	x0, x1, y0, y1 []int
	wx, wy         []uint32
}

// NewScaler returns a Scaler from srcW×srcH to dstW×dstH.
func NewScaler(srcW, srcH, dstW, dstH int) *Scaler {
	s := &Scaler{srcW: srcW, srcH: srcH, dstW: dstW, dstH: dstH}
	// Fit keeping the aspect ratio.
	fw, fh := dstW, dstW*srcH/srcW
	if fh > dstH {
		fw, fh = dstH*srcW/srcH, dstH
	}
	fw, fh = max(fw&^1, 2), max(fh&^1, 2)
	s.fw, s.fh = min(fw, dstW), min(fh, dstH)
	s.fx, s.fy = ((dstW-s.fw)/2)&^1, ((dstH-s.fh)/2)&^1
	s.luma = newPlaneMap(srcW, srcH, s.fw, s.fh)
	s.chroma = newPlaneMap((srcW+1)/2, (srcH+1)/2, s.fw/2, s.fh/2)
	return s
}

func newPlaneMap(sw, sh, dw, dh int) planeMap {
	var m planeMap
	axis := func(sn, dn int) (a, b []int, w []uint32) {
		a, b, w = make([]int, dn), make([]int, dn), make([]uint32, dn)
		for i := 0; i < dn; i++ {
			// Centre of destination sample i in source coordinates, ×256.
			p := ((2*i+1)*sn*256/dn - 256) / 2
			p = max(p, 0)
			i0 := min(p>>8, sn-1)
			a[i], b[i], w[i] = i0, min(i0+1, sn-1), uint32(p&255)
		}
		return
	}
	m.x0, m.x1, m.wx = axis(sw, dw)
	m.y0, m.y1, m.wy = axis(sh, dh)
	return m
}

// Scale draws src (which must be the Scaler's source size) into dst (its
// destination size), black around the fitted picture. dst.PTS is set to
// src.PTS.
func (s *Scaler) Scale(dst, src *media.VideoFrame) {
	dst.PTS = src.PTS
	if s.fw != s.dstW || s.fh != s.dstH {
		fillRect(dst, 0, 0, s.dstW, s.dstH, 16, 128, 128)
	}
	scalePlane(dst.Y, dst.StrideY, s.fx, s.fy, src.Y, src.StrideY, &s.luma)
	scalePlane(dst.U, dst.StrideU, s.fx/2, s.fy/2, src.U, src.StrideU, &s.chroma)
	scalePlane(dst.V, dst.StrideV, s.fx/2, s.fy/2, src.V, src.StrideV, &s.chroma)
}

func scalePlane(dst []byte, dstStride, ox, oy int, src []byte, srcStride int, m *planeMap) {
	for y := range m.y0 {
		r0 := src[m.y0[y]*srcStride:]
		r1 := src[m.y1[y]*srcStride:]
		wy := m.wy[y]
		out := dst[(oy+y)*dstStride+ox : (oy+y)*dstStride+ox+len(m.x0)]
		for x := range out {
			a, b := m.x0[x], m.x1[x]
			wx := m.wx[x]
			top := uint32(r0[a])*(256-wx) + uint32(r0[b])*wx
			bot := uint32(r1[a])*(256-wx) + uint32(r1[b])*wx
			out[x] = byte((top*(256-wy) + bot*wy + 32768) >> 16)
		}
	}
}
