package capture

import (
	"testing"

	"github.com/stretchr/testify/require"

	"golive/media"
)

func flatFrame(w, h int, y, u, v byte) *media.VideoFrame {
	f := media.NewVideoFrame(w, h)
	fillRect(f, 0, 0, w, h, y, u, v)
	return f
}

func TestScaler(t *testing.T) {
	cases := []struct {
		name           string
		sw, sh, dw, dh int
		fx, fy, fw, fh int // the fitted picture inside dst
	}{
		{"same size", 64, 48, 64, 48, 0, 0, 64, 48},
		{"4:3 into 16:9 pillarbox", 640, 480, 1280, 720, 160, 0, 960, 720},
		{"16:9 into 4:3 letterbox", 1280, 720, 640, 480, 0, 60, 640, 360},
		{"down 2x", 1920, 1080, 960, 540, 0, 0, 960, 540},
		{"up odd source", 161, 121, 320, 240, 0, 0, 320, 240},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := NewScaler(c.sw, c.sh, c.dw, c.dh)
			require.Equal(t, [4]int{c.fx, c.fy, c.fw, c.fh}, [4]int{s.fx, s.fy, s.fw, s.fh})
			src := flatFrame(c.sw, c.sh, 200, 60, 190)
			src.PTS = 42
			dst := media.NewVideoFrame(c.dw, c.dh)
			s.Scale(dst, src)
			require.Equal(t, src.PTS, dst.PTS)
			for _, p := range [][2]int{{c.fx, c.fy}, {c.fx + c.fw - 1, c.fy + c.fh - 1}, {c.fx + c.fw/2, c.fy + c.fh/2}} {
				require.Equal(t, byte(200), dst.Y[p[1]*dst.StrideY+p[0]], "inside at %v", p)
				require.Equal(t, byte(60), dst.U[p[1]/2*dst.StrideU+p[0]/2])
				require.Equal(t, byte(190), dst.V[p[1]/2*dst.StrideV+p[0]/2])
			}
			if c.fx > 0 {
				require.Equal(t, byte(16), dst.Y[0], "pillarbox bar is black")
				require.Equal(t, byte(128), dst.U[0])
			}
			if c.fy > 0 {
				require.Equal(t, byte(16), dst.Y[0], "letterbox bar is black")
			}
		})
	}
}

func TestScalerKeepsGradient(t *testing.T) {
	src := media.NewVideoFrame(256, 16)
	for y := 0; y < 16; y++ {
		for x := 0; x < 256; x++ {
			src.Y[y*src.StrideY+x] = byte(x)
		}
	}
	dst := media.NewVideoFrame(512, 32)
	NewScaler(256, 16, 512, 32).Scale(dst, src)
	for x := 2; x < 510; x++ {
		require.InDelta(t, float64(x)/2-0.25, float64(dst.Y[5*dst.StrideY+x]), 1, "x=%d", x)
	}
}
