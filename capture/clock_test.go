package capture

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestGrid(t *testing.T) {
	cases := []struct {
		name     string
		num, den uint64
		at       map[int64]time.Duration
	}{
		{"30fps", uint64(time.Second), 30, map[int64]time.Duration{0: 0, 1: 33333333, 3: 100 * time.Millisecond, 30: time.Second, 108000: time.Hour}},
		{"25fps", uint64(time.Second), 25, map[int64]time.Duration{1: 40 * time.Millisecond, 90000: time.Hour}},
		{"960@48k", 960 * uint64(time.Second), 48000, map[int64]time.Duration{1: 20 * time.Millisecond, 180000: time.Hour}},
		{"1024@44.1k", 1024 * uint64(time.Second), 44100, map[int64]time.Duration{441: 10240 * time.Millisecond}},
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := newGrid(c.num, c.den)
			for n, want := range c.at {
				require.Equal(t, want, g.at(n), "at(%d)", n)
				require.Equal(t, n, g.index(want), "index(at(%d))", n)
				require.Equal(t, n, g.ceil(want), "ceil(at(%d))", n)
			}
			require.Equal(t, int64(-1), g.index(-1))
			require.Equal(t, int64(0), g.ceil(-5))
			for range 1000 {
				d := time.Duration(rng.Int64N(int64(48 * time.Hour)))
				n := g.index(d)
				require.LessOrEqual(t, g.at(n), d)
				require.Greater(t, g.at(n+1), d)
				c := g.ceil(d)
				require.GreaterOrEqual(t, g.at(c), d)
				require.True(t, c == 0 || g.at(c-1) < d)
			}
		})
	}
}

func TestRealClockMonotonic(t *testing.T) {
	c := NewClock()
	a := c.Now()
	b := c.Now()
	require.GreaterOrEqual(t, b, a)
	require.GreaterOrEqual(t, a, time.Duration(0))
	e, ok := c.(Epocher)
	require.True(t, ok)
	require.WithinDuration(t, time.Now(), e.Epoch().Add(c.Now()), time.Second)
}
