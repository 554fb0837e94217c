package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/server/hls"
)

// TestMediaRoutesOffline checks /dash/ and the vendored dash.js before
// any stream: the MPD is a 404 at once (nothing live to wait for), kept a
// second at most, with open CORS.
func TestMediaRoutesOffline(t *testing.T) {
	s := testServer(t, "240p")
	start := time.Now()
	for _, p := range []string{"/dash/manifest.mpd", "/dash/other.mpd", "/hls/index.m3u8", "/hls/240p/x_seg1.mp4"} {
		code, h, _ := fetch(t, s.testURL(p))
		require.Equal(t, http.StatusNotFound, code, p)
		require.Equal(t, hls.MissingCacheControl, h.Get("Cache-Control"), p)
		require.Equal(t, "*", h.Get("Access-Control-Allow-Origin"), p)
	}
	require.Less(t, time.Since(start), 5*time.Second, "no stream: no wait")

	for method, want := range map[string]int{http.MethodOptions: http.StatusNoContent, http.MethodPost: http.StatusMethodNotAllowed} {
		req, err := http.NewRequest(method, s.testURL("/dash/manifest.mpd"), nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, want, resp.StatusCode, method)
	}

	code, _, body := fetch(t, s.testURL("/"))
	require.Equal(t, 200, code)
	require.Contains(t, string(body), `/vendor/dash.js/dash.mediaplayer.min.js`)
	for _, p := range []string{"/vendor/dash.js/dash.mediaplayer.min.js", "/vendor/dash.js/LICENSE"} {
		code, _, body := fetch(t, s.testURL(p))
		require.Equal(t, 200, code, p)
		require.NotEmpty(t, body)
	}
	_, _, body = fetch(t, s.testURL("/vendor/dash.js/LICENSE"))
	require.True(t, strings.Contains(string(body), "BSD") || strings.Contains(string(body), "Redistribution"), "the licence is served")

	_, _, body = fetch(t, s.testURL("/api/status"))
	var st map[string]any
	require.NoError(t, json.Unmarshal(body, &st))
	require.Equal(t, map[string]any{"hls": "/hls/index.m3u8", "dash": "/dash/manifest.mpd"}, st["manifests"])
	require.NotContains(t, st, "storage", "no --s3: no storage section")
}
