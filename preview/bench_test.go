package preview

import (
	"testing"

	"golive/media"
)

// BenchmarkOverlayBlend720p measures the per-frame cost of burning six
// lines of chat into a 720p frame.
func BenchmarkOverlayBlend720p(b *testing.B) {
	f := media.NewVideoFrame(1280, 720)
	lines := []ChatLine{{"ann", "hello there"}, {"bob", "this is a longer chat message for the overlay"}, {"cy", "gg"}, {"dee", "what camera is that?"}, {"eve", "hi from the LAN"}, {"fay", "🔥🔥🔥"}}
	img, x, y := ChatLayer{}.Render(lines, 1280, 720)
	var o Overlay
	o.Set(img, x, y)
	b.ReportMetric(float64(o.Bounds().Dx()*o.Bounds().Dy()), "px/box")
	b.ResetTimer()
	for range b.N {
		o.Blend(f)
	}
}

// BenchmarkScaler720pTo360p measures one preview image from a 720p frame.
func BenchmarkScaler720pTo360p(b *testing.B) {
	f := media.NewVideoFrame(1280, 720)
	s := NewScaler(1280, 720, 640, 360)
	img := s.NewImage()
	b.ResetTimer()
	for range b.N {
		s.Convert(img, f)
	}
}

// BenchmarkPush720p measures what the capture goroutine pays per frame.
func BenchmarkPush720p(b *testing.B) {
	p := &Preview{MaxFPS: 1 << 20}
	if err := p.Initialize(); err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	f := media.NewVideoFrame(1280, 720)
	b.ResetTimer()
	for i := range b.N {
		f.PTS += 1
		_ = i
		p.Push(f)
	}
}
