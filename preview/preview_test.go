package preview

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/media"
)

// yuvOf returns the BT.601 limited-range YUV of an RGB colour, in float.
func yuvOf(r, g, b float64) (y, u, v float64) {
	y = 16 + (65.738*r+129.057*g+25.064*b)/256
	u = 128 + (-37.945*r-74.494*g+112.439*b)/256
	v = 128 + (112.439*r-94.154*g-18.285*b)/256
	return
}

func fill(f *media.VideoFrame, x0, y0, x1, y1 int, c color.RGBA) {
	yv, uv, vv := yuvOf(float64(c.R), float64(c.G), float64(c.B))
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			f.Y[y*f.StrideY+x] = uint8(math.Round(yv))
			f.U[(y/2)*f.StrideU+x/2] = uint8(math.Round(uv))
			f.V[(y/2)*f.StrideV+x/2] = uint8(math.Round(vv))
		}
	}
}

// paddedFrame returns a frame whose planes have strides wider than the
// picture, as decoders and cameras hand them out.
func paddedFrame(w, h, pad int) *media.VideoFrame {
	cw, ch := (w+1)/2, (h+1)/2
	return &media.VideoFrame{Width: w, Height: h,
		Y: make([]byte, (w+pad)*h), U: make([]byte, (cw+pad)*ch), V: make([]byte, (cw+pad)*ch),
		StrideY: w + pad, StrideU: cw + pad, StrideV: cw + pad}
}

var quadrants = []struct {
	name string
	c    color.RGBA
}{
	{"red", color.RGBA{255, 0, 0, 255}},
	{"green", color.RGBA{0, 255, 0, 255}},
	{"blue", color.RGBA{0, 0, 255, 255}},
	{"white", color.RGBA{255, 255, 255, 255}},
}

func TestScalerConvert(t *testing.T) {
	for _, tc := range []struct {
		name            string
		srcW, srcH, pad int
		dstW, dstH      int
	}{
		{"720p to 360p", 1280, 720, 0, 640, 360},
		{"padded 720p to 360p", 1280, 720, 64, 640, 360},
		{"odd downscale", 640, 480, 0, 213, 160},
		{"upscale", 160, 90, 0, 320, 180},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := paddedFrame(tc.srcW, tc.srcH, tc.pad)
			hw, hh := tc.srcW/2, tc.srcH/2
			fill(f, 0, 0, hw, hh, quadrants[0].c)
			fill(f, hw, 0, tc.srcW, hh, quadrants[1].c)
			fill(f, 0, hh, hw, tc.srcH, quadrants[2].c)
			fill(f, hw, hh, tc.srcW, tc.srcH, quadrants[3].c)
			require.NoError(t, f.Validate())
			s := NewScaler(tc.srcW, tc.srcH, tc.dstW, tc.dstH)
			img := s.NewImage()
			s.Convert(img, f)
			centres := []image.Point{{tc.dstW / 4, tc.dstH / 4}, {3 * tc.dstW / 4, tc.dstH / 4}, {tc.dstW / 4, 3 * tc.dstH / 4}, {3 * tc.dstW / 4, 3 * tc.dstH / 4}}
			for i, q := range quadrants {
				got := img.RGBAAt(centres[i].X, centres[i].Y)
				for ch, pair := range [][2]uint8{{got.R, q.c.R}, {got.G, q.c.G}, {got.B, q.c.B}} {
					require.InDeltaf(t, float64(pair[1]), float64(pair[0]), 3, "%s quadrant channel %d: got %v", q.name, ch, got)
				}
				require.Equal(t, uint8(255), got.A)
			}
		})
	}
}

func TestFitSize(t *testing.T) {
	for _, tc := range []struct{ w, h, mw, mh, ww, wh int }{
		{1280, 720, 640, 360, 640, 360},
		{1280, 720, 640, 640, 640, 360},
		{720, 1280, 640, 360, 202, 360},
		{640, 480, 640, 360, 480, 360},
		{0, 0, 640, 360, 1, 1},
	} {
		w, h := FitSize(tc.w, tc.h, tc.mw, tc.mh)
		require.Equal(t, [2]int{tc.ww, tc.wh}, [2]int{w, h}, "%+v", tc)
	}
}

// lumaFrame returns a 320x180 grey frame whose luma is v.
func lumaFrame(v byte, pts time.Duration) *media.VideoFrame {
	f := media.NewVideoFrame(320, 180)
	for i := range f.Y {
		f.Y[i] = v
	}
	for i := range f.U {
		f.U[i], f.V[i] = 128, 128
	}
	f.PTS = pts
	return f
}

