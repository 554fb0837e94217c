package hls

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const livePlaylist = `#EXTM3U
#EXT-X-VERSION:10
#EXT-X-TARGETDURATION:2
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=0.50000,CAN-SKIP-UNTIL=12.00000
#EXT-X-PART-INF:PART-TARGET=0.20000
#EXT-X-MEDIA-SEQUENCE:5
#EXT-X-MAP:URI="abc_video1_init.mp4"
#EXT-X-GAP
#EXTINF:2.00000,
gap.mp4
#EXT-X-GAP
#EXTINF:2.00000,
gap.mp4
#EXT-X-PROGRAM-DATE-TIME:2026-11-26T12:21:35.426Z
#EXTINF:2.00000,
abc_video1_seg7.mp4?x=1
#EXT-X-PROGRAM-DATE-TIME:2026-11-26T12:21:37.426Z
#EXT-X-PART:DURATION=0.20000,URI="abc_video1_part30.mp4",INDEPENDENT=YES
#EXTINF:2.00000,
abc_video1_seg8.mp4
#EXT-X-PART:DURATION=0.20000,URI="abc_video1_part40.mp4",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="abc_video1_part41.mp4"
`

func TestEndPlaylist(t *testing.T) {
	pl, uris := endPlaylist([]byte(livePlaylist))
	want := `#EXTM3U
#EXT-X-VERSION:10
#EXT-X-TARGETDURATION:2
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-MAP:URI="abc_video1_init.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-11-26T12:21:35.426Z
#EXTINF:2.00000,
abc_video1_seg7.mp4
#EXT-X-PROGRAM-DATE-TIME:2026-11-26T12:21:37.426Z
#EXTINF:2.00000,
abc_video1_seg8.mp4
#EXT-X-ENDLIST
`
	require.Equal(t, want, string(pl))
	require.Equal(t, []string{"abc_video1_init.mp4", "abc_video1_seg7.mp4", "abc_video1_seg8.mp4"}, uris)
}

func FuzzEndPlaylist(f *testing.F) {
	f.Add([]byte(livePlaylist))
	f.Add([]byte("#EXTM3U\nseg.mp4\n#EXT-X-GAP\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		pl, uris := endPlaylist(b)
		require.True(t, strings.HasSuffix(string(pl), "#EXT-X-ENDLIST\n"))
		for _, u := range uris {
			require.NotContains(t, u, "?")
			require.Contains(t, string(pl), u)
		}
	})
}

func TestMultivariantPlaylist(t *testing.T) {
	pl := string(MultivariantPlaylist([]Variant{
		{Name: "720p", Bandwidth: 3000000, AverageBandwidth: 2500000, Width: 1280, Height: 720, FPS: 30, Codecs: []string{"avc1.64001f", "mp4a.40.2"}},
		{Name: "240p", Bandwidth: 500000, AverageBandwidth: 400000, Width: 426, Height: 240, FPS: 30, Codecs: []string{"avc1.64001e", "mp4a.40.2"}},
	}, "720p"))
	require.Equal(t, `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-INDEPENDENT-SEGMENTS

#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="main",AUTOSELECT=YES,DEFAULT=YES,URI="720p/audio2_stream.m3u8"

#EXT-X-STREAM-INF:BANDWIDTH=3000000,AVERAGE-BANDWIDTH=2500000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=30.000,AUDIO="audio"
720p/video1_stream.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=500000,AVERAGE-BANDWIDTH=400000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=426x240,FRAME-RATE=30.000,AUDIO="audio"
240p/video1_stream.m3u8
`, pl)
	noAudio := string(MultivariantPlaylist([]Variant{{Name: "480p", Width: 854, Height: 480}}, ""))
	require.NotContains(t, noAudio, "EXT-X-MEDIA")
	require.NotContains(t, noAudio, "AUDIO=")
}

func TestRungServesNothingBeforeStart(t *testing.T) {
	r := &Rung{Name: "720p"}
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/hls/720p/video1_stream.m3u8", nil))
	require.Equal(t, http.StatusNotFound, rec.Code)
	r.Stop()
	r.Close()
	r.Close()
}
