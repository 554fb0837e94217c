package preview

import (
	"image"
	"sync/atomic"

	"golive/media"
)

// Overlay alpha-blends an RGBA layer onto YUV420P frames. Set precomputes,
// once per layer, the layer's premultiplied Y, U and V and its alpha over
// the bounding box of its visible pixels, so Blend touches only that box
// with integer arithmetic. Set and Blend may run on different goroutines.
type Overlay struct {
	cur atomic.Pointer[overlayLayer]
}

// overlayLayer is an immutable precomputed layer; x, y, w and h are even.
type overlayLayer struct {
	x, y, w, h int
	yp, yinv   []uint8 // w*h: premultiplied luma and 255-alpha
	up, vp     []uint8 // (w/2)*(h/2): premultiplied chroma
	cinv       []uint8 // (w/2)*(h/2): 255-alpha averaged over 2×2
}

// Set replaces the layer with img placed with its top-left corner at
// (x, y) of the frame; a nil or fully transparent img clears it. img is
// read only during the call.
func (o *Overlay) Set(img *image.RGBA, x, y int) {
	o.cur.Store(precompute(img, x, y))
}

// Clear removes the layer.
func (o *Overlay) Clear() { o.cur.Store(nil) }

// Active reports whether a visible layer is set.
func (o *Overlay) Active() bool { return o.cur.Load() != nil }

// Bounds returns the frame area Blend changes (empty when there is no
// layer).
func (o *Overlay) Bounds() image.Rectangle {
	l := o.cur.Load()
	if l == nil {
		return image.Rectangle{}
	}
	return image.Rect(l.x, l.y, l.x+l.w, l.y+l.h)
}

func precompute(img *image.RGBA, ox, oy int) *overlayLayer {
	if img == nil {
		return nil
	}
	// Bounding box of visible pixels, in image coordinates.
	b := img.Bounds()
	minX, minY, maxX, maxY := b.Max.X, b.Max.Y, b.Min.X, b.Min.Y
	for py := b.Min.Y; py < b.Max.Y; py++ {
		row := img.Pix[img.PixOffset(b.Min.X, py):]
		for px := b.Min.X; px < b.Max.X; px++ {
			if row[4*(px-b.Min.X)+3] != 0 {
				minX, maxX = min(minX, px), max(maxX, px+1)
				minY, maxY = min(minY, py), max(maxY, py+1)
			}
		}
	}
	if minX >= maxX {
		return nil
	}
	// Frame coordinates, widened to even edges so chroma lines up.
	fx0, fy0 := ox+minX-b.Min.X, oy+minY-b.Min.Y
	fx1, fy1 := ox+maxX-b.Min.X, oy+maxY-b.Min.Y
	fx0, fy0 = fx0&^1, fy0&^1
	fx1, fy1 = (fx1+1)&^1, (fy1+1)&^1
	l := &overlayLayer{x: fx0, y: fy0, w: fx1 - fx0, h: fy1 - fy0}
	l.yp, l.yinv = make([]uint8, l.w*l.h), make([]uint8, l.w*l.h)
	cw, ch := l.w/2, l.h/2
	l.up, l.vp, l.cinv = make([]uint8, cw*ch), make([]uint8, cw*ch), make([]uint8, cw*ch)
	pix := func(fx, fy int) (r, g, bl, a int32) {
		px, py := fx-ox+b.Min.X, fy-oy+b.Min.Y
		if !(image.Point{px, py}.In(b)) {
			return 0, 0, 0, 0
		}
		i := img.PixOffset(px, py)
		return int32(img.Pix[i]), int32(img.Pix[i+1]), int32(img.Pix[i+2]), int32(img.Pix[i+3])
	}
	for cy := range ch {
		for cx := range cw {
			var us, vs, as int32
			for dy := range 2 {
				for dx := range 2 {
					fx, fy := l.x+2*cx+dx, l.y+2*cy+dy
					r, g, bl, a := pix(fx, fy) // premultiplied
					// BT.601 limited range on premultiplied values:
					// Y' = 16a/255 + (66r+129g+25b)/256.
					yv := (66*r+129*g+25*bl+128)>>8 + (16*a+127)/255
					i := (2*cy+dy)*l.w + 2*cx + dx
					l.yp[i], l.yinv[i] = uint8(min(yv, 255)), uint8(255-a)
					us += (-38*r-74*g+112*bl+128)>>8 + (128*a+127)/255
					vs += (112*r-94*g-18*bl+128)>>8 + (128*a+127)/255
					as += a
				}
			}
			j := cy*cw + cx
			l.up[j] = uint8(max(0, min((us+2)/4, 255)))
			l.vp[j] = uint8(max(0, min((vs+2)/4, 255)))
			l.cinv[j] = uint8(255 - (as+2)/4)
		}
	}
	return l
}

// div255 divides x ≤ 65535 by 255, rounded down, without a division.
func div255(x uint32) uint32 { return (x * 0x8081) >> 23 }

// Blend draws the layer onto f in place; a frame that fails Validate, or
// no layer, leaves f unchanged.
func (o *Overlay) Blend(f *media.VideoFrame) {
	l := o.cur.Load()
	if l == nil || f.Validate() != nil {
		return
	}
	x0, y0 := max(l.x, 0), max(l.y, 0)
	x1, y1 := min(l.x+l.w, f.Width&^1), min(l.y+l.h, f.Height&^1)
	if x0 >= x1 || y0 >= y1 {
		return
	}
	for fy := y0; fy < y1; fy++ {
		li := (fy-l.y)*l.w + (x0 - l.x)
		n := x1 - x0
		yp, yinv := l.yp[li:li+n], l.yinv[li:li+n]
		dst := f.Y[fy*f.StrideY+x0 : fy*f.StrideY+x1]
		yp, dst = yp[:len(yinv)], dst[:len(yinv)] // one bounds check per row, not per pixel
		for i, inv := range yinv {
			if inv == 255 {
				continue
			}
			dst[i] = uint8(uint32(yp[i]) + div255(uint32(dst[i])*uint32(inv)))
		}
	}
	cw := l.w / 2
	cx0, cx1 := x0/2, x1/2
	for cy := y0 / 2; cy < y1/2; cy++ {
		li := (cy-l.y/2)*cw + (cx0 - l.x/2)
		n := cx1 - cx0
		up, vp, inv := l.up[li:li+n], l.vp[li:li+n], l.cinv[li:li+n]
		du := f.U[cy*f.StrideU+cx0 : cy*f.StrideU+cx1]
		dv := f.V[cy*f.StrideV+cx0 : cy*f.StrideV+cx1]
		up, vp, du, dv = up[:len(inv)], vp[:len(inv)], du[:len(inv)], dv[:len(inv)]
		for i, a := range inv {
			if a == 255 {
				continue
			}
			du[i] = uint8(min(uint32(up[i])+div255(uint32(du[i])*uint32(a)), 255))
			dv[i] = uint8(min(uint32(vp[i])+div255(uint32(dv[i])*uint32(a)), 255))
		}
	}
}
