package app

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"sync"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
	qrcode "github.com/skip2/go-qrcode"

	"golive/broadcast"
	"golive/studio"
)

// UI is GoLive's main window content. Build it with New, show Window,
// feed it preview images with SetImage and state changes with Changed;
// Start keeps the health panel ticking.
type UI struct {
	ctl Controller
	win fyne.Window

	preview   *canvas.Image
	meter     *widget.ProgressBar
	goLive    *widget.Button
	errLabel  *widget.Label
	viewerURL *widget.Hyperlink
	viewerTxt *widget.Label
	qr        *canvas.Image
	qrFor     string

	tabs      *container.AppTabs
	health    *healthPanel
	dests     *destinationsPanel
	chat      *chatPanel
	lastState broadcast.State
	tapErr    string // why the last Go Live click failed
	noLevel   bool   // the controller has no audio level

	kick     chan struct{}
	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup
}

// New builds the window on a (for the GUI, the Fyne app's main window).
func New(a fyne.App, ctl Controller) *UI {
	u := &UI{ctl: ctl, stop: make(chan struct{}), kick: make(chan struct{}, 1)}
	u.win = a.NewWindow("GoLive")
	u.win.SetContent(u.build())
	u.win.Resize(fyne.NewSize(1200, 760))
	u.Reload()
	return u
}

// SelectTab shows the side tab with the given title ("Health",
// "Destinations", "Chat", "Settings"); it reports whether one matched. GUI
// goroutine only.
func (u *UI) SelectTab(title string) bool {
	for _, it := range u.tabs.Items {
		if it.Text == title {
			u.tabs.Select(it)
			return true
		}
	}
	return false
}

// ShowAddDestination opens the add-destination dialog; GUI goroutine only.
func (u *UI) ShowAddDestination() { u.dests.openForm(studio.Destination{}) }

// GoLiveButton returns the Go Live button (for tests and automation).
func (u *UI) GoLiveButton() *widget.Button { return u.goLive }

// PreviewArea returns the preview's canvas object (for tests: where the
// preview is on screen).
func (u *UI) PreviewArea() fyne.CanvasObject { return u.preview }

// PreviewImage returns the image the preview shows; GUI goroutine only.
func (u *UI) PreviewImage() image.Image { return u.preview.Image }

// Window returns the window.
func (u *UI) Window() fyne.Window { return u.win }

func (u *UI) build() fyne.CanvasObject {
	black := image.NewRGBA(image.Rect(0, 0, 16, 9))
	for i := 3; i < len(black.Pix); i += 4 {
		black.Pix[i] = 0xff
	}
	u.preview = canvas.NewImageFromImage(black)
	u.preview.FillMode = canvas.ImageFillContain
	u.preview.ScaleMode = canvas.ImageScaleFastest
	u.preview.SetMinSize(fyne.NewSize(560, 315))
	previewBox := container.NewStack(canvas.NewRectangle(color.Black), u.preview)

	u.meter = widget.NewProgressBar()
	u.meter.TextFormatter = func() string {
		if u.noLevel {
			return "audio level: not available"
		}
		return fmt.Sprintf("audio %.0f dBFS", dbfs(u.meter.Value))
	}
	u.goLive = widget.NewButtonWithIcon("Go Live", theme.MediaPlayIcon(), u.tapGoLive)
	u.goLive.Importance = widget.HighImportance
	u.errLabel = widget.NewLabel("")
	u.errLabel.Wrapping = fyne.TextWrapWord
	u.errLabel.Importance = widget.DangerImportance

	u.viewerTxt = widget.NewLabel("Viewers on your network:")
	u.viewerURL = widget.NewHyperlink("", nil)
	u.qr = canvas.NewImageFromImage(image.NewGray(image.Rect(0, 0, 1, 1)))
	u.qr.FillMode = canvas.ImageFillContain
	u.qr.ScaleMode = canvas.ImageScalePixels
	u.qr.SetMinSize(fyne.NewSize(120, 120))
	share := container.NewBorder(nil, nil, nil, u.qr, container.NewVBox(u.viewerTxt, u.viewerURL))

	big := container.NewGridWrap(fyne.NewSize(560, 56), u.goLive)
	left := container.NewVBox(previewBox, u.meter, container.NewCenter(big), u.errLabel, widget.NewSeparator(), share)

	u.health = newHealthPanel(u.ctl)
	u.dests = newDestinationsPanel(u.ctl, func() fyne.Window { return u.win }, u.Reload)
	u.chat = newChatPanel(u.ctl, func() fyne.Window { return u.win }, u.Reload)
	tabs := container.NewAppTabs(
		container.NewTabItemWithIcon("Health", theme.InfoIcon(), u.health.object),
		container.NewTabItemWithIcon("Destinations", theme.UploadIcon(), u.dests.object),
		container.NewTabItemWithIcon("Chat", theme.MailComposeIcon(), u.chat.object),
		container.NewTabItemWithIcon("Settings", theme.SettingsIcon(), newSettingsPanel(u.ctl).object),
	)
	u.tabs = tabs
	split := container.NewHSplit(container.NewPadded(left), tabs)
	split.Offset = 0.5
	return split
}

