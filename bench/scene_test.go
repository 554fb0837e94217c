package bench

import (
	"fmt"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/capture"
	"golive/media"
	"golive/preview"
	"golive/preview/scene"
)

// sceneRig is a four-layer scene over test-pattern frames: a camera
// picture-in-picture (a quarter of the width, 4 px border) with a new
// picture every frame, a PNG logo with alpha, a two-line lower third, and
// a six-line chat overlay. scene.Source opens a camera layer's source at
// the layer's size, so its pictures arrive ready to copy; with scale set,
// each picture arrives at 640x360 instead and is scaled to the box first
// (a layer resized while the camera runs).
type sceneRig struct {
	plan   *scene.Plan
	chat   *preview.Overlay
	frames []*media.VideoFrame // main frames, cycled
	cams   []*media.VideoFrame // camera pictures at the box's size, cycled
	big    []*media.VideoFrame // camera pictures at 640x360, cycled
	scaler *capture.Scaler
	pic    *media.VideoFrame
	pips   map[string]*media.VideoFrame
	scale  bool
}

func newSceneRig(t testing.TB, w, h int) *sceneRig {
	_, file, _, _ := runtime.Caller(0)
	logo := filepath.Join(filepath.Dir(file), "..", "preview", "scene", "testdata", "logo.png")
	sc := scene.Scene{Layers: []scene.Layer{
		{ID: "cam", Type: scene.TypeCamera, Source: "camera:0", Corner: scene.BottomRight, Size: 0.25, Border: 4},
		{ID: "logo", Type: scene.TypeImage, Path: logo, Corner: scene.TopRight, Size: 0.12},
		{ID: "name", Type: scene.TypeText, Text: "Jane Doe", Subtitle: "Building a broadcaster in Go", Corner: scene.BottomLeft},
		{ID: "chat", Type: scene.TypeChat, Corner: scene.TopLeft},
	}}
	plan, err := scene.Prepare(sc, w, h, nil)
	require.NoError(t, err)
	r := &sceneRig{plan: plan, chat: &preview.Overlay{}, pips: map[string]*media.VideoFrame{}}
	var lines []preview.ChatLine
	for i := range 6 {
		lines = append(lines, preview.ChatLine{Name: fmt.Sprintf("viewer%d", i), Text: "hello from the benchmark, a line of chat"})
	}
	img, _, _ := preview.ChatLayer{}.Render(lines, w, h)
	x, y := scene.Place(sc.Layers[3], w, h, img.Bounds().Dx(), img.Bounds().Dy())
	r.chat.Set(img, x, y)
	in := plan.Layers[0].Inner
	main := &capture.TestPattern{Width: w, Height: h, FPS: 30}
	cam := &capture.TestPattern{Width: in.Dx(), Height: in.Dy(), FPS: 30}
	big := &capture.TestPattern{Width: 640, Height: 360, FPS: 30}
	for _, p := range []*capture.TestPattern{main, cam, big} {
		require.NoError(t, p.Initialize())
		defer p.Close()
	}
	for n := range 30 {
		r.frames = append(r.frames, main.Render(int64(n)))
		r.cams = append(r.cams, cam.Render(int64(n)))
		r.big = append(r.big, big.Render(int64(n)))
	}
	r.scaler = capture.NewScaler(640, 360, in.Dx(), in.Dy())
	r.pic = media.NewVideoFrame(in.Dx(), in.Dy())
	return r
}

// frame does one frame's compositing: the new camera picture (scaled to
// its box first with scale, as scene.Source does for another size), then
// every layer drawn.
func (r *sceneRig) frame(n int) {
	if r.scale {
		r.scaler.Scale(r.pic, r.big[n%len(r.big)])
		r.pips["cam"] = r.pic
	} else {
		r.pips["cam"] = r.cams[n%len(r.cams)]
	}
	r.plan.Draw(r.frames[n%len(r.frames)], r.pips, r.chat)
}

// TestSceneComposite measures compositing a four-layer scene onto 1080p
// frames, CPU time per frame (this process's, GC included), 3 rounds of
// 300 frames, best round. Target: ≤ 2 ms per frame. It also logs the cost
// with the camera picture scaled every frame. Without GOLIVE_BENCH=1 it is
// a 30-frame smoke run at 320x180.
func TestSceneComposite(t *testing.T) {
	w, h, frames, rounds := 1920, 1080, 300, 3
	if !benchFull() {
		w, h, frames, rounds = 320, 180, 30, 1
	}
	r := newSceneRig(t, w, h)
	// The layers are really drawn: the lower third's accent bar is there.
	r.frame(0)
	tb := r.plan.Layers[2].Rect
	f := r.frames[0]
	require.Greater(t, f.Y[(tb.Min.Y+tb.Dy()/2)*f.StrideY+tb.Min.X+1], byte(120), "accent bar")
	best, bestScaled := time.Duration(1<<62), time.Duration(1<<62)
	for range rounds {
		for _, scale := range []bool{false, true} {
			r.scale = scale
			runtime.GC()
			start, wall := selfCPU(t), time.Now()
			for n := range frames {
				r.frame(n)
			}
			per := (selfCPU(t) - start) / time.Duration(frames)
			t.Logf("%d frames %dx%d, camera scaled each frame %v: %v CPU per frame, %v wall", frames, w, h, scale, per, time.Since(wall))
			if scale {
				bestScaled = min(bestScaled, per)
			} else {
				best = min(best, per)
			}
		}
	}
	t.Logf("with the camera picture scaled from 640x360 every frame: %v per frame", bestScaled)
	verdict(t, "scene-composite-1080p", float64(best)/float64(time.Millisecond), 0,
		fmt.Sprintf("best of %d rounds of %d frames: PiP 472x264 with border + logo + 2-line lower third + 6-line chat, CPU per frame (camera scaled every frame too: %.2f ms)",
			rounds, frames, float64(bestScaled)/float64(time.Millisecond)))
}

// BenchmarkSceneComposite1080p is the same work as a Go benchmark.
func BenchmarkSceneComposite1080p(b *testing.B) {
	r := newSceneRig(b, 1920, 1080)
	b.ResetTimer()
	for n := range b.N {
		r.frame(n)
	}
}
