package app

import (
	"image"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	_ "github.com/pion/mediadevices/pkg/driver/videotest" // registers the "VideoTest" camera
	"github.com/stretchr/testify/require"

	"golive/broadcast"
	"golive/internal/peers"
	"golive/preview/scene"
	"golive/server/ladder"
	"golive/studio"
)

// rgbNear reports whether img's pixel at (x, y) is within tol of c.
func rgbNear(img *image.RGBA, x, y int, c [3]byte, tol int) bool {
	ok, _ := peers.NearRGB(img, x, y, c, tol)
	return ok
}

// TestScreenSceneGoLive is the "done" in the app: under Xvfb, with
// xpattern's known pattern filling the screen, the creator picks "Screen
// 1" in the source picker and their camera (mediadevices' test camera) as
// a picture-in-picture in the Scene tab, adds a lower third, sees the
// composed picture in the preview and goes live; the stream nginx-rtmp
// records (what viewers get) shows the screen with the camera in the
// corner and the lower third.
func TestScreenSceneGoLive(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	x := peers.StartXvfb(t, "1280x720x24")
	t.Setenv("DISPLAY", x.Display)
	peers.StartXPattern(t, x, "golive app pattern", 0, 0, 1280, 720)
	ng := peers.StartNginxRTMP(t)

	a := test.NewTempApp(t)
	var mu sync.Mutex
	var last *image.RGBA
	r, err := Start(&studio.Studio{Secrets: &studio.MemorySecrets{}, RTMPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		NewServer: studio.BundledServer([]ladder.Spec{}, t.TempDir()),
		OnImage: func(img *image.RGBA) {
			c := image.NewRGBA(img.Rect)
			copy(c.Pix, img.Pix)
			mu.Lock()
			last = c
			mu.Unlock()
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, Options{App: a, Refresh: -1})
	require.NoError(t, err)
	defer r.Close()
	u, ctl := r.UI, r.Studio
	require.NoError(t, ctl.SetSettings(func() studio.Settings { s := ctl.Settings(); s.Width, s.Height, s.FPS = 640, 360, 15; return s }()))
	require.NoError(t, ctl.SetAudio("none")) // restarts the pipeline at 640x360

	// The pickers list the screen and the test camera by name.
	var screenName, camName string
	eventually(t, "the screen and the camera listed", 20*time.Second, func() bool {
		u.Reload()
		for _, o := range u.sources.video.Options {
			if strings.HasPrefix(o, "Screen 1 (") {
				screenName = o
			}
			if o == "Camera: VideoTest" {
				camName = o
			}
		}
		return screenName != "" && camName != ""
	})
	u.sources.video.SetSelected(screenName)
	require.Empty(t, u.sources.status.Text)
	require.Equal(t, "screen:0", ctl.Settings().Source)

	// The Scene tab: the camera in the corner, then a lower third.
	u.SelectTab("Scene")
	tapIn(t, u.scene.object, "Camera")
	top := u.Window().Canvas().Overlays().Top()
	require.NotNil(t, top)
	for _, o := range test.LaidOutObjects(top) {
		if s, ok := o.(interface{ SetSelected(string) }); ok {
			s.SetSelected(camName)
		}
	}
	tapDialogButton(t, u.Window(), "Add")
	require.Empty(t, u.scene.status.Text)
	form := newTextForm(scene.Layer{Type: scene.TypeText})
	test.Type(form.text, "Jane Doe")
	test.Type(form.subtitle, "live from my screen")
	u.scene.add(form.value(scene.Layer{Type: scene.TypeText}))
	require.Empty(t, u.scene.status.Text)
	sc := ctl.Scene()
	require.Len(t, sc.Layers, 3)
	require.Equal(t, scene.TypeCamera, sc.Layers[1].Type)

	// The preview shows the composed picture: the screen's quadrants, the
	// camera's bars bottom-right (its left bar grey 75 %), the lower third's
	// accent bottom-left.
	p := ctl.ScenePlan()
	require.NotNil(t, p)
	cam, text := p.Layers[1], p.Layers[2]
	composed := func(img *image.RGBA) bool {
		if img == nil || img.Rect.Dx() != 640 {
			return false
		}
		in := cam.Inner
		green := rgbNear(img, 360, 30, [3]byte{0, 255, 0}, 50) || rgbNear(img, 600, 30, [3]byte{0, 255, 0}, 50) // the bar hides one
		return green &&
			rgbNear(img, in.Min.X+in.Dx()/8+2, in.Min.Y+in.Dy()/4, [3]byte{180, 180, 180}, 50) &&
			rgbNear(img, text.Rect.Min.X+1, text.Rect.Min.Y+text.Rect.Dy()/2, [3]byte{245, 166, 35}, 50)
	}
	eventually(t, "the composed picture in the preview", 30*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return composed(last)
	})

	// Go live to nginx-rtmp only.
	require.NoError(t, ctl.SetEnabled(studio.DestBundled, false))
	require.NoError(t, ctl.SaveDestination(studio.Destination{Kind: studio.DestCustom, Name: "nginx",
		URL: "rtmp://" + ng.Addr() + "/live", Key: "viewers", Enabled: true}))
	u.Reload()
	test.Tap(u.GoLiveButton())
	eventually(t, "live", 30*time.Second, func() bool { return ctl.Status().State == broadcast.StateLive })
	time.Sleep(4 * time.Second)
	test.Tap(u.GoLiveButton())
	require.Equal(t, broadcast.StateOffline, ctl.Status().State)
	ng.WaitUnpublished("viewers", 20*time.Second)

	// What viewers got.
	rec := ng.RecordPath("viewers")
	info := peers.FFprobe(t, rec)
	v, ok := info.Video()
	require.True(t, ok)
	require.Equal(t, [2]int{640, 360}, [2]int{v.Width, v.Height})
	img := peers.DecodeFrame(t, rec, 2*time.Second, 640, 360)
	peers.SaveArtifact(t, "golive-app-screen-scene.png", img)
	require.True(t, composed(img), "the stream shows the screen, the camera in the corner and the lower third")
}
