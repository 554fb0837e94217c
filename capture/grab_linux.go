//go:build linux && cgo

package capture

import (
	"fmt"
	"strconv"
)

// grabFor is what x11grab opens for sp (a screen or window spec) at fps:
// the X display at $DISPLAY; a screen is a RandR monitor's area of the
// root window (X11 and XWayland), a window is found by its title.
func grabFor(sp Spec, fps int) (grabInput, error) {
	display, err := displayName()
	if err != nil {
		return grabInput{}, err
	}
	g := sp.Grab
	opts := grabOptions(g, fps, "draw_mouse")
	in := grabInput{format: "x11grab", url: display, opts: opts}
	var x, y, w, h int // the area in the root's (or the window's) pixels
	switch sp.Kind {
	case KindScreen:
		screens, err := ListScreens()
		if err != nil {
			return grabInput{}, err
		}
		i := max(sp.Index, 0)
		if sp.Index < 0 {
			for _, s := range screens {
				if s.Primary {
					i = s.Index
					break
				}
			}
		}
		if i >= len(screens) {
			return grabInput{}, fmt.Errorf("%w: no screen %d on %s (%d screens)", ErrNoScreen, i, display, len(screens))
		}
		s := screens[i]
		x, y, w, h = s.X, s.Y, s.Width, s.Height
		in.what = s.String()
	case KindWindow:
		ws, err := ListWindows()
		if err != nil {
			return grabInput{}, err
		}
		win, err := FindWindow(ws, sp.Name)
		if err != nil {
			return grabInput{}, err
		}
		opts["window_id"] = strconv.FormatUint(win.ID, 10)
		w, h = win.Width, win.Height
		in.what = fmt.Sprintf("window %q", win.Title)
	default:
		return grabInput{}, fmt.Errorf("%w: %q is not a screen or window", ErrBadSpec, sp.String())
	}
	if g.W > 0 {
		if g.X+g.W > w || g.Y+g.H > h {
			return grabInput{}, fmt.Errorf("%w: region %dx%d at %d,%d is outside %s (%dx%d)", ErrNoScreen, g.W, g.H, g.X, g.Y, in.what, w, h)
		}
		x, y, w, h = x+g.X, y+g.Y, g.W, g.H
		in.what += fmt.Sprintf(", region %dx%d at %d,%d", g.W, g.H, g.X, g.Y)
	}
	opts["grab_x"], opts["grab_y"] = strconv.Itoa(x), strconv.Itoa(y)
	opts["video_size"] = fmt.Sprintf("%dx%d", w, h)
	return in, nil
}
