package media

import "errors"

// ErrBadFrame is returned by VideoFrame.Validate and AudioFrame.Validate
// when a frame's size, format or buffers are inconsistent.
var ErrBadFrame = errors.New("bad frame")

// ErrBadOption is returned by the parsers of user settings that every
// command shares (bitrates here; sizes, rates, URLs and ladders in the
// packages that use them) for a value they cannot accept.
var ErrBadOption = errors.New("bad option")
