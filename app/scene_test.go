package app

import (
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/test"
	"fyne.io/fyne/v2/widget"
	"github.com/stretchr/testify/require"

	"golive/preview/scene"
	"golive/studio"
)

func testLogo() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "preview", "scene", "testdata", "logo.png")
}

func TestSourcePicker(t *testing.T) {
	f := newFake()
	u := newTestUI(t, f)
	p := u.sources
	require.Equal(t, "Test pattern", p.video.Selected)
	require.Equal(t, "Test tone (1 kHz)", p.audio.Selected)
	require.Len(t, p.video.Options, 5)

	p.video.SetSelected("Screen 1 (DP-1, 1920x1080)")
	require.Contains(t, f.called(), "source screen:0")
	require.Equal(t, "screen:0", f.Settings().Source)
	require.Equal(t, "Screen 1 (DP-1, 1920x1080)", p.video.Selected)
	p.audio.SetSelected("Microphone: USB Mic")
	require.Contains(t, f.called(), "audio mic:0")

	// "Media file…" asks for a file and picks file:PATH.
	p.askFile = func(then func(string)) { then("/videos/talk.mp4") }
	p.video.SetSelected("Media file…")
	require.Contains(t, f.called(), "source file:/videos/talk.mp4")
	require.Equal(t, "File: /videos/talk.mp4", p.video.Selected)

	// A device that cannot be opened: the reason shows, the choice stays.
	f.mu.Lock()
	f.choices.Video = append(f.choices.Video, studio.SourceOption{Spec: "camera:9", Name: "Camera: broken"})
	f.mu.Unlock()
	u.Reload()
	p.video.SetSelected("Camera: broken")
	require.Contains(t, p.status.Text, "no such camera")
	require.Equal(t, "File: /videos/talk.mp4", p.video.Selected)

	// Devices come and go: the lists follow; a chosen one that went is
	// shown as missing.
	require.NoError(t, f.SetSource("camera:0"))
	f.mu.Lock()
	f.choices.Video = []studio.SourceOption{{Spec: "test", Name: "Test pattern"}, {Spec: "screen:1", Name: "Screen 2 (HDMI-1, 1280x1024)"}}
	f.mu.Unlock()
	u.Reload()
	require.Equal(t, []string{"Test pattern", "Screen 2 (HDMI-1, 1280x1024)", "camera:0 (not found now)"}, p.video.Options)
	require.Equal(t, "camera:0 (not found now)", p.video.Selected)
}

// tapDialogButton taps a button of the dialog on top of w.
func tapDialogButton(t *testing.T, w fyne.Window, text string) {
	t.Helper()
	top := w.Canvas().Overlays().Top()
	require.NotNil(t, top, "no dialog open")
	tapIn(t, top, text)
}

func tapIn(t *testing.T, root fyne.CanvasObject, text string) {
	t.Helper()
	for _, o := range test.LaidOutObjects(root) {
		if b, ok := o.(*widget.Button); ok && b.Text == text {
			test.Tap(b)
			return
		}
	}
	t.Fatalf("no button %q", text)
}

// rowButtons returns the corner select and the up, down, edit and remove
// buttons of the scene panel's row for layer id.
func rowButtons(t *testing.T, p *scenePanel, id string) (*widget.Select, []*widget.Button) {
	t.Helper()
	for _, row := range p.rows.Objects {
		c, ok := row.(*fyne.Container)
		if !ok {
			continue
		}
		var check *widget.Check
		var right *fyne.Container
		for _, o := range c.Objects {
			switch v := o.(type) {
			case *widget.Check:
				check = v
			case *fyne.Container:
				right = v
			}
		}
		if check != p.checks[id] || right == nil {
			continue
		}
		var bs []*widget.Button
		for _, o := range right.Objects[1:] {
			bs = append(bs, o.(*widget.Button))
		}
		return right.Objects[0].(*widget.Select), bs
	}
	t.Fatalf("no row for %s", id)
	return nil, nil
}

func sceneIDs(sc scene.Scene) []string {
	var out []string
	for i := range sc.Layers {
		out = append(out, sc.LayerID(i))
	}
	return out
}

