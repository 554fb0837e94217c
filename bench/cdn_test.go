package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/server"
	"golive/server/hls"
	"golive/server/ladder"
)

// cdnBenchConfig sizes TestCDNOriginLoad.
type cdnBenchConfig struct {
	levels []int         // simulated viewers behind the cache, one level after another
	window time.Duration // measuring time per level
	warmup time.Duration // viewers running before a level's window opens
	source time.Duration // length of the published clip
}

var (
	cdnBenchFull  = cdnBenchConfig{levels: []int{10, 100, 500}, window: 15 * time.Second, warmup: 3 * time.Second, source: 80 * time.Second}
	cdnBenchSmoke = cdnBenchConfig{levels: []int{2, 4}, window: 2 * time.Second, warmup: time.Second, source: 12 * time.Second}
)

// llViewer is a simulated LL-HLS viewer: blocking playlist reloads for
// the next part and a fetch of each part, as hls.js does in low-latency
// mode, with the latency of each part from its wall-clock time in the
// playlist (EXT-X-PROGRAM-DATE-TIME plus the parts before it) to its
// last byte received.
type llViewer struct {
	client *http.Client
	base   string // http://host:port/hls/<rung>/
}

// follow runs until ctx ends, calling seen for each part received.
func (v *llViewer) follow(ctx context.Context, seen func(uri string, latency time.Duration)) {
	pl, err := v.playlist(ctx, "")
	if err != nil {
		return
	}
	msn, part := pl.MediaSequence+len(pl.Segments), len(pl.Parts)
	for ctx.Err() == nil {
		pl, err := v.playlist(ctx, fmt.Sprintf("_HLS_msn=%d&_HLS_part=%d", msn, part))
		if err != nil {
			return
		}
		uri, at, ok := partOf(pl, msn, part)
		if !ok {
			// The segment ended before this part: the next segment's first.
			if msn < pl.MediaSequence+len(pl.Segments) {
				msn, part = msn+1, 0
				continue
			}
			return // fell behind the window: this viewer stops
		}
		if err := v.get(ctx, uri); err != nil {
			return
		}
		if !at.IsZero() {
			seen(uri, time.Since(at))
		}
		part++
	}
}

// partOf finds part number part of segment msn in pl, with its
// wall-clock time.
func partOf(pl *playlist.Media, msn, part int) (string, time.Time, bool) {
	var start time.Time // of the segment after the last one seen
	for i, seg := range pl.Segments {
		if seg.DateTime != nil {
			start = seg.DateTime.Add(seg.Duration)
		} else if !start.IsZero() {
			start = start.Add(seg.Duration)
		}
		if pl.MediaSequence+i == msn {
			if part >= len(seg.Parts) {
				return "", time.Time{}, false
			}
			at := start.Add(-seg.Duration)
			for _, p := range seg.Parts[:part] {
				at = at.Add(p.Duration)
			}
			return seg.Parts[part].URI, at, true
		}
	}
	if msn == pl.MediaSequence+len(pl.Segments) && part < len(pl.Parts) {
		at := start
		for _, p := range pl.Parts[:part] {
			at = at.Add(p.Duration)
		}
		if start.IsZero() {
			at = time.Time{}
		}
		return pl.Parts[part].URI, at, true
	}
	return "", time.Time{}, false
}

func (v *llViewer) playlist(ctx context.Context, query string) (*playlist.Media, error) {
	u := v.base + hls.VideoPlaylist
	if query != "" {
		u += "?" + query
	}
	b, err := v.fetch(ctx, u)
	if err != nil {
		return nil, err
	}
	var pl playlist.Media
	if err := pl.Unmarshal(b); err != nil {
		return nil, err
	}
	return &pl, nil
}

func (v *llViewer) get(ctx context.Context, name string) error {
	_, err := v.fetch(ctx, v.base+name)
	return err
}

// fetch GETs url and returns its body; a status other than 200 is an
// error.
func (v *llViewer) fetch(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("%s: %s", url, resp.Status)
	}
	return b, err
}

// latencies collects per-part latencies.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(_ string, d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) median() time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	return s[len(s)/2]
}

func (l *latencies) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

