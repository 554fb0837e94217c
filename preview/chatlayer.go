package preview

import (
	"image"
	"image/color"
	"image/draw"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// ChatLine is one chat message as the overlay shows it.
type ChatLine struct {
	Name, Text string
}

// ChatLayer renders the last chat messages into an RGBA layer for Overlay:
// white text with the sender's name in yellow on a translucent dark box in
// the bottom-left corner, scaled with the frame height.
type ChatLayer struct {
	// MaxLines is how many of the latest messages are shown; default 6.
	MaxLines int
	// Opacity of the background box, 0-255; default 160.
	Opacity uint8
}

// Render draws lines (oldest first) for a frameW×frameH frame and returns
// the layer and where its top-left corner goes on the frame; nil when
// there is nothing to show.
func (c ChatLayer) Render(lines []ChatLine, frameW, frameH int) (img *image.RGBA, x, y int) {
	maxLines, opacity := c.MaxLines, c.Opacity
	if maxLines <= 0 {
		maxLines = 6
	}
	if opacity == 0 {
		opacity = 160
	}
	if len(lines) > maxLines {
		lines = lines[len(lines)-maxLines:]
	}
	if len(lines) == 0 || frameW < 64 || frameH < 64 {
		return nil, 0, 0
	}
	face := basicfont.Face7x13
	scale := max(1, frameH/360)
	const lineH, charW, pad = 15, 7, 4
	maxW := frameW/2/scale - 2*pad // the box takes at most half the frame width
	maxChars := max(4, maxW/charW)
	texts := make([][2]string, len(lines))
	longest := 0
	for i, l := range lines {
		name, text := clip(l.Name, 16), l.Text
		if name != "" {
			name += ": "
		}
		text = clip(text, max(1, maxChars-len([]rune(name))))
		texts[i] = [2]string{name, text}
		longest = max(longest, len([]rune(name))+len([]rune(text)))
	}
	w, h := longest*charW+2*pad, len(lines)*lineH+2*pad
	small := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(small, small.Bounds(), image.NewUniform(color.NRGBA{0, 0, 0, opacity}), image.Point{}, draw.Src)
	d := font.Drawer{Dst: small, Face: face}
	for i, t := range texts {
		d.Dot = fixed.P(pad, pad+i*lineH+11)
		d.Src = image.NewUniform(color.RGBA{255, 220, 64, 255})
		d.DrawString(t[0])
		d.Src = image.White
		d.DrawString(t[1])
	}
	img = small
	if scale > 1 {
		img = image.NewRGBA(image.Rect(0, 0, w*scale, h*scale))
		for py := range h * scale {
			src := small.Pix[(py/scale)*small.Stride:]
			dst := img.Pix[py*img.Stride:]
			for px := range w * scale {
				copy(dst[4*px:4*px+4], src[4*(px/scale):4*(px/scale)+4])
			}
		}
	}
	margin := 8 * scale
	return img, margin, max(0, frameH-margin-img.Bounds().Dy())
}

// clip shortens s to n runes, marking a cut with "..", and keeps only
// characters the bitmap font can draw.
func clip(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	if n <= 2 {
		return s[:n]
	}
	return s[:n-2] + ".."
}
