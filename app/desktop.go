package app

import (
	"context"
	"image"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"golive/assets"
	"golive/studio"
)

// ID is the Fyne application ID (as in FyneApp.toml); it names the
// preferences file.
const ID = "app.golive.broadcaster"

// Options configure Start and Run; the zero value runs the desktop app.
type Options struct {
	// App is the Fyne app; nil makes one with ID (the real driver).
	App fyne.App
	// Refresh is how often the health panel updates; default 500 ms;
	// negative: no background updates (tests with Fyne's test driver,
	// which runs fyne.Do callbacks on the calling goroutine).
	Refresh time.Duration
}

// Desktop is the running desktop app: the Fyne app, its window and the
// studio the window drives.
type Desktop struct {
	App    fyne.App
	UI     *UI
	Studio *studio.Studio
}

// Start joins s to the window and shows it without running the app's
// event loop (Run does that; tests use the test driver's). The window
// takes s's change notices; s keeps its settings in the app's preferences,
// its stream keys in the OS keychain (where one answers) and hands its
// preview images to the window unless its Store, Secrets or OnImage is
// set. Start initializes s.
func Start(s *studio.Studio, o Options) (*Desktop, error) {
	if o.Refresh == 0 {
		o.Refresh = 500 * time.Millisecond
	}
	a := o.App
	if a == nil {
		a = fyneapp.NewWithID(ID)
	}
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon()))
	if s.Store == nil {
		s.Store = a.Preferences()
	}
	if s.Secrets == nil {
		s.Secrets = studio.Keychain{}
	}
	var ui atomic.Pointer[UI] // nil until the window exists
	if s.OnImage == nil {
		s.OnImage = func(img *image.RGBA) {
			if u := ui.Load(); u != nil {
				u.SetImage(img)
			}
		}
	}
	s.OnChange = func() {
		if u := ui.Load(); u != nil {
			u.Changed()
		}
	}
	if err := s.Initialize(); err != nil {
		return nil, err
	}
	u := New(a, s)
	ui.Store(u)
	if o.Refresh > 0 {
		u.Start(o.Refresh)
	}
	w := u.Window()
	w.SetMaster()
	w.CenterOnScreen()
	w.Show()
	return &Desktop{App: a, UI: u, Studio: s}, nil
}

// Run starts s and the window (see Start) and blocks until the window is
// closed or ctx is cancelled, then closes both. It must be called on the
// main goroutine.
func Run(ctx context.Context, s *studio.Studio, o Options) error {
	d, err := Start(s, o)
	if err != nil {
		return err
	}
	defer d.Close()
	stop := context.AfterFunc(ctx, func() { fyne.Do(d.App.Quit) })
	defer stop()
	d.App.Run()
	return nil
}

// Close stops the window's updates and the studio (server, chat,
// pipeline); idempotent.
func (d *Desktop) Close() {
	d.UI.Stop()
	d.Studio.Close()
}