func TestPreviewRateAndLatestWins(t *testing.T) {
	block := make(chan struct{})
	images := make(chan uint8, 16)
	var once sync.Once
	entered := make(chan struct{})
	p := &Preview{Width: 160, Height: 160, MaxFPS: 30, OnImage: func(img *image.RGBA) {
		once.Do(func() { close(entered) })
		<-block
		images <- img.Pix[0]
	}}
	require.NoError(t, p.Initialize())
	defer p.Close()

	// Frame 0 goes through and blocks the preview goroutine in OnImage.
	p.Push(lumaFrame(16, 0))
	select {
	case <-entered:
	case <-time.After(10 * time.Second):
		t.Fatal("preview never called OnImage")
	}
	// 60 fps of frames while the receiver is stuck: every other one is
	// under the rate cap, and Push must not block.
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 1; i <= 60; i++ {
			p.Push(lumaFrame(byte(16+2*i), time.Duration(i)*time.Second/60))
		}
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Push blocked while OnImage was busy")
	}
	st := p.Stats()
	require.EqualValues(t, 61, st.Pushed)
	require.EqualValues(t, 30, st.RateSkipped, "60 fps pushed into a 30 fps preview")
	require.EqualValues(t, 29, st.Replaced, "30 accepted frames share one slot while the receiver is busy")
	close(block)
	first := <-images
	require.EqualValues(t, 0, first) // Y 16 is black
	select {
	case last := <-images:
		// The latest frame (i=60, Y=136) is the one converted next.
		want := clamp8((298*(136-16) + 128) >> 8)
		require.Equal(t, want, last)
	case <-time.After(10 * time.Second):
		t.Fatal("latest frame never converted")
	}
	require.EqualValues(t, 2, p.Stats().Rendered)
}

func TestPreviewBadFrameAndClose(t *testing.T) {
	p := &Preview{}
	p.Push(lumaFrame(16, 0)) // before Initialize: ignored
	require.NoError(t, p.Initialize())
	p.Push(&media.VideoFrame{Width: 64, Height: 64})
	require.EqualValues(t, 1, p.Stats().Bad)
	p.Close()
	p.Close()
}

// blendReference is the float blend of one RGBA (premultiplied) pixel over
// a YUV value.
func blendReference(dst float64, r, g, b, a uint8, plane int) float64 {
	al := float64(a) / 255
	if a == 0 {
		return dst
	}
	ur, ug, ub := float64(r)/al, float64(g)/al, float64(b)/al
	y, u, v := yuvOf(ur, ug, ub)
	src := []float64{y, u, v}[plane]
	return src*al + dst*(1-al)
}