// TestCDNOriginLoad puts nginx's proxy_cache (the README's configuration)
// in front of a live origin and runs 10, then 100, then 500 simulated
// LL-HLS viewers through it (loopback only, bounded in count and time):
// the origin's requests per second stay flat as viewers grow
// (cdn-origin-load, against the 10-viewer figure), and a cached viewer's
// part latency stays within 100 ms of one viewer fetching from the origin
// directly at the same time (cdn-viewer-latency). Both sides see the
// same stream, the same parts, measured alike. GOLIVE_BENCH=1 runs the
// full levels; otherwise a smoke run of the harness.
func TestCDNOriginLoad(t *testing.T) {
	cfg := cdnBenchSmoke
	if benchFull() {
		cfg = cdnBenchFull
	}
	raiseNoFile(t, uint64(4*slices.Max(cfg.levels))+512)
	file := peers.MakeTestFile(t, peers.TestSource{Width: 640, Height: 360, Duration: cfg.source, GOP: 30, Bitrate: "800k"})
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	specs, err := ladder.ParseSpecs("360p") // the source's own rung only: no transcoding in this measurement
	require.NoError(t, err)
	srv := &server.Server{RTMPListener: rl, HTTPListener: hl, StreamKey: "cdn-bench-key", Ladder: specs,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	require.NoError(t, srv.Initialize())
	t.Cleanup(srv.Close)
	cache := peers.StartNginxCache(t, hl.Addr().String())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	publishDone := make(chan struct{})
	go func() {
		defer close(publishDone)
		peers.PublishFile(t, file, "rtmp://"+rl.Addr().String()+"/live/cdn-bench-key")
	}()
	t.Cleanup(func() { cancel(); <-publishDone })
	origin := "http://" + hl.Addr().String() + "/hls/360p/"
	require.Eventually(t, func() bool {
		resp, err := http.Get(origin + hls.VideoPlaylist)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 100*time.Millisecond, "the origin serves the stream")

	transport := &http.Transport{MaxIdleConnsPerHost: 2048, MaxConnsPerHost: 0, IdleConnTimeout: time.Minute}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: 20 * time.Second}
	upstream := func() int {
		n, _ := cache.Upstream(func(uri string) bool { return strings.HasPrefix(uri, "/hls/") })
		return n
	}

	type level struct {
		viewers        int
		originRPS      float64
		cached, direct time.Duration
		parts          float64
	}
	var results []level
	for _, n := range cfg.levels {
		lctx, lcancel := context.WithCancel(ctx)
		var wg sync.WaitGroup
		var cached, direct latencies
		window := make(chan struct{})
		record := func(l *latencies) func(string, time.Duration) {
			return func(uri string, d time.Duration) {
				select {
				case <-window:
					l.add(uri, d)
				default:
				}
			}
		}
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				(&llViewer{client: client, base: cache.URL("/hls/360p/")}).follow(lctx, record(&cached))
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			(&llViewer{client: client, base: origin}).follow(lctx, record(&direct))
		}()
		time.Sleep(cfg.warmup) // viewers join before the window opens: the measurement's own pacing
		before, start := upstream(), time.Now()
		close(window)
		time.Sleep(cfg.window)
		after, took := upstream(), time.Since(start)
		lcancel()
		wg.Wait()
		r := level{viewers: n, originRPS: float64(after-before) / took.Seconds(),
			cached: cached.median(), direct: direct.median(),
			parts: float64(cached.count()) / took.Seconds() / float64(n)}
		require.Positive(t, cached.count(), "%d viewers received parts through the cache", n)
		require.Positive(t, direct.count(), "the direct viewer received parts")
		t.Logf("%4d viewers: origin %.1f req/s; part latency through the cache %v (direct %v); %.1f parts/s per viewer",
			n, r.originRPS, r.cached.Round(time.Millisecond), r.direct.Round(time.Millisecond), r.parts)
		results = append(results, r)
		select {
		case <-publishDone:
			t.Fatalf("the clip ended before level %d was measured", n)
		default:
		}
	}
	first, last := results[0], results[len(results)-1]
	note := fmt.Sprintf("nginx proxy_cache (README config) in front of the origin, %d→%d simulated LL-HLS viewers, %v per level, origin requests = nginx's non-HIT log entries; viewers received %.1f then %.1f parts/s each (5 when they keep up: fewer means the machine could not run them all, and lagging viewers ask for expired playlist URLs)",
		first.viewers, last.viewers, cfg.window, first.parts, last.parts)
	verdict(t, "cdn-origin-load", last.originRPS, first.originRPS, note)
	verdict(t, "cdn-viewer-latency", last.cached.Seconds(), last.direct.Seconds(),
		fmt.Sprintf("median part latency (PROGRAM-DATE-TIME → last byte) of %d cached viewers vs one direct viewer at the same time", last.viewers))
}
