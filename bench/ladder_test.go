package bench

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golive/encoder"
	"golive/internal/peers"
	"golive/media"
	"golive/server/ingest"
	"golive/server/ladder"
)

// ladderFLV demuxes an FLV file with the server's own demuxer into video
// parameters, video packets and every tag (for a paced publisher).
type ladderFLV struct {
	video   *media.CodecParams
	packets []*media.Packet
	tags    []flvTag
}

// flvTag is one raw FLV tag.
type flvTag struct {
	typ  byte
	ts   uint32
	body []byte
}

func ladderReadFLV(t testing.TB, path string) ladderFLV {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil || len(b) < 13 {
		t.Fatalf("read %s: %v", path, err)
	}
	var out ladderFLV
	var d ingest.FLVDemuxer
	pos := int(binary.BigEndian.Uint32(b[5:9])) + 4
	for pos+11 <= len(b) {
		typ := b[pos]
		size := int(b[pos+1])<<16 | int(b[pos+2])<<8 | int(b[pos+3])
		ts := uint32(b[pos+4])<<16 | uint32(b[pos+5])<<8 | uint32(b[pos+6]) | uint32(b[pos+7])<<24
		if pos+11+size > len(b) {
			break
		}
		body := b[pos+11 : pos+11+size]
		pos += 11 + size + 4
		out.tags = append(out.tags, flvTag{typ: typ, ts: ts, body: body})
		if typ != 9 {
			continue
		}
		res, err := d.Video(ts, body)
		if err != nil {
			t.Fatalf("demux: %v", err)
		}
		if res.Params != nil {
			out.video = res.Params
		}
		if res.Packet != nil {
			out.packets = append(out.packets, res.Packet)
		}
	}
	if out.video == nil {
		t.Fatalf("%s: no AVC sequence header", path)
	}
	return out
}

// ladderSource encodes the benchmark source: 720p30 testsrc2 + 1 kHz tone,
// libx264 veryfast zerolatency, keyframes every second, 2500k, FLV.
func ladderSource(t testing.TB, dir string, seconds int) string {
	t.Helper()
	out := filepath.Join(dir, "src720p.flv")
	runPrep(t, "ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error",
		"-f", "lavfi", "-i", "testsrc2=size=1280x720:rate=30",
		"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-t", fmt.Sprint(seconds), "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency",
		"-g", "30", "-b:v", "2500k", "-c:a", "aac", "-ac", "2", "-y", out)
	return out
}

// ladderRunResult is one side's cost for the whole ladder.
type ladderRunResult struct {
	wall, cpu time.Duration
	frames    int64    // source frames decoded (GoLive)
	encoded   int      // frames encoded, all rungs together
	x264      []string // each rung's x264 options string, from its bitstream
	dropped   []string
	maxQueue  int
	behind    int64 // source packets the ladder skipped because its decoder lagged
}

