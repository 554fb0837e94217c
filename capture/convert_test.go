package capture

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/stretchr/testify/require"

	"golive/media"
)

// The reference picture: 4×4, Y ramps, one chroma value per 2×2 block.
var (
	refY = []byte{16, 26, 36, 46, 56, 66, 76, 86, 96, 106, 116, 126, 136, 146, 156, 166}
	refU = []byte{100, 110, 120, 130}
	refV = []byte{200, 190, 180, 170}
)

// packed422 builds a YUYV/UYVY buffer whose two chroma rows per block
// differ by ±2 around the reference, so the converter must average them.
func packed422(uyvy bool) []byte {
	var out []byte
	for y := 0; y < 4; y++ {
		d := -2
		if y%2 == 1 {
			d = 2
		}
		for x := 0; x < 4; x += 2 {
			u := byte(int(refU[y/2*2+x/2]) + d)
			v := byte(int(refV[y/2*2+x/2]) + d)
			y0, y1 := refY[y*4+x], refY[y*4+x+1]
			if uyvy {
				out = append(out, u, y0, v, y1)
			} else {
				out = append(out, y0, u, y1, v)
			}
		}
	}
	return out
}

func interleave(a, b []byte) []byte {
	var out []byte
	for i := range a {
		out = append(out, a[i], b[i])
	}
	return out
}

// rawCases drives TestConvertRaw and seeds FuzzConvertRaw.
var rawCases = []struct {
	name   string
	format PixelFormat
	data   []byte
	err    bool
}{
	{"I420", FormatI420, bytes.Join([][]byte{refY, refU, refV}, nil), false},
	{"NV12", FormatNV12, append(append([]byte{}, refY...), interleave(refU, refV)...), false},
	{"NV21", FormatNV21, append(append([]byte{}, refY...), interleave(refV, refU)...), false},
	{"YUYV", FormatYUYV, packed422(false), false},
	{"UYVY", FormatUYVY, packed422(true), false},
	{"I420 short", FormatI420, make([]byte, 23), true},
	{"I420 long", FormatI420, make([]byte, 25), true},
	{"YUYV short", FormatYUYV, make([]byte, 31), true},
	{"NV12 empty", FormatNV12, nil, true},
	{"MJPEG empty", FormatMJPEG, nil, true},
	{"MJPEG garbage", FormatMJPEG, []byte{0xFF, 0xD8, 1, 2, 3}, true},
	{"unknown format", PixelFormat("RGB3"), make([]byte, 48), true},
}

func TestConvertRaw(t *testing.T) {
	for _, c := range rawCases {
		t.Run(c.name, func(t *testing.T) {
			dst := media.NewVideoFrame(4, 4)
			err := ConvertRaw(dst, c.format, c.data)
			if c.err {
				require.ErrorIs(t, err, ErrBadPixels)
				return
			}
			require.NoError(t, err)
			require.Equal(t, refY, dst.Y)
			require.Equal(t, refU, dst.U)
			require.Equal(t, refV, dst.V)
		})
	}
}

func TestConvertRawOddSizes(t *testing.T) {
	// 5×3 I420: chroma is 3×2.
	n, err := RawSize(FormatI420, 5, 3)
	require.NoError(t, err)
	require.Equal(t, 15+2*6, n)
	data := make([]byte, n)
	for i := range data {
		data[i] = byte(i)
	}
	dst := media.NewVideoFrame(5, 3)
	require.NoError(t, ConvertRaw(dst, FormatI420, data))
	require.Equal(t, data[:15], dst.Y)
	require.Equal(t, data[15:21], dst.U)
	require.Equal(t, data[21:], dst.V)
	// Packed 4:2:2 needs an even width; an odd height keeps the last row's chroma.
	_, err = RawSize(FormatYUYV, 5, 4)
	require.ErrorIs(t, err, ErrBadPixels)
	yuyv := []byte{10, 100, 20, 200, 30, 110, 40, 210, 50, 120, 60, 220}
	dst = media.NewVideoFrame(2, 3)
	require.NoError(t, ConvertRaw(dst, FormatYUYV, yuyv))
	require.Equal(t, []byte{10, 20, 30, 40, 50, 60}, dst.Y)
	require.Equal(t, []byte{105, 120}, dst.U)
	require.Equal(t, []byte{205, 220}, dst.V)
}

