package hls

import (
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/stretchr/testify/require"

	"golive/media"
)

// An SPS and PPS gohlslib parses (its own tests' SPS, 1920x1080).
var (
	testSPS = []byte{
		0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02,
		0x27, 0xe5, 0x84, 0x00, 0x00, 0x03, 0x00, 0x04,
		0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9,
		0x20,
	}
	testPPS = []byte{0x08}
	// testASC is an AudioSpecificConfig: AAC LC, 48 kHz, stereo.
	testASC = []byte{0x11, 0x90}
)

func testVideoParams(t *testing.T, bitrate int) *media.CodecParams {
	t.Helper()
	cfg, err := media.AVCConfig{SPS: [][]byte{testSPS}, PPS: [][]byte{testPPS}}.Marshal()
	require.NoError(t, err)
	return &media.CodecParams{Codec: media.CodecH264, Config: cfg, Bitrate: bitrate,
		Width: 1920, Height: 1080, FPS: 30}
}

func testAudioParams() *media.CodecParams {
	return &media.CodecParams{Codec: media.CodecAAC, Config: testASC, SampleRate: 48000, Channels: 2}
}

func newTestVariant(t *testing.T, name string) *Variant {
	t.Helper()
	v := &Variant{Name: name, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	require.NoError(t, v.Initialize())
	t.Cleanup(v.Close)
	return v
}

// feed writes the stream from one time to another: 30 frames a second of
// frameSize bytes, a keyframe every second and, with audio, AAC frames
// of 200 bytes.
func feed(t *testing.T, v *Variant, from, to time.Duration, frameSize int, audio bool) {
	t.Helper()
	const frame = time.Second / 30
	aacFrame := media.FromTicks(1024, 48000)
	next := from
	for pts := from; pts < to; pts += frame {
		for audio && next <= pts {
			require.NoError(t, v.WriteAudio(&media.Packet{Codec: media.CodecAAC, Data: make([]byte, 200), PTS: next, DTS: next}))
			next += aacFrame
		}
		key := (pts/frame)%30 == 0
		nalu := make([]byte, frameSize)
		nalu[0] = 1 // non-IDR slice
		if key {
			nalu[0] = 5 // IDR slice
		}
		data := binary.BigEndian.AppendUint32(nil, uint32(len(nalu)))
		data = append(data, nalu...)
		require.NoError(t, v.WriteVideo(&media.Packet{Codec: media.CodecH264, Data: data, PTS: pts, DTS: pts, Keyframe: key}))
	}
}

// measured waits until the variant's followers measured n video segments.
func waitMeasured(t *testing.T, v *Variant, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return v.Stats().Video.Segments >= n }, 10*time.Second, 5*time.Millisecond,
		"%s: %d segments measured", v.Name, n)
}

func get(v *Variant, target string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	v.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}

func TestVariantServesNothingBeforeStart(t *testing.T) {
	v := newTestVariant(t, "720p")
	require.Equal(t, http.StatusNotFound, get(v, "/hls/720p/"+VideoPlaylist).Code)
	require.ErrorIs(t, v.WriteVideo(&media.Packet{}), ErrNotStarted)
	v.Stop()
	v.Close()
	v.Close()
	require.ErrorIs(t, (&Variant{}).Initialize(), ErrNoName)
}

func TestVariantBandwidthFollowsMeasuredBytes(t *testing.T) {
	big, small := newTestVariant(t, "big"), newTestVariant(t, "small")
	for _, v := range []*Variant{big, small} {
		require.NoError(t, v.Start(testVideoParams(t, 1_000_000), nil))
	}
	bandwidths := func() []int {
		t.Helper()
		b, err := MultivariantPlaylist([]*Variant{big, small}, nil)
		require.NoError(t, err)
		pl, err := playlist.Unmarshal(b)
		require.NoError(t, err)
		mv, ok := pl.(*playlist.Multivariant)
		require.True(t, ok)
		require.Len(t, mv.Variants, 2)
		var bws []int
		for _, v := range mv.Variants {
			require.NotNil(t, v.AverageBandwidth)
			require.LessOrEqual(t, *v.AverageBandwidth, v.Bandwidth)
			bws = append(bws, v.Bandwidth, *v.AverageBandwidth)
		}
		return bws
	}
	require.Equal(t, []int{1_200_000, 1_000_000, 1_200_000, 1_000_000}, bandwidths(), "declared until measured")

	feed(t, big, 0, 5*time.Second, 4000, false)
	feed(t, small, 0, 5*time.Second, 400, false)
	waitMeasured(t, big, 3)
	waitMeasured(t, small, 3)
	bws := bandwidths()
	const bigRate, smallRate = 4000 * 8 * 30, 400 * 8 * 30 // the payload alone, bit/s
	require.GreaterOrEqual(t, bws[0], bigRate, "BANDWIDTH covers the bytes the muxer produced")
	require.Less(t, bws[0], bigRate*11/10, "and little more (fMP4 overhead)")
	require.GreaterOrEqual(t, bws[2], smallRate)
	require.Less(t, bws[2], smallRate*13/10)
	require.Greater(t, bws[0], 5*bws[2], "the rung with the larger segments reports the larger BANDWIDTH")
	require.Greater(t, bws[1], 5*bws[3], "and the larger AVERAGE-BANDWIDTH")
	require.Zero(t, big.Stats().EncodeErrors)
}

