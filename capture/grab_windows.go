//go:build windows

package capture

import (
	"fmt"
	"strconv"
)

// grabFor is what gdigrab opens for sp at fps: "desktop" (all screens;
// screen:N is not told apart) or "title=TITLE" for a window, with a region
// through offset_x/offset_y/video_size. Not tested here: GoLive's CI runs
// on Linux.
func grabFor(sp Spec, fps int) (grabInput, error) {
	g := sp.Grab
	opts := grabOptions(g, fps, "draw_mouse")
	in := grabInput{format: "gdigrab", url: "desktop", opts: opts, what: "the desktop"}
	if sp.Kind == KindWindow {
		in.url, in.what = "title="+sp.Name, fmt.Sprintf("window %q", sp.Name)
	}
	if g.W > 0 {
		opts["offset_x"], opts["offset_y"] = strconv.Itoa(g.X), strconv.Itoa(g.Y)
		opts["video_size"] = fmt.Sprintf("%dx%d", g.W, g.H)
	}
	return in, nil
}