func TestConvertImage(t *testing.T) {
	r := image.Rect(0, 0, 4, 4)
	ycc := func(ratio image.YCbCrSubsampleRatio) *image.YCbCr {
		m := image.NewYCbCr(r, ratio)
		copy(m.Y, refY)
		for y := 0; y < 4; y++ {
			for x := 0; x < 4; x++ {
				o := m.COffset(x, y)
				m.Cb[o], m.Cr[o] = refU[y/2*2+x/2], refV[y/2*2+x/2]
			}
		}
		return m
	}
	// A 420 picture inside a bigger one (SubImage keeps the parent's strides).
	big := image.NewYCbCr(image.Rect(0, 0, 8, 8), image.YCbCrSubsampleRatio420)
	for y := 0; y < 4; y++ {
		copy(big.Y[(y+2)*big.YStride+2:], refY[y*4:y*4+4])
	}
	for y := 0; y < 2; y++ {
		copy(big.Cb[(y+1)*big.CStride+1:], refU[y*2:y*2+2])
		copy(big.Cr[(y+1)*big.CStride+1:], refV[y*2:y*2+2])
	}
	sub := big.SubImage(image.Rect(2, 2, 6, 6))
	cases := []struct {
		name string
		img  image.Image
	}{
		{"420", ycc(image.YCbCrSubsampleRatio420)},
		{"422", ycc(image.YCbCrSubsampleRatio422)},
		{"444", ycc(image.YCbCrSubsampleRatio444)},
		{"440", ycc(image.YCbCrSubsampleRatio440)},
		{"420 sub-image", sub},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dst := media.NewVideoFrame(4, 4)
			require.NoError(t, ConvertImage(dst, c.img))
			require.Equal(t, refY, dst.Y)
			require.Equal(t, refU, dst.U)
			require.Equal(t, refV, dst.V)
		})
	}
	t.Run("gray", func(t *testing.T) {
		g := image.NewGray(r)
		copy(g.Pix, refY)
		dst := media.NewVideoFrame(4, 4)
		require.NoError(t, ConvertImage(dst, g))
		require.Equal(t, refY, dst.Y)
		require.Equal(t, []byte{128, 128, 128, 128}, dst.U)
	})
	t.Run("rgba", func(t *testing.T) {
		m := image.NewRGBA(r)
		for i := 0; i < 16; i++ {
			m.Set(i%4, i/4, color.RGBA{255, 0, 0, 255}) // pure red
		}
		dst := media.NewVideoFrame(4, 4)
		require.NoError(t, ConvertImage(dst, m))
		require.InDelta(t, 81, int(dst.Y[0]), 1)
		require.InDelta(t, 90, int(dst.U[0]), 1)
		require.InDelta(t, 240, int(dst.V[0]), 1)
	})
	t.Run("wrong size", func(t *testing.T) {
		require.ErrorIs(t, ConvertImage(media.NewVideoFrame(4, 2), ycc(image.YCbCrSubsampleRatio420)), ErrBadPixels)
		require.ErrorIs(t, ConvertImage(media.NewVideoFrame(4, 4), nil), ErrBadPixels)
		broken := ycc(image.YCbCrSubsampleRatio422)
		broken.Cb = broken.Cb[:3]
		require.ErrorIs(t, ConvertImage(media.NewVideoFrame(4, 4), broken), ErrBadPixels)
	})
}

func TestConvertMJPEG(t *testing.T) {
	// A flat full-range grey-ish JPEG comes out in limited range.
	m := image.NewYCbCr(image.Rect(0, 0, 32, 16), image.YCbCrSubsampleRatio420)
	for i := range m.Y {
		m.Y[i] = 255
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = 0, 255
	}
	var buf bytes.Buffer
	require.NoError(t, jpeg.Encode(&buf, m, &jpeg.Options{Quality: 100}))
	dst := media.NewVideoFrame(32, 16)
	require.NoError(t, ConvertRaw(dst, FormatMJPEG, buf.Bytes()))
	require.InDelta(t, 235, int(dst.Y[100]), 2)
	require.InDelta(t, 16, int(dst.U[20]), 3)
	require.InDelta(t, 240, int(dst.V[20]), 3)
	// The same JPEG into a frame of another size is refused.
	require.ErrorIs(t, ConvertRaw(media.NewVideoFrame(16, 16), FormatMJPEG, buf.Bytes()), ErrBadPixels)
}

var fuzzFormats = []PixelFormat{FormatI420, FormatNV12, FormatNV21, FormatYUYV, FormatUYVY, FormatMJPEG}

func FuzzConvertRaw(f *testing.F) {
	for _, c := range rawCases {
		for i, p := range fuzzFormats {
			if p == c.format {
				f.Add(uint8(i), uint8(4), uint8(4), c.data)
			}
		}
	}
	f.Fuzz(func(t *testing.T, fi, w, h uint8, data []byte) {
		format := fuzzFormats[int(fi)%len(fuzzFormats)]
		width, height := int(w)%64+1, int(h)%64+1
		dst := media.NewVideoFrame(width, height)
		err := ConvertRaw(dst, format, data)
		want, sizeErr := RawSize(format, width, height)
		if sizeErr != nil {
			require.Error(t, err)
			return
		}
		if format != FormatMJPEG && len(data) != want {
			require.ErrorIs(t, err, ErrBadPixels)
		}
		if format != FormatMJPEG && len(data) == want {
			require.NoError(t, err)
		}
		require.NoError(t, dst.Validate())
	})
}
