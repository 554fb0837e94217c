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
