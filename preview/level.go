package preview

import (
	"math"

	"golive/media"
)

// Level returns the peak and RMS level of an audio block as fractions of
// full scale (0..1), over all channels.
func Level(f *media.AudioFrame) (peak, rms float64) {
	if f == nil || len(f.Samples) == 0 {
		return 0, 0
	}
	var sum float64
	var pk int32
	for _, s := range f.Samples {
		v := int32(s)
		if v < 0 {
			v = -v
		}
		pk = max(pk, v)
		sum += float64(s) * float64(s)
	}
	return min(float64(pk)/32767, 1), min(math.Sqrt(sum/float64(len(f.Samples)))/32767, 1)
}

// DBFS converts a level fraction to decibels relative to full scale,
// floored at -90.
func DBFS(level float64) float64 {
	if level <= 0 {
		return -90
	}
	return max(-90, 20*math.Log10(level))
}
