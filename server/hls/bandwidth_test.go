package hls

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestBandwidthWindow(t *testing.T) {
	for _, tc := range []struct {
		name     string
		size     int
		segments [][2]int // bytes, milliseconds
		want     Bandwidth
	}{
		{name: "nothing measured", size: 7},
		{name: "one segment", size: 7, segments: [][2]int{{125_000, 1000}},
			want: Bandwidth{Peak: 1_000_000, Average: 1_000_000, Segments: 1}},
		{name: "peak and average", size: 7, segments: [][2]int{{125_000, 1000}, {500_000, 2000}},
			want: Bandwidth{Peak: 2_000_000, Average: 1_666_666, Segments: 2}},
		{name: "old segments leave the window", size: 2, segments: [][2]int{{900_000, 1000}, {125_000, 1000}, {125_000, 1000}},
			want: Bandwidth{Peak: 1_000_000, Average: 1_000_000, Segments: 2}},
		{name: "a segment without duration is not measured", size: 7, segments: [][2]int{{125_000, 1000}, {1, 0}},
			want: Bandwidth{Peak: 1_000_000, Average: 1_000_000, Segments: 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := bandwidthWindow{size: tc.size}
			for _, s := range tc.segments {
				w.add(uint64(s[0]), time.Duration(s[1])*time.Millisecond)
			}
			require.Equal(t, tc.want, w.bandwidth())
		})
	}
}
