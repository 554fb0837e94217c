package scene

import (
	"fmt"
	"image"
	"image/color"

	"golive/media"
	"golive/preview"
)

// Defaults of the layers' sizes, as fractions of the picture.
const (
	// DefaultCameraSize is a picture-in-picture's width.
	DefaultCameraSize = 0.25
	// DefaultTextSize is a lower third's text height.
	DefaultTextSize = 0.05
	// marginFrac is the corner presets' margin, of the picture's height.
	marginFrac = 0.03
)

// Plan is a scene prepared for one picture size: where every layer goes
// and, for images and texts, their pixels converted once to YUV with
// alpha. A Plan is immutable; Draw may run on any one goroutine.
type Plan struct {
	// Width and Height are the picture size the plan was made for.
	Width, Height int
	// Layers are the scene's layers, bottom first, hidden ones included.
	Layers []Placed
}

// Placed is one layer of a Plan.
type Placed struct {
	// ID and Type are the layer's.
	ID, Type string
	// Hidden layers are not drawn.
	Hidden bool
	// Rect is the area the layer covers on the picture (for a camera, its
	// border included; for chat, its corner's anchor as an empty rectangle).
	Rect image.Rectangle
	// Source is a camera layer's video source spec.
	Source string
	// Inner is where a camera layer's picture goes (Rect minus the border).
	Inner image.Rectangle

	layer   Layer
	overlay *preview.Overlay // image and text
	border  [3]byte          // camera: the border's Y, U, V
}

// Layer returns the layer as the scene describes it.
func (p Placed) Layer() Layer { return p.layer }

// Prepare places s's layers on a w×h picture and renders its images and
// texts (through imgs, which keeps scaled images between plans; nil makes
// a private one). A layer that does not fit inside the picture, or an
// image that cannot be read, is refused with ErrBadScene naming the layer.
func Prepare(s Scene, w, h int, imgs *Images) (*Plan, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if w < 16 || h < 16 {
		return nil, fmt.Errorf("%w: picture %dx%d too small", ErrBadScene, w, h)
	}
	if imgs == nil {
		imgs = &Images{}
	}
	p := &Plan{Width: w, Height: h}
	for i, l := range s.Layers {
		pl, err := place(s, i, w, h, imgs)
		if err != nil {
			what := l.Type
			if l.Type == TypeImage {
				what = fmt.Sprintf("image %q", l.Path)
			}
			return nil, fmt.Errorf("%w: layer %d (%s): %w", ErrBadScene, i+1, what, err)
		}
		p.Layers = append(p.Layers, pl)
	}
	return p, nil
}

// place prepares layer i of s.
func place(s Scene, i, w, h int, imgs *Images) (Placed, error) {
	l := s.Layers[i]
	pl := Placed{ID: s.LayerID(i), Type: l.Type, Hidden: l.Hidden, layer: l}
	switch l.Type {
	case TypeCamera:
		size := l.Size
		if size == 0 {
			size = DefaultCameraSize
		}
		b := (l.Border + 1) &^ 1
		pw := max(int(size*float64(w))&^1, 16)
		ph := max((pw*h/w)&^1, 16)
		x, y := Place(l, w, h, pw+2*b, ph+2*b)
		pl.Rect = image.Rect(x, y, x+pw+2*b, y+ph+2*b)
		pl.Inner = image.Rect(x+b, y+b, x+b+pw, y+b+ph)
		pl.Source = l.Source
		if pl.Source == "" {
			pl.Source = "camera"
		}
		c, _ := parseColor(l.BorderColor, color.NRGBA{255, 255, 255, 255})
		pl.border = yuv(c)
	case TypeImage, TypeText:
		var img *image.RGBA
		var err error
		if l.Type == TypeImage {
			img, err = imgs.get(s.Dir, l, w, h)
		} else {
			img, err = renderText(l, h)
		}
		if err != nil {
			return pl, err
		}
		x, y := Place(l, w, h, img.Bounds().Dx(), img.Bounds().Dy())
		pl.Rect = image.Rect(x, y, x+img.Bounds().Dx(), y+img.Bounds().Dy())
		pl.overlay = &preview.Overlay{}
		pl.overlay.Set(img, x, y)
	case TypeChat:
		x, y := Place(l, w, h, 0, 0)
		pl.Rect = image.Rect(x, y, x, y)
	}
	if !pl.Rect.In(image.Rect(0, 0, w, h)) {
		return pl, fmt.Errorf("off the picture: %dx%d at (%d,%d) on a %dx%d picture",
			pl.Rect.Dx(), pl.Rect.Dy(), pl.Rect.Min.X, pl.Rect.Min.Y, w, h)
	}
	return pl, nil
}

