package encoder

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
)

// candidates returns the encoders Initialize tries, in order: the one
// named by Encoder, or for "auto" Candidates (default AutoOrder).
func (e *H264) candidates() []string {
	if e.Encoder != "auto" {
		return []string{e.Encoder}
	}
	if len(e.Candidates) > 0 {
		return e.Candidates
	}
	return AutoOrder(runtime.GOOS)
}

// openFirst opens the first of candidates that works, logging why the
// others failed. With several candidates a hardware one must first encode
// a frame at 256x144 (probeOne) before it is trusted.
func (e *H264) openFirst(candidates []string) error {
	var failures []string
	var lastErr error
	for _, name := range candidates {
		var err error
		if len(candidates) > 1 && encoderSettings(name, e).Hardware {
			// A hardware encoder may open and then fail on its first frame:
			// try a small instance through one frame before trusting it.
			err = probeOne(name, e.Logger)
		}
		if err == nil {
			if err = e.open(name); err != nil {
				err = withNeeds(name, e, err)
			}
		}
		if err == nil {
			e.log.Info("h264 encoder opened", "encoder", name, "hardware", e.set.Hardware,
				"size", fmt.Sprintf("%dx%d", e.Width, e.Height), "fps", e.FPS, "bitrate", e.Bitrate,
				"skipped", strings.Join(failures, "; "))
			return nil
		}
		lastErr = err
		failures = append(failures, fmt.Sprintf("%s: %v", name, err))
		if len(candidates) > 1 {
			e.log.Info("h264 encoder unavailable, trying next", "encoder", name, "err", err)
		}
	}
	if len(candidates) == 1 {
		return lastErr
	}
	return fmt.Errorf("%w: no candidate opened (%s)", ErrOpen, strings.Join(failures, "; "))
}

// withNeeds adds what a hardware encoder needs to its opening error.
func withNeeds(name string, e *H264, err error) error {
	if needs := encoderSettings(name, e).Needs; needs != "" && !errors.Is(err, ErrEncoderNotFound) {
		return fmt.Errorf("%w (needs %s)", err, needs)
	}
	return err
}
