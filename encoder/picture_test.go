package encoder

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/media"
)

// pictureCases drive the zero-copy path (DecodePictures → ScaleInto →
// EncodePicture) against the copying one (Decode → Scale → Encode): both
// must give the same pixels and the same bitstream.
var pictureCases = []struct {
	name       string
	srcW, srcH int
	dstW, dstH int
}{
	{"720p to 480p", 1280, 720, 854, 480},
	{"360p to 240p", 640, 360, 426, 240},
	{"same size", 320, 180, 320, 180},
	{"upscale", 160, 90, 320, 180},
}

func TestPicturePipelineMatchesCopies(t *testing.T) {
	const frames, fps = 8, 30
	for _, tc := range pictureCases {
		t.Run(tc.name, func(t *testing.T) {
			src := &H264{Encoder: "libx264", Preset: "ultrafast", Width: tc.srcW, Height: tc.srcH, FPS: fps, Threads: 1, Logger: quietLogger()}
			require.NoError(t, src.Initialize())
			defer src.Close()
			var pkts []*media.Packet
			for i := range frames {
				out, err := src.Encode(patternFrame(tc.srcW, tc.srcH, i, fps, true), false)
				require.NoError(t, err)
				pkts = append(pkts, out...)
			}
			out, err := src.Flush()
			require.NoError(t, err)
			pkts = append(pkts, out...)
			params := src.Params()

			open := func() (*H264Decoder, *Scaler, *H264) {
				d := &H264Decoder{Params: params, Threads: 1, Logger: quietLogger()}
				require.NoError(t, d.Initialize())
				s := &Scaler{Width: tc.dstW, Height: tc.dstH, Logger: quietLogger()}
				e := &H264{Encoder: "libx264", Preset: "ultrafast", Width: tc.dstW, Height: tc.dstH, FPS: fps, Threads: 1, Logger: quietLogger()}
				require.NoError(t, e.Initialize())
				t.Cleanup(func() { d.Close(); s.Close(); e.Close() })
				return d, s, e
			}
			cd, cs, ce := open() // copying path
			zd, zs, ze := open() // zero-copy path
			dst, err := NewPicture(tc.dstW, tc.dstH)
			require.NoError(t, err)
			defer dst.Free()

			var copied, direct []*media.Packet
			var decoded, lent []*media.VideoFrame
			n := 0
			for _, p := range append(pkts, nil) {
				fs, err := cd.Decode(p)
				require.NoError(t, err)
				for _, f := range fs {
					decoded = append(decoded, f)
					scaled, err := cs.Scale(f)
					require.NoError(t, err)
					out, err := ce.Encode(scaled, len(decoded)%5 == 1)
					require.NoError(t, err)
					copied = append(copied, out...)
				}
				require.NoError(t, zd.DecodePictures(p, func(pic *Picture) {
					n++
					require.Equal(t, tc.srcW, pic.Width())
					lent = append(lent, pic.VideoFrame())
					require.NoError(t, zs.ScaleInto(pic, dst))
					require.Equal(t, pic.PTS, dst.PTS)
					scaled := dst.VideoFrame()
					require.Equal(t, tc.dstW, scaled.Width)
					out, err := ze.EncodePicture(dst, n%5 == 1)
					require.NoError(t, err)
					direct = append(direct, out...)
					pic.Free() // a lent picture is not the caller's to free: no effect
				}))
			}
			require.Len(t, decoded, frames)
			require.Equal(t, decoded, lent, "lent pictures hold the decoded frames")
			out, err = ce.Flush()
			require.NoError(t, err)
			copied = append(copied, out...)
			out, err = ze.Flush()
			require.NoError(t, err)
			direct = append(direct, out...)
			require.Len(t, direct, frames)
			require.Equal(t, copied, direct, "EncodePicture gives Encode's bitstream")
			require.True(t, direct[0].Keyframe && direct[5].Keyframe && !direct[1].Keyframe)
		})
	}
}

// TestScaleIntoMatchesScale checks ScaleInto's pixels against Scale's.
func TestScaleIntoMatchesScale(t *testing.T) {
	for _, tc := range pictureCases {
		t.Run(tc.name, func(t *testing.T) {
			f := patternFrame(tc.srcW, tc.srcH, 3, 30, true)
			f.PTS = 700 * time.Millisecond
			s := &Scaler{Width: tc.dstW, Height: tc.dstH, Logger: quietLogger()}
			defer s.Close()
			want, err := s.Scale(f)
			require.NoError(t, err)
			// A picture filled through an encoder-owned frame: copy f in.
			srcPic, err := NewPicture(tc.srcW, tc.srcH)
			require.NoError(t, err)
			defer srcPic.Free()
			require.NoError(t, fillFrame(srcPic.f, f))
			srcPic.PTS = f.PTS
			dst, err := NewPicture(tc.dstW, tc.dstH)
			require.NoError(t, err)
			defer dst.Free()
			require.NoError(t, s.ScaleInto(srcPic, dst))
			require.Equal(t, want, dst.VideoFrame())
		})
	}
}

func TestPictureErrors(t *testing.T) {
	for _, size := range [][2]int{{0, 10}, {11, 10}, {10, 7}, {-2, 4}, {8194, 2}} {
		_, err := NewPicture(size[0], size[1])
		require.ErrorIs(t, err, ErrBadConfig, "%v", size)
	}
	p, err := NewPicture(64, 36)
	require.NoError(t, err)
	require.Equal(t, 64, p.Width())
	require.Equal(t, 36, p.Height())
	p.Free()
	p.Free()
	require.Zero(t, p.Width())
	require.Nil(t, p.VideoFrame())

	s := &Scaler{Logger: quietLogger()}
	dst, err := NewPicture(32, 18)
	require.NoError(t, err)
	defer dst.Free()
	require.ErrorIs(t, s.ScaleInto(p, dst), media.ErrBadFrame, "freed source")
	require.ErrorIs(t, s.ScaleInto(dst, nil), media.ErrBadFrame, "nil destination")
	s.Close()
	src, err := NewPicture(64, 36)
	require.NoError(t, err)
	defer src.Free()
	require.ErrorIs(t, s.ScaleInto(src, dst), ErrClosed)

	e := &H264{Encoder: "libx264", Preset: "ultrafast", Width: 32, Height: 18, FPS: 30, Logger: quietLogger()}
	require.NoError(t, e.Initialize())
	_, err = e.EncodePicture(src, false)
	require.ErrorIs(t, err, ErrFrameSize)
	_, err = e.EncodePicture(p, false)
	require.ErrorIs(t, err, media.ErrBadFrame)
	_, err = e.EncodePicture(dst, true)
	require.NoError(t, err)
	require.EqualValues(t, 2, e.Stats().Skipped)
	e.Close()
	_, err = e.EncodePicture(dst, false)
	require.ErrorIs(t, err, ErrClosed)
}
