// Command golive is a desktop broadcaster with a bundled streaming server.
// With no arguments it opens the GUI; "serve", "stream", "devices" and
// "version" run it headless.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// exitUsage is the exit code for a bad command line.
const exitUsage = 2

func main() {
	restoreLocale()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		return runGUI(ctx, stdout, stderr)
	}
	switch args[0] {
	case "serve":
		return runServe(ctx, args[1:], stdout, stderr)
	case "stream":
		return runStream(ctx, args[1:], stdout, stderr)
	case "devices":
		return runDevices(ctx, args[1:], stdout, stderr)
	case "version", "--version", "-v":
		return runVersion(stdout)
	case "help", "--help", "-h":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "golive: unknown command %q (try: serve, stream, devices, version)\n", args[0])
	return exitUsage
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage:
  golive                                   open the GUI
  golive serve   [--rtmp-addr :1935] [--http-addr :8080] [--stream-key KEY]
                 [--ladder 720p,480p,360p,240p] [--segment 1s] [--part 200ms] [--data-dir DIR]
  golive stream  --to URL [--to URL ...] [--source test|camera[:N]|screen[:N]|window:TITLE]
                 [--audio test|mic[:N]|none] [--scene FILE.json]
                 [--size 1280x720] [--fps 30] [--bitrate 3000k] [--audio-bitrate 128k]
                 [--encoder auto|libx264|h264_nvenc|h264_vaapi|h264_qsv|...]
                 [--record FILE] [--duration 30s]
  golive devices                           cameras, microphones, screens, windows and the H.264 encoders that open here
  golive version
`)
}
