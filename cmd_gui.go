package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"

	"golive/app"
	"golive/server"
	"golive/studio"
)

// hasDisplay reports whether a window can be opened here.
func hasDisplay() bool {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return true
	}
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

// runGUI opens the desktop window (bundled server, chat and pipeline start
// with it) and returns when it is closed or ctx is cancelled.
func runGUI(ctx context.Context, _, stderr io.Writer) int {
	if !hasDisplay() {
		fmt.Fprintln(stderr, "golive: no display here; run 'golive serve' for the server and 'golive stream --to rtmp://HOST/live/KEY' to broadcast headless")
		return 1
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	s := &studio.Studio{Logger: logger, NewServer: studio.BundledServer(nil, ""),
		ChatTokenFile: filepath.Join(server.DefaultDataDir(), "moderators.json")}
	if err := app.Run(ctx, s, app.Options{}); err != nil {
		fmt.Fprintln(stderr, "golive:", err)
		return 1
	}
	return 0
}
