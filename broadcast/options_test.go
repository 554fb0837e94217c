package broadcast

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"golive/media"
	"golive/publisher"
)

// optionCases drives the parser tests and seeds the fuzz target.
var optionCases = []struct {
	kind, in string
	want     int // width*height for sizes; the value otherwise; 0 for an error
}{
	{"size", "1280x720", 1280 * 720},
	{"size", " 640X360 ", 640 * 360},
	{"size", "1281x720", 0},
	{"size", "0x0", 0},
	{"size", "1280", 0},
	{"size", "axb", 0},
	{"size", "99999x720", 0},
	{"fps", "30", 30},
	{"fps", "0", 0},
	{"fps", "29.97", 0},
	{"fps", "121", 0},
	{"url", "rtmp://127.0.0.1:1935/live/key", 1},
	{"url", "rtmps://live.example.com/app/abc?x=1", 1},
	{"url", "http://KEY@192.168.1.20:8080/whip", 1},
	{"url", "https://whip.example.com/abc/publish", 1},
	{"url", "ftp://example.com/live/key", 0},
	{"url", "http:///whip", 0},
	{"url", "http://k@host:99999/whip", 0},
	{"url", "rtmp:///live/key", 0},
	{"url", "rtmp://host/live", 0},
	{"url", "rtmp://host:99999/live/key", 0},
	{"url", "rtmp://host:1935", 0},
	{"url", "::not a url", 0},
}

func parseOption(kind, in string) (int, error) {
	switch kind {
	case "size":
		w, h, err := ParseSize(in)
		return w * h, err
	case "fps":
		return ParseFPS(in)
	default:
		_, err := ParseDestination(in)
		if err != nil {
			return 0, err
		}
		return 1, nil
	}
}

func TestParseOptions(t *testing.T) {
	for _, c := range optionCases {
		got, err := parseOption(c.kind, c.in)
		if c.want == 0 {
			require.ErrorIs(t, err, media.ErrBadOption, "%s %q", c.kind, c.in)
			require.NotContains(t, err.Error(), "\n")
			continue
		}
		require.NoError(t, err, "%s %q", c.kind, c.in)
		require.Equal(t, c.want, got, "%s %q", c.kind, c.in)
	}
}

func TestMaskURL(t *testing.T) {
	for in, want := range map[string]string{
		"rtmp://h:1935/live/secret":         "rtmp://h:1935/live/****",
		"rtmps://u:pw@h/app/sub/secret?k=v": "rtmps://h:443/app/sub/****",
		"rtmp://h/live":                     "<invalid URL>",
		"http://secret@h:8080/whip?t=x":     "http://****@h:8080/whip?****",
		"not a url":                         "<invalid URL>",
	} {
		require.Equal(t, want, MaskURL(in))
	}
}

func FuzzParseOptions(f *testing.F) {
	for _, c := range optionCases {
		f.Add(c.kind, c.in)
	}
	f.Fuzz(func(t *testing.T, kind, in string) {
		v, err := parseOption(kind, in)
		if err != nil {
			require.ErrorIs(t, err, media.ErrBadOption)
			return
		}
		require.Positive(t, v)
		if kind != "url" {
			return
		}
		t2, err := publisher.ParseURL(in)
		require.NoError(t, err)
		if !t2.IsWHIP() {
			require.True(t, strings.HasSuffix(MaskURL(in), "/****"), "key shown in %q", MaskURL(in))
		} else if t2.Key != "" {
			require.True(t, strings.HasPrefix(MaskURL(in), t2.Scheme+"://****@"), "key shown in %q", MaskURL(in))
		}
	})
}
