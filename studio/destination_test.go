package studio

import (
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"golive/broadcast"
	"golive/media"
)

func TestDestinations(t *testing.T) {
	store := &memStore{}
	h := newStudio(t, store, true)
	ds := h.Destinations()
	require.Len(t, ds, 1)
	require.Equal(t, DestBundled, ds[0].Kind)
	require.True(t, ds[0].Enabled, "the bundled server is ticked by default")
	require.Contains(t, ds[0].URL, "rtmp://127.0.0.1:")
	require.Equal(t, h.StreamKey(), ds[0].Key)

	cases := []struct {
		name string
		d    Destination
		err  bool
	}{
		{"youtube", Destination{Kind: DestYouTube, Name: "YouTube", URL: "rtmp://a.rtmp.youtube.com/live2", Key: "abcd-efgh-ijkl-mnop", Enabled: true}, false},
		{"twitch", Destination{Kind: DestTwitch, Name: "Twitch", URL: "rtmp://live.twitch.tv/app", Key: "live_123456_secretsecret"}, false},
		{"custom rtmps", Destination{Name: "Mine", URL: "rtmps://example.com:443/app", Key: "k3y-k3y-k3y"}, false},
		{"no key", Destination{Kind: DestYouTube, URL: "rtmp://a.rtmp.youtube.com/live2"}, true},
		{"http URL", Destination{URL: "http://example.com/app", Key: "abcdefgh"}, true},
		{"key with slash", Destination{URL: "rtmp://example.com/app", Key: "a/b"}, true},
	}
	for _, tc := range cases {
		err := h.SaveDestination(tc.d)
		if tc.err {
			require.ErrorIs(t, err, media.ErrBadOption, tc.name)
		} else {
			require.NoError(t, err, tc.name)
		}
	}
	ds = h.Destinations()
	require.Len(t, ds, 4)
	yt := ds[1]
	require.Equal(t, broadcast.MaskURL(yt.PublishURL()), yt.Masked())
	require.True(t, strings.HasSuffix(yt.Masked(), "/live2/****"), yt.Masked())
	require.NotContains(t, yt.Masked(), yt.Key)
	require.Equal(t, "****op", yt.MaskedKey())
	require.Equal(t, "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop", yt.PublishURL())

	// Edit, untick the bundled server, remove one.
	yt.Key = "new-key-123456"
	require.NoError(t, h.SaveDestination(yt))
	require.NoError(t, h.SetEnabled(DestBundled, false))
	h.RemoveDestination(ds[3].ID)
	require.ErrorIs(t, h.SetEnabled("nope", true), media.ErrBadOption)
	require.Len(t, h.publishURLs(), 1, "only YouTube is ticked now")

	// Keys never reach the log.
	for _, d := range cases {
		if d.d.Key != "" && len(d.d.Key) > 4 {
			require.NotContains(t, h.logs.String(), d.d.Key)
		}
	}
	require.NotContains(t, h.logs.String(), "new-key-123456")

	// A new Studio on the same store sees the same list and key.
	key := h.StreamKey()
	h.Close()
	h2 := newStudio(t, store, true)
	require.Equal(t, key, h2.StreamKey())
	ds2 := h2.Destinations()
	require.Len(t, ds2, 3)
	require.False(t, ds2[0].Enabled)
	require.Equal(t, "new-key-123456", ds2[1].Key)
	require.Equal(t, "Twitch", ds2[2].Name)
}

// storedDestinations are stored lists as the store may hold them (also
// the fuzz seeds).
var storedDestinations = []struct {
	stored string
	want   int
}{
	{``, 0},
	{`not json`, 0},
	{`[]`, 0},
	{`[{"id":"a","kind":"youtube","name":"YouTube","url":"rtmp://a.rtmp.youtube.com/live2","key":"k","enabled":true}]`, 1},
	{`[{"id":"b","kind":"bundled"},{"id":"","kind":"custom"},{"id":"c","kind":"custom","url":"rtmps://x/app"}]`, 1},
	{`[{"id":1}]`, 0},
}

func TestDecodeDestinations(t *testing.T) {
	for _, tc := range storedDestinations {
		require.Len(t, decodeDestinations(tc.stored), tc.want, tc.stored)
	}
}

// FuzzStore loads arbitrary stored settings and destinations: a
// damaged store must never stop the studio, and never yield a bundled or
// ID-less entry.
func FuzzStore(f *testing.F) {
	for _, tc := range storedDestinations {
		f.Add(tc.stored, `{"width":1280,"height":720}`)
	}
	f.Add(`[]`, `{"fps":"x"}`)
	f.Fuzz(func(t *testing.T, dests, settings string) {
		for _, d := range decodeDestinations(dests) {
			if d.ID == "" || d.Kind == DestBundled {
				t.Fatalf("bad entry %+v", d)
			}
			_ = d.Masked()
			_ = d.MaskedKey()
			_ = d.Validate()
		}
		s := &Studio{Store: &memStore{m: map[string]string{storeDestinations: dests, storeSettings: settings}},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		s.log = s.Logger
		s.mem = map[string]string{}
		s.load()
		if err := validateSettings(s.Settings()); err != nil {
			t.Fatalf("loaded unusable settings %+v: %v", s.Settings(), err)
		}
	})
}

// TestWHIPDestination: a WHIP entry publishes to its endpoint with the key
// as the URL's user part (the bearer token), shows it masked, and takes
// only http(s) URLs; an RTMP entry does not take them.
func TestWHIPDestination(t *testing.T) {
	h := newStudio(t, &memStore{}, true)
	lan := Destination{Kind: DestWHIP, Name: "Studio PC", URL: "http://192.168.1.20:8080/whip", Key: "lan-key-42", Enabled: true}
	require.NoError(t, h.SaveDestination(lan))
	d := h.Destinations()[1]
	require.Equal(t, "http://lan-key-42@192.168.1.20:8080/whip", d.PublishURL())
	require.Equal(t, "http://****@192.168.1.20:8080/whip", d.Masked())
	require.Equal(t, "http://192.168.1.20:8080/whip (token ****42)", d.Where())
	require.Contains(t, h.publishURLs(), d.PublishURL())
	require.NotContains(t, h.logs.String(), "lan-key-42")

	tokenInURL := Destination{Kind: DestWHIP, Name: "CDN", URL: "https://whip.example/abc/publish"}
	require.NoError(t, tokenInURL.Validate(), "a WHIP endpoint may take no bearer token")
	require.Equal(t, "https://whip.example/abc/publish", tokenInURL.PublishURL())
	for _, bad := range []Destination{
		{Kind: DestWHIP, Name: "rtmp", URL: "rtmp://example.com/app", Key: "k"},
		{Kind: DestWHIP, Name: "newline", URL: "https://example.com/whip", Key: "a\nb"},
		{Kind: DestCustom, Name: "http as RTMP", URL: "http://example.com/app", Key: "abcdefgh"},
	} {
		require.ErrorIs(t, h.SaveDestination(bad), media.ErrBadOption, bad.Name)
	}
}
