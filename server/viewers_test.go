package server

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/chat"
)

func TestViewerCounterBehindTrustedProxy(t *testing.T) {
	p, err := chat.ParseTrustedProxy("10.0.0.0/8")
	require.NoError(t, err)
	proxies := chat.TrustedProxies{p}
	seen := func(v *viewerCounter, remote, xff string) {
		r := httptest.NewRequest(http.MethodGet, "/hls/240p/video1_stream.m3u8", nil)
		r.RemoteAddr, r.Header["X-Forwarded-For"] = remote, []string{xff}
		v.seen(r)
	}
	behind := newViewerCounter(15*time.Second, proxies.ClientIP)
	direct := newViewerCounter(15*time.Second, chat.TrustedProxies(nil).ClientIP)
	for _, v := range []*viewerCounter{behind, direct} {
		seen(v, "10.0.0.2:1000", "198.51.100.1")
		seen(v, "10.0.0.2:1001", "198.51.100.2")
		seen(v, "10.0.0.3:1002", "198.51.100.2")
	}
	require.Equal(t, 2, behind.count(), "two viewers behind the proxies")
	require.Equal(t, 2, direct.count(), "without --trusted-proxy: one per proxy address")
}
