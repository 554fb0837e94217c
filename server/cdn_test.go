package server

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/server/hls"
)

// fetch GETs url and returns the status, headers and body.
func fetch(t *testing.T, url string) (int, http.Header, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err, url)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, b
}

// TestServeBehindCache puts a real nginx caching proxy (the README's
// configuration) in front of the origin: hls.js in Chromium plays through
// it, media objects are served from the cache, and many viewers' blocking
// reloads for the same next part reach the origin once.
func TestServeBehindCache(t *testing.T) {
	src := source720p(t)
	s := testServer(t, "720p,240p")
	cache := peers.StartNginxCache(t, s.HTTPAddress().String())
	pub := startPublisher(t, src, s.publishURL(testKey))
	watch := openInChromium(t, cache.URL("/?via=hls")) // LL-HLS through the cache (WebRTC media would not pass it)
	waitVariants(t, s, 2)

	// A media playlist through the cache: LL-HLS, cacheable a part target.
	code, h, body := fetch(t, cache.URL("/hls/240p/"+hls.VideoPlaylist))
	require.Equal(t, 200, code)
	require.Equal(t, "public, max-age=1", h.Get("Cache-Control"))
	require.NotEmpty(t, h.Get("ETag"))
	pl, err := playlist.Unmarshal(body)
	require.NoError(t, err)
	media := pl.(*playlist.Media)
	seg := media.Segments[len(media.Segments)-1]

	// A segment: immutable; the second viewer gets it from the cache.
	for i, want := range []string{"MISS", "HIT"} {
		code, h, _ := fetch(t, cache.URL("/hls/240p/"+seg.URI))
		require.Equal(t, 200, code)
		require.Equal(t, hls.ImmutableCacheControl, h.Get("Cache-Control"))
		require.Equal(t, want, h.Get("X-Cache-Status"), "request %d", i)
	}
	// A not-yet-made object: 404, kept a second at most.
	code, h, _ = fetch(t, cache.URL("/hls/240p/nope_seg1.mp4"))
	require.Equal(t, 404, code)
	require.Equal(t, hls.MissingCacheControl, h.Get("Cache-Control"))

	// 40 viewers ask for the next part with the same blocking reload: the
	// cache holds them on one origin request (proxy_cache_lock).
	next := media.MediaSequence + len(media.Segments)
	reload := fmt.Sprintf("/hls/240p/%s?_HLS_msn=%d&_HLS_part=2", hls.VideoPlaylist, next)
	var wg sync.WaitGroup
	codes := make([]int, 40)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := http.Get(cache.URL(reload))
			if err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				codes[i] = resp.StatusCode
			}
		}()
	}
	wg.Wait()
	for _, c := range codes {
		require.Equal(t, 200, c)
	}
	origin, hits := cache.Upstream(func(uri string) bool { return uri == reload })
	require.Equal(t, 1, origin, "one origin request for 40 viewers: %s", cache.AccessLog())
	require.Equal(t, 39, hits)

	ps, problems := watch.wait(3)
	require.Empty(t, problems, "console errors in the player page behind the cache")
	require.Equal(t, "hls", ps.Mode)
	require.Equal(t, []int{240, 720}, ps.Levels)
	origin, hits = cache.Upstream(func(uri string) bool { return strings.Contains(uri, "_part") && strings.HasSuffix(uri, ".mp4") })
	require.Positive(t, origin)
	t.Logf("parts through the cache: %d from the origin, %d hits", origin, hits)
	require.NoError(t, pub.wait(t, 40*time.Second), pub.stderr.String())
	require.Eventually(t, func() bool {
		_, _, b := fetch(t, cache.URL("/hls/240p/"+hls.VideoPlaylist))
		return strings.Contains(string(b), "#EXT-X-ENDLIST")
	}, 10*time.Second, 200*time.Millisecond, "the ended playlist reaches viewers through the cache within its max-age")
}
