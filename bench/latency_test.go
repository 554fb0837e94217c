package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"

	"golive/internal/peers"
)

// latencyResult is one output's per-frame latencies: from the moment the
// frame's last byte was handed to the server (rtmpWire) to the moment the
// viewer had fetched the part (or segment) holding it.
type latencyResult struct {
	name      string
	latencies []time.Duration
	unmatched int // frames the viewer fetched that the wire never saw
	// fromExec are the same frames measured from "ffmpeg started + the
	// frame's timestamp", the naive outside clock, for comparison.
	fromExec []time.Duration
}

func (r *latencyResult) add(o *latencyResult) {
	r.latencies = append(r.latencies, o.latencies...)
	r.fromExec = append(r.fromExec, o.fromExec...)
	r.unmatched += o.unmatched
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}

// latencyPublisher is when ffmpeg started and what its frames' times are
// relative to (for the fromExec figure).
type latencyPublisher struct {
	wire *rtmpWire
	// started is when ffmpeg was started (unix ns), set while the viewers
	// already follow the playlists.
	started atomic.Int64
}

// record attributes the frames of a fetched part to the result.
func (r *latencyResult) record(p *latencyPublisher, times []int64, at time.Time) {
	first, _, _ := p.wire.first()
	start := time.Unix(0, p.started.Load())
	for _, ms := range times {
		sent, ok := p.wire.lookup(ms)
		if !ok {
			r.unmatched++
			continue
		}
		r.latencies = append(r.latencies, at.Sub(sent))
		r.fromExec = append(r.fromExec, at.Sub(start.Add(time.Duration(ms-first)*time.Millisecond)))
	}
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
func videoTrack(initFile []byte) (int, uint32, error) {
	var ini fmp4.Init
	if err := ini.Unmarshal(bytes.NewReader(initFile)); err != nil {
		return 0, 0, fmt.Errorf("init segment: %w", err)
	}
	for _, tr := range ini.Tracks {
		if _, ok := tr.Codec.(*fmp4.CodecH264); ok {
			return tr.ID, tr.TimeScale, nil
		}
	}
	return 0, 0, errors.New("init segment: no H.264 track")
}

// httpGet fetches url's body, failing on any status but 200.
func httpGet(ctx context.Context, url string) ([]byte, error) {
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

// followLLHLS follows one rung's LL-HLS media playlist as hls.js does in
// low-latency mode: blocking reloads (_HLS_msn/_HLS_part of the next
// part), each new part fetched as soon as a playlist names it, until ctx
// ends. Parts already there when it joins are not counted.
func followLLHLS(ctx context.Context, base string, pub *latencyPublisher, res *latencyResult) error {
	var pl []byte
	for { // the rung exists once the stream started and its first segment is complete
		b, err := httpGet(ctx, base+"/video1_stream.m3u8")
		if err == nil {
			pl = b
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	var timescale uint32
	var track int
	fetched := map[string]bool{}
	for ctx.Err() == nil {
		mediaSeq, segs, parts, initURI := parseLLPlaylist(pl)
		if timescale == 0 {
			b, err := httpGet(ctx, base+"/"+initURI)
			if err != nil {
				return fmt.Errorf("init: %w", err)
			}
			if track, timescale, err = videoTrack(b); err != nil {
				return err
			}
			for _, p := range parts { // start at the live edge
				fetched[p] = true
			}
		}
		for _, p := range parts {
			if fetched[p] {
				continue
			}
			fetched[p] = true
			b, err := httpGet(ctx, base+"/"+p)
			if err != nil {
				break
			}
			at := time.Now()
			times, err := frameTimes(b, track, timescale, int64(10*timescale)) // gohlslib starts fMP4 time at 10 s
			if err != nil {
				return fmt.Errorf("part %s: %w", p, err)
			}
			res.record(pub, times, at)
		}
		b, err := httpGet(ctx, fmt.Sprintf("%s/video1_stream.m3u8?_HLS_msn=%d&_HLS_part=%d", base, mediaSeq+segs, trailingParts(pl)))
		if err != nil {
			return nil // the stream ended or ctx did
		}
		pl = b
	}
	return nil
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

// followFFmpegHLS watches ffmpeg's HLS output directory and reads every
// new segment as soon as the playlist lists it (polled every 2 ms).
func followFFmpegHLS(ctx context.Context, dir string, pub *latencyPublisher, res *latencyResult) error {
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
					return fmt.Errorf("ffmpeg init: %w", err)
				}
				if track, timescale, err = videoTrack(ib); err != nil {
					return err
				}
			}
			times, err := frameTimes(b, track, timescale, 0)
			if err != nil {
				return fmt.Errorf("ffmpeg segment %s: %w", line, err)
			}
			if !aligned {
				// ffmpeg's HLS muxer starts the stream's time at zero; its
				// first frame is the first frame sent.
				first, _, ok := pub.wire.first()
				if !ok || len(times) == 0 {
					continue
				}
				shift, aligned = first-times[0], true
			}
			for n := range times {
				times[n] += shift
			}
			res.record(pub, times, at)
		}
	}
	return nil
}

// latencyFFmpegPublish publishes the clip with `ffmpeg -re -c copy`
// through a wire watcher to upstream and returns once ffmpeg exited.
func latencyFFmpegPublish(t *testing.T, ffmpeg, clip string, pub *latencyPublisher, path string) {
	t.Helper()
	cmd := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-re", "-i", clip,
		"-c", "copy", "-f", "flv", "rtmp://"+pub.wire.addr()+path)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	pub.started.Store(start.UnixNano())
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg publish: %v\n%s", err, stderr.String())
	}
	firstPTS, first, _ := pub.wire.first()
	var lag []time.Duration // each frame's send time behind the first frame's pace
	for pts, at := range pub.wire.snapshot() {
		lag = append(lag, at.Sub(first.Add(time.Duration(pts-firstPTS)*time.Millisecond)))
	}
	t.Logf("ffmpeg publisher to %s: exec → first byte on the wire %v, → first video frame %v; frames sent behind the first one's pace: median %v, p95 %v, max %v",
		path, pub.wire.connected().Sub(start).Round(time.Millisecond), first.Sub(start).Round(time.Millisecond),
		quantile(lag, 0.5).Round(time.Millisecond), quantile(lag, 0.95).Round(time.Millisecond), quantile(lag, 1).Round(time.Millisecond))
}

