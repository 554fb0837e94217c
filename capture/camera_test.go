package capture

import (
	"errors"
	"image"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/media"
)

// fakeCam is a CameraDevice fed by the test.
type fakeCam struct {
	imgs   chan image.Image
	timed  chan timedImage // images that set the clock as they are read
	errs   chan error
	closed chan struct{}
	once   sync.Once
}

func newFakeCam() *fakeCam {
	return &fakeCam{imgs: make(chan image.Image), timed: make(chan timedImage), errs: make(chan error), closed: make(chan struct{})}
}

func (f *fakeCam) Read() (image.Image, func(), error) {
	select {
	case img := <-f.imgs:
		return img, func() {}, nil
	case ti := <-f.timed:
		ti.clock.Set(ti.at) // before the reader stamps it: no race with the test
		return ti.img, func() {}, nil
	case err := <-f.errs:
		return nil, nil, err
	case <-f.closed:
		return nil, nil, io.EOF
	}
}

type timedImage struct {
	img   image.Image
	clock *ManualClock
	at    time.Duration
}

func (f *fakeCam) Close() error { f.once.Do(func() { close(f.closed) }); return nil }

func yuv422(w, h int, y byte) image.Image {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio422)
	for i := range m.Y {
		m.Y[i] = y
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = 128, 128
	}
	return m
}

func recvFrame(t *testing.T, ch <-chan *media.VideoFrame) *media.VideoFrame {
	t.Helper()
	select {
	case f, ok := <-ch:
		require.True(t, ok, "frames channel closed")
		require.NoError(t, f.Validate())
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame within 10 s")
		return nil
	}
}

func waitClosed(t *testing.T, f *fakeCam) {
	t.Helper()
	select {
	case <-f.closed:
	case <-time.After(10 * time.Second):
		t.Fatal("device not closed within 10 s")
	}
}

func TestCameraFramesLossAndReturn(t *testing.T) {
	leakCheck(t)
	clock, tick := &ManualClock{}, NewManualTicker()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	mode := CameraMode{Width: 160, Height: 120, FPS: 30, Format: FormatYUYV}
	first, second := newFakeCam(), newFakeCam()
	type call struct{ retry bool }
	calls := make(chan call, 4)
	attempt := 0
	cam := &Camera{
		Width: 160, Height: 120, FPS: 30, Clock: clock, Ticker: tick.Factory(), Epoch: testEpoch,
		Buffer: 8, Logger: quietLog, RetryInterval: time.Second, StallTimeout: 2 * time.Second,
		Opener: func(retry bool) (CameraDevice, CameraMode, error) {
			calls <- call{retry}
			attempt++
			switch attempt {
			case 1:
				return first, mode, nil
			case 2:
				return nil, CameraMode{}, errors.New("still unplugged")
			default:
				return second, mode, nil
			}
		},
	}
	require.NoError(t, cam.Initialize())
	t.Cleanup(cam.Close)
	require.Equal(t, call{false}, <-calls)
	require.Equal(t, mode, cam.Mode())

	// Frames are converted and stamped on arrival.
	clock.Set(100 * time.Millisecond)
	first.imgs <- yuv422(160, 120, 200)
	f := recvFrame(t, cam.Frames())
	require.Equal(t, 100*time.Millisecond, f.PTS)
	require.Equal(t, byte(200), f.Y[0])
	require.Equal(t, 160, f.Width)

	// Bad frames: wrong size, empty, timestamp going backwards.
	first.imgs <- yuv422(32, 32, 200)
	first.imgs <- image.NewYCbCr(image.Rectangle{}, image.YCbCrSubsampleRatio420)
	clock.Set(50 * time.Millisecond)
	first.imgs <- yuv422(160, 120, 201)
	// The reader stamps after Read returns: let the owner judge that frame
	// before the clock moves on.
	require.Eventually(t, func() bool { return cam.Stats().Bad == 3 }, 10*time.Second, time.Millisecond)
	clock.Set(150 * time.Millisecond)
	first.imgs <- yuv422(160, 120, 202)
	f = recvFrame(t, cam.Frames())
	require.Equal(t, 150*time.Millisecond, f.PTS)
	require.Equal(t, byte(202), f.Y[0])
	s := cam.Stats()
	require.Equal(t, uint64(3), s.Bad)
	require.Equal(t, uint64(2), s.Sent)
	require.Equal(t, StateRunning, s.State)

	// The device fails: it is closed and the slate takes over on the frame grid.
	first.errs <- errors.New("unplugged")
	waitClosed(t, first)
	clock.Set(200 * time.Millisecond)
	require.True(t, tick.Tick(done))
	f = recvFrame(t, cam.Frames())
	require.Equal(t, 200*time.Millisecond, f.PTS)
	st, err := ReadStamp(f)
	require.NoError(t, err)
	require.Equal(t, int64(6), st.Frame)
	require.Equal(t, "03:04:05.878", st.Wall)
	s = cam.Stats()
	require.Equal(t, StateLost, s.State)
	require.Equal(t, uint64(1), s.Losses)
	require.Equal(t, uint64(1), s.Slate)

	// Retries every RetryInterval: the first fails, the second brings it back.
	clock.Set(1200 * time.Millisecond)
	require.True(t, tick.Tick(done))
	require.Equal(t, call{true}, <-calls)
	require.Equal(t, 1200*time.Millisecond, recvFrame(t, cam.Frames()).PTS)
	clock.Set(1300 * time.Millisecond) // before the next retry: slate only
	require.True(t, tick.Tick(done))
	require.Equal(t, 1300*time.Millisecond, recvFrame(t, cam.Frames()).PTS)
	clock.Set(2300 * time.Millisecond)
	require.True(t, tick.Tick(done))
	require.Equal(t, call{true}, <-calls)
	require.Equal(t, 2300*time.Millisecond, recvFrame(t, cam.Frames()).PTS)
	clock.Set(2400 * time.Millisecond)
	second.imgs <- yuv422(160, 120, 99) // accepted once the owner started the new reader
	f = recvFrame(t, cam.Frames())
	require.Equal(t, 2400*time.Millisecond, f.PTS)
	require.Equal(t, byte(99), f.Y[0])
	s = cam.Stats()
	require.Equal(t, StateRunning, s.State)
	require.Equal(t, uint64(4), s.Slate)

	// A stall (no frame for StallTimeout) also counts as a loss.
	clock.Set(4500 * time.Millisecond)
	require.True(t, tick.Tick(done))
	waitClosed(t, second)
	f = recvFrame(t, cam.Frames())
	require.Equal(t, 4500*time.Millisecond, f.PTS)
	require.Equal(t, uint64(2), cam.Stats().Losses)
	require.Equal(t, StateLost, cam.Stats().State)

	cam.Close()
	cam.Close()
	for range cam.Frames() {
	}
	require.Equal(t, StateClosed, cam.Stats().State)
}

