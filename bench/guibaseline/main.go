package main

import (
	"image"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/widget"
)

// Command guibaseline is the peer of bench/gui_memory.sh: a bare Fyne
// window showing a 640x360 image refreshed at 30 fps (what the GoLive
// preview does), with nothing else running.
func main() {
	a := app.New()
	w := a.NewWindow("hello")
	imgs := [2]*image.RGBA{image.NewRGBA(image.Rect(0, 0, 640, 360)), image.NewRGBA(image.Rect(0, 0, 640, 360))}
	for i := range imgs[1].Pix {
		imgs[1].Pix[i] = byte(i)
	}
	ci := canvas.NewImageFromImage(imgs[0])
	ci.SetMinSize(fyne.NewSize(560, 315))
	ci.FillMode = canvas.ImageFillContain
	w.SetContent(container.NewHSplit(ci, widget.NewLabel("baseline")))
	w.Resize(fyne.NewSize(1200, 760))
	go func() {
		n := 0
		for range time.Tick(time.Second / 30) {
			n++
			fyne.Do(func() { ci.Image = imgs[n%2]; ci.Refresh() })
		}
	}()
	w.ShowAndRun()
}
