package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/sirupsen/logrus"
	"github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"golive/encoder"
	"golive/internal/peers"
	"golive/server"
)

// latencyClock maps a source frame's timestamp (ms) to the wall time the
// paced publisher sent it.
type latencyClock struct {
	mu   sync.Mutex
	sent map[int64]time.Time
}

func (c *latencyClock) mark(ms int64, at time.Time) {
	c.mu.Lock()
	c.sent[ms] = at
	c.mu.Unlock()
}

// first returns the earliest frame timestamp sent.
func (c *latencyClock) first() (int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var m int64
	ok := false
	for k := range c.sent {
		if !ok || k < m {
			m, ok = k, true
		}
	}
	return m, ok
}

func (c *latencyClock) lookup(ms int64) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range []int64{0, -1, 1} {
		if t, ok := c.sent[ms+d]; ok {
			return t, true
		}
	}
	return time.Time{}, false
}

// latencyPublish publishes the FLV tags to url over RTMP in real time
// (each tag at its timestamp), recording when each video frame was
// written. It dials until the server accepts (ffmpeg -listen starts late).
func latencyPublish(t testing.TB, addr, key string, tags []flvTag, clock *latencyClock) {
	t.Helper()
	lg := logrus.New()
	lg.Out = io.Discard
	var c *rtmp.ClientConn
	var err error
	for deadline := time.Now().Add(15 * time.Second); ; {
		if c, err = rtmp.Dial("rtmp", addr, &rtmp.ConnConfig{Logger: lg}); err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer c.Close()
	if err := c.Connect(&rtmpmsg.NetConnectionConnect{Command: rtmpmsg.NetConnectionConnectCommand{
		App: "live", Type: "nonprivate", FlashVer: "FMLE/3.0", TCURL: "rtmp://" + addr + "/live"}}); err != nil {
		t.Fatalf("connect: %v", err)
	}
	st, err := c.CreateStream(nil, 65536)
	if err != nil {
		t.Fatalf("create stream: %v", err)
	}
	if err := st.Publish(&rtmpmsg.NetStreamPublish{PublishingName: key, PublishingType: "live"}); err != nil {
		t.Fatalf("publish: %v", err)
	}
	start := time.Now()
	for _, tag := range tags {
		if d := time.Until(start.Add(time.Duration(tag.ts) * time.Millisecond)); d > 0 {
			time.Sleep(d)
		}
		var msg rtmpmsg.Message
		switch tag.typ {
		case 8:
			msg = &rtmpmsg.AudioMessage{Payload: bytes.NewReader(tag.body)}
		case 9:
			msg = &rtmpmsg.VideoMessage{Payload: bytes.NewReader(tag.body)}
		default:
			continue
		}
		if err := st.Write(4, tag.ts, msg); err != nil {
			t.Fatalf("write tag: %v", err)
		}
		if tag.typ == 9 && len(tag.body) > 1 && tag.body[1] == 1 {
			// PTS = DTS + composition time (24-bit, signed)
			cts := int64(int32(uint32(tag.body[2])<<24|uint32(tag.body[3])<<16|uint32(tag.body[4])<<8) >> 8)
			clock.mark(int64(tag.ts)+cts, time.Now())
		}
	}
	_ = st.Close()
}

// latencyResult is one measured output.
type latencyResult struct {
	name      string
	latencies []time.Duration
	unmatched int
}

func (r latencyResult) quantile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	s := slices.Clone(r.latencies)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// frameTimes returns the presentation times (ms, offset removed) of every
// video sample in an fMP4 fragment.
func frameTimes(b []byte, track int, timescale uint32, offsetTicks int64) ([]int64, error) {
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		return nil, err
	}
	var out []int64
	for _, p := range parts {
		for _, tr := range p.Tracks {
			if tr.ID != track {
				continue
			}
			dts := int64(tr.BaseTime)
			for _, s := range tr.Samples {
				pts := dts + int64(s.PTSOffset) - offsetTicks
				out = append(out, (pts*1000+int64(timescale)/2)/int64(timescale))
				dts += int64(s.Duration)
			}
		}
	}
	return out, nil
}

// videoTrack returns the ID and time scale of the H.264 track of an fMP4
// init segment.
func videoTrack(t testing.TB, initFile []byte) (int, uint32) {
	var ini fmp4.Init
	if err := ini.Unmarshal(bytes.NewReader(initFile)); err != nil {
		t.Fatalf("init segment: %v", err)
	}
	for _, tr := range ini.Tracks {
		if _, ok := tr.Codec.(*fmp4.CodecH264); ok {
			return tr.ID, tr.TimeScale
		}
	}
	t.Fatalf("init segment: no H.264 track")
	return 0, 0
}

