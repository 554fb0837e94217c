package publisher

import (
	"sync"
	"time"
)

// rateMeter turns a growing byte count into bits per second over about
// the last second. Safe for concurrent use.
type rateMeter struct {
	mu      sync.Mutex
	samples []rateSample
}

type rateSample struct {
	t     time.Time
	bytes int64
}

// rate records the total at now and returns the bitrate since the newest
// sample at least one second old (or the oldest one, if younger).
func (m *rateMeter) rate(now time.Time, total int64) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.samples); n == 0 || now.Sub(m.samples[n-1].t) >= 100*time.Millisecond {
		m.samples = append(m.samples, rateSample{now, total})
	}
	// Forget samples older than needed for a one-second window.
	for len(m.samples) > 2 && now.Sub(m.samples[1].t) >= time.Second {
		m.samples = m.samples[1:]
	}
	ref := m.samples[0]
	dt := now.Sub(ref.t)
	if dt < 100*time.Millisecond {
		return 0
	}
	return int(float64(total-ref.bytes) * 8 / dt.Seconds())
}