// Place returns where the top-left corner of a lw×lh layer goes on a w×h
// picture: at the layer's X and Y when given, else at its corner preset
// (or its type's default corner) with a margin; even coordinates.
func Place(l Layer, w, h, lw, lh int) (x, y int) {
	if l.X != nil && l.Y != nil {
		return int(*l.X*float64(w)) &^ 1, int(*l.Y*float64(h)) &^ 1
	}
	m := margin(h)
	corner := l.Corner
	if corner == "" {
		corner = DefaultCorner(l.Type)
	}
	switch corner {
	case TopLeft:
		x, y = m, m
	case TopRight:
		x, y = w-m-lw, m
	case BottomLeft:
		x, y = m, h-m-lh
	case BottomRight:
		x, y = w-m-lw, h-m-lh
	default:
		x, y = (w-lw)/2, (h-lh)/2
	}
	return x &^ 1, y &^ 1
}

// margin is the corner presets' distance from the edges of an h-high picture.
func margin(h int) int { return int(marginFrac*float64(h)+0.5) &^ 1 }

// DefaultCorner is where a layer of the type goes when it names none.
func DefaultCorner(typ string) string {
	switch typ {
	case TypeCamera:
		return BottomRight
	case TypeImage:
		return TopRight
	case TypeText:
		return BottomLeft
	}
	return TopLeft
}

// Visible reports whether the plan draws anything (a visible layer that
// is not chat, or chat).
func (p *Plan) Visible() bool {
	for _, l := range p.Layers {
		if !l.Hidden {
			return true
		}
	}
	return false
}

// Draw composes the plan's visible layers onto f in place, bottom first:
// pips holds each camera layer's latest picture by layer ID, already at
// its Inner size (a missing one leaves the area black inside the border);
// chat is the chat overlay, drawn where a visible chat layer is. A frame
// of another size than the plan's is left as it is.
func (p *Plan) Draw(f *media.VideoFrame, pips map[string]*media.VideoFrame, chat *preview.Overlay) {
	if f.Width != p.Width || f.Height != p.Height || f.Validate() != nil {
		return
	}
	for i := range p.Layers {
		l := &p.Layers[i]
		if l.Hidden {
			continue
		}
		switch l.Type {
		case TypeCamera:
			drawPiP(f, l, pips[l.ID])
		case TypeImage, TypeText:
			l.overlay.Blend(f)
		case TypeChat:
			if chat != nil {
				chat.Blend(f)
			}
		}
	}
}

// drawPiP draws a camera layer: its border, then its picture (or black).
func drawPiP(f *media.VideoFrame, l *Placed, pic *media.VideoFrame) {
	r, in := l.Rect, l.Inner
	if in != r {
		fill(f, image.Rect(r.Min.X, r.Min.Y, r.Max.X, in.Min.Y), l.border)
		fill(f, image.Rect(r.Min.X, in.Max.Y, r.Max.X, r.Max.Y), l.border)
		fill(f, image.Rect(r.Min.X, in.Min.Y, in.Min.X, in.Max.Y), l.border)
		fill(f, image.Rect(in.Max.X, in.Min.Y, r.Max.X, in.Max.Y), l.border)
	}
	if pic == nil || pic.Width != in.Dx() || pic.Height != in.Dy() || pic.Validate() != nil {
		fill(f, in, [3]byte{16, 128, 128})
		return
	}
	for y := range in.Dy() {
		o := (in.Min.Y+y)*f.StrideY + in.Min.X
		copy(f.Y[o:o+in.Dx()], pic.Y[y*pic.StrideY:y*pic.StrideY+in.Dx()])
	}
	cw, ch := in.Dx()/2, in.Dy()/2
	for y := range ch {
		ou := (in.Min.Y/2+y)*f.StrideU + in.Min.X/2
		ov := (in.Min.Y/2+y)*f.StrideV + in.Min.X/2
		copy(f.U[ou:ou+cw], pic.U[y*pic.StrideU:y*pic.StrideU+cw])
		copy(f.V[ov:ov+cw], pic.V[y*pic.StrideV:y*pic.StrideV+cw])
	}
}

// fill paints r (even coordinates) in one YUV colour.
func fill(f *media.VideoFrame, r image.Rectangle, c [3]byte) {
	r = r.Intersect(image.Rect(0, 0, f.Width&^1, f.Height&^1))
	if r.Empty() {
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := f.Y[y*f.StrideY+r.Min.X : y*f.StrideY+r.Max.X]
		for i := range row {
			row[i] = c[0]
		}
	}
	for y := r.Min.Y / 2; y < r.Max.Y/2; y++ {
		u := f.U[y*f.StrideU+r.Min.X/2 : y*f.StrideU+r.Max.X/2]
		v := f.V[y*f.StrideV+r.Min.X/2 : y*f.StrideV+r.Max.X/2]
		for i := range u {
			u[i], v[i] = c[1], c[2]
		}
	}
}

// yuv converts an opaque colour to BT.601 limited-range YUV.
func yuv(c color.NRGBA) [3]byte {
	r, g, b := int32(c.R), int32(c.G), int32(c.B)
	y := (66*r+129*g+25*b+128)>>8 + 16
	u := (-38*r-74*g+112*b+128)>>8 + 128
	v := (112*r-94*g-18*b+128)>>8 + 128
	cl := func(x int32) byte { return byte(min(max(x, 0), 255)) }
	return [3]byte{cl(y), cl(u), cl(v)}
}