// record attributes a fetched fragment's frames to the result.
func (r *latencyResult) record(clock *latencyClock, times []int64, at time.Time) {
	for _, ms := range times {
		if sent, ok := clock.lookup(ms); ok {
			r.latencies = append(r.latencies, at.Sub(sent))
		} else {
			r.unmatched++
		}
	}
}

// pollLLHLS follows one rung's LL-HLS media playlist with blocking
// reloads, fetching every new part as soon as a playlist announces it,
// until ctx ends.
func pollLLHLS(ctx context.Context, t testing.TB, base string, clock *latencyClock, res *latencyResult) {
	get := func(url string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			return nil, fmt.Errorf("%s: %s", url, resp.Status)
		}
		return io.ReadAll(resp.Body)
	}
	pl, err := get(base + "/video1_stream.m3u8")
	if err != nil {
		t.Errorf("first playlist: %v", err)
		return
	}
	var timescale uint32
	var track int
	fetched := map[string]bool{}
	for ctx.Err() == nil {
		mediaSeq, segs, parts, initURI := parseLLPlaylist(pl)
		if timescale == 0 {
			b, err := get(base + "/" + initURI)
			if err != nil {
				t.Errorf("init: %v", err)
				return
			}
			track, timescale = videoTrack(t, b)
			for _, p := range parts { // start at the live edge: older parts are not "new"
				fetched[p] = true
			}
		}
		for _, p := range parts {
			if fetched[p] {
				continue
			}
			fetched[p] = true
			b, err := get(base + "/" + p)
			if err != nil {
				break
			}
			at := time.Now()
			times, err := frameTimes(b, track, timescale, int64(10*timescale)) // gohlslib starts fMP4 time at 10 s
			if err != nil {
				t.Errorf("part %s: %v", p, err)
				continue
			}
			res.record(clock, times, at)
		}
		next := mediaSeq + segs
		nextPart := trailingParts(pl)
		b, err := get(fmt.Sprintf("%s/video1_stream.m3u8?_HLS_msn=%d&_HLS_part=%d", base, next, nextPart))
		if err != nil {
			return
		}
		pl = b
	}
}

// parseLLPlaylist returns the media sequence, the number of complete
// segments, every part URI in order and the init URI.
func parseLLPlaylist(b []byte) (mediaSeq, segs int, parts []string, initURI string) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			mediaSeq, _ = strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"))
		case strings.HasPrefix(line, "#EXTINF"):
			segs++
		case strings.HasPrefix(line, "#EXT-X-PART:"), strings.HasPrefix(line, "#EXT-X-MAP:"):
			i := strings.Index(line, `URI="`)
			if i < 0 {
				continue
			}
			u := line[i+5:]
			u = u[:strings.IndexByte(u, '"')]
			if strings.HasPrefix(line, "#EXT-X-MAP:") {
				initURI = u
			} else {
				parts = append(parts, u)
			}
		}
	}
	return mediaSeq, segs, parts, initURI
}

// trailingParts counts the parts after the last complete segment.
func trailingParts(b []byte) int {
	n := 0
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#EXTINF"):
			n = 0
		case strings.HasPrefix(line, "#EXT-X-PART:"):
			n++
		}
	}
	return n
}

// pollFFmpegHLS watches ffmpeg's HLS output directory and reads every new
// segment as soon as the playlist lists it.
func pollFFmpegHLS(ctx context.Context, t testing.TB, dir string, clock *latencyClock, res *latencyResult) {
	var timescale uint32
	var track int
	var shift int64
	aligned := false
	seen := map[string]bool{}
	for ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
		pl, err := os.ReadFile(filepath.Join(dir, "index.m3u8"))
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(pl), "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "#") || seen[line] {
				continue
			}
			seen[line] = true
			b, err := os.ReadFile(filepath.Join(dir, line))
			if err != nil {
				continue
			}
			at := time.Now()
			if timescale == 0 {
				ib, err := os.ReadFile(filepath.Join(dir, "init.mp4"))
				if err != nil {
					t.Errorf("ffmpeg init: %v", err)
					return
				}
				track, timescale = videoTrack(t, ib)
			}
			times, err := frameTimes(b, track, timescale, 0)
			if err != nil {
				t.Errorf("ffmpeg segment %s: %v", line, err)
				continue
			}
			if !aligned {
				// ffmpeg's muxer starts the stream's time at zero; its first
				// frame is the first frame sent.
				first, ok := clock.first()
				if !ok {
					continue
				}
				shift, aligned = first-times[0], true
			}
			for n := range times {
				times[n] += shift
			}
			res.record(clock, times, at)
		}
	}
}

