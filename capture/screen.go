package capture

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golive/media"
)

// Screen is a VideoSource capturing a whole screen, a region of it, or one
// window, through FFmpeg's capture devices: x11grab on Linux (X11 and
// XWayland), avfoundation on macOS, gdigrab on Windows. Pictures are
// converted to YUV420P at Width×Height by libswscale, fitted with black
// bars when the aspect ratio differs, and stamped with the capture clock
// on arrival.
//
// A screen or window that does not exist fails Initialize (ErrNoScreen,
// ErrNoDisplay). One that goes away while capturing — a window closed, a
// monitor unplugged, the X server gone — is replaced by a "SCREEN LOST"
// (or "WINDOW LOST") slate, and capture resumes by itself once it is back
// (a window is found again by its title). The loss and retry logic is
// Camera's.
type Screen struct {
	// Spec names the screen ("screen", "screen:N") or the window
	// ("window:TITLE"), with its region, cursor and rate (see Grab).
	Spec Spec
	// Width and Height are the frames' size; default 1280×720.
	Width, Height int
	// FPS is the frame rate; default 30 (Spec.Grab.FPS, when set, is the
	// rate asked of the device).
	FPS int
	// Clock is the capture clock; default NewClock().
	Clock Clock
	// Ticker paces the slate and the retries; default NewTicker.
	Ticker func(d time.Duration) Ticker
	// RetryInterval is how often a lost screen or window is looked for;
	// default 1 s.
	RetryInterval time.Duration
	// Epoch is the wall-clock time of the clock's zero, for the slate.
	Epoch time.Time
	// Buffer is the capacity of the Frames channel; default 2.
	Buffer int
	// Logger receives the source's log; default slog.Default().
	Logger *slog.Logger

	cam  Camera
	mu   sync.Mutex
	what string
}

// Initialize finds the screen or window, opens the device and starts
// capturing.
func (s *Screen) Initialize() error {
	if s.Spec.Kind != KindScreen && s.Spec.Kind != KindWindow {
		return fmt.Errorf("screen: %w: %q is not a screen or window", ErrBadSpec, s.Spec.String())
	}
	if err := videoDefaults("screen", &s.Width, &s.Height, &s.FPS, &s.Clock, &s.Ticker); err != nil {
		return err
	}
	lost := "SCREEN LOST"
	if s.Spec.Kind == KindWindow {
		lost = "WINDOW LOST"
	}
	s.cam = Camera{Width: s.Width, Height: s.Height, FPS: s.FPS, Clock: s.Clock, Ticker: s.Ticker,
		RetryInterval: s.RetryInterval, Epoch: s.Epoch, Buffer: s.Buffer, Logger: s.Logger,
		Kind: string(s.Spec.Kind), LostText: lost, Opener: s.open}
	return s.cam.Initialize()
}

// open opens the device for Camera (again after a loss when retry).
func (s *Screen) open(retry bool) (CameraDevice, CameraMode, error) {
	fps := s.FPS
	in, err := grabFor(s.Spec, fps)
	if err != nil {
		return nil, CameraMode{}, err
	}
	dev, err := openGrab(in, s.Width, s.Height)
	if err != nil {
		return nil, CameraMode{}, err
	}
	s.mu.Lock()
	s.what = in.what
	s.mu.Unlock()
	return dev, CameraMode{Width: s.Width, Height: s.Height, FPS: float64(fps), Format: FormatI420}, nil
}

// Frames returns the channel of frames; it is closed after Close.
func (s *Screen) Frames() <-chan *media.VideoFrame { return s.cam.Frames() }

// Close stops capturing and releases the device; it is idempotent.
func (s *Screen) Close() { s.cam.Close() }

// Stats returns a snapshot of the source's counters; Device names the
// screen or window.
func (s *Screen) Stats() SourceStats {
	st := s.cam.stats.snapshot(s.Spec.String())
	s.mu.Lock()
	if s.what != "" {
		st.Device = s.what
	}
	s.mu.Unlock()
	return st
}
