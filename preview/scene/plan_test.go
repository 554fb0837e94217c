package scene

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"golive/media"
	"golive/preview"
)

func f64(v float64) *float64 { return &v }

// grey returns a w×h frame of one luma value with neutral chroma.
func grey(w, h int, y byte) *media.VideoFrame {
	f := media.NewVideoFrame(w, h)
	for i := range f.Y {
		f.Y[i] = y
	}
	for i := range f.U {
		f.U[i], f.V[i] = 128, 128
	}
	return f
}

// at returns the Y, U and V of pixel (x, y).
func at(f *media.VideoFrame, x, y int) [3]byte {
	return [3]byte{f.Y[y*f.StrideY+x], f.U[(y/2)*f.StrideU+x/2], f.V[(y/2)*f.StrideV+x/2]}
}

func near(t *testing.T, want, got [3]byte, tol int, what string) {
	t.Helper()
	for i := range want {
		d := int(want[i]) - int(got[i])
		require.True(t, d <= tol && d >= -tol, "%s: want %v, got %v", what, want, got)
	}
}

func TestPlace(t *testing.T) {
	const w, h = 1280, 720 // margin: 3 % of 720 = 21.6 → 22
	cases := []struct {
		l    Layer
		x, y int
	}{
		{Layer{Type: TypeCamera}, 1280 - 22 - 320, 720 - 22 - 180},
		{Layer{Type: TypeImage}, 1280 - 22 - 320, 22},
		{Layer{Type: TypeText}, 22, 720 - 22 - 180},
		{Layer{Type: TypeChat}, 22, 22},
		{Layer{Type: TypeChat, Corner: Center}, 480, 270},
		{Layer{Type: TypeCamera, Corner: TopLeft}, 22, 22},
		{Layer{Type: TypeCamera, X: f64(0.5), Y: f64(0.25)}, 640, 180},
		{Layer{Type: TypeCamera, X: f64(0.1), Y: f64(0.1)}, 128, 72},
		{Layer{Type: TypeCamera, X: f64(0.3333), Y: f64(0.3333)}, 426, 238},
	}
	for _, c := range cases {
		x, y := Place(c.l, w, h, 320, 180)
		require.Equal(t, [2]int{c.x, c.y}, [2]int{x, y}, "%+v", c.l)
	}
}

func TestPrepareAndDraw(t *testing.T) {
	const w, h = 640, 360
	s := Scene{Dir: "testdata", Layers: []Layer{
		{Type: TypeCamera, Corner: BottomRight, Size: 0.25, Border: 4, BorderColor: "#ff0000"},
		{Type: TypeImage, Path: "logo.png", X: f64(0.5), Y: f64(0.5)},
		{Type: TypeText, Text: "Jane Doe", Subtitle: "live", Corner: BottomLeft},
		{Type: TypeChat, ID: "chat", Corner: TopLeft},
		{Type: TypeImage, ID: "hidden", Path: "logo.png", Corner: TopLeft, Hidden: true},
	}}
	imgs := &Images{}
	p, err := Prepare(s, w, h, imgs)
	require.NoError(t, err)
	require.Len(t, p.Layers, 5)
	m := 10 // 3 % of 360 = 10.8 → 10 (even)
	cam := p.Layers[0]
	require.Equal(t, image.Rect(w-m-168, h-m-98, w-m, h-m), cam.Rect)
	require.Equal(t, image.Rect(w-m-164, h-m-94, w-m-4, h-m-4), cam.Inner)
	require.Equal(t, "camera", cam.Source)
	require.Equal(t, image.Rect(320, 180, 520, 280), p.Layers[1].Rect)
	require.Equal(t, m, p.Layers[2].Rect.Min.X)
	require.Equal(t, h-m, p.Layers[2].Rect.Max.Y)
	require.Equal(t, image.Rect(m, m, m, m), p.Layers[3].Rect)

	// The picture-in-picture: a bright frame inside a red border.
	pic := grey(cam.Inner.Dx(), cam.Inner.Dy(), 200)
	chat := &preview.Overlay{}
	chatImg := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for i := range chatImg.Pix {
		chatImg.Pix[i] = 255 // opaque white
	}
	chat.Set(chatImg, m, m)
	f := grey(w, h, 16)
	p.Draw(f, map[string]*media.VideoFrame{"camera1": pic}, chat)
	red := yuv(color.NRGBA{255, 0, 0, 255})
	near(t, red, at(f, cam.Rect.Min.X+1, cam.Rect.Min.Y+1), 0, "border")
	near(t, red, at(f, cam.Rect.Max.X-2, cam.Inner.Min.Y+20), 0, "right border")
	near(t, [3]byte{200, 128, 128}, at(f, cam.Inner.Min.X, cam.Inner.Min.Y), 0, "picture")
	near(t, [3]byte{200, 128, 128}, at(f, cam.Inner.Max.X-1, cam.Inner.Max.Y-1), 0, "picture")
	// The image: its opaque orange disc, its half-transparent blue bar.
	orange := yuv(color.NRGBA{240, 120, 20, 255})
	near(t, orange, at(f, 320+50, 180+50), 2, "disc")
	bar := at(f, 320+150, 180+50)
	require.InDelta(t, (int(yuv(color.NRGBA{30, 60, 220, 255})[0])+16)/2, int(bar[0]), 3, "bar blends half")
	near(t, [3]byte{16, 128, 128}, at(f, 320+2, 180+2), 0, "transparent corner of the image")
	// The text box: darker than nothing? Its accent bar is orange-ish.
	tb := p.Layers[2].Rect
	near(t, yuv(accent), at(f, tb.Min.X+1, tb.Min.Y+tb.Dy()/2), 2, "lower third's accent bar")
	// Chat at its corner; the hidden layer not drawn.
	near(t, [3]byte{235, 128, 128}, at(f, m+4, m+4), 1, "chat")
	near(t, [3]byte{16, 128, 128}, at(f, m+100, m+60), 0, "hidden image")

	// No picture yet: black inside the border.
	f = grey(w, h, 100)
	p.Draw(f, nil, nil)
	near(t, [3]byte{16, 128, 128}, at(f, cam.Inner.Min.X+10, cam.Inner.Min.Y+10), 0, "no picture")
	near(t, [3]byte{100, 128, 128}, at(f, m+4, m+4), 0, "no chat overlay")

	// A frame of another size is left alone.
	g := grey(320, 180, 50)
	p.Draw(g, nil, nil)
	near(t, [3]byte{50, 128, 128}, at(g, 319, 179), 0, "other size")
	require.Equal(t, 1, imgs.Scaled())
}

