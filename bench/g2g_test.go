package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// g2gConfig is one glass-to-glass run.
type g2gConfig struct {
	size            string        // the broadcaster's picture
	top, lowest     int           // the rungs' heights
	warmup, measure time.Duration // per rung: after switching, before and while sampling
}

var (
	g2gFull  = g2gConfig{size: "1280x720", top: 720, lowest: 240, warmup: 10 * time.Second, measure: 20 * time.Second}
	g2gSmoke = g2gConfig{size: "640x360", top: 360, lowest: 240, warmup: 2 * time.Second, measure: 2 * time.Second}
)

// g2gSample is one presented frame as the page read it.
type g2gSample struct {
	latency time.Duration
	frame   uint32
	height  int
}

// TestGlassToGlassLLHLS measures glass-to-glass latency in the real
// player: `golive stream` sends the test pattern (whose block clock strip
// carries each frame's capture time) to `golive serve`; headless Chromium
// plays `/?via=hls`, the player page in its LL-HLS mode (hls.js, low latency); the page's
// assets/web/clockstrip.js reads the strip off every presented frame
// (requestVideoFrameCallback) and subtracts its capture time from the
// moment the frame was presented. The quality menu picks the top rung,
// then the lowest; each is sampled after a warm-up. GOLIVE_BENCH=1 runs the
// recorded 720p configuration (median and p95 per rung, verdicts
// g2g-llhls-top and g2g-llhls-lowest); otherwise a 360p smoke run checks
// that frames are read on both rungs.
func TestGlassToGlassLLHLS(t *testing.T) {
	peers.RequireTool(t, "chromium", "chromium-browser")
	cfg := g2gSmoke
	if benchFull() {
		cfg = g2gFull
	}
	bin := buildGoLive(t)
	srv := startServe(t, bin)
	stream := exec.Command(bin, "stream", "--to", srv.publishURL(""), "--source", "test", "--size", cfg.size,
		"--fps", "30", "--bitrate", "3000k", "--encoder", "libx264", "--duration", "1h")
	streamOut := &peers.SyncBuffer{}
	stream.Stdout, stream.Stderr = streamOut, streamOut
	require.NoError(t, stream.Start())
	streamDone := make(chan struct{})
	go func() { _ = stream.Wait(); close(streamDone) }()
	t.Cleanup(func() {
		_ = stream.Process.Signal(os.Interrupt)
		select {
		case <-streamDone:
		case <-time.After(20 * time.Second):
			_ = stream.Process.Kill()
			<-streamDone
		}
	})

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	page, err := peers.StartChromium(t).NewPage(ctx, srv.url("/?via=hls")) // the player page, in its LL-HLS mode
	require.NoError(t, err)
	var levels []int
	require.Eventually(t, func() bool {
		var st struct {
			CurrentTime float64 `json:"currentTime"`
			Levels      []int   `json:"levels"`
		}
		err := page.Evaluate(ctx, `JSON.parse(document.getElementById('player-state').textContent || 'null')`, &st)
		levels = st.Levels
		return err == nil && st.CurrentTime > 0 && slices.Contains(st.Levels, cfg.top) && slices.Contains(st.Levels, cfg.lowest)
	}, 90*time.Second, 200*time.Millisecond, "the player must play both rungs (levels %v); page errors %v; stream: %s; server: %s",
		levels, page.Errors(), streamOut, srv.log)
	require.NoError(t, page.Evaluate(ctx, `new Promise(function (ok, fail) {
		var s = document.createElement('script');
		s.src = '/clockstrip.js';
		s.onload = function () {
			var video = document.getElementById('video');
			window.g2gSamples = [];
			GoLiveClockStrip.watch(video, function (c) {
				window.g2gSamples.push([c.latencyMs, c.frame, video.videoHeight]);
			});
			ok(true);
		};
		s.onerror = fail;
		document.head.appendChild(s);
	})`, nil))

	note := func(rung string, s []g2gSample, wall time.Duration) string {
		return fmt.Sprintf("%s rung, %d frames read off the playing <video> in %v (%.0f fps) after a %v warm-up; capture time from the test pattern's block clock, shown time from requestVideoFrameCallback",
			rung, len(s), wall, float64(len(s))/wall.Seconds(), cfg.warmup)
	}
	for _, r := range []struct {
		id     string
		name   string
		height int
	}{{"g2g-llhls-top", "top", cfg.top}, {"g2g-llhls-lowest", "lowest", cfg.lowest}} {
		var idx int
		require.NoError(t, page.Evaluate(ctx, fmt.Sprintf(`(function () {
			var st = JSON.parse(document.getElementById('player-state').textContent);
			var i = st.levels.indexOf(%d);
			var q = document.getElementById('quality');
			q.value = String(i);
			q.dispatchEvent(new Event('change'));
			return i;
		})()`, r.height), &idx))
		require.GreaterOrEqual(t, idx, 0)
		// hls.js switches (the rung's first frame shows), then settles at
		// its live edge.
		var onRung bool
		require.Eventually(t, func() bool {
			err := page.Evaluate(ctx, fmt.Sprintf(`window.g2gSamples.some(function (s) { return s[2] === %d; })`, r.height), &onRung)
			return err == nil && onRung
		}, 90*time.Second, 100*time.Millisecond, "%s rung (%dp): no frame of it read; page errors %v", r.name, r.height, page.Errors())
		time.Sleep(cfg.warmup)
		require.NoError(t, page.Evaluate(ctx, `window.g2gSamples.length = 0`, nil))
		start := time.Now()
		time.Sleep(cfg.measure)
		var raw [][3]float64
		require.NoError(t, page.Evaluate(ctx, `window.g2gSamples.splice(0)`, &raw))
		wall := time.Since(start)
		var hlsLatency *float64 // what hls.js itself reports, for comparison
		_ = page.Evaluate(ctx, `JSON.parse(document.getElementById('player-state').textContent).latency`, &hlsLatency)
		if dropped := srv.droppedRungs(); slices.Contains(dropped, fmt.Sprintf("%dp", r.height)) {
			verdictInvalid(t, []string{r.id}, "%s rung (%dp): the server dropped it (the machine could not keep up): dropped %v", r.name, r.height, dropped)
		}
		var samples []g2gSample
		other := 0
		for _, s := range raw {
			if int(s[2]) != r.height {
				other++
				continue
			}
			samples = append(samples, g2gSample{latency: time.Duration(s[0] * float64(time.Millisecond)), frame: uint32(s[1]), height: int(s[2])})
		}
		if len(samples) == 0 {
			verdictInvalid(t, []string{r.id}, "%s rung (%dp): no frame's clock strip read in %v (%d frames of other rungs); page errors %v",
				r.name, r.height, wall, other, page.Errors())
		}
		lat := make([]time.Duration, len(samples))
		for i, s := range samples {
			lat[i] = s.latency
		}
		med, p95 := quantile(lat, 0.5), quantile(lat, 0.95)
		hls := "-"
		if hlsLatency != nil {
			hls = fmt.Sprintf("%.2fs", *hlsLatency)
		}
		t.Logf("%s rung %dp: %d frames read (%d of other rungs), frames %d..%d; glass-to-glass median %v, p95 %v, min %v, max %v; hls.latency %s",
			r.name, r.height, len(samples), other, samples[0].frame, samples[len(samples)-1].frame,
			med.Round(time.Millisecond), p95.Round(time.Millisecond), quantile(lat, 0).Round(time.Millisecond), quantile(lat, 1).Round(time.Millisecond), hls)
		for _, s := range lat {
			require.Greater(t, s, time.Duration(0), "a frame shown before it was captured: the clocks disagree")
		}
		verdict(t, r.id, med.Seconds(), 0, note(r.name, samples, wall)+fmt.Sprintf("; p95 %.3f s", p95.Seconds()))
	}
	require.Empty(t, page.Errors())
}
