package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/assets"
	"golive/internal/peers"
)

// whepServer is `golive serve` running as its own process on loopback
// ports (so that its CPU time is its own), with a stream published to it
// by `golive stream --source test` (the moving test pattern with its block
// clock strip, and a tone).
type whepServer struct {
	cmd        *exec.Cmd
	http       string
	key        string
	publishURL string
	out        *peers.SyncBuffer
}

var serveLineRE = regexp.MustCompile(`(?m)^(rtmp|http|webrtc) listening on (\S+)$|^stream key: (\S+)$`)

// startWHEPServer runs `golive serve` with the given ladder and waits for
// its addresses.
func startWHEPServer(t *testing.T, bin, ladderSpec string) *whepServer {
	t.Helper()
	s := &whepServer{out: &peers.SyncBuffer{}}
	s.cmd = exec.Command(bin, "serve", "--rtmp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--webrtc-addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--stream-key", "benchkey",
		"--ladder", ladderSpec, "--encoder", "libx264", "--webrtc-max-viewers", "500")
	stdout, err := s.cmd.StdoutPipe()
	require.NoError(t, err)
	s.cmd.Stderr = s.out
	require.NoError(t, s.cmd.Start())
	exited := make(chan struct{})
	t.Cleanup(func() {
		_ = s.cmd.Process.Kill()
		<-exited
	})
	addrs := map[string]string{}
	ready := make(chan struct{})
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := serveLineRE.FindStringSubmatch(sc.Text()); m != nil {
				if m[1] != "" {
					addrs[m[1]] = m[2]
				} else {
					addrs["key"] = m[3]
				}
				if len(addrs) == 4 {
					close(ready)
				}
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = s.cmd.Wait()
	}()
	select {
	case <-ready:
	case <-exited:
		t.Fatalf("golive serve exited: %s", s.out)
	case <-time.After(30 * time.Second):
		t.Fatalf("golive serve did not print its addresses: %s", s.out)
	}
	s.http, s.key = addrs["http"], addrs["key"]
	s.publishURL = "rtmp://" + addrs["rtmp"] + "/live/" + s.key
	return s
}

// publish starts `golive stream` of the test pattern to the server for d.
func (s *whepServer) publish(t *testing.T, bin, size, bitrate string, d time.Duration) {
	t.Helper()
	s.runPublisher(t, exec.Command(bin, "stream", "--to", s.publishURL, "--source", "test", "--audio", "test",
		"--size", size, "--fps", "30", "--bitrate", bitrate, "--encoder", "libx264", "--duration", d.String()))
}

// runPublisher starts a publishing command (stopped at cleanup) and waits
// until the server says the stream is live.
func (s *whepServer) runPublisher(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	out := &peers.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	require.NoError(t, cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-done
	})
	require.Eventually(t, func() bool {
		b, err := httpGet(context.Background(), "http://"+s.http+"/api/status")
		return err == nil && strings.Contains(string(b), `"live": true`)
	}, 30*time.Second, 100*time.Millisecond, "the stream went live: %s", out)
}

// framesSent returns the video frames the server sent its WebRTC viewers
// so far, from /api/status.
func (s *whepServer) framesSent(t *testing.T) int {
	t.Helper()
	b, err := httpGet(context.Background(), "http://"+s.http+"/api/status")
	require.NoError(t, err)
	var st struct {
		WebRTC struct {
			Viewers []struct {
				Frames int `json:"frames"`
			} `json:"viewers"`
		} `json:"webrtc"`
	}
	require.NoError(t, json.Unmarshal(b, &st))
	n := 0
	for _, v := range st.WebRTC.Viewers {
		n += v.Frames
	}
	return n
}

// publishNoisy publishes, with the ffmpeg command line in real time, a
// test picture under moving noise (which x264 cannot squeeze: the stream
// really takes its bitrate) and a tone, for d.
func (s *whepServer) publishNoisy(t *testing.T, size, bitrate string, d time.Duration) {
	t.Helper()
	bin := peers.RequireTool(t, "ffmpeg")
	s.runPublisher(t, exec.Command(bin, "-hide_banner", "-nostdin", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "testsrc2=size="+size+":rate=30", "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000",
		"-t", fmt.Sprint(int(d.Seconds())), "-vf", "noise=alls=40:allf=t+u",
		"-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency", "-bf", "0", "-g", "60", "-pix_fmt", "yuv420p",
		"-b:v", bitrate, "-maxrate", bitrate, "-bufsize", bitrate,
		"-c:a", "aac", "-b:a", "128k", "-ac", "2", "-f", "flv", s.publishURL))
}

