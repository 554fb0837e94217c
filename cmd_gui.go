package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"runtime"
)

// hasDisplay reports whether a window can be opened here.
func hasDisplay() bool {
	if runtime.GOOS != "linux" && runtime.GOOS != "freebsd" {
		return true
	}
	return os.Getenv("DISPLAY") != "" || os.Getenv("WAYLAND_DISPLAY") != ""
}

func runGUI(ctx context.Context, stdout, stderr io.Writer) int {
	if !hasDisplay() {
		fmt.Fprintln(stderr, "golive: no display here; run 'golive serve' for the server and 'golive stream --to rtmp://HOST/live/KEY' to broadcast headless")
		return 1
	}
	return openApp(ctx, stdout, stderr)
}