func TestCameraInitializeFails(t *testing.T) {
	leakCheck(t)
	cam := &Camera{Opener: func(bool) (CameraDevice, CameraMode, error) {
		return nil, CameraMode{}, ErrNoCamera
	}}
	require.ErrorIs(t, cam.Initialize(), ErrNoCamera)
	cam.Close()
	require.ErrorIs(t, (&Camera{FPS: -3}).Initialize(), ErrBadConfig)
	// The default opener with no camera at that index says so.
	require.ErrorIs(t, (&Camera{Index: 1000}).Initialize(), ErrNoCamera)
	require.ErrorIs(t, (&Camera{DeviceID: "no-such-id"}).Initialize(), ErrNoCamera)
}

func TestChooseMode(t *testing.T) {
	modes := []CameraMode{
		{640, 480, 30, FormatYUYV},
		{1280, 720, 10, FormatYUYV},
		{1280, 720, 30, FormatMJPEG},
		{1920, 1080, 30, FormatMJPEG},
		{320, 240, 0, FormatI420},
	}
	cases := []struct {
		w, h, fps, want int
	}{
		{1280, 720, 30, 2}, // right size and rate, MJPEG beats the slow raw mode
		{1280, 720, 10, 1}, // raw at the asked rate
		{640, 480, 30, 0},
		{1920, 1080, 30, 3},
		{2560, 1440, 30, 3}, // nothing bigger: the closest
		{160, 120, 30, 4},
	}
	for _, c := range cases {
		require.Equal(t, c.want, ChooseMode(modes, c.w, c.h, c.fps), "%dx%d@%d", c.w, c.h, c.fps)
	}
	require.Equal(t, -1, ChooseMode(nil, 1280, 720, 30))
}

var quietLog = slog.New(slog.DiscardHandler)

func TestCameraThinsFastCamera(t *testing.T) {
	leakCheck(t)
	clock := &ManualClock{}
	dev := newFakeCam()
	cam := &Camera{
		Width: 160, Height: 120, FPS: 30, Clock: clock, Ticker: NewManualTicker().Factory(), Logger: quietLog, Buffer: 128,
		Opener: func(bool) (CameraDevice, CameraMode, error) {
			return dev, CameraMode{Width: 160, Height: 120, FPS: 60, Format: FormatYUYV}, nil
		},
	}
	require.NoError(t, cam.Initialize())
	t.Cleanup(cam.Close)
	img := yuv422(160, 120, 50)
	// One second of a 60 fps camera with ±3 ms jitter.
	for k := 1; k <= 60; k++ {
		jitter := time.Duration(k%3-1) * 3 * time.Millisecond
		dev.timed <- timedImage{img, clock, time.Duration(k)*time.Second/60 + jitter}
	}
	dev.timed <- timedImage{img, clock, 2 * time.Second} // always passes: proves the rest were handled
	var pts []time.Duration
	for {
		f := recvFrame(t, cam.Frames())
		pts = append(pts, f.PTS)
		if f.PTS == 2*time.Second {
			break
		}
	}
	s := cam.Stats()
	require.InDelta(t, 31, len(pts), 2, "about 30 frames in the second, plus the last")
	require.Equal(t, uint64(61), s.Sent+s.Skipped)
	for i := 1; i < len(pts)-1; i++ {
		require.GreaterOrEqual(t, pts[i]-pts[i-1], 16*time.Millisecond)
	}
}
