//go:build darwin

package capture

import "fmt"

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
	opts := grabOptions(sp.Grab, fps, "capture_cursor")
	opts["pixel_format"] = "bgr0"
	n := max(sp.Index, 0)
	return grabInput{format: "avfoundation", url: fmt.Sprintf("Capture screen %d:none", n), opts: opts,
		what: fmt.Sprintf("screen %d", n)}, nil
}
