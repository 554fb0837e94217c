package encoder

import (
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/stretchr/testify/require"

	"golive/media"
)

func meanLuma(f *media.VideoFrame) float64 {
	var sum int
	for y := range f.Height {
		for _, v := range f.Y[y*f.StrideY : y*f.StrideY+f.Width] {
			sum += int(v)
		}
	}
	return float64(sum) / float64(f.Width*f.Height)
}

func TestScaler(t *testing.T) {
	cases := []struct {
		name         string
		srcW, srcH   int
		dstW, dstH   int
		wantW, wantH int
	}{
		{"720p to 480p", 1280, 720, 854, 480, 854, 480},
		{"360p to 240p", 640, 360, 426, 240, 426, 240},
		{"upscale", 160, 90, 320, 180, 320, 180},
		{"keep size", 320, 240, 0, 0, 320, 240},
		{"odd source", 321, 241, 160, 120, 160, 120},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := &Scaler{Width: tc.dstW, Height: tc.dstH, Logger: quietLogger()}
			defer s.Close()
			src := media.NewVideoFrame(tc.srcW, tc.srcH)
			for i := range src.Y {
				src.Y[i] = 100
			}
			for i := range src.U {
				src.U[i], src.V[i] = 90, 160
			}
			src.PTS = 1234 * time.Millisecond
			out, err := s.Scale(src)
			require.NoError(t, err)
			require.Equal(t, tc.wantW, out.Width)
			require.Equal(t, tc.wantH, out.Height)
			require.NoError(t, out.Validate())
			require.Equal(t, src.PTS, out.PTS)
			require.InDelta(t, 100, meanLuma(out), 1)
			require.InDelta(t, 90, float64(out.U[0]), 1)
			require.InDelta(t, 160, float64(out.V[len(out.V)-1]), 1)
		})
	}
}

// TestScalerSourceChange feeds frames of changing sizes through one scaler.
func TestScalerSourceChange(t *testing.T) {
	s := &Scaler{Width: 320, Height: 180, Logger: quietLogger()}
	defer s.Close()
	for i, size := range [][2]int{{640, 360}, {640, 360}, {1280, 720}, {480, 270}} {
		f := patternFrame(size[0], size[1], i, 30, false)
		out, err := s.Scale(f)
		require.NoError(t, err)
		require.Equal(t, 320, out.Width)
		require.Equal(t, 180, out.Height)
	}
	require.Equal(t, 2, s.reinits)
	_, err := s.Scale(&media.VideoFrame{Width: 10, Height: 10})
	require.ErrorIs(t, err, media.ErrBadFrame)
	s.Close()
	s.Close()
	_, err = s.Scale(patternFrame(64, 64, 0, 30, false))
	require.ErrorIs(t, err, ErrClosed)
	bad := &Scaler{Width: -1, Height: 10}
	_, err = bad.Scale(patternFrame(64, 64, 0, 30, false))
	require.ErrorIs(t, err, ErrBadConfig)
}

// TestCopyNV12 checks the interleaving copy used for QSV and VAAPI input.
// TestFrameInto checks the same-size conversions the encoder makes with
// Scaler.frameInto: into NV12 for QSV and VAAPI (U and V interleaved,
// exactly), and a YUV420P or YUVJ420P picture copied as it is.
func TestFrameInto(t *testing.T) {
	const w, h = 6, 4
	src := media.NewVideoFrame(w, h)
	for i := range src.Y {
		src.Y[i] = byte(i)
	}
	for i := range src.U {
		src.U[i], src.V[i] = byte(100+i), byte(200+i)
	}
	packed := append(append(append([]byte(nil), src.Y...), src.U...), src.V...)
	for _, tc := range []struct {
		name     string
		from, to astiav.PixelFormat
	}{
		{"yuv420p to nv12", astiav.PixelFormatYuv420P, astiav.PixelFormatNv12},
		{"yuv420p copy", astiav.PixelFormatYuv420P, astiav.PixelFormatYuv420P},
		{"yuvj420p read as yuv420p", astiav.PixelFormatYuvj420P, astiav.PixelFormatYuv420P},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in, err := allocVideoFrame(w, h, astiav.PixelFormatYuv420P)
			require.NoError(t, err)
			defer in.Free()
			require.NoError(t, fillFrame(in, src))
			in.SetPixelFormat(tc.from) // same layout
			out, err := allocVideoFrame(w, h, tc.to)
			require.NoError(t, err)
			defer out.Free()
			s := &Scaler{Logger: quietLogger()}
			defer s.Close()
			require.NoError(t, s.frameInto(in, out))
			got, err := out.Data().Bytes(1)
			require.NoError(t, err)
			if tc.to == astiav.PixelFormatYuv420P {
				require.Equal(t, packed, got)
				return
			}
			require.Equal(t, src.Y, got[:w*h])
			uv := got[w*h:]
			require.Len(t, uv, w*h/2)
			for i := range src.U {
				require.Equal(t, src.U[i], uv[2*i])
				require.Equal(t, src.V[i], uv[2*i+1])
			}
		})
	}
}
