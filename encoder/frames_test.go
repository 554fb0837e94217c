package encoder

import (
	"testing"

	"github.com/asticode/go-astiav"
	"github.com/stretchr/testify/require"

	"golive/media"
)

// TestFillFrame checks fillFrame's copy into FFmpeg's planes against
// go-astiav's own reading of the frame, for a tightly packed frame (whole
// planes copied at once) and one with padded, unequal strides (by rows),
// and that videoFrameOut gives the picture back.
func TestFillFrame(t *testing.T) {
	cases := []struct {
		name             string
		w, h             int
		padY, padU, padV int
	}{
		{"packed 64x36", 64, 36, 0, 0, 0},
		{"padded strides 62x34", 62, 34, 10, 3, 7},
		{"odd size 5x3", 5, 3, 1, 0, 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cw, ch := (tc.w+1)/2, (tc.h+1)/2
			src := &media.VideoFrame{Width: tc.w, Height: tc.h,
				StrideY: tc.w + tc.padY, StrideU: cw + tc.padU, StrideV: cw + tc.padV}
			src.Y = make([]byte, src.StrideY*tc.h)
			src.U = make([]byte, src.StrideU*ch)
			src.V = make([]byte, src.StrideV*ch)
			for i := range src.Y {
				src.Y[i] = byte(i * 7)
			}
			for i := range src.U {
				src.U[i] = byte(100 + i*3)
			}
			for i := range src.V {
				src.V[i] = byte(200 + i*5)
			}
			require.NoError(t, src.Validate())
			f, err := allocVideoFrame(tc.w, tc.h, astiav.PixelFormatYuv420P)
			require.NoError(t, err)
			defer f.Free()
			require.NoError(t, fillFrame(f, src))

			var want []byte
			for _, p := range []struct {
				b            []byte
				stride, w, h int
			}{{src.Y, src.StrideY, tc.w, tc.h}, {src.U, src.StrideU, cw, ch}, {src.V, src.StrideV, cw, ch}} {
				for y := range p.h {
					want = append(want, p.b[y*p.stride:y*p.stride+p.w]...)
				}
			}
			got, err := f.Data().Bytes(1)
			require.NoError(t, err)
			require.Equal(t, want, got)

			out, err := videoFrameOut(f)
			require.NoError(t, err)
			require.Equal(t, want, append(append(append([]byte(nil), out.Y...), out.U...), out.V...))
			require.Equal(t, []int{tc.w, cw, cw}, []int{out.StrideY, out.StrideU, out.StrideV})
		})
	}
}
