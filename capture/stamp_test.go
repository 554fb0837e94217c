package capture

import (
	"testing"

	"github.com/stretchr/testify/require"

	"golive/media"
)

func FuzzReadStamp(f *testing.F) {
	p := &TestPattern{Width: 160, Height: 120, FPS: 30, Clock: &ManualClock{}, Ticker: NewManualTicker().Factory(), Epoch: testEpoch}
	require.NoError(f, p.Initialize())
	defer p.Close()
	f.Add(p.Render(0).Y)
	f.Add(p.Render(987654).Y)
	f.Add(make([]byte, 160*120))
	f.Fuzz(func(t *testing.T, y []byte) {
		fr := media.NewVideoFrame(160, 120)
		copy(fr.Y, y)
		s, err := ReadStamp(fr)
		if err != nil {
			require.ErrorIs(t, err, ErrNoStamp)
			return
		}
		_, err = s.TimeOfDay()
		require.NoError(t, err)
		require.GreaterOrEqual(t, s.Frame, int64(0))
	})
}
