package publisher

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// controllerCases drive TestBitrateDecide: each step is
// "state:queue-ms:send-kbps", taken 500 ms apart; want is the bitrate (kbit/s)
// after each step.
var controllerCases = []struct {
	name  string
	steps string
	want  string
}{
	{"steady link keeps the bitrate", "L:10:2000 L:100:2000 L:30:2000", "2000 2000 2000"},
	{"congestion lowers toward 80% of the send rate", "L:300:1800", "1440"},
	{"small excess lowers by at least 10%", "L:300:2400", "1800"},
	{"a collapsed link halves the bitrate per step", "L:300:100", "1000"},
	{"waits a second, then lowers again only if the queue got worse", "L:300:1800 L:400:700 L:250:700 L:500:900 L:600:700",
		"1440 1440 1440 720 720"},
	{"never below the floor", "L:900:100 L:1000:50 L:1100:50 L:1200:50 L:1300:50 L:1400:50", "1000 1000 500 500 250 250"},
	{"no change while not live", "R:900:0 C:900:0", "2000 2000"},
	{"back up only after 5 s calm, then every 2 s, capped at Max", "L:300:1800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800 L:10:800",
		"1440 1440 1440 1440 1440 1440 1440 1440 1440 1440 1440 1584 1584 1584 1584"},
	{"calm broken by a busy queue starts over", "L:300:1800 L:10:800 L:10:800 L:10:800 L:100:800 L:10:800 L:10:800", "1440 1440 1440 1440 1440 1440 1440"},
}

func TestBitrateDecide(t *testing.T) {
	for _, c := range controllerCases {
		t.Run(c.name, func(t *testing.T) {
			clock := newFakeClock()
			var got []string
			var set []int
			var st RTMPStats
			bc := &BitrateController{Stats: func() RTMPStats { return st }, SetBitrate: func(b int) { set = append(set, b) },
				Max: 2_000_000, Clock: clock, Logger: testLogger(t)}
			bc.applyDefaults()
			for _, step := range strings.Fields(c.steps) {
				f := strings.Split(step, ":")
				ms, _ := strconv.Atoi(f[1])
				kbps, _ := strconv.Atoi(f[2])
				st = RTMPStats{State: map[string]RTMPState{"L": StateLive, "R": StateReconnecting, "C": StateConnecting}[f[0]],
					QueueDelay: time.Duration(ms) * time.Millisecond, Bitrate: kbps * 1000}
				clock.Advance(500 * time.Millisecond)
				bc.Step()
				got = append(got, strconv.Itoa(bc.BitrateStats().Current/1000))
			}
			require.Equal(t, c.want, strings.Join(got, " "))
			for _, b := range set {
				require.LessOrEqual(t, b, 2_000_000)
				require.GreaterOrEqual(t, b, 250_000)
			}
		})
	}
}

func TestBitrateSetMax(t *testing.T) {
	clock := newFakeClock()
	var st RTMPStats
	var set []int
	bc := &BitrateController{Stats: func() RTMPStats { return st }, SetBitrate: func(b int) { set = append(set, b) },
		Max: 2_000_000, Clock: clock, UpAfter: time.Second, UpEvery: time.Second, StepUp: 2, Logger: testLogger(t)}
	bc.applyDefaults()
	bc.SetMax(1_000_000) // lowered by the user: applied at once
	require.Equal(t, []int{1_000_000}, set)
	st = RTMPStats{State: StateLive, QueueDelay: 500 * time.Millisecond, Bitrate: 600_000}
	clock.Advance(time.Second)
	bc.Step()
	require.Equal(t, 500_000, bc.BitrateStats().Current)
	bc.SetMax(1_500_000) // raised: climbs back, but never over the ceiling
	st = RTMPStats{State: StateLive}
	for i := 0; i < 10; i++ {
		clock.Advance(time.Second)
		bc.Step()
	}
	require.Equal(t, 1_500_000, bc.BitrateStats().Current)
	for _, b := range set {
		require.LessOrEqual(t, b, 1_500_000)
	}
}