func dbfs(v float64) float64 {
	if v <= 0 {
		return -90
	}
	return max(-90, 20*math.Log10(v))
}

// tapGoLive starts or stops the stream depending on the state.
func (u *UI) tapGoLive() {
	u.tapErr = ""
	if u.lastState == broadcast.StateOffline {
		if err := u.ctl.GoLive(); err != nil {
			u.tapErr = err.Error()
		}
	} else {
		u.ctl.StopLive()
	}
	u.refresh()
}

// SetImage shows a preview image. It may be called from any goroutine and
// returns once the image is on the canvas (so the previous one is no
// longer read), or at once after Stop.
func (u *UI) SetImage(img *image.RGBA) {
	done := make(chan struct{})
	fyne.Do(func() {
		u.preview.Image = img
		u.preview.Refresh()
		close(done)
	})
	select {
	case <-done:
	case <-u.stop:
	}
}

// Changed tells the window that destinations, chat or state changed; any
// goroutine, never blocks. The reload happens on the GUI goroutine from
// the loop Start runs (without Start, call Reload yourself).
func (u *UI) Changed() {
	select {
	case u.kick <- struct{}{}:
	default:
	}
}

// Reload re-reads everything from the controller; GUI goroutine only.
func (u *UI) Reload() {
	u.dests.reload()
	u.chat.reload()
	u.refresh()
}

// refresh updates the state-dependent widgets; GUI goroutine only.
func (u *UI) refresh() {
	st := u.ctl.Status()
	u.lastState = st.State
	switch st.State {
	case broadcast.StateConnecting:
		u.goLive.SetText("Connecting… (click to cancel)")
		u.goLive.SetIcon(theme.MediaStopIcon())
		u.goLive.Importance = widget.WarningImportance
	case broadcast.StateLive, broadcast.StateCongested:
		u.goLive.SetText("End stream")
		u.goLive.SetIcon(theme.MediaStopIcon())
		u.goLive.Importance = widget.DangerImportance
	case broadcast.StateReconnecting:
		u.goLive.SetText("Reconnecting… (click to end)")
		u.goLive.SetIcon(theme.MediaStopIcon())
		u.goLive.Importance = widget.WarningImportance
	default:
		u.goLive.SetText("Go Live")
		u.goLive.SetIcon(theme.MediaPlayIcon())
		u.goLive.Importance = widget.HighImportance
	}
	u.goLive.Refresh()
	switch {
	case u.tapErr != "":
		u.errLabel.SetText(u.tapErr)
	case st.State == broadcast.StateOffline:
		u.errLabel.SetText(st.LastError)
	default:
		u.errLabel.SetText("")
	}
	u.noLevel = st.AudioPeak < 0
	u.meter.SetValue(max(st.AudioPeak, 0))
	u.health.update(st)
	u.chat.setOverlay(st.Overlay)
	url := u.ctl.ViewerURL()
	if url != u.qrFor {
		u.qrFor = url
		u.setViewerURL(url)
	}
}

func (u *UI) setViewerURL(url string) {
	if url == "" {
		u.viewerTxt.SetText("No bundled server: viewers watch on your destinations.")
		u.viewerURL.SetText("")
		u.qr.Hide()
		return
	}
	u.viewerTxt.SetText("Viewers on your network open (or scan):")
	u.viewerURL.SetText(url)
	_ = u.viewerURL.SetURLFromString(url)
	if q, err := qrcode.New(url, qrcode.Medium); err == nil {
		q.DisableBorder = false
		u.qr.Image = q.Image(240)
		u.qr.Show()
		u.qr.Refresh()
	}
}

// Start refreshes the state and health panel every interval, and reloads
// after Changed, until Stop. All widget work goes through fyne.Do, so it
// runs on the GUI goroutine.
func (u *UI) Start(interval time.Duration) {
	u.wg.Add(1)
	go func() {
		defer u.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-u.stop:
				return
			case <-t.C:
				fyne.Do(u.refresh)
			case <-u.kick:
				fyne.Do(u.Reload)
			}
		}
	}()
}

// Stop ends the ticking and releases SetImage callers; idempotent.
func (u *UI) Stop() {
	u.stopOnce.Do(func() { close(u.stop) })
	u.wg.Wait()
}

// spacer is a fixed-size empty object.
func spacer(w, h float32) fyne.CanvasObject {
	r := canvas.NewRectangle(color.Transparent)
	r.SetMinSize(fyne.NewSize(w, h))
	return r
}