func TestOverlayBlend(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		name       string
		fw, fh     int
		lw, lh     int
		x, y       int
		opaqueOnly bool
	}{
		{"inside, even", 320, 180, 64, 32, 10, 20, false},
		{"odd position", 320, 180, 63, 31, 11, 21, false},
		{"clipped at the corner", 320, 180, 80, 60, 290, 150, false},
		{"opaque", 320, 180, 40, 40, 100, 100, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := paddedFrame(tc.fw, tc.fh, 16)
			for i := range f.Y {
				f.Y[i] = byte(16 + rng.IntN(220))
			}
			for i := range f.U {
				f.U[i], f.V[i] = byte(16+rng.IntN(225)), byte(16+rng.IntN(225))
			}
			orig := &media.VideoFrame{Width: f.Width, Height: f.Height, Y: append([]byte(nil), f.Y...), U: append([]byte(nil), f.U...), V: append([]byte(nil), f.V...), StrideY: f.StrideY, StrideU: f.StrideU, StrideV: f.StrideV}
			layer := image.NewRGBA(image.Rect(0, 0, tc.lw, tc.lh))
			// A transparent margin of 3 pixels, random colours inside.
			for py := 3; py < tc.lh-3; py++ {
				for px := 3; px < tc.lw-3; px++ {
					a := uint8(rng.IntN(256))
					if tc.opaqueOnly {
						a = 255
					}
					// One colour per 2x2 block so chroma has an exact reference.
					c := color.NRGBA{uint8(31 * (px / 2)), uint8(57 * (py / 2)), uint8(13 * (px/2 + py/2)), a}
					layer.Set(px, py, c)
				}
			}
			var o Overlay
			o.Set(layer, tc.x, tc.y)
			require.True(t, o.Active())
			box := o.Bounds()
			require.True(t, box.Min.X%2 == 0 && box.Min.Y%2 == 0 && box.Dx()%2 == 0 && box.Dy()%2 == 0, "box %v must be even", box)
			require.LessOrEqual(t, box.Dx(), tc.lw-6+2, "transparent margin trimmed")
			o.Blend(f)
			for y := range tc.fh {
				for x := range tc.fw {
					lx, ly := x-tc.x, y-tc.y
					var r, g, b, a uint8
					if (image.Point{lx, ly}).In(layer.Bounds()) {
						c := layer.RGBAAt(lx, ly)
						r, g, b, a = c.R, c.G, c.B, c.A
					}
					want := blendReference(float64(orig.Y[y*f.StrideY+x]), r, g, b, a, 0)
					got := float64(f.Y[y*f.StrideY+x])
					require.InDeltaf(t, want, got, 2.01, "luma at %d,%d (alpha %d)", x, y, a)
				}
			}
			// Chroma: the reference is the mean of the 2x2 blend.
			for cy := range (tc.fh + 1) / 2 {
				for cx := range (tc.fw + 1) / 2 {
					for plane, pair := range [][2][]byte{{orig.U, f.U}, {orig.V, f.V}} {
						dst := float64(pair[0][cy*f.StrideU+cx])
						var sum, asum float64
						for d := range 4 {
							lx, ly := 2*cx+d%2-tc.x, 2*cy+d/2-tc.y
							if (image.Point{lx, ly}).In(layer.Bounds()) {
								c := layer.RGBAAt(lx, ly)
								if c.A > 0 {
									al := float64(c.A) / 255
									_, u, v := yuvOf(float64(c.R)/al, float64(c.G)/al, float64(c.B)/al)
									sum += []float64{u, v}[plane] * al
									asum += al
								}
							}
						}
						want := sum/4 + dst*(1-asum/4)
						require.InDeltaf(t, want, float64(pair[1][cy*f.StrideU+cx]), 3.01, "chroma plane %d at %d,%d", plane, cx, cy)
					}
				}
			}
		})
	}
}

func TestOverlayEmpty(t *testing.T) {
	var o Overlay
	f := lumaFrame(100, 0)
	o.Blend(f) // no layer
	o.Set(image.NewRGBA(image.Rect(0, 0, 10, 10)), 0, 0)
	require.False(t, o.Active(), "a fully transparent layer is no layer")
	o.Set(nil, 0, 0)
	o.Blend(f)
	require.Equal(t, byte(100), f.Y[0])
}

func TestChatLayer(t *testing.T) {
	var c ChatLayer
	img, _, _ := c.Render(nil, 1280, 720)
	require.Nil(t, img)
	lines := []ChatLine{{"ann", "hello"}, {"bob", "a much longer message " + string(make([]byte, 300))}, {"eve\x01", "naïve ✓"}}
	for i := range 10 {
		lines = append(lines, ChatLine{"u", string(rune('a' + i))})
	}
	img, x, y := c.Render(lines, 1280, 720)
	require.NotNil(t, img)
	b := img.Bounds()
	require.LessOrEqual(t, b.Dx(), 640, "at most half the frame wide")
	require.LessOrEqual(t, x+b.Dx(), 1280)
	require.LessOrEqual(t, y+b.Dy(), 720)
	require.Equal(t, 6*15*2+8*2, b.Dy(), "six lines at scale 2")
	// Some pixels are bright text, the rest the translucent box.
	bright := 0
	for i := 0; i < len(img.Pix); i += 4 {
		if img.Pix[i+1] > 200 {
			bright++
		}
	}
	require.Greater(t, bright, 100)
}

func TestLevel(t *testing.T) {
	f := &media.AudioFrame{SampleRate: 48000, Channels: 2, Samples: make([]int16, 2*960)}
	for i := range 960 {
		s := int16(math.Round(0.25 * 32767 * math.Sin(2*math.Pi*1000*float64(i)/48000)))
		f.Samples[2*i], f.Samples[2*i+1] = s, s
	}
	peak, rms := Level(f)
	require.InDelta(t, 0.25, peak, 0.001)
	require.InDelta(t, 0.25/math.Sqrt2, rms, 0.001)
	require.InDelta(t, -12.04, DBFS(peak), 0.05)
	require.Equal(t, -90.0, DBFS(0))
	p, r := Level(nil)
	require.Zero(t, p+r)
}
