package app

import (
	"image"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/widget"

	"golive/preview/scene"
)

// layerDrag lies over the preview and moves the scene's layers by
// dragging them: a press on a layer grabs it (the topmost there), the
// layer follows the pointer, kept inside the picture, and stays where it
// is let go. The preview shows the picture fitted inside this area
// (letterboxed), which is how positions are mapped back to the picture.
type layerDrag struct {
	widget.BaseWidget
	ctl Controller
	// onErr shows why a move was refused.
	onErr func(error)

	grabbed string      // the layer being dragged, "" when none
	plan    *scene.Plan // the plan when it was grabbed
	offset  image.Point // from the pointer to the layer's corner, in picture pixels
	last    time.Time   // when the scene was last sent
	pending image.Point // the corner not sent yet
	dirty   bool
}

// dragInterval spaces out the scene changes sent while dragging.
const dragInterval = 50 * time.Millisecond

func newLayerDrag(ctl Controller, onErr func(error)) *layerDrag {
	d := &layerDrag{ctl: ctl, onErr: onErr}
	d.ExtendBaseWidget(d)
	return d
}

// CreateRenderer draws nothing: the preview under it shows the picture.
func (d *layerDrag) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(&fyne.Container{})
}

// toPicture maps a position in the area to picture pixels.
func (d *layerDrag) toPicture(p *scene.Plan, pos fyne.Position) image.Point {
	size := d.Size()
	if size.Width <= 0 || size.Height <= 0 {
		return image.Point{}
	}
	scale := min(size.Width/float32(p.Width), size.Height/float32(p.Height))
	ox := (size.Width - float32(p.Width)*scale) / 2
	oy := (size.Height - float32(p.Height)*scale) / 2
	return image.Pt(int((pos.X-ox)/scale), int((pos.Y-oy)/scale))
}

// Dragged grabs a layer on the first event of a drag and moves it.
func (d *layerDrag) Dragged(ev *fyne.DragEvent) {
	if d.grabbed == "" && d.plan == nil {
		p := d.ctl.ScenePlan()
		if p == nil {
			return
		}
		d.plan = p
		start := d.toPicture(p, ev.Position.Subtract(ev.Dragged))
		d.grabbed = p.At(start.X, start.Y)
		for _, l := range p.Layers {
			if l.ID == d.grabbed {
				d.offset = l.Rect.Min.Sub(start)
			}
		}
	}
	if d.grabbed == "" {
		return
	}
	d.pending = d.toPicture(d.plan, ev.Position).Add(d.offset)
	d.dirty = true
	if time.Since(d.last) >= dragInterval {
		d.send()
	}
}

// DragEnd puts the layer where it was let go.
func (d *layerDrag) DragEnd() {
	if d.grabbed != "" && d.dirty {
		d.send()
	}
	d.grabbed, d.plan = "", nil
}

// send applies the pending position.
func (d *layerDrag) send() {
	d.last, d.dirty = time.Now(), false
	sc := d.ctl.Scene().MoveTo(d.grabbed, d.plan, d.pending.X, d.pending.Y)
	if err := d.ctl.SetScene(sc); err != nil && d.onErr != nil {
		d.onErr(err)
	}
}
