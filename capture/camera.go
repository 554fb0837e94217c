package capture

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"time"

	"golive/media"
)

// ErrNoCamera is returned by Camera.Initialize (and by the default
// opener) when the asked camera does not exist or cannot be opened.
var ErrNoCamera = errors.New("capture: no such camera")

// CameraDevice is an opened camera as Camera sees it. The default one wraps
// a pion/mediadevices driver; tests pass their own through Camera.Opener.
type CameraDevice interface {
	// Read blocks until the next picture. release, when not nil, is called
	// once the picture has been converted. An error means the device is
	// gone (or stalled for good).
	Read() (img image.Image, release func(), err error)
	// Close releases the device; it also unblocks a Read in progress.
	Close() error
}

// FrameDevice is a CameraDevice that converts its pictures itself: Camera
// reads frames of exactly its Width×Height from ReadFrame instead of
// pictures from Read (which it then never calls). An error means the device
// is gone.
type FrameDevice interface {
	CameraDevice
	ReadFrame() (*media.VideoFrame, error)
}

// CameraMode is one picture size, rate and pixel format a camera offers.
type CameraMode struct {
	Width, Height int
	// FPS is the nominal frame rate, 0 when the device does not say.
	FPS float64
	// Format is the device's pixel format (frames arrive converted).
	Format PixelFormat
}

// Camera is a VideoSource reading a camera. Frames are converted to
// YUV420P at Width×Height (a camera mode of another size is scaled to fit,
// keeping its aspect ratio with black bars) and stamped with the capture
// clock's time when they arrive, so a camera whose rate wanders is
// timestamped, not counted; a camera faster than FPS is thinned to FPS
// (counted in Skipped). Frames of the wrong size, empty ones, and ones
// whose timestamp does not move forward are dropped and counted as Bad.
//
// When the device fails or stalls, Camera keeps the stream alive with a
// "CAMERA LOST" slate at FPS (State Lost, counted in Slate and Losses) and
// tries to reopen it every RetryInterval; when it returns, real frames
// resume.
type Camera struct {
	// DeviceID selects the camera by its ID from ListCameras; it wins over
	// Index. (Select by ID: mediadevices' test drivers join the same
	// best-fit selection as real cameras.)
	DeviceID string
	// Index selects the camera by its position in ListCameras when
	// DeviceID is empty.
	Index int
	// Width and Height are the size of the frames sent (even numbers);
	// the camera mode closest to it is opened and scaled if it differs.
	// Default 1280×720.
	Width, Height int
	// FPS is the asked frame rate and the slate's rate; default 30.
	FPS int
	// Clock is the capture clock; default NewClock().
	Clock Clock
	// Ticker makes the ticker that paces the slate and the stall and retry
	// checks; default NewTicker.
	Ticker func(d time.Duration) Ticker
	// StallTimeout is how long without a frame counts as a lost device;
	// default 2 s.
	StallTimeout time.Duration
	// RetryInterval is how often a lost device is reopened; default 1 s.
	RetryInterval time.Duration
	// Epoch is the wall-clock time of the clock's zero, for the slate's
	// burned-in time; default as in TestPattern.
	Epoch time.Time
	// Buffer is the capacity of the Frames channel; default 2.
	Buffer int
	// Opener opens the device; retry is true for reopening after a loss.
	// Default: the mediadevices camera chosen by DeviceID/Index, in the
	// mode closest to Width×Height@FPS.
	Opener func(retry bool) (CameraDevice, CameraMode, error)
	// Logger receives the source's log; default slog.Default().
	Logger *slog.Logger
	// Kind names the source in logs and errors; default "camera" (Screen
	// sets "screen").
	Kind string
	// LostText is the slate's message; default "CAMERA LOST".
	LostText string

	mode  CameraMode
	label string
	slate *slate
	grid  grid
	out   chan *media.VideoFrame
	stats counters
	ctx   context.Context
	lifecycle
	first CameraDevice
}

