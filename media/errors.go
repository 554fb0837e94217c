package media

import "errors"

// ErrBadFrame is returned by VideoFrame.Validate and AudioFrame.Validate
// when a frame's size, format or buffers are inconsistent.
var ErrBadFrame = errors.New("bad frame")
