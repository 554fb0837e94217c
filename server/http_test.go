package server

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

// rawGet sends a request line verbatim (no client-side path cleaning).
func rawGet(t *testing.T, addr, target string) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Write([]byte("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
	require.NoError(t, err)
	buf := make([]byte, 64)
	n, _ := c.Read(buf)
	line := string(buf[:n])
	var code int
	_, err = fmt.Sscanf(line, "HTTP/1.1 %d", &code)
	require.NoError(t, err, "status line %q", line)
	return code
}

func TestHTTPPathTraversal(t *testing.T) {
	s := testServer(t, "240p")
	addr := s.HTTPAddress().String()
	for _, target := range []string{
		"/hls/../../etc/passwd",
		"/hls/..%2f..%2fetc%2fpasswd",
		"/hls/%2e%2e/%2e%2e/etc/passwd",
		"/hls/720p/../../../etc/passwd",
		"/hls/720p/..%2F..%2Fetc%2Fpasswd",
		"/hls/720p/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
		"/hls/720p/..\\..\\etc\\passwd",
		"/hls/720p/%5c..%5cetc%5cpasswd",
		"/../etc/passwd",
		"/%2e%2e/etc/passwd",
		"/vendor/hls.js/../../../../etc/passwd",
		"/vendor/hls.js/..%2f..%2findex.html",
		"/overlay/../etc/passwd",
		"/api/status/../../etc/passwd",
		"/chat/ws/../../etc/passwd",
		"/./healthz",
		"/hls/./index.m3u8",
		"/hls/720p/video1_stream.m3u8%00",
	} {
		require.Equal(t, http.StatusNotFound, rawGet(t, addr, target), target)
	}
}

func TestHTTPRoutes(t *testing.T) {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: "golive_test_extra", Help: "test"})
	g.Set(42)
	s := testServer(t, "240p", func(s *Server) {
		s.Collectors = []prometheus.Collector{g}
	})

	code, body := get(t, s.testURL("/"))
	require.Equal(t, 200, code)
	for _, want := range []string{`<link rel="stylesheet" href="/chat.css">`, `<script src="/chat.js" defer></script>`,
		`<div id="chat"></div>`, `<div id="reactions"></div>`, `/vendor/hls.js/hls.min.js`} {
		require.Contains(t, body, want)
	}
	require.NotContains(t, body, "cdn", "no CDN links")
	for _, p := range []string{"/player.js", "/player.css", "/clockstrip.js", "/vendor/hls.js/hls.min.js", "/vendor/hls.js/LICENSE", "/chat.js", "/chat.css", "/overlay", "/healthz"} {
		code, _ := get(t, s.testURL(p))
		require.Equal(t, 200, code, p)
	}
	code, _ = get(t, s.testURL("/chat/ws"))
	require.Equal(t, http.StatusUpgradeRequired, code, "the server's own chat hub wants a WebSocket")
	code, _ = get(t, s.testURL("/hls/index.m3u8"))
	require.Equal(t, 404, code, "never live: no playlist")
	code, _ = get(t, s.testURL("/hls/720p/video1_stream.m3u8"))
	require.Equal(t, 404, code)
	code, _ = get(t, s.testURL("/nope"))
	require.Equal(t, 404, code)

	code, body = get(t, s.testURL("/api/status"))
	require.Equal(t, 200, code)
	var st map[string]any
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.Equal(t, false, st["live"])
	chatSt := st["chat"].(map[string]any)
	for _, k := range []string{"viewers", "local_viewers", "moderators", "messages", "reactions"} {
		require.Equal(t, 0.0, chatSt[k], k)
	}
	require.Equal(t, "off", chatSt["nats"].(map[string]any)["state"], "no NATS link")
	require.Contains(t, st, "rungs")
	require.Contains(t, st, "dropped_rungs")
	require.Contains(t, st, "uptime_seconds")

	code, body = get(t, s.testURL("/metrics"))
	require.Equal(t, 200, code)
	require.Contains(t, body, "golive_live 0")
	require.Contains(t, body, "golive_test_extra 42")
	require.Contains(t, body, "go_goroutines")
	require.Contains(t, body, "golive_chat_")

	req, err := http.NewRequest(http.MethodOptions, s.testURL("/hls/index.m3u8"), nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"))
	require.Equal(t, http.StatusNoContent, resp.StatusCode)
	resp, err = http.Get(s.testURL("/hls/index.m3u8"))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, "*", resp.Header.Get("Access-Control-Allow-Origin"), "CORS on 404s too")
}
