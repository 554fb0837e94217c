package server

import (
	"encoding/xml"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// mpdDoc is what the tests read of an MPD.
type mpdDoc struct {
	Type   string `xml:"type,attr"`
	Period struct {
		AdaptationSets []struct {
			ContentType     string `xml:"contentType,attr"`
			Representations []struct {
				ID       string `xml:"id,attr"`
				Width    int    `xml:"width,attr"`
				Height   int    `xml:"height,attr"`
				Codecs   string `xml:"codecs,attr"`
				Template struct {
					Media    string `xml:"media,attr"`
					Init     string `xml:"initialization,attr"`
					Timeline struct {
						S []struct {
							T *uint64 `xml:"t,attr"`
							D uint64  `xml:"d,attr"`
							R int     `xml:"r,attr"`
						} `xml:"S"`
					} `xml:"SegmentTimeline"`
				} `xml:"SegmentTemplate"`
			} `xml:"Representation"`
		} `xml:"AdaptationSet"`
	} `xml:"Period"`
}

func parseMPD(t *testing.T, body string) mpdDoc {
	t.Helper()
	var d mpdDoc
	require.NoError(t, xml.Unmarshal([]byte(body), &d), body)
	return d
}

// TestServeDASH checks the MPD over the HLS segments: every rung one
// Representation of the video AdaptationSet, the audio its own, the
// media URLs the HLS playlists use; ffprobe reads it and dash.js plays
// it in headless Chromium.
func TestServeDASH(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	src := source720p(t)
	s := testServer(t, "720p,480p,240p")
	pub := startPublisher(t, src, s.publishURL(testKey))
	waitVariants(t, s, 3)

	var body string
	require.Eventually(t, func() bool {
		code, b := get(t, s.testURL("/dash/manifest.mpd"))
		body = b
		if code != http.StatusOK {
			return false
		}
		d := parseMPD(t, b)
		return len(d.Period.AdaptationSets) == 2 && len(d.Period.AdaptationSets[0].Representations) == 3
	}, 20*time.Second, 100*time.Millisecond, "an MPD with three video representations and audio: %s", body)
	// dash.js keeps the representations of the first MPD it reads: the
	// viewer comes once every rung is in it.
	watch := openInChromium(t, s.testURL("/?via=dash"))
	d := parseMPD(t, body)
	require.Equal(t, "dynamic", d.Type)
	video, audio := d.Period.AdaptationSets[0], d.Period.AdaptationSets[1]
	require.Equal(t, "video", video.ContentType)
	require.Equal(t, "audio", audio.ContentType)
	var sizes []int
	for _, r := range video.Representations {
		sizes = append(sizes, r.Width, r.Height)
		require.Regexp(t, `^avc1\.`, r.Codecs)
		require.Regexp(t, `^\.\./hls/`+r.ID+`/[0-9a-f]+_video1_seg\$Number\$\.mp4$`, r.Template.Media)
		require.NotEmpty(t, r.Template.Timeline.S)
	}
	require.Equal(t, []int{1280, 720, 854, 480, 426, 240}, sizes)
	require.Equal(t, "mp4a.40.2", audio.Representations[0].Codecs)
	require.Contains(t, body, `availabilityTimeComplete="false"`, "low-latency DASH: segments are read as they grow")
	require.Contains(t, body, `availabilityTimeOffset="1.800"`, "from the first 200 ms part of a 2 s segment on")

	code, st := get(t, s.testURL("/api/status"))
	require.Equal(t, 200, code)
	require.Contains(t, st, `"dash": "/dash/manifest.mpd"`)
	require.Contains(t, st, `"hls": "/hls/index.m3u8"`)

	// ffprobe reads the live MPD: every representation and the audio.
	t.Logf("live MPD:\n%s", body)
	info := probeStreams(t, s.testURL("/dash/manifest.mpd"))
	videos := 0
	for _, st := range info.Streams {
		if st.CodecType == "video" {
			videos++
		}
	}
	require.Equal(t, 3, videos, "ffprobe sees every representation: %+v", info.Streams)
	_, ok := info.Audio()
	require.True(t, ok, "ffprobe sees the audio")

	minPlay := 1.5 // SERVER_TEST_PLAY=8 watches longer (to read dash.js's settled latency)
	if v, err := strconv.ParseFloat(os.Getenv("SERVER_TEST_PLAY"), 64); err == nil && v > 0 {
		minPlay = v
	}
	ps, problems := watch.wait(minPlay)
	require.Empty(t, problems, "console errors in the player page")
	require.Equal(t, "dash", ps.Mode)
	require.Equal(t, []int{240, 480, 720}, ps.Levels)
	require.Empty(t, ps.Errors)
	if ps.Latency != nil {
		t.Logf("dash.js latency in Chromium: %.2f s", *ps.Latency)
	}

	require.NoError(t, pub.wait(t, 40*time.Second), pub.stderr.String())
	require.Eventually(t, func() bool {
		_, b := get(t, s.testURL("/dash/manifest.mpd"))
		return parseMPD(t, b).Type == "static"
	}, 10*time.Second, 50*time.Millisecond, "the ended stream's MPD is static")
	info = probe(t, s.testURL("/dash/manifest.mpd"))
	for _, st := range info.Streams {
		if st.CodecType == "video" {
			require.GreaterOrEqual(t, st.Frames(), 120, "%dx%d decodes the kept segments", st.Width, st.Height)
		}
	}
}

// probeStreams runs ffprobe over url without reading frames (a live
// manifest never ends).
func probeStreams(t *testing.T, url string) peers.ProbeInfo {
	t.Helper()
	return runProbe(t, url, "-v", "error", "-show_streams", "-of", "json")
}
