package publisher

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// urlCases drive TestParseURL and seed FuzzParseURL.
var urlCases = []struct {
	in   string
	want Target
	err  bool
}{
	{in: "rtmp://127.0.0.1:1935/live/abc", want: Target{Scheme: "rtmp", Addr: "127.0.0.1:1935", Host: "127.0.0.1", App: "live", Key: "abc", TCURL: "rtmp://127.0.0.1:1935/live"}},
	{in: "rtmp://a.rtmp.youtube.com/live2/xxxx-yyyy", want: Target{Scheme: "rtmp", Addr: "a.rtmp.youtube.com:1935", Host: "a.rtmp.youtube.com", App: "live2", Key: "xxxx-yyyy", TCURL: "rtmp://a.rtmp.youtube.com/live2"}},
	{in: "rtmps://live-api-s.facebook.com:443/rtmp/FB-1?s_bl=1", want: Target{Scheme: "rtmps", Addr: "live-api-s.facebook.com:443", Host: "live-api-s.facebook.com", App: "rtmp", Key: "FB-1?s_bl=1", TCURL: "rtmps://live-api-s.facebook.com:443/rtmp"}},
	{in: "rtmps://x.example/app", err: true},
	{in: "RTMP://[::1]:1936/a/b/key", want: Target{Scheme: "rtmp", Addr: "[::1]:1936", Host: "::1", App: "a/b", Key: "key", TCURL: "rtmp://[::1]:1936/a/b"}},
	{in: "rtmps://host/app/k", want: Target{Scheme: "rtmps", Addr: "host:443", Host: "host", App: "app", Key: "k", TCURL: "rtmps://host/app"}},
	{in: "http://KEY@127.0.0.1:8080/whip", want: Target{Scheme: "http", Addr: "127.0.0.1:8080", Host: "127.0.0.1", Key: "KEY", Endpoint: "http://127.0.0.1:8080/whip"}},
	{in: "HTTPS://to%2Fk:en@whip.example/a/b?x=1", want: Target{Scheme: "https", Addr: "whip.example:443", Host: "whip.example", Key: "to/k:en", Endpoint: "https://whip.example/a/b?x=1"}},
	{in: "http://[::1]/whip", want: Target{Scheme: "http", Addr: "[::1]:80", Host: "::1", Endpoint: "http://[::1]/whip"}},
	{in: "http:///whip", err: true},
	{in: "https://k@host/whip#frag", err: true},
	{in: "rtmp:///app/key", err: true},
	{in: "rtmp://host/app/", err: true},
	{in: "rtmp://host//key", err: true},
	{in: "not a url at all %%", err: true},
}

func TestParseURL(t *testing.T) {
	for _, c := range urlCases {
		t.Run(c.in, func(t *testing.T) {
			got, err := ParseURL(c.in)
			if c.err {
				require.ErrorIs(t, err, ErrBadURL)
				return
			}
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			if got.Key != "" {
				require.NotContains(t, got.Redacted(), got.Key)
			}
		})
	}
}

func FuzzParseURL(f *testing.F) {
	for _, c := range urlCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseURL(in)
		if err != nil {
			require.ErrorIs(t, err, ErrBadURL)
			return
		}
		require.NotEmpty(t, got.Host)
		require.NotContains(t, got.Redacted(), "@"+got.Key+"@")
		if got.IsWHIP() {
			require.Contains(t, []string{"http", "https"}, got.Scheme)
			require.True(t, strings.HasPrefix(got.Endpoint, got.Scheme+"://"))
			require.NotContains(t, got.Endpoint, "@"+got.Host)
			return
		}
		require.Contains(t, []string{"rtmp", "rtmps"}, got.Scheme)
		require.NotEmpty(t, got.App)
		require.NotEmpty(t, got.Key)
		require.True(t, strings.HasPrefix(got.TCURL, got.Scheme+"://"))
	})
}