// latencyGoLive runs one round against `golive serve`: ffmpeg publishes
// the clip in real time, one viewer per rung follows its playlist. It
// also returns the rungs the server dropped (the machine could not keep
// up), which make the round's figures meaningless.
func latencyGoLive(t *testing.T, bin, ffmpeg, clip string, rungs []string) ([]*latencyResult, []string) {
	srv := startServe(t, bin)
	pub := &latencyPublisher{wire: startRTMPWire(t, srv.rtmp)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	results := make([]*latencyResult, len(rungs))
	errs := make([]error, len(rungs))
	var wg sync.WaitGroup
	for i, rung := range rungs {
		results[i] = &latencyResult{name: "golive " + rung}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = followLLHLS(ctx, srv.url("/hls/"+rung), pub, results[i])
		}()
	}
	latencyFFmpegPublish(t, ffmpeg, clip, pub, "/live/"+srv.key)
	time.Sleep(1500 * time.Millisecond) // the last parts
	dropped := srv.droppedRungs()
	cancel()
	srv.stop(t) // answers pending blocking reloads
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("%s: %v\n%s", results[i].name, err, srv.log)
		}
	}
	return results, dropped
}

// latencyFFmpegHLS runs one round against the peer: ffmpeg as the RTMP
// server with its own HLS muxer (1 s fMP4 segments), on disk.
func latencyFFmpegHLS(t *testing.T, ffmpeg, clip string) *latencyResult {
	port := latencyFreePort(t)
	dir := t.TempDir()
	cmd := exec.Command(ffmpeg, "-hide_banner", "-nostdin", "-loglevel", "error", "-listen", "1",
		"-i", fmt.Sprintf("rtmp://127.0.0.1:%d/live/bench", port), "-c", "copy", "-copyts",
		"-f", "hls", "-hls_time", "1", "-hls_segment_type", "fmp4", "-hls_list_size", "6",
		"-hls_fmp4_init_filename", "init.mp4", "-hls_flags", "independent_segments",
		filepath.Join(dir, "index.m3u8"))
	var ffErr peers.SyncBuffer
	cmd.Stderr = &ffErr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	defer func() { _ = cmd.Process.Kill(); <-done }()
	pub := &latencyPublisher{wire: startRTMPWire(t, fmt.Sprintf("127.0.0.1:%d", port))}
	res := &latencyResult{name: "ffmpeg HLS muxer, 1 s fMP4 segments"}
	ctx, cancel := context.WithCancel(context.Background())
	var err error
	polled := make(chan struct{})
	go func() { defer close(polled); err = followFFmpegHLS(ctx, dir, pub, res) }()
	latencyFFmpegPublish(t, ffmpeg, clip, pub, "/live/bench")
	select {
	case <-done:
	case <-time.After(10 * time.Second):
	}
	time.Sleep(100 * time.Millisecond)
	cancel()
	<-polled
	if err != nil {
		t.Fatalf("%v\n%s", err, ffErr.String())
	}
	return res
}