// TestLatencyLLHLS measures, per frame, the time from the moment a
// real-time paced publisher sends a frame to the moment the LL-HLS part
// holding it has been fetched, on the passed-through top rung and the
// lowest transcoded rung, and the same for ffmpeg's HLS muxer (1 s fMP4
// segments) as the peer. GOLIVE_BENCH=1 runs 20 s of 720p30 media; without
// it a 4 s smoke run checks the tool (no figures).
func TestLatencyLLHLS(t *testing.T) {
	peers.RequireTool(t, "ffmpeg")
	seconds := 4
	if os.Getenv("GOLIVE_BENCH") == "1" {
		seconds = 20
	}
	encoder.RouteFFmpegLog(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	dir := t.TempDir()
	flv := ladderReadFLV(t, ladderSource(t, dir, seconds))

	// GoLive: the bundled server with its default ladder.
	rl, _ := net.Listen("tcp", "127.0.0.1:0")
	hl, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &server.Server{RTMPListener: rl, HTTPListener: hl, StreamKey: "bench",
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	if err := srv.Initialize(); err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	clock := &latencyClock{sent: map[int64]time.Time{}}
	ctx, cancel := context.WithCancel(context.Background())
	results := []*latencyResult{{name: "golive 720p (source passed through)"}, {name: "golive 240p (transcoded)"}}
	var wg sync.WaitGroup
	for i, rung := range []string{"720p", "240p"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			base := "http://" + srv.HTTPAddress().String() + "/hls/" + rung
			for ctx.Err() == nil { // the rung exists once the stream started
				resp, err := http.Get(base + "/video1_stream.m3u8")
				if err == nil {
					resp.Body.Close()
					if resp.StatusCode == 200 {
						break
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
			pollLLHLS(ctx, t, base, clock, results[i])
		}()
	}
	latencyPublish(t, srv.RTMPAddress().String(), "bench", flv.tags, clock)
	time.Sleep(1500 * time.Millisecond)
	cancel()
	srv.Close() // answers pending blocking reloads
	wg.Wait()
	if st := srv.Status(); len(st.DroppedRungs) > 0 {
		t.Logf("rungs dropped during the run: %v", st.DroppedRungs)
	}

	// Peer: ffmpeg as the RTMP server, its HLS muxer writing 1 s fMP4 segments.
	port := latencyFreePort(t)
	hlsDir := filepath.Join(dir, "ffmpeg-hls")
	if err := os.MkdirAll(hlsDir, 0o755); err != nil {
		t.Fatal(err)
	}
	args := []string{"-hide_banner", "-nostdin", "-loglevel", "error", "-listen", "1",
		"-i", fmt.Sprintf("rtmp://127.0.0.1:%d/live/bench", port), "-c", "copy", "-copyts",
		"-f", "hls", "-hls_time", "1", "-hls_segment_type", "fmp4", "-hls_list_size", "6",
		"-hls_fmp4_init_filename", "init.mp4", "-hls_flags", "independent_segments",
		filepath.Join(hlsDir, "index.m3u8")}
	var ffErr bytes.Buffer
	cmd := exec.Command("ffmpeg", args...)
	cmd.Stderr = &ffErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ffDone := make(chan struct{})
	go func() { _ = cmd.Wait(); close(ffDone) }()
	defer func() { _ = cmd.Process.Kill(); <-ffDone }()
	ffClock := &latencyClock{sent: map[int64]time.Time{}}
	ffRes := &latencyResult{name: "ffmpeg HLS muxer, 1 s fMP4 segments"}
	ctx2, cancel2 := context.WithCancel(context.Background())
	pollDone := make(chan struct{})
	go func() { defer close(pollDone); pollFFmpegHLS(ctx2, t, hlsDir, ffClock, ffRes) }()
	latencyPublish(t, fmt.Sprintf("127.0.0.1:%d", port), "bench", flv.tags, ffClock)
	select {
	case <-ffDone:
	case <-time.After(10 * time.Second):
	}
	time.Sleep(100 * time.Millisecond)
	cancel2()
	<-pollDone

	frames := len(flv.packets)
	for _, r := range append(results, ffRes) {
		t.Logf("%-40s frames %4d/%d (unmatched %d)  median %4d ms  p95 %4d ms",
			r.name, len(r.latencies), frames, r.unmatched, r.quantile(0.5).Milliseconds(), r.quantile(0.95).Milliseconds())
		need := 1 // smoke run: the tool works
		if seconds == 20 {
			need = frames / 3
		}
		if len(r.latencies) < need {
			t.Errorf("%s: only %d of %d frames measured (unmatched %d); ffmpeg: %s", r.name, len(r.latencies), frames, r.unmatched, ffErr.String())
		}
	}
}

func latencyFreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