// ladderGoLive runs server/ladder over the packets: decode once, scale and
// encode each rung in parallel. paced feeds packets at their timestamps
// (real time, with the server's default lag limit); otherwise as fast as
// the ladder takes them.
func ladderGoLive(t testing.TB, src ladderFLV, rungs []ladder.Rung, paced bool) ladderRunResult {
	t.Helper()
	quiet := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	encoder.RouteFFmpegLog(quiet)
	var mu sync.Mutex
	heads := make([][]byte, len(rungs)) // each rung's first packet: x264's SEI is in it
	var encoded int
	maxLag := 0 // the server's default
	if !paced {
		maxLag = 1000 // never drops: the loop below keeps every queue under 16 frames
	}
	cpu0 := selfCPU(t)
	start := time.Now()
	l := &ladder.Ladder{Source: *src.video, Rungs: rungs, Encoder: "libx264", MaxLag: maxLag, Logger: quiet,
		Output: func(rung int, pkt *media.Packet) {
			mu.Lock()
			defer mu.Unlock()
			encoded++
			if heads[rung] == nil {
				heads[rung] = append([]byte(nil), pkt.Data...)
			}
		}}
	if err := l.Initialize(); err != nil {
		t.Fatal(err)
	}
	res := ladderRunResult{}
	for i, p := range src.packets {
		if paced {
			if d := time.Until(start.Add(p.DTS - src.packets[0].DTS)); d > 0 {
				time.Sleep(d)
			}
		} else {
			for {
				st := l.Stats()
				behind := int64(i) - st.FramesDecoded
				for _, r := range st.Rungs {
					behind = max(behind, int64(i)-r.Frames)
				}
				if behind < 16 {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
		}
		if err := l.WriteVideo(p); err != nil {
			t.Fatal(err)
		}
		if paced && i%10 == 0 {
			for _, r := range l.Stats().Rungs {
				res.maxQueue = max(res.maxQueue, r.Queue)
			}
		}
	}
	want := int64(len(src.packets))
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := l.Stats()
		done := st.FramesDecoded+st.Behind+st.DecodeErrors >= want
		for _, r := range st.Rungs {
			done = done && (r.Dropped || r.Frames >= st.FramesDecoded)
		}
		if done || time.Now().After(deadline) {
			res.frames = st.FramesDecoded
			res.dropped = st.Dropped
			res.behind = st.Behind
			break
		}
		time.Sleep(time.Millisecond)
	}
	l.Close()
	res.wall = time.Since(start)
	res.cpu = selfCPU(t) - cpu0
	mu.Lock()
	defer mu.Unlock()
	res.encoded = encoded
	for _, h := range heads {
		res.x264 = append(res.x264, x264Options(h))
	}
	return res
}

// ladderFFmpegArgs is the ffmpeg command line doing the same ladder: one
// decode, bilinear scaling, libx264 with the encoder package's settings
// per rung (keyframes forced on the source's, which come every second),
// the source passed through. Without cascade every rung is scaled from the
// source (split, then scale: the usual command line); with cascade each
// rung is scaled from the one above it, as GoLive does.
func ladderFFmpegArgs(src, outDir string, rungs []ladder.Rung, threads string, cascade bool) []string {
	var fc strings.Builder
	if cascade {
		in := "[0:v]"
		for i, r := range rungs {
			fmt.Fprintf(&fc, "%sscale=%d:%d:flags=bilinear", in, r.Width, r.Height)
			if i == len(rungs)-1 {
				fmt.Fprintf(&fc, "[o%d]", i)
				break
			}
			fmt.Fprintf(&fc, ",split=2[o%d][c%d];", i, i)
			in = fmt.Sprintf("[c%d]", i)
		}
	} else {
		fmt.Fprintf(&fc, "[0:v]split=%d", len(rungs))
		for i := range rungs {
			fmt.Fprintf(&fc, "[s%d]", i)
		}
		for i, r := range rungs {
			fmt.Fprintf(&fc, ";[s%d]scale=%d:%d:flags=bilinear[o%d]", i, r.Width, r.Height, i)
		}
	}
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "info", "-threads", "1", "-i", src,
		"-filter_complex", fc.String(), "-map", "0:v", "-c:v", "copy", "-f", "null", "-"}
	for i, r := range rungs {
		br := fmt.Sprint(r.Bitrate)
		args = append(args, "-map", fmt.Sprintf("[o%d]", i), "-c:v", "libx264", "-preset", "veryfast",
			"-tune", "zerolatency", "-profile:v", "high", "-b:v", br, "-maxrate", br, "-bufsize", br,
			"-g", "1800", "-keyint_min", "1800", "-sc_threshold", "0", "-bf", "0",
			"-forced-idr", "1", "-force_key_frames", "expr:gte(t,n_forced*1)", "-threads", threads, "-fps_mode", "passthrough",
			"-f", "h264", "-y", filepath.Join(outDir, r.Name+".h264"))
	}
	return args
}

func ladderFFmpeg(t testing.TB, args []string, outDir string, rungs []ladder.Rung) ladderRunResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "ffmpeg", args...)
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, stderr.String())
	}
	r := ladderRunResult{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	for _, m := range x264FramesRE.FindAllStringSubmatch(stderr.String(), -1) {
		n, _ := strconv.Atoi(m[1])
		r.encoded += n
	}
	for _, rung := range rungs { // x264 writes its options into the stream's SEI
		b, err := os.ReadFile(filepath.Join(outDir, rung.Name+".h264"))
		if err != nil {
			t.Fatal(err)
		}
		r.x264 = append(r.x264, x264Options(b))
	}
	return r
}