// Initialize opens the camera (failing with ErrNoCamera when it cannot)
// and starts the source's goroutines.
func (c *Camera) Initialize() error {
	if c.Kind == "" {
		c.Kind = "camera"
	}
	if c.LostText == "" {
		c.LostText = "CAMERA LOST"
	}
	if err := videoDefaults(c.Kind, &c.Width, &c.Height, &c.FPS, &c.Clock, &c.Ticker); err != nil {
		return err
	}
	if c.StallTimeout <= 0 {
		c.StallTimeout = 2 * time.Second
	}
	if c.RetryInterval <= 0 {
		c.RetryInterval = time.Second
	}
	if c.Epoch.IsZero() {
		c.Epoch = epochOf(c.Clock)
	}
	if c.Buffer <= 0 {
		c.Buffer = 2
	}
	if c.Logger == nil {
		c.Logger = slog.Default().With("stage", "capture")
	}
	c.Logger = c.Logger.With("source", c.Kind)
	if c.Opener == nil {
		md := &mdCamera{id: c.DeviceID, index: c.Index, w: c.Width, h: c.Height, fps: c.FPS}
		c.Opener = md.open
		defer func() { c.label = md.label }()
	}
	dev, mode, err := c.Opener(false)
	if err != nil {
		return fmt.Errorf("%s: open: %w", c.Kind, err)
	}
	if mode.Width <= 0 || mode.Height <= 0 {
		_ = dev.Close()
		return fmt.Errorf("%s: %w: device mode %dx%d", c.Kind, ErrNoCamera, mode.Width, mode.Height)
	}
	c.mode, c.first = mode, dev
	c.grid = newGrid(uint64(time.Second), uint64(c.FPS))
	c.slate = newSlate(c.Width, c.Height, c.LostText, c.Epoch)
	c.out = make(chan *media.VideoFrame, c.Buffer)
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.stats.setState(StateRunning)
	c.Logger.Info(c.Kind+" open", "width", mode.Width, "height", mode.Height, "fps", mode.FPS, "format", mode.Format)
	c.wg.Add(1)
	go c.run()
	return nil
}

// Mode returns the mode the camera was opened in by Initialize.
func (c *Camera) Mode() CameraMode { return c.mode }

// Frames returns the channel of frames; it is closed after Close.
func (c *Camera) Frames() <-chan *media.VideoFrame { return c.out }

// Close stops the source, closes the device and waits for the source's
// goroutines; it is idempotent.
func (c *Camera) Close() {
	c.lifecycle.close(&c.stats)
}

// Stats returns a snapshot of the source's counters.
func (c *Camera) Stats() SourceStats {
	name := c.label
	if name == "" {
		name = "camera"
	}
	return c.stats.snapshot(name)
}

// camFrame is what a deviceReader hands the owner.
type camFrame struct {
	f   *media.VideoFrame
	err error
}

// deviceReader is one opened device and its reader goroutine.
type deviceReader struct {
	dev    CameraDevice
	frames chan camFrame
	cancel context.CancelFunc
	done   chan struct{}
}

// startReader starts reading dev in a helper goroutine that converts
// each picture (so the device may reuse its buffers on the next Read) and
// stamps it with the clock's time on arrival.
func (c *Camera) startReader(dev CameraDevice, mode CameraMode) *deviceReader {
	ctx, cancel := context.WithCancel(c.ctx)
	s := &deviceReader{dev: dev, frames: make(chan camFrame), cancel: cancel, done: make(chan struct{})}
	var scaler *Scaler
	var tmp *media.VideoFrame
	if mode.Width != c.Width || mode.Height != c.Height {
		scaler = NewScaler(mode.Width, mode.Height, c.Width, c.Height)
		tmp = media.NewVideoFrame(mode.Width, mode.Height)
	}
	fr, direct := dev.(FrameDevice)
	go func() {
		defer close(s.done)
		for {
			if direct { // the device converts: its frames are ready
				f, err := fr.ReadFrame()
				if err == nil && (f == nil || f.Width != c.Width || f.Height != c.Height || f.Validate() != nil) {
					c.stats.bad.Add(1)
					continue
				}
				if f != nil {
					f.PTS = c.Clock.Now()
				}
				select {
				case s.frames <- camFrame{f: f, err: err}:
				case <-ctx.Done():
					return
				}
				if err != nil {
					return
				}
				continue
			}
			img, release, err := dev.Read()
			pts := c.Clock.Now()
			var r camFrame
			if err != nil {
				r.err = err
			} else {
				f := media.NewVideoFrame(c.Width, c.Height)
				conv := f
				if scaler != nil {
					conv = tmp
				}
				if cerr := ConvertImage(conv, img); cerr != nil {
					c.stats.bad.Add(1)
				} else {
					if mode.Format == FormatMJPEG {
						FullToLimitedRange(conv)
					}
					if scaler != nil {
						scaler.Scale(f, tmp)
					}
					f.PTS = pts
					r.f = f
				}
			}
			if release != nil {
				release()
			}
			if r.f == nil && r.err == nil {
				continue
			}
			select {
			case s.frames <- r:
			case <-ctx.Done():
				return
			}
			if r.err != nil {
				return
			}
		}
	}()
	return s
}

// stopReader ends a deviceReader without blocking the owner: the reader is
// told to stop and given a short grace to return from its Read by itself
// (some drivers never return from a Read once closed), then the device is
// closed, which unblocks real cameras. The returned channel is closed once
// the device is closed; Close waits for it (at most about 5 s).
func (c *Camera) stopReader(s *deviceReader) <-chan struct{} {
	s.cancel()
	closed := make(chan struct{})
	grace := max(3*c.grid.at(1), 200*time.Millisecond)
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer close(closed)
		select {
		case <-s.done:
			_ = s.dev.Close()
			return
		case <-time.After(grace):
		}
		_ = s.dev.Close()
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			c.Logger.Warn(c.Kind + " reader did not stop after close; leaving it")
		}
	}()
	return closed
}

