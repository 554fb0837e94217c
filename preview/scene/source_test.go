package scene

import (
	"fmt"
	"image"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/capture"
	"golive/media"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// chanSource is a VideoSource the test feeds by hand: Send blocks until
// the scene's forwarder took the frame.
type chanSource struct {
	ch     chan *media.VideoFrame
	once   sync.Once
	closed chan struct{}
}

func newChanSource() *chanSource {
	return &chanSource{ch: make(chan *media.VideoFrame), closed: make(chan struct{})}
}

func (c *chanSource) Initialize() error                { return nil }
func (c *chanSource) Frames() <-chan *media.VideoFrame { return c.ch }
func (c *chanSource) Stats() capture.SourceStats       { return capture.SourceStats{Device: "chan"} }
func (c *chanSource) Close()                           { c.once.Do(func() { close(c.closed); close(c.ch) }) }
func (c *chanSource) isClosed() bool {
	select {
	case <-c.closed:
		return true
	default:
		return false
	}
}
func (c *chanSource) send(t *testing.T, f *media.VideoFrame) {
	t.Helper()
	select {
	case c.ch <- f:
	case <-time.After(10 * time.Second):
		t.Fatal("the scene did not take the frame")
	}
}

// rig is a Source over a hand-ticked test pattern and hand-fed sources.
type rig struct {
	t      *testing.T
	src    *Source
	clock  *capture.ManualClock
	ticker *capture.ManualTicker
	mu     sync.Mutex
	chans  map[string]*chanSource
	opened []string
	n      int64 // frames ticked
}

const rigW, rigH, rigFPS = 320, 180, 30

func newRig(t *testing.T, sc Scene) (*rig, error) {
	r := &rig{t: t, clock: &capture.ManualClock{}, ticker: capture.NewManualTicker(), chans: map[string]*chanSource{}}
	r.src = &Source{Scene: sc, Options: capture.Options{Width: rigW, Height: rigH, FPS: rigFPS, Clock: r.clock}, Logger: quiet, Open: r.open}
	err := r.src.Initialize()
	if err == nil {
		t.Cleanup(r.src.Close)
	}
	return r, err
}

// open makes "test" a test pattern on the rig's clock and anything else a
// chanSource of that name.
func (r *rig) open(spec string, w, h int) (capture.VideoSource, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.opened = append(r.opened, fmt.Sprintf("%s %dx%d", spec, w, h))
	if spec == "camera:9" {
		return nil, capture.ErrNoCamera
	}
	if spec == "test" {
		p := &capture.TestPattern{Width: w, Height: h, FPS: rigFPS, Clock: r.clock, Ticker: r.ticker.Factory(), Logger: quiet}
		return p, p.Initialize()
	}
	c := newChanSource()
	r.chans[spec] = c
	return c, nil
}

func (r *rig) chanOf(spec string) *chanSource {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.chans[spec]
}

// next ticks the test pattern one frame on and returns the composed frame.
func (r *rig) next() *media.VideoFrame {
	r.t.Helper()
	r.n++
	r.clock.Set(time.Duration(r.n) * time.Second / rigFPS) // exactly frame n's due time
	done := make(chan struct{})
	go func() { r.ticker.Tick(done) }()
	defer close(done)
	return r.recv()
}

func (r *rig) recv() *media.VideoFrame {
	r.t.Helper()
	select {
	case f, ok := <-r.src.Frames():
		require.True(r.t, ok, "frames closed")
		return f
	case <-time.After(10 * time.Second):
		r.t.Fatal("no composed frame")
	}
	return nil
}

func TestSourceLive(t *testing.T) {
	sc := Scene{Layers: []Layer{
		{Type: TypeCamera, ID: "pip", Source: "camera:1", Corner: TopLeft, Size: 0.25, Border: 2},
		{Type: TypeText, ID: "name", Text: "Jane", Corner: BottomLeft},
	}}
	r, err := newRig(t, sc)
	require.NoError(t, err)
	require.Equal(t, []string{"test 320x180", "camera:1 80x44"}, r.opened)
	pl := r.src.Plan().Layers[0]
	require.Equal(t, image.Rect(4, 4, 88, 52), pl.Rect)

	// A picture of the layer's size is drawn as it is. (A send returns
	// once the previous one was taken in, so each picture goes twice.)
	pip := r.chanOf("camera:1")
	pip.send(t, grey(80, 44, 201))
	pip.send(t, grey(80, 44, 201))
	f := r.next()
	near(t, [3]byte{201, 128, 128}, at(f, pl.Inner.Min.X+5, pl.Inner.Min.Y+5), 0, "picture in picture")
	near(t, [3]byte{235, 128, 128}, at(f, pl.Rect.Min.X, pl.Rect.Min.Y), 1, "white border")
	require.Equal(t, uint64(1), r.src.Stats().Sent)

	// Another size is scaled to the layer.
	pip.send(t, grey(640, 360, 90))
	pip.send(t, grey(640, 360, 90))
	f = r.next()
	near(t, [3]byte{90, 128, 128}, at(f, pl.Inner.Min.X+40, pl.Inner.Min.Y+22), 0, "scaled picture")

	// Hidden: the pattern shows through, the source stays open.
	sc.Layers[0].Hidden = true
	require.NoError(t, r.src.SetScene(sc))
	f = r.next()
	require.NotEqual(t, byte(90), at(f, pl.Inner.Min.X+40, pl.Inner.Min.Y+22)[0])
	require.False(t, pip.isClosed())
	require.True(t, r.src.CurrentScene().Layers[0].Hidden)

	// Shown again, moved: the last picture, at the new place.
	sc.Layers[0].Hidden = false
	sc.Layers[0].Corner = BottomRight
	require.NoError(t, r.src.SetScene(sc))
	moved := r.src.Plan().Layers[0]
	require.NotEqual(t, pl.Rect, moved.Rect)
	f = r.next()
	near(t, [3]byte{90, 128, 128}, at(f, moved.Inner.Min.X+40, moved.Inner.Min.Y+22), 0, "moved picture")

	// A scene that cannot be used changes nothing.
	bad := sc.Clone()
	bad.Layers = append(bad.Layers, Layer{Type: TypeImage, Path: "/nonexistent/logo.png"})
	require.ErrorIs(t, r.src.SetScene(bad), ErrBadScene)
	bad = sc.Clone()
	bad.Layers[0].Source = "camera:9"
	err = r.src.SetScene(bad)
	require.ErrorIs(t, err, capture.ErrNoCamera)
	require.Len(t, r.src.CurrentScene().Layers, 2)
	require.False(t, pip.isClosed())

	// The layer removed: its source is closed.
	sc.Layers = sc.Layers[1:]
	require.NoError(t, r.src.SetScene(sc))
	require.True(t, pip.isClosed())

	// The main source switched: the new one's frames come out; frames
	// that do not move time forward are refused.
	sc.Source = "camera:2"
	require.NoError(t, r.src.SetScene(sc))
	main := r.chanOf("camera:2")
	g := grey(rigW, rigH, 60)
	g.PTS = time.Hour
	main.send(t, g)
	f = r.recv()
	require.Equal(t, time.Hour, f.PTS)
	near(t, [3]byte{60, 128, 128}, at(f, 200, 10), 0, "new main source")
	old := grey(rigW, rigH, 61)
	old.PTS = time.Minute
	main.send(t, old)
	main.send(t, grey(rigW, rigH, 62)) // PTS 0: refused too
	g = grey(rigW, rigH, 63)
	g.PTS = 2 * time.Hour
	main.send(t, g)
	require.Equal(t, 2*time.Hour, r.recv().PTS)
	require.Equal(t, uint64(2), r.src.Stats().Bad)
	require.Equal(t, "chan", r.src.Stats().Device)

	// The same spec as main and as a camera layer is refused.
	sc.Layers = append(sc.Layers, Layer{Type: TypeCamera, Source: "camera:2"})
	require.ErrorContains(t, r.src.SetScene(sc), "is the main source already")

	r.src.Close()
	r.src.Close()
	require.True(t, main.isClosed())
	_, ok := <-r.src.Frames()
	require.False(t, ok)
	require.ErrorIs(t, r.src.SetScene(sc), ErrClosed)
	require.Equal(t, capture.StateClosed, r.src.Stats().State)
}

func TestSourceInitializeFails(t *testing.T) {
	r, err := newRig(t, Scene{Layers: []Layer{{Type: TypeCamera, Source: "camera:9"}}})
	require.ErrorIs(t, err, capture.ErrNoCamera)
	require.ErrorContains(t, err, `layer 1 (camera): source "camera:9"`)
	// The main source it opened first is closed again: its ticker is not read.
	done := make(chan struct{})
	close(done)
	require.False(t, r.ticker.Tick(done))
	_, err = newRig(t, Scene{Source: "camera:9"})
	require.ErrorContains(t, err, `main source "camera:9"`)
}