// TestLadderVsFFmpeg compares the CPU time of GoLive's ladder (720p30 →
// 480p/360p/240p, the 720p source passed through) with the ffmpeg command
// line doing the same ladder from the same file, rounds interleaved, and
// checks that the ladder keeps real time. Every round checks that both
// sides encoded every frame of every rung and that each rung's x264
// options string is the same on both sides (a mismatch fails the test).
// Verdicts: ladder-cpu (median CPU per round, GoLive vs ffmpeg) and
// ladder-realtime (media seconds per wall second, GoLive's best round).
// GOLIVE_BENCH=1 runs the full 20 s measurement; without it a 2 s smoke
// run checks that both sides work (no verdict).
func TestLadderVsFFmpeg(t *testing.T) {
	peers.RequireTool(t, "ffmpeg")
	full := benchFull()
	seconds := 2
	if full {
		seconds = 20
	}
	src := ladderSource(t, t.TempDir(), seconds)
	flv := ladderReadFLV(t, src)
	specs, _ := ladder.ParseSpecs(ladder.DefaultLadder)
	rungs := ladder.Plan(specs, flv.video.Width, flv.video.Height)
	if len(rungs) != 3 {
		t.Fatalf("plan: %+v", rungs)
	}
	media := time.Duration(len(flv.packets)) * time.Second / 30

	rounds := 1
	if full {
		rounds = 3
		if n, err := strconv.Atoi(os.Getenv("GOLIVE_BENCH_ROUNDS")); err == nil && n > 0 {
			rounds = n
		}
	}
	// Each round runs the three in turn, so a change in the machine's load
	// hits them alike.
	var gCPU, fCPU, fcCPU []float64
	var ratios, ratiosCascade []float64 // per round: the sides ran under the same load
	var best ladderRunResult
	for round := 0; round < rounds; round++ {
		g := ladderGoLive(t, flv, rungs, false)
		threads := ladderThreads(g.x264)
		outDir := t.TempDir()
		f := ladderFFmpeg(t, ladderFFmpegArgs(src, outDir, rungs, threads, false), outDir, rungs)
		outDir = t.TempDir()
		fc := ladderFFmpeg(t, ladderFFmpegArgs(src, outDir, rungs, threads, true), outDir, rungs)
		want := len(flv.packets) * len(rungs)
		if g.frames != int64(len(flv.packets)) || g.encoded != want {
			verdictInvalid(t, []string{"ladder-cpu", "ladder-realtime"}, "round %d: golive decoded %d of %d frames and encoded %d of %d", round+1, g.frames, len(flv.packets), g.encoded, want)
		}
		for _, side := range []struct {
			name string
			r    ladderRunResult
		}{{"ffmpeg", f}, {"ffmpeg cascade", fc}} {
			if side.r.encoded != want {
				verdictInvalid(t, []string{"ladder-cpu", "ladder-realtime"}, "round %d: %s encoded %d frames, want %d", round+1, side.name, side.r.encoded, want)
			}
			if !slices.Equal(g.x264, side.r.x264) || slices.Contains(g.x264, "") {
				verdictInvalid(t, []string{"ladder-cpu", "ladder-realtime"}, "round %d: x264 options differ between golive and %s, so they do not do the same work:\n  golive: %q\n  %s: %q",
					round+1, side.name, g.x264, side.name, side.r.x264)
			}
		}
		gCPU, fCPU, fcCPU = append(gCPU, g.cpu.Seconds()), append(fCPU, f.cpu.Seconds()), append(fcCPU, fc.cpu.Seconds())
		ratios = append(ratios, g.cpu.Seconds()/f.cpu.Seconds())
		ratiosCascade = append(ratiosCascade, g.cpu.Seconds()/fc.cpu.Seconds())
		t.Logf("round %d: CPU golive %.2f s, ffmpeg %.2f s, ffmpeg cascade %.2f s; ratios %.3f, %.3f; golive wall %.2f s",
			round+1, g.cpu.Seconds(), f.cpu.Seconds(), fc.cpu.Seconds(), ratios[round], ratiosCascade[round], g.wall.Seconds())
		if round == 0 || g.wall < best.wall {
			best = g
		}
	}
	t.Logf("x264 options, identical on every side, per rung: %q", best.x264)
	t.Logf("media %.1f s, %d frames, %d rungs", media.Seconds(), len(flv.packets), len(rungs))
	t.Logf("median CPU per round: golive %.2f s, ffmpeg %.2f s, ffmpeg cascade %.2f s; median of the per-round ratios %.3f, %.3f",
		ladderMedian(gCPU), ladderMedian(fCPU), ladderMedian(fcCPU), ladderMedian(ratios), ladderMedian(ratiosCascade))
	if full {
		rt := ladderGoLive(t, flv, rungs, true)
		t.Logf("golive ladder paced in real time: wall %.2f s for %.2f s of media, CPU %.2f s (%.0f%% of one core), dropped rungs %v, max queue %d frames, %d of %d frames decoded, %d packets skipped",
			rt.wall.Seconds(), media.Seconds(), rt.cpu.Seconds(), 100*rt.cpu.Seconds()/rt.wall.Seconds(), rt.dropped, rt.maxQueue,
			rt.frames, len(flv.packets), rt.behind)
	}
	verdict(t, "ladder-cpu", ladderMedian(gCPU), ladderMedian(fCPU), fmt.Sprintf(
		"median CPU seconds of %d interleaved rounds, %.0f s of 720p30 from the same FLV, every frame of %d rungs encoded on both sides, x264 options identical; vs ffmpeg scaling in GoLive's cascade: %.3fx",
		rounds, media.Seconds(), len(rungs), ladderMedian(gCPU)/ladderMedian(fcCPU)))
	verdict(t, "ladder-realtime", media.Seconds()/best.wall.Seconds(), 0, fmt.Sprintf(
		"GoLive's ladder fed as fast as it takes frames: %.1f s of media in %.2f s wall (best of %d rounds), on this machine's %d cores",
		media.Seconds(), best.wall.Seconds(), rounds, runtime.NumCPU()))
}

// ladderMedian returns the median of v (not empty).
func ladderMedian(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 0 {
		return (v[n/2-1] + v[n/2]) / 2
	}
	return v[len(v)/2]
}

// ladderThreads reads the x264 thread count from GoLive's options lines,
// so the ffmpeg side uses the same.
func ladderThreads(opts []string) string {
	re := regexp.MustCompile(`(?:^| )threads=(\d+)`)
	for _, o := range opts {
		if m := re.FindStringSubmatch(o); m != nil {
			return m[1]
		}
	}
	return "1"
}