type openResult struct {
	dev  CameraDevice
	mode CameraMode
	err  error
}

// run is the owner goroutine: it forwards frames while the device works
// and sends the slate while it is lost.
func (c *Camera) run() {
	defer c.wg.Done()
	defer close(c.out)
	rd := c.startReader(c.first, c.mode)
	c.first = nil
	var opening bool
	openDone := make(chan openResult, 1)
	var closing <-chan struct{} // an ended reader's device still closing
	defer func() {
		if rd != nil {
			c.stopReader(rd)
		}
		if opening { // a reopen is in flight: wait for it and close what it opened
			if r := <-openDone; r.err == nil {
				_ = r.dev.Close()
			}
		}
	}()
	period := c.grid.at(1)
	tk := c.Ticker(period)
	defer func() { tk.Stop() }()
	var (
		lastPTS    time.Duration = -1
		lastFrame                = c.Clock.Now()
		nextSlate  int64
		nextRetry  time.Duration
		tokens     = 1.0
		tokenAt    = time.Duration(-1)
		frames     <-chan camFrame
		badReports uint64
	)
	if rd != nil {
		frames = rd.frames
	}
	send := func(f *media.VideoFrame, slate bool) {
		if f.PTS <= lastPTS {
			c.stats.bad.Add(1) // timestamp did not move forward
			return
		}
		if offer(&c.stats, c.ctx.Done(), c.out, f, f.PTS, slate) {
			lastPTS = f.PTS
		}
	}
	lose := func(why error) {
		c.Logger.Warn(c.Kind+" lost; sending slate", "err", why)
		closing = c.stopReader(rd)
		rd, frames = nil, nil
		c.stats.losses.Add(1)
		c.stats.setState(StateLost)
		now := c.Clock.Now()
		nextSlate = max(c.grid.ceil(now), c.grid.index(lastPTS)+1)
		nextRetry = now + c.RetryInterval
	}
	for {
		select {
		case <-c.ctx.Done():
			return
		case r := <-frames:
			if r.err != nil {
				lose(r.err)
				continue
			}
			lastFrame = c.Clock.Now()
			// Rate cap: a token bucket at FPS holding up to two frames lets a
			// jittery camera through but halves a 60 fps one at 30.
			if r.f.PTS <= lastPTS {
				c.stats.bad.Add(1) // timestamp did not move forward
				continue
			}
			if tokenAt >= 0 {
				tokens = min(tokens+float64(r.f.PTS-tokenAt)*float64(c.FPS)/float64(time.Second), 2)
			}
			tokenAt = r.f.PTS
			if tokens < 1 {
				c.stats.skipped.Add(1)
				continue
			}
			tokens--
			send(r.f, false)
		case <-tk.C():
			now := c.Clock.Now()
			if b := c.stats.bad.Load(); b != badReports {
				c.Logger.Debug("bad camera frames dropped", "total", b)
				badReports = b
			}
			if rd != nil {
				if now-lastFrame > c.StallTimeout {
					lose(fmt.Errorf("no frame for %v", now-lastFrame))
				} else {
					continue
				}
			}
			// Lost: slate on the frame grid, and a reopen now and then.
			if due := c.grid.index(now); due >= nextSlate {
				c.stats.skipped.Add(uint64(due - nextSlate))
				nextSlate = due + 1
				f := c.slate.render(due, c.grid.at(due))
				send(f, true)
			}
			if closing != nil {
				select {
				case <-closing:
					closing = nil
				default:
				}
			}
			if !opening && closing == nil && now >= nextRetry {
				opening = true
				c.wg.Add(1)
				go func() {
					defer c.wg.Done()
					dev, mode, err := c.Opener(true)
					openDone <- openResult{dev, mode, err}
				}()
			}
		case r := <-openDone:
			opening = false
			now := c.Clock.Now()
			nextRetry = now + c.RetryInterval
			if r.err == nil && (r.mode.Width <= 0 || r.mode.Height <= 0) {
				_ = r.dev.Close()
				r.err = fmt.Errorf("came back with mode %dx%d", r.mode.Width, r.mode.Height)
			}
			if r.err != nil {
				c.Logger.Debug(c.Kind+" reopen failed", "err", r.err)
				continue
			}
			if c.ctx.Err() != nil {
				_ = r.dev.Close()
				return
			}
			c.Logger.Info(c.Kind + " back")
			rd = c.startReader(r.dev, r.mode)
			frames = rd.frames
			lastFrame = now
			c.stats.setState(StateRunning)
		}
	}
}
