package studio

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	_ "github.com/pion/mediadevices/pkg/driver/videotest" // registers the "VideoTest" camera
	"github.com/stretchr/testify/require"

	"golive/broadcast"
	"golive/capture"
	"golive/media"
	"golive/preview/scene"
)

func logoPath(t *testing.T) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "preview", "scene", "testdata", "logo.png")
}

func TestSceneModel(t *testing.T) {
	store := &memStore{}
	h := newStudio(t, store, false)
	sc := h.Scene()
	require.Len(t, sc.Layers, 1, "a new install has the chat layer")
	require.Equal(t, scene.TypeChat, sc.Layers[0].Type)
	require.True(t, sc.Layers[0].Hidden)
	require.False(t, h.Status().Overlay)

	sc, text := sc.Add(scene.Layer{Type: scene.TypeText, Text: "Jane Doe", Subtitle: "live"})
	sc, img := sc.Add(scene.Layer{Type: scene.TypeImage, Path: logoPath(t), Corner: scene.TopRight})
	require.NoError(t, h.SetScene(sc))
	p := h.ScenePlan()
	require.NotNil(t, p)
	require.Equal(t, 1280, p.Width)
	require.Equal(t, img, p.At(p.Layers[2].Rect.Min.X+10, p.Layers[2].Rect.Min.Y+10))

	// A scene that cannot be used is refused and changes nothing.
	bad, _ := sc.Add(scene.Layer{Type: scene.TypeImage, Path: "/nonexistent.png"})
	require.ErrorIs(t, h.SetScene(bad), scene.ErrBadScene)
	require.Len(t, h.Scene().Layers, 3)

	// The chat toggle shows the chat layer; a scene without one gets one.
	h.SetOverlay(true)
	require.True(t, h.Status().Overlay)
	require.False(t, h.Scene().Layers[0].Hidden)
	require.NoError(t, h.SetScene(h.Scene().Remove("chat")))
	require.False(t, h.Status().Overlay)
	h.SetOverlay(true)
	require.Equal(t, scene.TypeChat, h.Scene().Layers[2].Type)
	require.True(t, h.Status().Overlay)
	h.Close()

	h2 := newStudio(t, store, false)
	got := h2.Scene()
	require.Len(t, got.Layers, 3)
	require.Equal(t, text, got.Layers[0].ID)
	require.True(t, h2.Status().Overlay)
	require.Equal(t, "", got.Source)
}

// TestSceneLive runs the real pipeline (test pattern, no destination) and
// watches the preview: layers appear, move and disappear while it runs,
// and the main source switches without a restart.
func TestSceneLive(t *testing.T) {
	camID := -1
	for _, c := range capture.ListCameras() {
		if c.Label == "VideoTest" {
			camID = c.Index
		}
	}
	require.GreaterOrEqual(t, camID, 0, "mediadevices' VideoTest camera is not listed")
	var mu sync.Mutex
	var last *media.VideoFrame
	frames := 0
	var engines []*broadcast.Broadcast
	s := &Studio{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Watcher: &capture.Watcher{List: func() capture.Devices { return capture.Devices{} }},
		NewEngine: func(cfg broadcast.Config, onFrame func(*media.VideoFrame), logger *slog.Logger) Engine {
			b := &broadcast.Broadcast{Config: cfg, Logger: logger, OnFrame: func(f *media.VideoFrame) {
				onFrame(f)
				c := media.NewVideoFrame(f.Width, f.Height)
				copy(c.Y, f.Y)
				copy(c.U, f.U)
				copy(c.V, f.V)
				mu.Lock()
				last, frames = c, frames+1
				mu.Unlock()
			}}
			engines = append(engines, b)
			return b
		}}
	s.Store = &memStore{m: map[string]string{storeSettings: `{"width":640,"height":360,"fps":15}`}}
	require.NoError(t, s.Initialize())
	defer s.Close()
	// frameAfter returns a frame composed after the call.
	frameAfter := func() *media.VideoFrame {
		t.Helper()
		mu.Lock()
		n := frames
		mu.Unlock()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			f, m := last, frames
			mu.Unlock()
			if m >= n+6 { // past what the pipeline had queued
				return f
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatal("no frame")
		return nil
	}
	lum := func(f *media.VideoFrame, x, y int) byte { return f.Y[y*f.StrideY+x] }

	sc, _ := s.Scene().Add(scene.Layer{Type: scene.TypeImage, Path: logoPath(t), Corner: scene.TopLeft, Size: 0.25})
	require.NoError(t, s.SetScene(sc))
	r := s.ScenePlan().Layers[1].Rect
	require.Equal(t, image.Rect(10, 10, 170, 90), r)
	// The logo's opaque orange disc is centred 1/4 across, 1/2 down.
	orange := color.NRGBA{240, 120, 20, 255}
	wantY := byte((66*int(orange.R)+129*int(orange.G)+25*int(orange.B)+128)>>8 + 16)
	require.InDelta(t, int(wantY), int(lum(frameAfter(), r.Min.X+40, r.Min.Y+40)), 3, "the logo is drawn")
	require.Len(t, engines, 1, "no restart")

	// Dragged elsewhere.
	id := s.Scene().Layers[1].ID
	require.NoError(t, s.SetScene(s.Scene().MoveTo(id, s.ScenePlan(), 300, 200)))
	f := frameAfter()
	require.InDelta(t, int(wantY), int(lum(f, 340, 240)), 3, "the logo moved")

	// The main source switched to the test camera, live: its bars show
	// where the pattern's were (the VideoTest's left bar is grey 75 %).
	cam := fmt.Sprintf("camera:%d", camID)
	require.NoError(t, s.SetSource(cam))
	require.Equal(t, cam, s.Settings().Source)
	require.Equal(t, "VideoTest", engines[0].Scene().Stats().Device)
	frameAfter()
	f = frameAfter()
	// VideoTest's 640x480 bars are pillarboxed into 640x360: black at the
	// left edge, its first bar (75 % grey: Y 176) after.
	require.InDelta(t, 16, int(lum(f, 2, 100)), 3)
	require.InDelta(t, 176, int(lum(f, 100, 100)), 4)
	require.InDelta(t, int(wantY), int(lum(f, 340, 240)), 3, "the logo stays")
	require.Len(t, engines, 1, "no restart")

	// A source that does not exist is refused; the picture goes on.
	require.Error(t, s.SetSource("camera:99"))
	require.Equal(t, "VideoTest", engines[0].Scene().Stats().Device)

	// The audio source restarts the pipeline (offline), keeping the scene.
	require.NoError(t, s.SetAudio("none"))
	require.Len(t, engines, 2)
	require.Equal(t, "none", engines[1].Config.Audio)
	require.Len(t, engines[1].Scene().CurrentScene().Layers, 2)
	frameAfter()
}
