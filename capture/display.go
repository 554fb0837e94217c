package capture

import (
	"errors"
	"fmt"
	"strings"
)

// ErrNoDisplay is returned by ListScreens, ListWindows and the screen
// source when no display can be reached (no X server at $DISPLAY, or a
// platform without screen capture).
var ErrNoDisplay = errors.New("capture: no display")

// ErrNoScreen is returned by the screen source when the asked screen or
// window does not exist (or is gone).
var ErrNoScreen = errors.New("capture: no such screen or window")

// ScreenInfo describes one screen (a monitor) for `golive devices`, the
// app's picker and the screen source.
type ScreenInfo struct {
	// Index is the screen's position in the list ("screen:N").
	Index int
	// Name is the monitor's name ("DP-1", "screen").
	Name string
	// X, Y, Width and Height are its area on the desktop, in pixels.
	X, Y, Width, Height int
	// Primary is true for the main monitor.
	Primary bool
}

// WindowInfo describes one top-level window.
type WindowInfo struct {
	// ID is the platform's window handle (an X11 window ID).
	ID uint64
	// Title is the window's title ("window:TITLE").
	Title string
	// Width and Height are its size in pixels.
	Width, Height int
}

// String returns how pickers name the screen: "Screen 1 (DP-1, 1920x1080)",
// counting from 1 as people do.
func (s ScreenInfo) String() string {
	return fmt.Sprintf("Screen %d (%s, %dx%d)", s.Index+1, s.Name, s.Width, s.Height)
}

// FindWindow returns the window whose title is title, or else the only
// one whose title contains it (case-insensitive); ErrNoScreen when none or
// several match.
func FindWindow(ws []WindowInfo, title string) (WindowInfo, error) {
	var found []WindowInfo
	for _, w := range ws {
		if w.Title == title {
			return w, nil
		}
		if strings.Contains(strings.ToLower(w.Title), strings.ToLower(title)) {
			found = append(found, w)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return WindowInfo{}, fmt.Errorf("%w: no window titled %q (%d windows)", ErrNoScreen, title, len(ws))
	}
	names := make([]string, 0, 3)
	for _, w := range found[:min(3, len(found))] {
		names = append(names, fmt.Sprintf("%q", w.Title))
	}
	return WindowInfo{}, fmt.Errorf("%w: %d windows match %q (%s…); give more of the title", ErrNoScreen, len(found), title, strings.Join(names, ", "))
}
