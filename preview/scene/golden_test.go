package scene

import (
	"flag"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "github.com/pion/mediadevices/pkg/driver/videotest" // registers the "VideoTest" camera
	"github.com/stretchr/testify/require"

	"golive/capture"
	"golive/media"
	"golive/preview"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden images in testdata")

// gate forwards the first n frames of a source, then holds the rest back;
// passed is closed once the n-th frame was taken by the scene (so the
// frame before it is in the scene's hands).
type gate struct {
	capture.VideoSource
	n      int
	out    chan *media.VideoFrame
	passed chan struct{}
	stop   chan struct{}
	done   chan struct{}
	once   sync.Once
}

func newGate(src capture.VideoSource, n int) *gate {
	g := &gate{VideoSource: src, n: n, out: make(chan *media.VideoFrame), passed: make(chan struct{}),
		stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(g.done)
		defer close(g.out)
		sent := 0
		for f := range src.Frames() {
			if sent == g.n {
				continue
			}
			select {
			case g.out <- f:
			case <-g.stop:
				return
			}
			if sent++; sent == g.n {
				close(g.passed)
			}
		}
	}()
	return g
}

func (g *gate) Frames() <-chan *media.VideoFrame { return g.out }
func (g *gate) Close() {
	g.once.Do(func() { close(g.stop); g.VideoSource.Close(); <-g.done })
}

// TestGoldenScene composes the test pattern at a fixed time with a
// picture-in-picture of mediadevices' test camera, a PNG with alpha and a
// lower third, and compares the picture with testdata/scene_golden.png.
func TestGoldenScene(t *testing.T) {
	camID := ""
	for _, c := range capture.ListCameras() {
		if c.Label == "VideoTest" {
			camID = c.ID
		}
	}
	require.NotEmpty(t, camID, "mediadevices' VideoTest camera is not listed")
	const w, h = 640, 360
	clock := &capture.ManualClock{}
	clock.Set(2 * time.Second) // frame 60
	ticker := capture.NewManualTicker()
	epoch := time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)
	var pip *gate
	open := func(spec string, pw, ph int) (capture.VideoSource, error) {
		if spec == "test" {
			p := &capture.TestPattern{Width: pw, Height: ph, FPS: 30, Clock: clock, Ticker: ticker.Factory(), Epoch: epoch, Logger: quiet}
			return p, p.Initialize()
		}
		cam := &capture.Camera{DeviceID: camID, Width: pw, Height: ph, FPS: 30, Logger: quiet}
		if err := cam.Initialize(); err != nil {
			return nil, err
		}
		pip = newGate(cam, 2)
		return pip, nil
	}
	sc := Scene{Dir: "testdata", Layers: []Layer{
		{Type: TypeCamera, Source: "camera:0", Corner: BottomRight, Size: 0.3, Border: 4, BorderColor: "#f5a623"},
		{Type: TypeImage, Path: "logo.png", Corner: TopRight, Size: 0.2},
		{Type: TypeText, Text: "GoLive", Subtitle: "scene golden test", Corner: BottomLeft},
	}}
	src := &Source{Scene: sc, Options: capture.Options{Width: w, Height: h, FPS: 30, Clock: clock}, Open: open, Logger: quiet}
	require.NoError(t, src.Initialize())
	defer src.Close()
	select {
	case <-pip.passed:
	case <-time.After(20 * time.Second):
		t.Fatal("no picture from the test camera")
	}
	done := make(chan struct{})
	defer close(done)
	go ticker.Tick(done)
	var f *media.VideoFrame
	select {
	case f = <-src.Frames():
	case <-time.After(10 * time.Second):
		t.Fatal("no composed frame")
	}
	require.Equal(t, 2*time.Second, f.PTS)

	got := image.NewRGBA(image.Rect(0, 0, w, h))
	preview.NewScaler(w, h, w, h).Convert(got, f)
	path := filepath.Join("testdata", "scene_golden.png")
	if *updateGolden {
		writePNG(t, path, got)
		t.Logf("wrote %s", path)
		return
	}
	in, err := os.Open(path)
	require.NoError(t, err, "run with -update to make the golden image")
	defer in.Close()
	want, err := png.Decode(in)
	require.NoError(t, err)
	require.Equal(t, got.Bounds(), want.Bounds())
	// The test camera's corner of noise differs from frame to frame; all
	// else must match within rounding.
	var off int
	for y := range h {
		for x := range w {
			r1, g1, b1, _ := got.At(x, y).RGBA()
			r2, g2, b2, _ := want.At(x, y).RGBA()
			if absDiff(r1, r2) > 6<<8 || absDiff(g1, g2) > 6<<8 || absDiff(b1, b2) > 6<<8 {
				off++
			}
		}
	}
	if off > w*h/200 {
		dir := os.Getenv("GOLIVE_ARTIFACTS")
		if dir == "" {
			dir = os.TempDir()
		}
		bad := filepath.Join(dir, "scene_golden_got.png")
		writePNG(t, bad, got)
		t.Fatalf("%d of %d pixels differ from %s (got: %s)", off, w*h, path, bad)
	}
}

func absDiff(a, b uint32) uint32 {
	if a > b {
		return a - b
	}
	return b - a
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	out, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, png.Encode(out, img))
	require.NoError(t, out.Close())
}