func TestPrepareErrors(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "text.png"), []byte("not a png"), 0o600))
	tall, err := os.Create(filepath.Join(dir, "tall.png"))
	require.NoError(t, err)
	require.NoError(t, png.Encode(tall, image.NewNRGBA(image.Rect(0, 0, 100, 200))))
	require.NoError(t, tall.Close())
	cases := []struct {
		name string
		l    Layer
		err  string
	}{
		{"missing image", Layer{Type: TypeImage, Path: "nope.png"}, `layer 1 (image "nope.png"): ` + filepath.Join(dir, "nope.png") + ": no such file or directory"},
		{"not an image", Layer{Type: TypeImage, Path: "text.png"}, "not a PNG or JPEG"},
		{"a folder", Layer{Type: TypeImage, Path: "."}, "is not a file"},
		{"camera off the right", Layer{Type: TypeCamera, X: f64(0.9), Y: f64(0)}, "layer 1 (camera): off the picture: 320x180 at (1152,0) on a 1280x720 picture"},
		{"camera with border too big", Layer{Type: TypeCamera, Size: 1, Border: 10}, "off the picture"},
		{"text off the bottom", Layer{Type: TypeText, Text: "hello", X: f64(0), Y: f64(0.99)}, "off the picture"},
		{"image too tall", Layer{Type: TypeImage, Path: "tall.png", Size: 1}, "size 1 makes it 1280x2560, larger than the 1280x720 picture"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Prepare(Scene{Dir: dir, Layers: []Layer{c.l}}, 1280, 720, nil)
			require.ErrorIs(t, err, ErrBadScene)
			require.Contains(t, err.Error(), c.err)
		})
	}
	_, err = Prepare(Scene{}, 8, 8, nil)
	require.ErrorIs(t, err, ErrBadScene)
}

// TestHugeImageScaledOnce: a 6000x4000 PNG is decoded and scaled once for
// its size; frames and scene changes that keep its size reuse it.
func TestHugeImageScaledOnce(t *testing.T) {
	dir := t.TempDir()
	big := image.NewNRGBA(image.Rect(0, 0, 6000, 4000))
	for y := 1000; y < 3000; y++ {
		row := big.Pix[y*big.Stride:]
		for x := 1500; x < 4500; x++ {
			copy(row[4*x:], []byte{0, 200, 0, 255})
		}
	}
	path := filepath.Join(dir, "big.png")
	out, err := os.Create(path)
	require.NoError(t, err)
	require.NoError(t, (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(out, big))
	require.NoError(t, out.Close())

	imgs := &Images{}
	s := Scene{Layers: []Layer{{Type: TypeImage, Path: path, Size: 0.5, Corner: TopLeft}}}
	p, err := Prepare(s, 1280, 720, imgs)
	require.NoError(t, err)
	require.Equal(t, image.Rect(22, 22, 22+640, 22+426), p.Layers[0].Rect)
	f := grey(1280, 720, 16)
	for range 30 {
		p.Draw(f, nil, nil)
	}
	s.Layers[0].Corner = BottomRight // moved: same size, not scaled again
	p, err = Prepare(s, 1280, 720, imgs)
	require.NoError(t, err)
	s.Layers[0].Hidden = true
	_, err = Prepare(s, 1280, 720, imgs)
	require.NoError(t, err)
	require.Equal(t, 1, imgs.Scaled())
	green := yuv(color.NRGBA{0, 200, 0, 255})
	c := p.Layers[0].Rect.Min.Add(image.Pt(320, 213))
	f = grey(1280, 720, 16)
	p.Draw(f, nil, nil)
	near(t, green, at(f, c.X, c.Y), 2, "the huge image's centre")

	// Without a size it is fitted inside the picture's margins.
	s = Scene{Layers: []Layer{{Type: TypeImage, Path: path}}}
	p, err = Prepare(s, 1280, 720, imgs)
	require.NoError(t, err)
	require.Equal(t, image.Pt(1014, 676), p.Layers[0].Rect.Size())
	require.Equal(t, 2, imgs.Scaled())
}