func TestVariantEndedPlaylist(t *testing.T) {
	v := newTestVariant(t, "720p")
	require.NoError(t, v.Start(testVideoParams(t, 0), testAudioParams()))
	feed(t, v, 0, 4*time.Second, 1000, true)
	waitMeasured(t, v, 2)
	require.Positive(t, v.Stats().Audio.Segments, "the audio playlist is measured too")

	// A player's blocking reload waits for a part that never comes.
	rec := get(v, "/hls/720p/"+VideoPlaylist)
	require.Equal(t, http.StatusOK, rec.Code)
	live := parseMedia(t, rec.Body.Bytes())
	require.NotNil(t, live.PreloadHint)
	next := live.MediaSequence + len(live.Segments) + 1
	waiting := make(chan *httptest.ResponseRecorder)
	go func() {
		waiting <- get(v, fmt.Sprintf("/hls/720p/%s?_HLS_msn=%d&_HLS_part=0", VideoPlaylist, next))
	}()
	require.Eventually(t, func() bool { return v.Stats().Waiting == 1 }, 10*time.Second, 5*time.Millisecond)

	v.Stop()
	rec = <-waiting
	require.Equal(t, http.StatusOK, rec.Code, "the waiting request gets the ended playlist: %s", rec.Body)
	require.True(t, parseMedia(t, rec.Body.Bytes()).Endlist)
	st := v.Stats()
	require.False(t, st.Live)
	require.Positive(t, st.Video.Segments, "the last measurement stays for the multivariant playlist")

	for _, name := range []string{VideoPlaylist, AudioPlaylist} {
		rec := get(v, "/hls/720p/"+name)
		require.Equal(t, http.StatusOK, rec.Code, name)
		require.Equal(t, "application/vnd.apple.mpegurl", rec.Header().Get("Content-Type"))
		pl := parseMedia(t, rec.Body.Bytes())
		require.True(t, pl.Endlist, name)
		require.Nil(t, pl.ServerControl)
		require.Nil(t, pl.PartInf)
		require.Nil(t, pl.PreloadHint)
		require.Empty(t, pl.Parts)
		require.NotEmpty(t, pl.Segments, name)
		require.GreaterOrEqual(t, pl.MediaSequence, 7, "gohlslib's leading gaps are not kept")
		require.NotNil(t, pl.Map)
		files := []string{pl.Map.URI}
		for _, seg := range pl.Segments {
			require.False(t, seg.Gap)
			require.Empty(t, seg.Parts)
			files = append(files, seg.URI)
		}
		for _, f := range files {
			rec := get(v, "/hls/720p/"+f)
			require.Equal(t, http.StatusOK, rec.Code, f)
			require.Equal(t, "video/mp4", rec.Header().Get("Content-Type"))
			require.NotEmpty(t, rec.Body.Bytes(), f)
		}
	}
	require.Equal(t, http.StatusNotFound, get(v, "/hls/720p/nope.mp4").Code)

	// A new stream replaces the ended one at the same URLs.
	require.NoError(t, v.Start(testVideoParams(t, 0), nil))
	require.True(t, v.Stats().Live)
	require.Equal(t, http.StatusNotFound, get(v, "/hls/720p/"+AudioPlaylist).Code, "no audio: 404 at once, no wait")
	require.Equal(t, http.StatusNotFound, get(v, "/hls/720p/"+live.Map.URI).Code, "the ended stream's files are gone")
}

func TestMultivariantPlaylist(t *testing.T) {
	_, err := MultivariantPlaylist([]*Variant{newTestVariant(t, "idle")}, nil)
	require.ErrorIs(t, err, ErrNoVariants)

	top, low := newTestVariant(t, "720p"), newTestVariant(t, "240p")
	require.NoError(t, top.Start(testVideoParams(t, 2_500_000), testAudioParams()))
	lowParams := testVideoParams(t, 400_000)
	lowParams.Width, lowParams.Height = 426, 240
	require.NoError(t, low.Start(lowParams, nil))
	b, err := MultivariantPlaylist([]*Variant{top, low}, top)
	require.NoError(t, err)
	// Nothing measured yet: declared bitrates plus a fifth for the peak,
	// the audio rendition at its guess.
	require.Equal(t, `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-INDEPENDENT-SEGMENTS

#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio",NAME="main",AUTOSELECT=YES,DEFAULT=YES,URI="720p/audio2_stream.m3u8"

#EXT-X-STREAM-INF:BANDWIDTH=3153600,AVERAGE-BANDWIDTH=2628000,CODECS="avc1.42c028,mp4a.40.2",RESOLUTION=1920x1080,FRAME-RATE=30.000,AUDIO="audio"
720p/video1_stream.m3u8
#EXT-X-STREAM-INF:BANDWIDTH=633600,AVERAGE-BANDWIDTH=528000,CODECS="avc1.42c028,mp4a.40.2",RESOLUTION=426x240,FRAME-RATE=30.000,AUDIO="audio"
240p/video1_stream.m3u8
`, string(b))

	noAudio, err := MultivariantPlaylist([]*Variant{low}, nil)
	require.NoError(t, err)
	require.NotContains(t, string(noAudio), "EXT-X-MEDIA")
	require.NotContains(t, string(noAudio), "AUDIO=")
	require.Contains(t, string(noAudio), "BANDWIDTH=480000,AVERAGE-BANDWIDTH=400000,")
}

func parseMedia(t *testing.T, b []byte) *playlist.Media {
	t.Helper()
	pl, err := playlist.Unmarshal(b)
	require.NoError(t, err, "%s", b)
	m, ok := pl.(*playlist.Media)
	require.True(t, ok, "a media playlist: %s", b)
	return m
}