// cpu returns the server process's user+system CPU time so far.
func (s *whepServer) cpu(t *testing.T) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	require.NoError(t, err)
	// Fields after the command name (which may hold spaces) in parentheses.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	require.NoError(t, err1)
	require.NoError(t, err2)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := slices.Clone(v)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// pageState is the part of the player's #player-state the benchmarks read.
type pageState struct {
	Mode   string `json:"mode"`
	WebRTC *struct {
		Marks map[string]float64 `json:"marks"`
	} `json:"webrtc"`
	CurrentTime  float64  `json:"currentTime"`
	FirstFrameMs *float64 `json:"firstFrameMs"`
	VideoWidth   int      `json:"videoWidth"`
}

func readPage(ctx context.Context, p *peers.Page) (pageState, error) {
	var raw string
	var st pageState
	if err := p.Evaluate(ctx, "(document.getElementById('player-state')||{}).textContent||''", &raw); err != nil || raw == "" {
		return st, err
	}
	return st, json.Unmarshal([]byte(raw), &st)
}

// TestWHEPGlassToGlass measures glass-to-glass latency in headless
// Chromium, frame by frame: `golive stream` captures the test pattern,
// whose block clock strip carries each frame's capture time, and publishes
// it to `golive serve`; the player page plays it over WebRTC (WHEP) and,
// in the same run, over LL-HLS (the peer figure), in alternating rounds on
// the same stream in the same browser; clockstrip.js reads every presented
// frame's strip (latency = presentation time − capture time, one clock:
// the same machine). Verdict g2g-whep: the WebRTC median against LL-HLS's.
// GOLIVE_BENCH=1: 720p30 3000k with the 480p and 240p rungs, 3 rounds of
// 10 s each way; otherwise a 2 s smoke run at 360p.
func TestWHEPGlassToGlass(t *testing.T) {
	size, ladder, rounds, window := "640x360", "240p", 1, 2*time.Second
	if benchFull() {
		size, ladder, rounds, window = "1280x720", "480p,240p", 3, 10*time.Second
	}
	bin := buildGoLive(t)
	srv := startWHEPServer(t, bin, ladder)
	srv.publish(t, bin, size, "3000k", time.Duration(rounds)*2*(window+20*time.Second)+30*time.Second)
	strip, err := fs.ReadFile(assets.Web(), "clockstrip.js")
	require.NoError(t, err)
	browser := peers.StartChromium(t)
	lat := map[string][]float64{}
	for r := 0; r < rounds; r++ {
		for _, mode := range []string{"webrtc", "hls"} {
			lat[mode] = append(lat[mode], g2gRound(t, browser, srv, string(strip), mode, window)...)
		}
	}
	w, h := median(lat["webrtc"])/1000, median(lat["hls"])/1000
	t.Logf("glass-to-glass %s: WebRTC median %.3f s over %d frames; LL-HLS median %.3f s over %d frames",
		size, w, len(lat["webrtc"]), h, len(lat["hls"]))
	verdict(t, "g2g-whep", w, h, fmt.Sprintf("%s@30 3000k test pattern from golive stream, %d rounds of %v each way, "+
		"frames read by clockstrip.js: %d WebRTC, %d LL-HLS; peer figure LL-HLS (hls.js, its own ABR over the three rungs) in the same run",
		size, rounds, window, len(lat["webrtc"]), len(lat["hls"])))
}

