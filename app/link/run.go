package link

import (
	"context"
	"fmt"
	"image"
	"log/slog"
	"net"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	fyneapp "fyne.io/fyne/v2/app"

	"golive/app"
	"golive/assets"
	"golive/broadcast"
	"golive/media"
	"golive/server"
	"golive/server/ladder"
)

// AppID is the Fyne application ID (as in FyneApp.toml); it names the
// preferences file.
const AppID = "app.golive.broadcaster"

// Options configure Run; the zero value runs the desktop app.
type Options struct {
	// App is the Fyne app; nil makes one with AppID (the real driver).
	App fyne.App
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// RTMPAddr and HTTPAddr are the bundled server's preferred addresses
	// (default ":1935" and ":8080"; busy ports fall back to free ones).
	RTMPAddr, HTTPAddr string
	// Ladder overrides the bundled server's rungs (nil: its default).
	Ladder []ladder.Spec
	// DataDir is the bundled server's data directory (default its own).
	DataDir string
	// NewEngine overrides the pipeline (tests); nil: a broadcast.Broadcast.
	NewEngine func(broadcast.Config, func(*media.VideoFrame), *slog.Logger) broadcast.StudioEngine
	// Store overrides the settings store; nil: the app's Preferences.
	Store broadcast.StudioStore
	// Refresh is how often the health panel updates; default 500 ms;
	// negative: no background updates (tests with Fyne's test driver,
	// which runs fyne.Do callbacks on the calling goroutine).
	Refresh time.Duration
	// OnImage, if set, receives the preview images instead of the window
	// (tests).
	OnImage func(*image.RGBA)
}

// Run starts the studio, opens the window and blocks until the window is
// closed or ctx is cancelled. It must be called on the main goroutine.
func Run(ctx context.Context, o Options) error {
	r, err := Start(o)
	if err != nil {
		return err
	}
	defer r.Close()
	stop := context.AfterFunc(ctx, func() { fyne.Do(r.App.Quit) })
	defer stop()
	r.App.Run()
	return nil
}

// Running is a started app: window shown, studio running.
type Running struct {
	App    fyne.App
	UI     *app.UI
	Studio *broadcast.Studio
}

// Start starts the studio and shows the window without running the
// app's event loop (Run does that; tests use the test driver's).
func Start(o Options) (*Running, error) {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Refresh == 0 {
		o.Refresh = 500 * time.Millisecond
	}
	a := o.App
	if a == nil {
		a = fyneapp.NewWithID(AppID)
	}
	a.SetIcon(fyne.NewStaticResource("icon.png", assets.Icon()))
	store := o.Store
	if store == nil {
		store = a.Preferences()
	}
	var ui atomic.Pointer[app.UI]
	st := &broadcast.Studio{
		Store: store, Logger: o.Logger, RTMPAddr: o.RTMPAddr, HTTPAddr: o.HTTPAddr,
		NewServer: BundledServer(o.Ladder, o.DataDir),
		OnImage: func(img *image.RGBA) {
			if o.OnImage != nil {
				o.OnImage(img)
			} else if u := ui.Load(); u != nil {
				u.SetImage(img)
			}
		},
		OnChange: func() {
			if u := ui.Load(); u != nil {
				u.Changed()
			}
		},
	}
	if o.NewEngine != nil {
		st.NewEngine = o.NewEngine
	}
	if err := st.Initialize(); err != nil {
		return nil, err
	}
	u := app.New(a, Controller{S: st})
	ui.Store(u)
	if o.Refresh > 0 {
		u.Start(o.Refresh)
	}
	w := u.Window()
	w.SetMaster()
	w.CenterOnScreen()
	w.Show()
	return &Running{App: a, UI: u, Studio: st}, nil
}

// Close stops the window's updates and the studio (server, chat,
// pipeline); idempotent.
func (r *Running) Close() {
	r.UI.Stop()
	r.Studio.Close()
}

// BundledServer returns a broadcast.Studio NewServer that runs a
// server.Server with the given ladder (nil: its default) and data dir.
func BundledServer(rungs []ladder.Spec, dataDir string) func(broadcast.StudioServerConfig) (broadcast.StudioServer, error) {
	return func(cfg broadcast.StudioServerConfig) (broadcast.StudioServer, error) {
		return &bundled{s: &server.Server{RTMPAddr: cfg.RTMPAddr, HTTPAddr: cfg.HTTPAddr, StreamKey: cfg.StreamKey,
			Chat: cfg.Chat, Ladder: rungs, DataDir: dataDir, Logger: cfg.Logger.With("stage", "server")}}, nil
	}
}

// bundled adapts *server.Server to broadcast.StudioServer.
type bundled struct{ s *server.Server }

func (b *bundled) Initialize() error {
	if err := b.s.Initialize(); err != nil {
		return fmt.Errorf("bundled server: %w", err)
	}
	return nil
}
func (b *bundled) Close()             { b.s.Close() }
func (b *bundled) RTMPAddr() net.Addr { return b.s.RTMPAddress() }
func (b *bundled) HTTPAddr() net.Addr { return b.s.HTTPAddress() }
