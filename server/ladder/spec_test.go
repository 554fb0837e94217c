package ladder

import (
	"fmt"
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

// planCases drives TestPlan: a rung's name is the picture's short side,
// and a rung within 15 % of the source's size is skipped.
var planCases = []struct {
	name       string
	ladder     string
	srcW, srcH int
	want       []string // WxH of every planned rung, in order
}{
	{"landscape 720p", "240p,720p,480p,360p,1080p", 1280, 720, []string{"854x480", "640x360", "426x240"}},
	{"portrait 720x1280", DefaultLadder, 720, 1280, []string{"480x854", "360x640", "240x426"}},
	{"1366x768 skips 720p (within 15 %)", DefaultLadder, 1366, 768, []string{"854x480", "640x360", "426x240"}},
	{"960x540 skips 480p (within 15 %)", DefaultLadder, 960, 540, []string{"640x360", "426x240"}},
	{"1080p keeps 720p", "720p,480p", 1920, 1080, []string{"1280x720", "854x480"}},
	{"4:3 aspect kept", "240p", 1920, 1440, []string{"320x240"}},
	{"portrait 4:3", "240p", 1440, 1920, []string{"240x320"}},
	{"nothing below a 240p source", DefaultLadder, 320, 240, nil},
	{"square", "240p", 720, 720, []string{"240x240"}},
	{"no picture", DefaultLadder, 0, 0, nil},
}

func TestPlan(t *testing.T) {
	for _, c := range planCases {
		var got []string
		for _, r := range Plan(mustSpecs(t, c.ladder), c.srcW, c.srcH) {
			got = append(got, fmt.Sprintf("%dx%d", r.Width, r.Height))
			require.Equal(t, BitrateFor(r.Width, r.Height), r.Bitrate, c.name)
			require.Equal(t, fmt.Sprintf("%dp", min(r.Width, r.Height)), r.Name, "%s: the name is the short side", c.name)
		}
		require.Equal(t, c.want, got, c.name)
	}
	plan := Plan(mustSpecs(t, "480p:1000k"), 1280, 720)
	require.Equal(t, []Rung{{Name: "480p", Width: 854, Height: 480, Bitrate: 1000000}}, plan, "a spec's bitrate is kept")
	require.InDelta(t, 700_000, BitrateFor(640, 360), 100_000)
	require.InDelta(t, 400_000, BitrateFor(426, 240), 50_000)
	require.Equal(t, "720p", SourceName(720, 1280))
	require.Equal(t, "768p", SourceName(1366, 768))
}

func mustSpecs(t *testing.T, s string) []Spec {
	sp, err := ParseSpecs(s)
	require.NoError(t, err)
	return sp
}
