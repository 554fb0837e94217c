package bench

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"math/rand/v2"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/assets"
	"golive/capture"
	"golive/internal/peers"
	"golive/media"
)

// yuvToRGBA converts a limited-range BT.601 YUV420P frame to RGBA, as a
// browser shows it.
func yuvToRGBA(f *media.VideoFrame) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, f.Width, f.Height))
	clamp := func(v int) uint8 { return uint8(min(max(v, 0), 255)) }
	for y := range f.Height {
		for x := range f.Width {
			c := 298 * (int(f.Y[y*f.StrideY+x]) - 16)
			d := int(f.U[y/2*f.StrideU+x/2]) - 128
			e := int(f.V[y/2*f.StrideV+x/2]) - 128
			img.SetRGBA(x, y, color.RGBA{clamp((c + 409*e + 128) >> 8), clamp((c - 100*d - 208*e + 128) >> 8), clamp((c + 516*d + 128) >> 8), 255})
		}
	}
	return img
}

// TestClockStripInChromium checks assets/web/clockstrip.js against
// capture.DecodeClockStrip: test-pattern pictures at every rung's size,
// with noise on the luma, are decoded by both, in Go and in headless
// Chromium (from a canvas, as the player reads a video), and must agree.
func TestClockStripInChromium(t *testing.T) {
	type pic struct {
		w, h  int
		n     int64
		noisy bool
	}
	var pics []pic
	for _, s := range [][2]int{{1280, 720}, {854, 480}, {640, 360}, {426, 240}} {
		pics = append(pics, pic{s[0], s[1], 7, false}, pic{s[0], s[1], 1<<32 - 3, true})
	}
	rng := rand.New(rand.NewPCG(5, 6))
	pngs := map[string][]byte{}
	want := map[string]capture.ClockStrip{}
	for i, p := range pics {
		tp := &capture.TestPattern{Width: p.w, Height: p.h, FPS: 30, Clock: &capture.ManualClock{},
			Ticker: capture.NewManualTicker().Factory(), Epoch: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
		require.NoError(t, tp.Initialize())
		f := tp.Render(p.n)
		tp.Close()
		if p.noisy {
			for j := range f.Y {
				f.Y[j] = byte(min(max(int(f.Y[j])+rng.IntN(61)-30, 0), 255))
			}
		}
		c, err := capture.DecodeClockStrip(f)
		require.NoError(t, err)
		var b bytes.Buffer
		require.NoError(t, png.Encode(&b, yuvToRGBA(f)))
		name := fmt.Sprintf("/p%d.png", i)
		pngs[name], want[name] = b.Bytes(), c
	}
	web := assets.Web()
	mux := http.NewServeMux()
	mux.HandleFunc("/clockstrip.js", func(w http.ResponseWriter, r *http.Request) {
		b, err := fs.ReadFile(web, "clockstrip.js")
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "text/javascript")
		_, _ = w.Write(b)
	})
	mux.HandleFunc("/p", func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`<!doctype html><script src="/clockstrip.js"></script>`))
	})
	mux.HandleFunc("/favicon.ico", func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for name, b := range pngs {
		mux.HandleFunc(name, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(b)
		})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: mux}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	page, err := peers.StartChromium(t).NewPage(ctx, "http://"+ln.Addr().String()+"/p")
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		var ok bool
		return page.Evaluate(ctx, "!!window.GoLiveClockStrip", &ok) == nil && ok
	}, 30*time.Second, 50*time.Millisecond, "clockstrip.js did not load: %v", page.Errors())
	for name, c := range want {
		var got *struct {
			UnixMs int64  `json:"unixMs"`
			Frame  uint32 `json:"frame"`
		}
		require.NoError(t, page.Evaluate(ctx, `new Promise(function (ok, fail) {
			var img = new Image();
			img.onload = function () {
				var cv = document.createElement('canvas');
				cv.width = img.naturalWidth; cv.height = img.naturalHeight;
				var cx = cv.getContext('2d');
				cx.drawImage(img, 0, 0);
				ok(GoLiveClockStrip.decode(cx.getImageData(0, 0, cv.width, cv.height), cv.width, cv.height));
			};
			img.onerror = fail;
			img.src = '`+name+`';
		})`, &got))
		require.NotNil(t, got, "%s: clockstrip.js read nothing", name)
		require.Equal(t, c, capture.ClockStrip{UnixMilli: got.UnixMs, Frame: got.Frame}, name)
	}
	require.Empty(t, page.Errors())
}
