package hls

import (
	"testing"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/stretchr/testify/require"
)

// livePlaylist is a media playlist as gohlslib's low-latency muxer
// writes it, with its leading gap segments.
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
abc_video1_seg7.mp4
#EXT-X-PROGRAM-DATE-TIME:2026-11-26T12:21:37.426Z
#EXT-X-PART:DURATION=0.20000,URI="abc_video1_part30.mp4",INDEPENDENT=YES
#EXTINF:2.00000,
abc_video1_seg8.mp4
#EXT-X-PART:DURATION=0.20000,URI="abc_video1_part40.mp4",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="abc_video1_part41.mp4"
`

func TestEndPlaylist(t *testing.T) {
	pl := endPlaylist(parseMedia(t, []byte(livePlaylist)))
	require.NotNil(t, pl)
	b, err := pl.Marshal()
	require.NoError(t, err)
	require.Equal(t, `#EXTM3U
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
`, string(b))
	require.True(t, parseMedia(t, b).Endlist, "the ended playlist parses")

	onlyGaps := parseMedia(t, []byte("#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:1\n#EXT-X-GAP\n#EXTINF:1.00000,\ngap.mp4\n"))
	require.Nil(t, endPlaylist(onlyGaps), "nothing to keep")
}

func FuzzEndPlaylist(f *testing.F) {
	f.Add([]byte(livePlaylist))
	f.Add([]byte("#EXTM3U\n#EXT-X-VERSION:10\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.00000,\nseg.mp4\n#EXT-X-GAP\n#EXTINF:1,\ngap.mp4\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		var live playlist.Media
		if live.Unmarshal(b) != nil {
			return
		}
		pl := endPlaylist(&live)
		if pl == nil {
			return
		}
		require.True(t, pl.Endlist)
		require.Nil(t, pl.PreloadHint)
		require.Empty(t, pl.Parts)
		require.GreaterOrEqual(t, pl.MediaSequence, live.MediaSequence)
		for _, seg := range pl.Segments {
			require.False(t, seg.Gap)
			require.Empty(t, seg.Parts)
		}
		_, err := pl.Marshal()
		require.NoError(t, err)
	})
}
