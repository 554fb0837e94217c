package s3

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// urlCases drives TestParseURL and seeds FuzzParseURL.
var urlCases = []struct {
	in   string
	want Location
	ok   bool
}{
	{"s3://live/show", Location{"live", "show"}, true},
	{"s3://live", Location{"live", ""}, true},
	{"s3://live/", Location{"live", ""}, true},
	{"s3://my.bucket-1/events/2026/", Location{"my.bucket-1", "events/2026"}, true},
	{"s3://Live/x", Location{}, false},
	{"s3://ab/x", Location{}, false},
	{"http://live/x", Location{}, false},
	{"live/x", Location{}, false},
	{"s3://live/../x", Location{}, false},
	{"s3://live//x", Location{}, false},
	{"s3://live/a b", Location{}, false},
	{"s3://-live/x", Location{}, false},
	{"s3://li..ve/x", Location{}, false},
	{"s3://", Location{}, false},
	{"", Location{}, false},
}

func TestParseURL(t *testing.T) {
	for _, c := range urlCases {
		got, err := ParseURL(c.in)
		if !c.ok {
			require.ErrorIs(t, err, ErrBadURL, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
	}
	require.Equal(t, "show/hls/index.m3u8", Location{"live", "show"}.Key("hls/index.m3u8"))
	require.Equal(t, "hls/index.m3u8", Location{"live", ""}.Key("hls/index.m3u8"))
}

// endpointCases drives TestParseEndpoint and seeds FuzzParseEndpoint
// ("" wants an error).
var endpointCases = []struct{ in, want string }{
	{"http://127.0.0.1:7070", "http://127.0.0.1:7070"},
	{"https://s3.example.com/", "https://s3.example.com"},
	{"127.0.0.1:7070", ""},
	{"ftp://h", ""},
	{"http://", ""},
	{"http://u:p@h", ""},
	{"http://h/path", ""},
	{"http://h?x=1", ""},
}

func TestParseEndpoint(t *testing.T) {
	for _, c := range endpointCases {
		got, err := ParseEndpoint(c.in)
		if c.want == "" {
			require.ErrorIs(t, err, ErrBadURL, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got)
	}
}

func FuzzParseEndpoint(f *testing.F) {
	for _, c := range endpointCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ep, err := ParseEndpoint(s)
		if err != nil {
			return
		}
		require.True(t, strings.HasPrefix(ep, "http://") || strings.HasPrefix(ep, "https://"))
		again, err := ParseEndpoint(ep)
		require.NoError(t, err)
		require.Equal(t, ep, again)
	})
}

func FuzzParseURL(f *testing.F) {
	for _, c := range urlCases {
		f.Add(c.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseURL(s)
		if err != nil {
			return
		}
		require.True(t, bucketName.MatchString(loc.Bucket))
		require.False(t, strings.HasPrefix(loc.Prefix, "/") || strings.HasSuffix(loc.Prefix, "/"))
		require.NotContains(t, "/"+loc.Prefix+"/", "/../")
		again, err := ParseURL(loc.String())
		require.NoError(t, err)
		require.Equal(t, loc, again)
	})
}
