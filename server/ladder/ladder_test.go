package ladder

import (
	"encoding/binary"
	"io"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/encoder"
	"golive/internal/peers"
	"golive/media"
	"golive/server/ingest"
)

// readFLV demuxes an FLV file into its video parameters and packets.
func readFLV(t *testing.T, path string) (*media.CodecParams, []*media.Packet) {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Greater(t, len(b), 13)
	pos := int(binary.BigEndian.Uint32(b[5:9])) + 4
	var d ingest.FLVDemuxer
	var params *media.CodecParams
	var pkts []*media.Packet
	for pos+11 <= len(b) {
		typ := b[pos]
		size := int(b[pos+1])<<16 | int(b[pos+2])<<8 | int(b[pos+3])
		ts := uint32(b[pos+4])<<16 | uint32(b[pos+5])<<8 | uint32(b[pos+6]) | uint32(b[pos+7])<<24
		body := b[pos+11 : pos+11+size]
		pos += 11 + size + 4
		if typ != 9 {
			continue
		}
		res, err := d.Video(ts, body)
		require.NoError(t, err)
		if res.Params != nil {
			params = res.Params
		}
		if res.Packet != nil {
			pkts = append(pkts, res.Packet)
		}
	}
	require.NotNil(t, params)
	return params, pkts
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func TestLadderKeyframesAligned(t *testing.T) {
	file := peers.MakeTestFile(t, peers.TestSource{Width: 640, Height: 360, Duration: 3 * time.Second, NoAudio: true})
	src, pkts := readFLV(t, file)
	rungs := Plan(mustSpecs(t, "240p,160p"), src.Width, src.Height)
	require.Len(t, rungs, 2)

	var mu sync.Mutex
	out := make([][]*media.Packet, len(rungs))
	l := &Ladder{Source: *src, Rungs: rungs, Encoder: "libx264", Preset: "ultrafast", MaxLag: 200, Logger: quiet(),
		Output: func(i int, p *media.Packet) { mu.Lock(); out[i] = append(out[i], p); mu.Unlock() }}
	require.NoError(t, l.Initialize())
	defer l.Close()
	for i := range rungs {
		p := l.Params(i)
		require.Equal(t, rungs[i].Width, p.Width)
		require.NotEmpty(t, p.Config)
	}
	srcKeys := map[time.Duration]bool{}
	for _, p := range pkts {
		require.NoError(t, l.WriteVideo(p))
		if p.Keyframe {
			srcKeys[p.PTS] = true
		}
	}
	require.Len(t, srcKeys, 3)
	// Every frame the decoder produced reaches every rung (the last B-frames
	// may stay in the decoder).
	require.Eventually(t, func() bool {
		st := l.Stats()
		return st.FramesDecoded >= int64(len(pkts))-4 && st.Rungs[0].Packets == st.FramesDecoded && st.Rungs[1].Packets == st.FramesDecoded
	}, 30*time.Second, 20*time.Millisecond, "rungs encode every decoded frame: %+v", l.Stats())
	mu.Lock()
	defer mu.Unlock()
	for i, ps := range out {
		keys := map[time.Duration]bool{}
		for _, p := range ps {
			if p.Keyframe {
				keys[p.PTS] = true
			}
		}
		require.Equal(t, srcKeys, keys, "rung %s keyframes on the source's keyframes", rungs[i].Name)
	}
	require.Empty(t, l.Stats().Dropped)
}

func TestLadderDropsLowestRungWhenBehind(t *testing.T) {
	file := peers.MakeTestFile(t, peers.TestSource{Width: 640, Height: 360, Duration: 3 * time.Second, NoAudio: true})
	src, pkts := readFLV(t, file)
	rungs := Plan(mustSpecs(t, "300p,240p"), src.Width, src.Height) // 352p would be within 15 % of the source: skipped
	dropped := make(chan int, 4)
	l := &Ladder{Source: *src, Rungs: rungs, Encoder: "libx264", Preset: "veryslow", MaxLag: 2, Logger: quiet(),
		EncoderThreads: 1, OnDrop: func(i int) { dropped <- i }}
	require.NoError(t, l.Initialize())
	defer l.Close()
	for i, p := range pkts {
		// As fast as the decoder goes (its queue never overflows);
		// veryslow x264 cannot follow.
		for int64(i)-l.Stats().FramesDecoded > 8 {
			time.Sleep(time.Millisecond)
		}
		require.NoError(t, l.WriteVideo(p))
	}
	select {
	case i := <-dropped:
		require.Equal(t, 1, i, "the lowest rung goes first")
	case <-time.After(30 * time.Second):
		t.Fatalf("no rung dropped: %+v", l.Stats())
	}
	st := l.Stats()
	require.Equal(t, []string{"240p"}, st.Dropped)
	require.True(t, st.Rungs[1].Dropped)
	require.False(t, st.Rungs[0].Dropped)
}

// TestLadderReusesPictures feeds the ladder in lock-step: every rung
// scales into the same recycled picture instead of allocating one per frame.
func TestLadderReusesPictures(t *testing.T) {
	file := peers.MakeTestFile(t, peers.TestSource{Width: 640, Height: 360, Duration: time.Second, NoAudio: true})
	src, pkts := readFLV(t, file)
	rungs := Plan(mustSpecs(t, "240p,160p"), src.Width, src.Height)
	require.Len(t, rungs, 2)
	var packets [2]int
	var mu sync.Mutex
	l := &Ladder{Source: *src, Rungs: rungs, Encoder: "libx264", Preset: "ultrafast", Logger: quiet(),
		Output: func(i int, p *media.Packet) { mu.Lock(); packets[i]++; mu.Unlock() }}
	require.NoError(t, l.Initialize())
	const reorder = 3 // the source has B-frames: the decoder holds a few back
	for i, p := range pkts {
		require.NoError(t, l.WriteVideo(p))
		require.Eventually(t, func() bool {
			st := l.Stats()
			return st.FramesDecoded >= int64(i+1-reorder) && st.Rungs[0].Frames == st.FramesDecoded && st.Rungs[1].Frames == st.FramesDecoded
		}, 30*time.Second, time.Millisecond, "rungs keep up: %+v", l.Stats())
	}
	st := l.Stats()
	l.Close()
	l.Close()
	require.GreaterOrEqual(t, st.FramesDecoded, int64(len(pkts)-reorder))
	for i, w := range l.workers {
		require.LessOrEqual(t, w.allocs, 2, "rung %s allocated a picture per frame", w.rung.Name)
		require.Zero(t, len(w.free), "Close frees the pool")
		require.EqualValues(t, st.FramesDecoded, st.Rungs[i].Packets, "rung %s: one packet per frame", w.rung.Name)
		mu.Lock()
		require.Positive(t, packets[i], "rung %s: output", w.rung.Name)
		mu.Unlock()
	}
}

func TestMain(m *testing.M) {
	encoder.RouteFFmpegLog(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	os.Exit(m.Run())
}

// cutCases drive TestCutTracker: frames (PTS in ms, source keyframe or
// not) and whether a forced keyframe may come on each, with a 1 s window.
var cutCases = []struct {
	name   string
	window time.Duration
	frames []struct {
		ms       int
		key, may bool
	}
}{
	{"2 s GOP, 1 s segments", time.Second, []struct {
		ms       int
		key, may bool
	}{{0, true, true}, {500, false, true}, {900, false, true}, {960, false, false}, {1500, false, false},
		{2000, true, true}, {2500, false, true}, {3500, false, false}}},
	{"0.5 s GOP, 1 s segments: cuts at every other keyframe", time.Second, []struct {
		ms       int
		key, may bool
	}{{0, true, true}, {500, true, true}, {800, false, true}, {1000, true, true}, {1400, false, true},
		{1500, true, true}, {1950, false, false}, {2000, true, true}}},
	{"no window", 0, []struct {
		ms       int
		key, may bool
	}{{0, true, true}, {5000, false, true}}},
}

func TestCutTracker(t *testing.T) {
	for _, tc := range cutCases {
		c := cutTracker{window: tc.window}
		for _, f := range tc.frames {
			require.Equal(t, f.may, c.frame(time.Duration(f.ms)*time.Millisecond, f.key), "%s: frame at %d ms", tc.name, f.ms)
		}
	}
}

// TestLadderForceKeyframe asks a rung for a keyframe early in a GOP (it
// comes, in that rung only) and late in it (refused: it would cut an HLS
// segment of its own).
func TestLadderForceKeyframe(t *testing.T) {
	file := peers.MakeTestFile(t, peers.TestSource{Width: 640, Height: 360, Duration: 3 * time.Second, GOP: 60, NoAudio: true})
	src, pkts := readFLV(t, file)
	rungs := Plan(mustSpecs(t, "240p,160p"), src.Width, src.Height)
	var mu sync.Mutex
	out := make([][]*media.Packet, len(rungs))
	l := &Ladder{Source: *src, Rungs: rungs, Encoder: "libx264", Preset: "ultrafast", MaxLag: 200, Logger: quiet(),
		KeyframeWindow: time.Second,
		Output:         func(i int, p *media.Packet) { mu.Lock(); out[i] = append(out[i], p); mu.Unlock() }}
	require.NoError(t, l.Initialize())
	defer l.Close()
	const reorder = 3
	asked := map[int]bool{}
	for i, p := range pkts {
		require.NoError(t, l.WriteVideo(p))
		require.Eventually(t, func() bool { return l.Stats().FramesDecoded >= int64(i+1-reorder) },
			30*time.Second, time.Millisecond)
		switch i {
		case 15: // 0.4 s into the first GOP
			asked[i] = l.ForceKeyframe(0)
		case 50: // 1.6 s: past the 1 s segment
			asked[i] = l.ForceKeyframe(0)
		}
	}
	require.True(t, asked[15], "early in the GOP the keyframe comes")
	require.False(t, asked[50], "late in the GOP it would cut a segment")
	require.Eventually(t, func() bool {
		st := l.Stats()
		return st.Rungs[0].Packets >= st.FramesDecoded && st.Rungs[1].Packets >= st.FramesDecoded
	}, 30*time.Second, 10*time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	keys := func(ps []*media.Packet) []time.Duration {
		var k []time.Duration
		for _, p := range ps {
			if p.Keyframe {
				k = append(k, p.PTS)
			}
		}
		return k
	}
	k0, k1 := keys(out[0]), keys(out[1])
	require.Len(t, k1, 2, "the other rung keeps the source's keyframes only: %v", k1)
	require.Len(t, k0, 3, "one forced keyframe in the asked rung: %v", k0)
	require.InDelta(t, 0.5, (k0[1] - k0[0]).Seconds(), 0.2, "it came right after the request: %v", k0)
}
