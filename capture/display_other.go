//go:build !linux || !cgo

package capture

import (
	"fmt"
	"runtime"
)

// ListScreens returns the main display on macOS and Windows, where GoLive
// captures the screen through FFmpeg's avfoundation and gdigrab devices
// (their size is learnt when capture starts); elsewhere ErrNoDisplay.
// Only Linux (X11) is tested.
func ListScreens() ([]ScreenInfo, error) {
	switch runtime.GOOS {
	case "darwin", "windows":
		return []ScreenInfo{{Index: 0, Name: "main display", Primary: true}}, nil
	}
	return nil, fmt.Errorf("%w: screen capture needs Linux (X11) with cgo, macOS or Windows", ErrNoDisplay)
}

// ListWindows is not implemented here: on Windows window:TITLE still works
// (gdigrab finds the window by its title); macOS cannot capture one window.
func ListWindows() ([]WindowInfo, error) {
	return nil, fmt.Errorf("%w: listing windows is implemented for Linux (X11) only", ErrNoDisplay)
}
