package capture

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
)

// clockStripCases drive the round-trip tests, seed FuzzDecodeClockStrip,
// and are the cases assets/web/clockstrip.js is checked against (bench's
// glass-to-glass smoke run reads the same strips in Chromium).
var clockStripCases = []ClockStrip{
	{0, 0},
	{1, 1},
	{time.Date(2026, 11, 27, 10, 11, 12, 345_000_000, time.UTC).UnixMilli(), 123456},
	{1<<44 - 1, 1<<32 - 1},
	{0x555_5555_5555, 0xAAAAAAAA},
	{0xAAA_AAAA_AAAA, 0x55555555},
	{1_700_000_000_000, 30},
}

// clockStripSizes are the pictures the strip must survive at: the
// ladder's rungs and a few more.
var clockStripSizes = [][2]int{{1920, 1080}, {1280, 720}, {854, 480}, {640, 360}, {426, 240}, {320, 180}, {64, 48}}

// clockStripFrame draws c on a picture of bars (so the strip's
// surroundings are not plain black).
func clockStripFrame(w, h int, c ClockStrip) *media.VideoFrame {
	f := drawBackground(w, h)
	c.Encode(f)
	return f
}

func TestClockStripRoundTrip(t *testing.T) {
	for _, c := range clockStripCases {
		for _, size := range clockStripSizes {
			got, err := DecodeClockStrip(clockStripFrame(size[0], size[1], c))
			require.NoError(t, err, "%+v at %v", c, size)
			require.Equal(t, c, got, "at %v", size)
		}
	}
}

func TestClockStripScaledAndNoisy(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range clockStripCases {
		src := clockStripFrame(1280, 720, c)
		for _, size := range clockStripSizes[2:6] { // 16:9, as the scaler fills them
			dst := media.NewVideoFrame(size[0], size[1])
			NewScaler(1280, 720, size[0], size[1]).Scale(dst, src)
			for i := range dst.Y { // lossy coding: ±40 on every luma sample
				dst.Y[i] = byte(min(max(int(dst.Y[i])+rng.IntN(81)-40, 0), 255))
			}
			got, err := DecodeClockStrip(dst)
			require.NoError(t, err, "%+v at %v", c, size)
			require.Equal(t, c, got, "at %v", size)
		}
	}
}

func TestClockStripRefuses(t *testing.T) {
	_, err := DecodeClockStrip(media.NewVideoFrame(1280, 720)) // all zero: no contrast
	require.ErrorIs(t, err, ErrNoClockStrip)
	_, err = DecodeClockStrip(media.NewVideoFrame(32, 32))
	require.ErrorIs(t, err, ErrNoClockStrip)
	_, err = DecodeClockStrip(&media.VideoFrame{Width: 640, Height: 360})
	require.ErrorIs(t, err, ErrNoClockStrip)
	_, err = DecodeClockStrip(drawBackground(640, 360)) // bars, no strip
	require.ErrorIs(t, err, ErrNoClockStrip)

	// One data block flipped: the checksum catches it.
	c := clockStripCases[2]
	for _, block := range []int{0, 7, 50, 89} {
		f := clockStripFrame(640, 360, c)
		row, col := block/(clockCols-2), block%(clockCols-2)+1
		x0, y0, x1, y1 := clockCell(f.Width, f.Height, row, col)
		v := byte(clockWhite)
		if c.bits()[block] {
			v = clockBlack
		}
		fillY(f, x0, y0, x1-x0, y1-y0, v)
		_, err := DecodeClockStrip(f)
		require.ErrorIs(t, err, ErrNoClockStrip, "block %d flipped", block)
	}
}

func TestTestPatternClockStrip(t *testing.T) {
	p := newRenderPattern(t, 1280, 720, 30)
	for _, n := range []int64{0, 1, 29, 30, 123456, 1<<32 + 5} {
		got, err := DecodeClockStrip(p.Render(n))
		require.NoError(t, err, "frame %d", n)
		require.Equal(t, NewClockStrip(testEpoch.Add(p.grid.at(n)), n), got)
		require.Equal(t, uint32(n), got.Frame)
	}
	// The burned-in text stamp is still there and agrees.
	f := p.Render(31)
	s, err := ReadStamp(f)
	require.NoError(t, err)
	c, err := DecodeClockStrip(f)
	require.NoError(t, err)
	require.Equal(t, int64(c.Frame), s.Frame)
	require.Equal(t, c.Time().UTC().Format("15:04:05.000"), s.Wall)
}

// TestClockStripThroughX264 has the ffmpeg command line scale 720p test
// pattern frames to 240p and encode them with libx264 at 400 kbit/s, then
// decode them back: every frame's strip must read as it was drawn.
func TestClockStripThroughX264(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	const n = 90
	p := newRenderPattern(t, 1280, 720, 30)
	dir := t.TempDir()
	var raw bytes.Buffer
	for i := range int64(n) {
		f := p.Render(i)
		raw.Write(f.Y)
		raw.Write(f.U)
		raw.Write(f.V)
	}
	in, mp4, out := filepath.Join(dir, "in.yuv"), filepath.Join(dir, "out.mp4"), filepath.Join(dir, "out.yuv")
	require.NoError(t, os.WriteFile(in, raw.Bytes(), 0o600))
	run := func(args ...string) {
		b, err := exec.Command(ffmpeg, append([]string{"-hide_banner", "-loglevel", "error", "-nostdin", "-y"}, args...)...).CombinedOutput()
		require.NoError(t, err, "ffmpeg %v: %s", args, b)
	}
	run("-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "1280x720", "-r", "30", "-i", in,
		"-vf", "scale=426:240", "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
		"-b:v", "400k", "-maxrate", "400k", "-bufsize", "400k", "-g", "60", mp4)
	run("-i", mp4, "-f", "rawvideo", "-pix_fmt", "yuv420p", out)
	dec, err := os.ReadFile(out)
	require.NoError(t, err)
	const w, h = 426, 240
	size := w*h + 2*(w/2)*(h/2)
	require.Equal(t, n*size, len(dec))
	for i := range int64(n) {
		f := media.NewVideoFrame(w, h)
		copy(f.Y, dec[int(i)*size:])
		got, err := DecodeClockStrip(f)
		require.NoError(t, err, "frame %d", i)
		require.Equal(t, NewClockStrip(testEpoch.Add(p.grid.at(i)), i), got, fmt.Sprintf("frame %d", i))
	}
}

func FuzzDecodeClockStrip(f *testing.F) {
	const w, h = 128, 96
	for _, c := range clockStripCases {
		f.Add(clockStripFrame(w, h, c).Y)
	}
	f.Add(make([]byte, w*h))
	f.Fuzz(func(t *testing.T, y []byte) {
		fr := media.NewVideoFrame(w, h)
		copy(fr.Y, y)
		c, err := DecodeClockStrip(fr)
		if err != nil {
			require.ErrorIs(t, err, ErrNoClockStrip)
			return
		}
		require.Less(t, c.UnixMilli, int64(1)<<44)
		require.GreaterOrEqual(t, c.UnixMilli, int64(0))
		again, err := DecodeClockStrip(clockStripFrame(w, h, c))
		require.NoError(t, err)
		require.Equal(t, c, again)
	})
}
