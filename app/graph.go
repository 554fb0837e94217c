package app

import (
	"fmt"
	"image/color"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// graphPoints is how many samples the graph shows (one a second).
const graphPoints = 60

// bitrateGraph draws the last minute of bitrate as a line of canvas.Line
// segments over a dark background, with the peak as a caption.
type bitrateGraph struct {
	widget.BaseWidget
	data []int
}

func newBitrateGraph() *bitrateGraph {
	g := &bitrateGraph{}
	g.ExtendBaseWidget(g)
	return g
}

// SetData replaces the samples (oldest first) and redraws.
func (g *bitrateGraph) SetData(d []int) {
	if len(d) > graphPoints {
		d = d[len(d)-graphPoints:]
	}
	g.data = append(g.data[:0], d...)
	g.Refresh()
}

// CreateRenderer implements fyne.Widget.
func (g *bitrateGraph) CreateRenderer() fyne.WidgetRenderer {
	r := &graphRenderer{g: g, bg: canvas.NewRectangle(color.NRGBA{0x20, 0x22, 0x28, 0xff}),
		caption: canvas.NewText("", color.NRGBA{0xcc, 0xcc, 0xcc, 0xff})}
	r.caption.TextSize = theme.CaptionTextSize()
	for range graphPoints - 1 {
		l := canvas.NewLine(color.NRGBA{0x4c, 0xc2, 0x6a, 0xff})
		l.StrokeWidth = 2
		r.lines = append(r.lines, l)
	}
	r.objects = append([]fyne.CanvasObject{r.bg}, r.caption)
	for _, l := range r.lines {
		r.objects = append(r.objects, l)
	}
	return r
}

type graphRenderer struct {
	g       *bitrateGraph
	bg      *canvas.Rectangle
	caption *canvas.Text
	lines   []*canvas.Line
	objects []fyne.CanvasObject
	size    fyne.Size
}

func (r *graphRenderer) MinSize() fyne.Size { return fyne.NewSize(240, 110) }

func (r *graphRenderer) Layout(s fyne.Size) {
	r.size = s
	r.bg.Resize(s)
	r.caption.Move(fyne.NewPos(4, 2))
	d := r.g.data
	peak := 1
	for _, v := range d {
		peak = max(peak, v)
	}
	top := float32(18)
	h := s.Height - top - 4
	step := s.Width / float32(graphPoints-1)
	// Right-aligned: the newest sample sits on the right edge.
	off := graphPoints - len(d)
	pt := func(i int) fyne.Position {
		return fyne.NewPos(float32(off+i)*step, top+h-h*float32(d[i])/float32(peak)*0.95)
	}
	for i, l := range r.lines {
		if i+1 < len(d) {
			l.Position1, l.Position2 = pt(i), pt(i+1)
			l.Show()
		} else {
			l.Hide()
		}
	}
	if len(d) == 0 {
		r.caption.Text = "no data (offline)"
	} else {
		r.caption.Text = fmt.Sprintf("peak %d kbit/s, now %d kbit/s", peak/1000, d[len(d)-1]/1000)
	}
}

func (r *graphRenderer) Refresh() {
	r.Layout(r.size)
	canvas.Refresh(r.g)
	for _, o := range r.objects {
		o.Refresh()
	}
}

func (r *graphRenderer) Objects() []fyne.CanvasObject { return r.objects }
func (r *graphRenderer) Destroy()                     {}
