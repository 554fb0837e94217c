// Command guilive runs the GoLive desktop app as `golive` does (the real
// window, the bundled server with the default ladder, chat, capture and
// preview) for bench/gui_memory.sh and TestGUIMemory, and drives it through
// its own widgets instead of the mouse: once the preview shows pictures it
// taps the window's Go Live button (unless -offline). It prints
// "http http://127.0.0.1:PORT" (the bundled server, for /api/status) and
// "tapped" when it pressed Go Live, and runs until SIGINT or SIGTERM.
package main

import (
	"context"
	"flag"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"fyne.io/fyne/v2"

	"golive/app"
	"golive/studio"
)

func main() {
	offline := flag.Bool("offline", false, "do not go live")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	// As runGUI in cmd_gui.go, on free ports.
	d, err := app.Start(&studio.Studio{Logger: logger, NewServer: studio.BundledServer(nil, ""),
		RTMPAddr: ":0", HTTPAddr: ":0"}, app.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "guilive:", err)
		os.Exit(1)
	}
	defer d.Close()
	u, err := url.Parse(d.Studio.ViewerURL())
	if err != nil || u.Port() == "" {
		fmt.Fprintln(os.Stderr, "guilive: no bundled server:", d.Studio.ViewerURL())
		os.Exit(1)
	}
	fmt.Println("http http://" + net.JoinHostPort("127.0.0.1", u.Port()))
	go func() {
		for ctx.Err() == nil { // wait for the preview, as a user would
			var shown bool
			fyne.DoAndWait(func() {
				img, ok := d.UI.PreviewImage().(*image.RGBA)
				shown = ok && img.Bounds().Dx() >= 100
			})
			if shown {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if *offline || ctx.Err() != nil {
			return
		}
		fyne.DoAndWait(func() { d.UI.GoLiveButton().OnTapped() })
		fmt.Println("tapped")
	}()
	stopQuit := context.AfterFunc(ctx, func() { fyne.Do(d.App.Quit) })
	defer stopQuit()
	d.App.Run()
}
