package webrtc

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// adapterCases drive TestAdapter: feedback at given seconds (loss as a
// fraction, or a REMB estimate in kbit/s) and the rung wanted after each.
var adapterCases = []struct {
	name     string
	ceiling  int
	start    int
	feedback []struct {
		at   float64
		loss float64
		remb int
		want int
	}
}{
	{"clean stays on top", 0, 0, []struct {
		at   float64
		loss float64
		remb int
		want int
	}{{1, 0, 0, 0}, {10, 0, 0, 0}, {30, 0.01, 0, 0}}},
	{"two congested reports step down, one does not", 0, 0, []struct {
		at   float64
		loss float64
		remb int
		want int
	}{{4, 0.12, 0, 0}, {5, 0, 0, 0}, {6, 0.12, 0, 0}, {7, 0.15, 0, 1}, {8, 0.2, 0, 1}, {9, 0.2, 0, 1}, {11, 0.2, 0, 2}}},
	{"severe loss steps down at once, not twice within the hold", 0, 0, []struct {
		at   float64
		loss float64
		remb int
		want int
	}{{4, 0.3, 0, 1}, {5, 0.3, 0, 1}, {7.5, 0.3, 0, 2}, {9, 0.3, 0, 2}, {11, 0.5, 0, 3}, {15, 0.5, 0, 3}}},
	{"back up after 8 s clean, wait doubles when the step up fails", 0, 2, []struct {
		at   float64
		loss float64
		remb int
		want int
	}{{5, 0, 0, 2}, {8.5, 0, 0, 1}, {12, 0.3, 0, 2}, {20.5, 0, 0, 2}, {28.5, 0, 0, 1}}},
	{"never above the ceiling", 1, 1, []struct {
		at   float64
		loss float64
		remb int
		want int
	}{{10, 0, 0, 1}, {60, 0, 0, 1}}},
	{"low REMB steps down, high REMB lets it up", 0, 0, []struct {
		at   float64
		loss float64
		remb int
		want int
	}{{4, -1, 1000, 0}, {5, -1, 1000, 0}, {6, -1, 1000, 1}, {15, 0, 0, 1}, {16, -1, 1500, 1}, {17, 0, 0, 1}, {18, -1, 4000, 1}, {19, 0, 0, 0}}},
}

func TestAdapter(t *testing.T) {
	rates := []int{3000_000, 1200_000, 750_000, 400_000}
	for _, tc := range adapterCases {
		t.Run(tc.name, func(t *testing.T) {
			t0 := time.Unix(1000, 0)
			a := newAdapter(rates, tc.ceiling, tc.start, t0)
			for _, f := range tc.feedback {
				now := t0.Add(time.Duration(f.at * float64(time.Second)))
				var got int
				if f.loss >= 0 {
					got = a.lossReport(now, f.loss)
				} else {
					got = a.rembReport(now, f.remb*1000)
				}
				require.Equal(t, f.want, got, "at %.1f s (loss %.2f, remb %d)", f.at, f.loss, f.remb)
			}
		})
	}
}
