package media

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRateMeter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }

	var m RateMeter
	require.Zero(t, m.Observe(at(0), 0), "one sample is no rate")
	require.Zero(t, m.Observe(at(50), 500), "under 100 ms is no rate")
	require.InDelta(t, 1000, m.Observe(at(200), 200), 1e-9, "200 units in 200 ms")
	for ms := 300; ms <= 3000; ms += 100 {
		m.Observe(at(ms), int64(ms))
	}
	require.InDelta(t, 1000, m.Observe(at(3000), 3000), 1e-9)
	// A burst is seen within the window and forgotten after it.
	// 1000 extra units: the rate since the sample one second back (2100).
	require.InDelta(t, 2000, m.Observe(at(3100), 4100), 1e-9)
	require.InDelta(t, 1000, m.Observe(at(5000), 6000), 200)

	var b RateMeter
	b.Bitrate(at(0), 0)
	require.Equal(t, 8000, b.Bitrate(at(500), 500), "500 bytes in 0.5 s")

	// A count that goes backwards starts over.
	require.Zero(t, m.Observe(at(5100), 10))
	require.InDelta(t, 100, m.Observe(at(6100), 110), 1e-9)

	m.Reset()
	require.Zero(t, m.Observe(at(7000), 500))

	w := RateMeter{Window: 5 * time.Second}
	for s := 0; s <= 10; s++ {
		w.Observe(at(s*1000), int64(s*s*100))
	}
	// Over the last 5 s: (10² − 5²)·100 / 5 = 1500 per second.
	require.InDelta(t, 1500, w.Observe(at(10000), 10000), 1e-9)
}
