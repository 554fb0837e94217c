package media

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// bitrateCases drive TestParseBitrate and FuzzParseBitrate's seeds; want 0
// means refused.
var bitrateCases = []struct {
	in   string
	want int
}{
	{"3000k", 3_000_000},
	{"3M", 3_000_000},
	{"2500000", 2_500_000},
	{"128kbps", 128_000},
	{"128KBPS", 128_000},
	{"3Mbps", 3_000_000},
	{"128kb/s", 128_000},
	{"1.5m", 1_500_000},
	{" 800k ", 800_000},
	{"8k", 8_000},
	{"200M", 200_000_000},
	{"2.5m", 2_500_000},
	{"7k", 0},
	{"1", 0},
	{"NaNk", 0},
	{"201M", 0},
	{"-3M", 0},
	{"NaN", 0},
	{"", 0},
	{"k", 0},
	{"3G", 0},
	{"fast", 0},
}

func TestParseBitrate(t *testing.T) {
	for _, c := range bitrateCases {
		got, err := ParseBitrate(c.in)
		if c.want == 0 {
			require.ErrorIs(t, err, ErrBadOption, "%q", c.in)
			continue
		}
		require.NoError(t, err, "%q", c.in)
		require.Equal(t, c.want, got, "%q", c.in)
	}
}

func FuzzParseBitrate(f *testing.F) {
	for _, c := range bitrateCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseBitrate(s)
		if err != nil {
			require.ErrorIs(t, err, ErrBadOption)
			return
		}
		require.GreaterOrEqual(t, got, MinBitrate)
		require.LessOrEqual(t, got, MaxBitrate)
	})
}