// g2gRound plays the stream one way for window and returns the latency
// (ms) of every frame whose strip read.
func g2gRound(t *testing.T, browser *peers.Chromium, srv *whepServer, strip, mode string, window time.Duration) []float64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), window+60*time.Second)
	defer cancel()
	page, err := browser.NewPage(ctx, "http://"+srv.http+"/?via="+mode)
	require.NoError(t, err)
	defer func() { _ = page.Evaluate(ctx, "location.href='about:blank'", nil) }()
	require.Eventually(t, func() bool {
		st, err := readPage(ctx, page)
		return err == nil && st.Mode == mode && st.CurrentTime > 0.5 && st.VideoWidth > 0
	}, 40*time.Second, 100*time.Millisecond, "%s plays: %v", mode, page.Errors())
	require.NoError(t, page.Evaluate(ctx, strip, nil))
	require.NoError(t, page.Evaluate(ctx, `window.__g2g = []; GoLiveClockStrip.watch(document.getElementById('video'),
		function (f) { window.__g2g.push(f.latencyMs); }); true`, nil))
	time.Sleep(window) // the page measures; nothing here depends on it being exact
	// A player that stalled through the window (a busy machine) is given
	// until it shows frames again, rather than read as none.
	var got []float64
	require.Eventually(t, func() bool {
		return page.Evaluate(ctx, "window.__g2g", &got) == nil && len(got) > 0
	}, 30*time.Second, 200*time.Millisecond, "%s: no frame's clock strip read; page errors %v", mode, page.Errors())
	st, _ := readPage(ctx, page)
	require.Equal(t, mode, st.Mode, "the page stayed on %s", mode)
	return got
}

// TestWHEPFirstFrame measures the time from opening the player page to its
// first picture over WebRTC, in fresh tabs, alternating with the same over
// LL-HLS (the peer figure) on the same stream, with a ladder (a joining
// viewer starts on a rung that forces a keyframe). Verdict
// whep-first-frame. GOLIVE_BENCH=1: 720p30, 7 tabs each way; otherwise one
// at 360p.
func TestWHEPFirstFrame(t *testing.T) {
	size, ladder, tabs := "640x360", "240p", 1
	if benchFull() {
		size, ladder, tabs = "1280x720", "480p,240p", 7
	}
	bin := buildGoLive(t)
	srv := startWHEPServer(t, bin, ladder)
	srv.publish(t, bin, size, "3000k", time.Duration(tabs)*2*30*time.Second)
	browser := peers.StartChromium(t)
	first := map[string][]float64{}
	for i := 0; i < tabs; i++ {
		for _, mode := range []string{"webrtc", "hls"} {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			page, err := browser.NewPage(ctx, "http://"+srv.http+"/?via="+mode)
			require.NoError(t, err)
			var st pageState
			require.Eventually(t, func() bool {
				st, err = readPage(ctx, page)
				return err == nil && st.FirstFrameMs != nil
			}, 40*time.Second, 20*time.Millisecond, "%s: a first frame: %v", mode, page.Errors())
			require.Equal(t, mode, st.Mode)
			first[mode] = append(first[mode], *st.FirstFrameMs/1000)
			if mode == "webrtc" {
				require.Eventually(t, func() bool { st, err = readPage(ctx, page); return err == nil && st.WebRTC != nil },
					5*time.Second, 20*time.Millisecond)
				t.Logf("WebRTC tab %d: first frame %.0f ms; session steps (ms since page open) %v", i, *st.FirstFrameMs, st.WebRTC.Marks)
			}
			_ = page.Evaluate(ctx, "location.href='about:blank'", nil)
			cancel()
		}
	}
	w, h := median(first["webrtc"]), median(first["hls"])
	t.Logf("page open → first frame, %s: WebRTC %v (median %.3f s); LL-HLS %v (median %.3f s)", size, first["webrtc"], w, first["hls"], h)
	verdict(t, "whep-first-frame", w, h, fmt.Sprintf("%d fresh tabs each way, alternating, %s@30 from golive stream; "+
		"performance.now() at the first presented frame; peer figure LL-HLS in the same run", tabs, size))
}

