package hls

import "time"

// Bandwidth is a media playlist's bitrate, measured from the segments its
// muxer produced.
type Bandwidth struct {
	// Peak is the bitrate of the densest segment in bit/s (what BANDWIDTH
	// must not be below).
	Peak int
	// Average is the bitrate over all measured segments in bit/s
	// (AVERAGE-BANDWIDTH).
	Average int
	// Segments counts the segments measured (0: nothing measured yet).
	Segments int
}

// bandwidthWindow measures the last size segments, as many as a
// playlist keeps.
type bandwidthWindow struct {
	size      int
	bytes     []uint64
	durations []time.Duration
}

// add measures one segment.
func (w *bandwidthWindow) add(bytes uint64, d time.Duration) {
	if d <= 0 {
		return
	}
	w.bytes = append(w.bytes, bytes)
	w.durations = append(w.durations, d)
	if n := len(w.bytes) - max(w.size, 1); n > 0 {
		w.bytes = append(w.bytes[:0], w.bytes[n:]...)
		w.durations = append(w.durations[:0], w.durations[n:]...)
	}
}

// bandwidth returns the peak and average over the window.
func (w *bandwidthWindow) bandwidth() Bandwidth {
	var b Bandwidth
	var total uint64
	var span time.Duration
	for i, n := range w.bytes {
		b.Peak = max(b.Peak, bitsPerSecond(n, w.durations[i]))
		total += n
		span += w.durations[i]
	}
	b.Segments = len(w.bytes)
	if span > 0 {
		b.Average = bitsPerSecond(total, span)
	}
	return b
}

func bitsPerSecond(bytes uint64, d time.Duration) int {
	return int(float64(bytes) * 8 / d.Seconds())
}
