package broadcast

import (
	"fmt"
	"net"
	"strconv"
	"strings"

	"golive/media"
	"golive/publisher"
)

// ParseSize parses a frame size such as "1280x720". Both sides must be even
// (YUV420P) and between 16 and 7680.
func ParseSize(s string) (width, height int, err error) {
	ws, hs, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "x")
	if !ok {
		return 0, 0, fmt.Errorf("%w: size %q: want WIDTHxHEIGHT, e.g. 1280x720", media.ErrBadOption, s)
	}
	width, err1 := strconv.Atoi(ws)
	height, err2 := strconv.Atoi(hs)
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("%w: size %q: want WIDTHxHEIGHT, e.g. 1280x720", media.ErrBadOption, s)
	}
	for _, v := range []int{width, height} {
		if v < 16 || v > 7680 || v%2 != 0 {
			return 0, 0, fmt.Errorf("%w: size %q: each side must be even and between 16 and 7680", media.ErrBadOption, s)
		}
	}
	return width, height, nil
}

// ParseFPS parses a whole frame rate between 1 and 120.
func ParseFPS(s string) (int, error) {
	fps, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || fps < 1 || fps > 120 {
		return 0, fmt.Errorf("%w: fps %q: want a whole number from 1 to 120", media.ErrBadOption, s)
	}
	return fps, nil
}

// ParseDestination checks a publish URL (see publisher.ParseURL): rtmp://
// or rtmps:// with a host, an application and a stream key, or an http(s)
// WHIP endpoint whose user part is the bearer token.
func ParseDestination(s string) (publisher.Target, error) {
	t, err := publisher.ParseURL(s)
	if err != nil {
		return t, fmt.Errorf("%w: destination %s: %w", media.ErrBadOption, MaskURL(s), err)
	}
	_, port, _ := net.SplitHostPort(t.Addr)
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return t, fmt.Errorf("%w: destination %s: port %q out of range", media.ErrBadOption, t.Redacted(), port)
	}
	return t, nil
}

// MaskURL hides the stream key of a publish URL so that it can be logged
// or shown.
func MaskURL(s string) string {
	t, err := publisher.ParseURL(s)
	if err != nil {
		return "<invalid URL>"
	}
	return t.Redacted()
}
