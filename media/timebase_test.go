package media

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestTicksRoundTrip(t *testing.T) {
	for _, c := range []struct {
		d     time.Duration
		rate  int64
		ticks int64
	}{
		{0, 90000, 0},
		{time.Second, 90000, 90000},
		{33366667, 90000, 3003},
		{40 * time.Millisecond, 1000, 40},
		{1500 * time.Microsecond, 1000, 2},
		{10 * time.Hour, 90000, 3240000000},
	} {
		require.Equal(t, c.ticks, ToTicks(c.d, c.rate), "%v at %d", c.d, c.rate)
		require.InDelta(t, float64(c.d), float64(FromTicks(c.ticks, c.rate)), float64(time.Second)/float64(c.rate))
	}
}

func TestVideoFrameValidate(t *testing.T) {
	f := NewVideoFrame(33, 17)
	require.NoError(t, f.Validate())
	cw, ch := f.ChromaSize()
	require.Equal(t, 17, cw)
	require.Equal(t, 9, ch)
	f.V = f.V[:len(f.V)-1]
	require.ErrorIs(t, f.Validate(), ErrBadFrame)
	require.ErrorIs(t, (&VideoFrame{}).Validate(), ErrBadFrame)
}

func TestAudioFrame(t *testing.T) {
	f := &AudioFrame{SampleRate: 48000, Channels: 2, Samples: make([]int16, 960*2)}
	require.NoError(t, f.Validate())
	require.Equal(t, 960, f.NumSamples())
	require.Equal(t, 20*time.Millisecond, f.Duration())
	f.Samples = f.Samples[:3]
	require.ErrorIs(t, f.Validate(), ErrBadFrame)
}
