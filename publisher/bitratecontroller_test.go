package publisher

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// controllerCases drive TestBitrateDecide: each step is
// "state:queue-ms:send-kbps", optionally followed by "/link=kbps" (the
// acknowledged rate), "/in=kbps" (what the encoder makes) and "/base=ms"
// (the link's base delay), taken 500 ms apart; want is the bitrate
// (kbit/s) after each step.
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
	{"the acknowledged rate, not the send rate, is the link's", "L:300:3000/link=1500", "1200"},
	{"lowering starts from what the encoder makes", "L:300:2000/in=1000/link=600", "500"},
	{"an encoder making less than the target: straight under the link", "L:300:300/in=400/link=300", "250"},
	{"the round trip is not congestion", "L:300:2000/base=250 L:300:2000/base=250", "2000 2000"},
	{"but what waits beyond it is", "L:300:2000/base=50/link=1500", "1200"},
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
				opts := strings.Split(step, "/")
				f := strings.Split(opts[0], ":")
				ms, _ := strconv.Atoi(f[1])
				kbps, _ := strconv.Atoi(f[2])
				st = RTMPStats{State: map[string]RTMPState{"L": StateLive, "R": StateReconnecting, "C": StateConnecting}[f[0]],
					QueueDelay: time.Duration(ms) * time.Millisecond, Bitrate: kbps * 1000}
				for _, o := range opts[1:] {
					k, v, _ := strings.Cut(o, "=")
					n, err := strconv.Atoi(v)
					require.NoError(t, err, step)
					switch k {
					case "link":
						st.LinkBitrate = n * 1000
					case "in":
						st.InputBitrate = n * 1000
					case "base":
						st.BaseDelay = time.Duration(n) * time.Millisecond
					default:
						t.Fatalf("step %q: unknown %q", step, k)
					}
				}
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

// TestBitrateSteering: with several destinations, the one furthest behind
// steers; one congested at the floor for LeaveBehind is left behind and
// the bitrate climbs back for the others; it steers again once it is no
// longer congested. A single destination is never left behind.
func TestBitrateSteering(t *testing.T) {
	clock := newFakeClock()
	good := RTMPStats{State: StateLive, QueueDelay: 20 * time.Millisecond, LinkBitrate: 5_000_000}
	bad := RTMPStats{State: StateLive, QueueDelay: 3 * time.Second, BaseDelay: 10 * time.Millisecond, LinkBitrate: 100_000, Congested: true}
	dests := []RTMPStats{good, bad}
	// A congested link falls further behind at every look.
	behind := func(all []RTMPStats) func() []RTMPStats {
		return func() []RTMPStats {
			for i := range all {
				if all[i].Congested {
					all[i].QueueDelay += 100 * time.Millisecond
				}
			}
			return all
		}
	}
	bc := &BitrateController{Destinations: func() []RTMPStats { return behind(dests)() }, SetBitrate: func(int) {},
		Max: 2_000_000, Clock: clock, Logger: testLogger(t)}
	bc.applyDefaults()
	step := func(d time.Duration) {
		for end := clock.Now().Add(d); clock.Now().Before(end); {
			clock.Advance(500 * time.Millisecond)
			bc.Step()
		}
	}
	step(5 * time.Second)
	require.Equal(t, bc.Min, bc.BitrateStats().Current, "the slow one steers down to the floor")
	require.Empty(t, bc.BitrateStats().LeftBehind)
	step(bc.LeaveBehind)
	require.Equal(t, []int{1}, bc.BitrateStats().LeftBehind)
	step(time.Minute)
	require.Equal(t, bc.Max, bc.BitrateStats().Current, "the others get their bitrate back")

	dests[1].Congested, dests[1].QueueDelay = false, 30*time.Millisecond
	step(time.Second)
	require.Empty(t, bc.BitrateStats().LeftBehind, "caught up: it steers again")
	dests[1] = bad
	step(time.Second)
	require.Less(t, bc.BitrateStats().Current, bc.Max, "and it is followed down again")

	// Alone, it steers whatever happens.
	solo := &BitrateController{Destinations: behind([]RTMPStats{bad}), SetBitrate: func(int) {},
		Max: 2_000_000, Clock: clock, Logger: testLogger(t)}
	solo.applyDefaults()
	for range 100 {
		clock.Advance(500 * time.Millisecond)
		solo.Step()
	}
	require.Equal(t, solo.Min, solo.BitrateStats().Current)
	require.Empty(t, solo.BitrateStats().LeftBehind)

	// A dead destination does not steer; live ones do.
	dests = []RTMPStats{{State: StateReconnecting, QueueDelay: 5 * time.Second}, good}
	pick := bc.steering(dests, clock.Now())
	require.Equal(t, good, pick)
}
