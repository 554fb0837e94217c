//go:build darwin

package capture

import (
	"fmt"
	"strconv"
)

// grabFor is what avfoundation opens for sp at fps: screen N is
// "Capture screen N" (the URL names it, no audio). A region or one window
// cannot be captured through avfoundation. Not tested here: GoLive's CI
// runs on Linux.
func grabFor(sp Spec, fps int) (grabInput, error) {
	if sp.Kind != KindScreen {
		return grabInput{}, fmt.Errorf("%w: macOS captures whole screens only (avfoundation)", ErrBadSpec)
	}
	if sp.Grab.W > 0 {
		return grabInput{}, fmt.Errorf("%w: macOS captures whole screens only (no region)", ErrBadSpec)
	}
	if sp.Grab.FPS > 0 {
		fps = sp.Grab.FPS
	}
	cursor := "1"
	if sp.Grab.HideCursor {
		cursor = "0"
	}
	n := max(sp.Index, 0)
	return grabInput{format: "avfoundation", url: fmt.Sprintf("Capture screen %d:none", n),
		opts: map[string]string{"framerate": strconv.Itoa(fps), "capture_cursor": cursor, "pixel_format": "bgr0"},
		what: fmt.Sprintf("screen %d", n)}, nil
}
