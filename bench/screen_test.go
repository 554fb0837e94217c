package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// screenOptionsRE finds libx264's "options:" line in a recording.
var screenOptionsRE = regexp.MustCompile(`options: ([ !#-~]*)`)

// screenRun is one capture-and-encode run: its CPU and what it delivered.
type screenRun struct {
	cpu, wall time.Duration
	frames    int
	x264      string
}

// perFrame is the CPU one delivered frame cost.
func (r screenRun) perFrame() time.Duration { return r.cpu / time.Duration(max(r.frames, 1)) }

// TestScreenCPU captures a 1920x1080 screen (Xvfb, with xpattern's moving
// pattern filling it) at 30 fps and encodes it with libx264 to nginx-rtmp,
// three ways in interleaved rounds: the ffmpeg command line (x11grab →
// libx264, the peer), `golive stream --source screen` composing a scene
// over it (a picture-in-picture of the test pattern, a PNG logo, a lower
// third), and the same without a scene. CPU is the kernel's accounting of
// each child process; frames are counted in each recording with ffprobe,
// and the figure is CPU per delivered frame × 30 (cores at 30 fps), best
// round of each. The x264 options line must be the same on both sides or
// the benchmark fails. A side that cannot keep real time delivers fewer
// frames (ffmpeg's x11grab stamps them late, golive drops them); the per-frame
// figure stays comparable. Target: golive with the scene ≤ 1.1× ffmpeg.
// Without GOLIVE_BENCH=1 it is a 3 s smoke run at 640x360.
func TestScreenCPU(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	peers.RequireTool(t, "ffprobe")
	w, h, secs, rounds, rate := 640, 360, 3, 1, "1500k"
	if benchFull() {
		w, h, secs, rounds, rate = 1920, 1080, 20, 3, "6000k"
	}
	size := fmt.Sprintf("%dx%d", w, h)
	x := peers.StartXvfb(t, size+"x24")
	peers.StartXPattern(t, x, "golive bench pattern", 0, 0, w, h)
	bin := buildGoLive(t)
	ng := peers.StartNginxRTMP(t)
	_, file, _, _ := runtime.Caller(0)
	logo := filepath.Join(filepath.Dir(file), "..", "preview", "scene", "testdata", "logo.png")
	sceneFile := filepath.Join(t.TempDir(), "scene.json")
	require.NoError(t, os.WriteFile(sceneFile, []byte(fmt.Sprintf(`{"layers":[
		{"type":"camera","source":"test","corner":"bottom-right","size":0.25,"border":4},
		{"type":"image","path":%q,"corner":"top-right","size":0.12},
		{"type":"text","text":"Jane Doe","subtitle":"Screen capture benchmark","corner":"bottom-left"}]}`, logo)), 0o600))

	env := append(os.Environ(), "DISPLAY="+x.Display)
	run := func(key, name string, args ...string) screenRun {
		t.Helper()
		cmd := exec.Command(name, args...)
		cmd.Env = env
		out := &peers.SyncBuffer{}
		cmd.Stdout, cmd.Stderr = out, out
		start := time.Now()
		if err := cmd.Run(); err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		r := screenRun{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
		ng.WaitUnpublished(key, 20*time.Second)
		rec := ng.RecordPath(key)
		info := peers.FFprobe(t, rec)
		v, ok := info.Video()
		require.True(t, ok, "no video in %s", rec)
		require.Equal(t, [2]int{w, h}, [2]int{v.Width, v.Height})
		r.frames = v.Frames()
		data, err := os.ReadFile(rec)
		require.NoError(t, err)
		if m := screenOptionsRE.FindSubmatch(data); m != nil {
			r.x264 = string(m[1])
		}
		require.NoError(t, os.Remove(rec)) // the next round records afresh
		return r
	}
	dur := strconv.Itoa(secs)
	golive := func(key string, scene bool) screenRun {
		args := []string{"stream", "--to", ng.URL(key), "--source", "screen", "--size", size, "--fps", "30",
			"--bitrate", rate, "--fixed-bitrate", "--audio", "none", "--encoder", "libx264", "--duration", dur + "s"}
		if scene {
			args = append(args, "--scene", sceneFile)
		}
		return run(key, bin, args...)
	}
	peer := func(key string) screenRun {
		return run(key, ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "x11grab", "-framerate", "30",
			"-video_size", size, "-draw_mouse", "1", "-i", x.Display, "-t", dur,
			"-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-profile:v", "high",
			"-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-g", "60", "-keyint_min", "60", "-sc_threshold", "0",
			"-bf", "0", "-pix_fmt", "yuv420p", "-an", "-f", "flv", ng.URL(key))
	}
	var best struct{ ffmpeg, scene, plain screenRun }
	keep := func(dst *screenRun, r screenRun) {
		if dst.frames == 0 || r.perFrame() < dst.perFrame() {
			*dst = r
		}
	}
	for round := range rounds {
		f := peer(fmt.Sprintf("ffmpeg%d", round))
		s := golive(fmt.Sprintf("scene%d", round), true)
		p := golive(fmt.Sprintf("plain%d", round), false)
		t.Logf("round %d: ffmpeg %v CPU / %d frames, golive+scene %v / %d, golive %v / %d", round+1,
			f.cpu.Round(time.Millisecond), f.frames, s.cpu.Round(time.Millisecond), s.frames, p.cpu.Round(time.Millisecond), p.frames)
		keep(&best.ffmpeg, f)
		keep(&best.scene, s)
		keep(&best.plain, p)
	}
	// The same work on both sides: the encoder's settings, and the frames.
	require.NotEmpty(t, best.ffmpeg.x264, "no x264 options line in ffmpeg's recording")
	require.Equal(t, best.ffmpeg.x264, best.scene.x264, "x264 settings differ between golive and ffmpeg")
	require.Equal(t, best.ffmpeg.x264, best.plain.x264)
	// Frames: the figure is per delivered frame, so a side that cannot keep
	// real time (a loaded machine) is not flattered; the harness must have
	// worked, though: each side delivered a good part of the frames.
	want := secs * 30
	for name, r := range map[string]screenRun{"ffmpeg": best.ffmpeg, "golive+scene": best.scene, "golive": best.plain} {
		require.GreaterOrEqual(t, r.frames, want/4, "%s delivered %d frames of %d", name, r.frames, want)
		if r.frames < want*9/10 {
			t.Logf("%s kept %d of %d frames: not real time on this machine now", name, r.frames, want)
		}
	}
	cores := func(r screenRun) float64 { return r.perFrame().Seconds() * 30 }
	t.Logf("screen %s@30, %d s, libx264 veryfast zerolatency %s (best of %d interleaved rounds), CPU at 30 fps:", size, secs, rate, rounds)
	t.Logf("  ffmpeg x11grab → libx264:          %.3f cores (%v per frame, %d frames)", cores(best.ffmpeg), best.ffmpeg.perFrame(), best.ffmpeg.frames)
	t.Logf("  golive stream --source screen --scene: %.3f cores (%v per frame, %d frames)", cores(best.scene), best.scene.perFrame(), best.scene.frames)
	t.Logf("  golive stream --source screen:     %.3f cores (%v per frame, %d frames)", cores(best.plain), best.plain.perFrame(), best.plain.frames)
	t.Logf("  x264 options (both sides): %s", best.ffmpeg.x264)
	verdict(t, "screen-1080p30-cpu", cores(best.scene), cores(best.ffmpeg),
		fmt.Sprintf("%s@30 %d s, best of %d interleaved rounds, CPU per delivered frame ×30; golive with a 3-layer scene (without: %.3f cores); x264 options identical",
			size, secs, rounds, cores(best.plain)))
}