// TestLatencyLLHLS measures publish → LL-HLS part fetchable from outside,
// as a viewer sees it: `ffmpeg -re -c copy` publishes a pre-encoded clip
// (720p30 + AAC, keyframe every second) to `golive serve` through a proxy
// that notes when each frame's last byte reached the server; one viewer per
// rung (the top rung, passed through, and the lowest, transcoded) follows
// the media playlist with blocking reloads as hls.js does, fetches every
// part as soon as it is listed and reads its frames' fMP4 timestamps.
// Per frame: part fetched − frame sent. The peer is ffmpeg's own HLS
// muxer (1 s fMP4 segments) fed the same way, polled on disk. Rounds
// alternate GoLive and the peer. GOLIVE_BENCH=1 runs 20 s of media, 2
// rounds; otherwise a 4 s smoke run checks the tool (no verdict).
func TestLatencyLLHLS(t *testing.T) {
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	seconds, rounds := 4, 1
	if benchFull() {
		seconds, rounds = 20, 2
	}
	clip := ladderSource(t, t.TempDir(), seconds)
	frames := len(ladderReadFLV(t, clip).packets)
	bin := buildGoLive(t)
	rungs := []string{"720p", "240p"}
	golive := []*latencyResult{{name: "golive 720p (passed through)"}, {name: "golive 240p (transcoded)"}}
	peer := &latencyResult{name: "ffmpeg HLS muxer, 1 s fMP4 segments"}
	// A round in which the server dropped a rung (the machine could not
	// keep up: it happens here when another job stalls it) measures
	// nothing of that rung: it is run again, up to two more times.
	discarded := 0
	for round := 0; round < rounds; round++ {
		res, dropped := latencyGoLive(t, bin, ffmpeg, clip, rungs)
		if len(dropped) > 0 && discarded < 2 {
			discarded++
			t.Logf("round %d: the server dropped %v (the machine could not keep up): round discarded and run again", round+1, dropped)
			round--
			continue
		}
		for i, r := range res {
			golive[i].add(r)
			t.Logf("round %d %s: %d frames, median %v", round+1, golive[i].name, len(r.latencies), quantile(r.latencies, 0.5).Round(time.Millisecond))
		}
		r := latencyFFmpegHLS(t, ffmpeg, clip)
		peer.add(r)
		t.Logf("round %d %s: %d frames, median %v", round+1, peer.name, len(r.latencies), quantile(r.latencies, 0.5).Round(time.Millisecond))
	}
	for _, r := range append(slices.Clone(golive), peer) {
		t.Logf("%-36s frames %4d of %d×%d (unmatched %d)  median %4d ms  p95 %4d ms; from ffmpeg's start + timestamp: median %4d ms",
			r.name, len(r.latencies), frames, rounds, r.unmatched, quantile(r.latencies, 0.5).Milliseconds(),
			quantile(r.latencies, 0.95).Milliseconds(), quantile(r.fromExec, 0.5).Milliseconds())
		if len(r.latencies) < rounds*frames/2 {
			verdictInvalid(t, []string{"llhls-part-top", "llhls-part-lowest"}, "%s: only %d of %d frames measured (unmatched %d)",
				r.name, len(r.latencies), rounds*frames, r.unmatched)
		}
	}
	note := fmt.Sprintf("median over %d frames of %d interleaved rounds (%d more discarded: a rung dropped): ffmpeg -re -c copy of a 720p30 clip → golive serve, frame sent = its last byte on the wire, part fetched by a blocking-reload viewer; peer figure: ffmpeg's HLS muxer, 1 s segments",
		len(golive[0].latencies), rounds, discarded)
	verdict(t, "llhls-part-top", quantile(golive[0].latencies, 0.5).Seconds(), quantile(peer.latencies, 0.5).Seconds(), note)
	verdict(t, "llhls-part-lowest", quantile(golive[1].latencies, 0.5).Seconds(), quantile(peer.latencies, 0.5).Seconds(), note)
}

func latencyFreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
