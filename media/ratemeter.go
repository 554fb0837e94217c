package media

import (
	"sync"
	"time"
)

// minRateSpan is the shortest span of samples a RateMeter reports a rate
// for, and the spacing of the samples it keeps.
const minRateSpan = 100 * time.Millisecond

// RateMeter turns a growing count (bytes, frames) into a rate per second
// over a sliding window. Its callers pass the time, so a clock can be
// injected. Safe for concurrent use; the zero value measures over one
// second.
type RateMeter struct {
	// Window is how far back the rate looks; default one second.
	Window time.Duration

	mu      sync.Mutex
	samples []rateSample
}

type rateSample struct {
	t     time.Time
	count int64
}

// Observe records that the count stood at total at time now and returns
// the rate per second since the newest sample at least Window old (or the
// oldest one, while the meter is younger than that). It returns 0 until
// the samples span 100 ms, and after a count that went backwards (the
// meter starts over from it).
func (m *RateMeter) Observe(now time.Time, total int64) float64 {
	window := m.Window
	if window <= 0 {
		window = time.Second
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if n := len(m.samples); n > 0 && total < m.samples[n-1].count {
		m.samples = m.samples[:0]
	}
	if n := len(m.samples); n == 0 || now.Sub(m.samples[n-1].t) >= minRateSpan {
		m.samples = append(m.samples, rateSample{now, total})
	}
	drop := 0 // samples older than the window needs
	for drop+1 < len(m.samples)-1 && now.Sub(m.samples[drop+1].t) >= window {
		drop++
	}
	m.samples = append(m.samples[:0], m.samples[drop:]...)
	ref := m.samples[0]
	dt := now.Sub(ref.t)
	if dt < minRateSpan {
		return 0
	}
	return float64(total-ref.count) / dt.Seconds()
}

// Bitrate is Observe for a byte count: bits per second.
func (m *RateMeter) Bitrate(now time.Time, totalBytes int64) int {
	return int(m.Observe(now, totalBytes) * 8)
}

// Reset forgets every sample: the next rate starts from the next Observe.
func (m *RateMeter) Reset() {
	m.mu.Lock()
	m.samples = m.samples[:0]
	m.mu.Unlock()
}
