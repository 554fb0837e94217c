package ladder

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// specCases drives TestParseSpecs and seeds FuzzParseSpecs.
var specCases = []struct {
	in   string
	want []Spec
	ok   bool
}{
	{DefaultLadder, []Spec{{"720p", 720, 0}, {"480p", 480, 0}, {"360p", 360, 0}, {"240p", 240, 0}}, true},
	{" 480P , 240p:300k ", []Spec{{"480p", 480, 0}, {"240p", 240, 300000}}, true},
	{"1080p:6m", []Spec{{"1080p", 1080, 6000000}}, true},
	{"", nil, false},
	{"480", nil, false},
	{"p", nil, false},
	{"481p", nil, false},
	{"32p", nil, false},
	{"480p,480p", nil, false},
	{"480p:fast", nil, false},
	{"480p:-1k", nil, false},
	{"99999p", nil, false},
}

func TestParseSpecs(t *testing.T) {
	for _, c := range specCases {
		got, err := ParseSpecs(c.in)
		if !c.ok {
			require.ErrorIs(t, err, ErrBadLadder, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
}

func FuzzParseSpecs(f *testing.F) {
	for _, c := range specCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		specs, err := ParseSpecs(s)
		if err != nil {
			return
		}
		require.NotEmpty(t, specs)
		for _, sp := range specs {
			require.True(t, sp.Height >= 64 && sp.Height <= 4320 && sp.Height%2 == 0)
			require.GreaterOrEqual(t, sp.Bitrate, 0)
		}
	})
}

func TestPlan(t *testing.T) {
	specs, err := ParseSpecs("240p,720p,480p,360p,1080p")
	require.NoError(t, err)
	plan := Plan(specs, 1280, 720)
	require.Equal(t, []Rung{
		{Name: "480p", Width: 854, Height: 480, Bitrate: 1200000},
		{Name: "360p", Width: 640, Height: 360, Bitrate: BitrateFor(640, 360)},
		{Name: "240p", Width: 426, Height: 240, Bitrate: BitrateFor(426, 240)},
	}, plan, "smaller rungs only, tallest first, even widths from the source aspect")
	require.InDelta(t, 700_000, BitrateFor(640, 360), 100_000)
	require.InDelta(t, 400_000, BitrateFor(426, 240), 50_000)
	require.Empty(t, Plan(specs, 320, 240), "nothing below a 240p source")
	require.Equal(t, 320, Plan(mustSpecs(t, "240p"), 1920, 1440)[0].Width, "4:3 aspect kept")
}

func mustSpecs(t *testing.T, s string) []Spec {
	sp, err := ParseSpecs(s)
	require.NoError(t, err)
	return sp
}