// TestScenePanel drives the Scene tab: add each kind of layer, toggle,
// place, reorder, edit, remove — each applied at once.
func TestScenePanel(t *testing.T) {
	f := newFake()
	u := newTestUI(t, f)
	u.SelectTab("Scene")
	p := u.scene
	require.Len(t, p.checks, 1)
	require.False(t, p.checks["chat"].Checked)
	require.Equal(t, "Chat", p.checks["chat"].Text)

	// A camera picture-in-picture, through its dialog.
	tapIn(t, p.object, "Camera")
	tapDialogButton(t, u.Window(), "Add")
	sc := f.Scene()
	require.Len(t, sc.Layers, 2)
	cam := sc.Layers[1]
	require.Equal(t, scene.TypeCamera, cam.Type)
	require.Equal(t, "camera:0", cam.Source, "a camera is offered first")
	require.Equal(t, "Picture-in-picture: camera:0", p.checks[cam.ID].Text)

	// An image and a text.
	p.askImage = func(then func(string)) { then(testLogo()) }
	tapIn(t, p.object, "Image…")
	form := newTextForm(scene.Layer{Type: scene.TypeText})
	test.Type(form.text, "Jane Doe")
	test.Type(form.subtitle, "Streaming live")
	p.add(form.value(scene.Layer{Type: scene.TypeText}))
	sc = f.Scene()
	require.Len(t, sc.Layers, 4)
	img, text := sc.Layers[2].ID, sc.Layers[3].ID
	require.Equal(t, "Image: logo.png", p.checks[img].Text)
	require.Equal(t, "Text: Jane Doe", p.checks[text].Text)
	require.Equal(t, "Streaming live", sc.Layers[3].Subtitle)

	// Toggle, corner, reorder, remove.
	p.checks[img].SetChecked(false)
	require.True(t, f.Scene().Layers[2].Hidden)
	p.checks[img].SetChecked(true)
	require.False(t, f.Scene().Layers[2].Hidden)
	corner, _ := rowButtons(t, p, cam.ID)
	require.Equal(t, scene.BottomRight, corner.Selected, "a camera's default corner")
	corner.SetSelected(scene.TopLeft)
	require.Equal(t, scene.TopLeft, f.Scene().Layers[1].Corner)
	_, bs := rowButtons(t, p, text)
	test.Tap(bs[1]) // down: under the image
	require.Equal(t, []string{"chat", cam.ID, text, img}, sceneIDs(f.Scene()))
	_, bs = rowButtons(t, p, text)
	test.Tap(bs[0]) // up again
	require.Equal(t, []string{"chat", cam.ID, img, text}, sceneIDs(f.Scene()))
	_, bs = rowButtons(t, p, cam.ID)
	test.Tap(bs[3]) // remove
	require.Equal(t, []string{"chat", img, text}, sceneIDs(f.Scene()))

	// Editing a text through its dialog.
	_, bs = rowButtons(t, p, text)
	test.Tap(bs[2])
	top := u.Window().Canvas().Overlays().Top()
	for _, o := range test.LaidOutObjects(top) {
		if e, ok := o.(*widget.Entry); ok && e.Text == "Jane Doe" {
			e.SetText("Jane D.")
		}
	}
	tapDialogButton(t, u.Window(), "Apply")
	require.Equal(t, "Jane D.", f.Scene().Layers[2].Text)

	// A change that cannot be applied says why and changes nothing.
	p.askImage = func(then func(string)) { then("/nonexistent/logo.png") }
	tapIn(t, p.object, "Image…")
	require.True(t, strings.HasPrefix(p.status.Text, "Not changed:"), p.status.Text)
	require.Contains(t, p.status.Text, "no such file")
	require.Len(t, f.Scene().Layers, 3)

	// The chat row's tick is the chat overlay.
	p.checks["chat"].SetChecked(true)
	require.False(t, f.Scene().Layers[0].Hidden)
}

// TestLayerDrag drags a layer on the preview: it follows the pointer and
// stays inside the picture; a drag that starts on no layer moves nothing.
func TestLayerDrag(t *testing.T) {
	f := newFake()
	sc, id := f.Scene().Add(scene.Layer{Type: scene.TypeCamera, Source: "camera:0", Corner: scene.TopLeft, Size: 0.25})
	require.NoError(t, f.SetScene(sc))
	u := newTestUI(t, f)
	d := u.drag
	d.Resize(fyne.NewSize(640, 360)) // half the 1280x720 picture
	r := f.ScenePlan().Layers[1].Rect
	require.Equal(t, 22, r.Min.X)
	// Press inside the layer (at 30,20 on screen = 60,40 in the picture)
	// and move 100,50 on screen (200,100 in the picture).
	d.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(80, 45)}, Dragged: fyne.NewDelta(50, 25)})
	d.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(130, 70)}, Dragged: fyne.NewDelta(50, 25)})
	d.DragEnd()
	got := f.ScenePlan().Layers[1].Rect
	require.Equal(t, r.Min.X+200, got.Min.X)
	require.Equal(t, r.Min.Y+100, got.Min.Y)
	require.NotNil(t, f.Scene().Layers[1].X)

	// Far off the edge: kept inside.
	d.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(640, 360)}, Dragged: fyne.NewDelta(460, 260)})
	d.DragEnd()
	got = f.ScenePlan().Layers[1].Rect
	require.Equal(t, 1280, got.Max.X)
	require.Equal(t, 720, got.Max.Y)

	// Nothing under the press: nothing moves.
	before := f.Scene()
	d.Dragged(&fyne.DragEvent{PointEvent: fyne.PointEvent{Position: fyne.NewPos(60, 300)}, Dragged: fyne.NewDelta(-40, 10)})
	d.DragEnd()
	require.Equal(t, before, f.Scene())

	// Through the test driver: a drag on the window's canvas, from the
	// layer's middle, moves it by as much in picture pixels.
	u.Window().Resize(fyne.NewSize(1200, 760))
	size := d.Size()
	require.Greater(t, size.Width, float32(100))
	scale := min(size.Width/1280, size.Height/720)
	ox, oy := (size.Width-1280*scale)/2, (size.Height-720*scale)/2
	r = f.ScenePlan().Layers[1].Rect
	mid := fyne.NewPos(ox+float32(r.Min.X+r.Dx()/2)*scale, oy+float32(r.Min.Y+r.Dy()/2)*scale)
	abs := fyne.CurrentApp().Driver().AbsolutePositionForObject(d)
	test.Drag(u.Window().Canvas(), abs.Add(mid), -100*scale, -60*scale)
	got = f.ScenePlan().Layers[1].Rect
	require.InDelta(t, r.Min.X-100, got.Min.X, 3)
	require.InDelta(t, r.Min.Y-60, got.Min.Y, 3)
	require.Equal(t, id, f.ScenePlan().At(got.Min.X+1, got.Min.Y+1))
}