// TestWebRTC100Viewers measures the CPU `golive serve` spends with 100
// WebRTC viewers (pion clients in this process, each receiving the 720p
// 3 Mb/s source — the ffmpeg command line encodes a noisy picture, so the
// bits are really there, checked at the viewers — and the Opus the server
// transcodes from its AAC) against
// the same server with none (the peer figure), in alternating rounds on
// the same stream. The ladder is off (--ladder 720p: no rung below the
// source) so the figure is the WebRTC cost, Opus transcode included, plus
// ingest and LL-HLS. Verdict webrtc-100-viewers. GOLIVE_BENCH=1: 100
// viewers, 2 rounds of 20 s; otherwise 3 viewers, 2 s at 320x240.
func TestWebRTC100Viewers(t *testing.T) {
	size, viewers, rounds, window := "320x240", 3, 1, 2*time.Second
	if benchFull() {
		size, viewers, rounds, window = "1280x720", 100, 2, 20*time.Second
	}
	bin := buildGoLive(t)
	srv := startWHEPServer(t, bin, "720p")
	srv.publishNoisy(t, size, "3000k", time.Duration(rounds)*(2*window+2*time.Minute))
	var with, without []float64
	var frames, audio, sent, bytes int
	for r := 0; r < rounds; r++ {
		c0 := srv.cpu(t)
		time.Sleep(window)
		without = append(without, (srv.cpu(t)-c0).Seconds()/window.Seconds())

		clients := connectViewers(t, "http://"+srv.http+"/whep", viewers)
		st0, sent0 := viewerFrames(clients), srv.framesSent(t)
		c0, t0 := srv.cpu(t), time.Now()
		time.Sleep(window)
		c1, t1 := srv.cpu(t), time.Now()
		st1, sent1 := viewerFrames(clients), srv.framesSent(t)
		with = append(with, (c1-c0).Seconds()/t1.Sub(t0).Seconds())
		for i := range clients {
			frames += st1[i].Frames - st0[i].Frames
			audio += st1[i].AudioPackets - st0[i].AudioPackets
			bytes += st1[i].VideoBytes - st0[i].VideoBytes
			require.Greater(t, st1[i].Frames, st0[i].Frames, "viewer %d got frames during the window", i)
		}
		sent += sent1 - sent0
		var wg sync.WaitGroup
		for _, c := range clients {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
		wg.Wait()
	}
	perViewer := float64(frames) / float64(viewers*rounds) / window.Seconds()
	sentPer := float64(sent) / float64(viewers*rounds) / window.Seconds()
	kbps := float64(bytes) * 8 / 1000 / float64(viewers*rounds) / window.Seconds()
	if benchFull() && kbps < 2400 {
		t.Fatalf("each viewer got %.0f kbit/s of video: not the 3 Mb/s the target is about", kbps)
	}
	t.Logf("golive serve, %s 3000k source, %d WebRTC viewers: %.2f cores (rounds %v); no viewers: %.2f cores (%v); "+
		"the server sent each viewer %.1f frames/s, each got %.1f (%.0f kbit/s of video), and %d Opus packets in all",
		size, viewers, median(with), with, median(without), without, sentPer, perViewer, kbps, audio)
	verdict(t, "webrtc-100-viewers", median(with), median(without), fmt.Sprintf(
		"%d pion viewers, %s@30 3000k (noisy testsrc2, ffmpeg CLI) + AAC→Opus, server's own CPU (/proc), %d alternating rounds of %v; "+
			"%.1f frames/s and %.0f kbit/s per viewer; peer figure the same server with no viewers", viewers, size, rounds, window, perViewer, kbps))
}

// connectViewers connects n pion WHEP viewers (a few at a time) and waits
// until each got a picture.
func connectViewers(t *testing.T, url string, n int) []*peers.WHEPClient {
	t.Helper()
	clients := make([]*peers.WHEPClient, n)
	sem := make(chan struct{}, 8)
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range clients {
		clients[i] = &peers.WHEPClient{URL: url}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if errs[i] = clients[i].Connect(ctx); errs[i] == nil {
				_, errs[i] = clients[i].WaitFrames(ctx, 1)
			}
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, c := range clients {
			c.Vanish()
		}
	})
	for i, err := range errs {
		require.NoError(t, err, "viewer %d", i)
	}
	return clients
}

func viewerFrames(cs []*peers.WHEPClient) []peers.WHEPStats {
	out := make([]peers.WHEPStats, len(cs))
	for i, c := range cs {
		out[i] = c.Stats()
	}
	return out
}
