package scene

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// goFonts are the Go fonts' bold and regular faces (BSD licence,
// embedded by golang.org/x/image).
type goFonts struct{ bold, regular *opentype.Font }

// fonts parses the Go fonts once per process, on first use.
var fonts = sync.OnceValues(func() (goFonts, error) {
	bold, err := opentype.Parse(gobold.TTF)
	if err != nil {
		return goFonts{}, fmt.Errorf("embedded Go Bold font: %w", err)
	}
	regular, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return goFonts{}, fmt.Errorf("embedded Go Regular font: %w", err)
	}
	return goFonts{bold, regular}, nil
})

// accent is the bar on a lower third's left edge.
var accent = color.NRGBA{245, 166, 35, 255}

// renderText draws a text layer as a lower third for a picture h pixels
// high: the text in bold, the subtitle under it in regular at 70 %, on a
// box with an accent bar on its left. The result has premultiplied alpha.
func renderText(l Layer, h int) (*image.RGBA, error) {
	size := l.Size
	if size == 0 {
		size = DefaultTextSize
	}
	px := max(size*float64(h), 8)
	fg, _ := parseColor(l.Color, color.NRGBA{255, 255, 255, 255})
	bg, _ := parseColor(l.Background, color.NRGBA{20, 20, 20, 192})
	fs, err := fonts()
	if err != nil {
		return nil, err
	}
	title, err := newFace(fs.bold, px)
	if err != nil {
		return nil, err
	}
	defer title.Close()
	text := printable(l.Text)
	sub := printable(l.Subtitle)
	pad := int(math.Round(px * 0.4))
	bar := max(int(math.Round(px*0.15)), 2)
	tm := title.Metrics()
	width := font.MeasureString(title, text).Ceil()
	height := (tm.Ascent + tm.Descent).Ceil()
	var subFace font.Face
	var sm font.Metrics
	if sub != "" {
		if subFace, err = newFace(fs.regular, px*0.7); err != nil {
			return nil, err
		}
		defer subFace.Close()
		sm = subFace.Metrics()
		width = max(width, font.MeasureString(subFace, sub).Ceil())
		height += (sm.Ascent + sm.Descent).Ceil() + pad/3
	}
	w := (bar + 2*pad + width + 1) &^ 1
	hh := (2*pad + height + 1) &^ 1
	img := image.NewRGBA(image.Rect(0, 0, w, hh))
	draw.Draw(img, img.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)
	draw.Draw(img, image.Rect(0, 0, bar, hh), image.NewUniform(accent), image.Point{}, draw.Src)
	d := font.Drawer{Dst: img, Src: image.NewUniform(fg), Face: title}
	d.Dot = fixed.Point26_6{X: fixed.I(bar + pad), Y: fixed.I(pad) + tm.Ascent}
	d.DrawString(text)
	if subFace != nil {
		d.Face = subFace
		d.Dot = fixed.Point26_6{X: fixed.I(bar + pad), Y: fixed.I(pad) + tm.Ascent + tm.Descent + fixed.I(pad/3) + sm.Ascent}
		d.DrawString(sub)
	}
	return img, nil
}

// newFace returns a face of the font at px pixels (72 dpi: points = pixels).
func newFace(f *opentype.Font, px float64) (font.Face, error) {
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("font face of %.0f px: %w", px, err)
	}
	return face, nil
}

// printable drops control characters.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return -1
		}
		return r
	}, s)
}
