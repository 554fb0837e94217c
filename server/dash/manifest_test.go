package dash

import (
	"encoding/binary"
	"encoding/xml"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/media"
	"golive/server/hls"
)

// An SPS and PPS gohlslib parses (1920x1080) and an AudioSpecificConfig
// (AAC LC, 48 kHz, stereo).
var (
	testSPS = []byte{0x67, 0x42, 0xc0, 0x28, 0xd9, 0x00, 0x78, 0x02, 0x27, 0xe5, 0x84, 0x00, 0x00, 0x03,
		0x00, 0x04, 0x00, 0x00, 0x03, 0x00, 0xf0, 0x3c, 0x60, 0xc9, 0x20}
	testPPS = []byte{0x08}
	testASC = []byte{0x11, 0x90}
)

// collect is a SegmentSink that keeps every segment.
type collect struct {
	mu   sync.Mutex
	segs []hls.Segment
}

func (c *collect) SegmentDone(s hls.Segment)  { c.mu.Lock(); c.segs = append(c.segs, s); c.mu.Unlock() }
func (c *collect) StreamEnded(string, uint64) {}

// segments runs a variant over seconds of 30 fps video (a keyframe every
// gop frames) and AAC, and returns what it reported.
func segments(t *testing.T, seconds, gop int) []hls.Segment {
	t.Helper()
	c := &collect{}
	v := &hls.Variant{Name: "720p", Sink: c, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	require.NoError(t, v.Initialize())
	cfg, err := media.AVCConfig{SPS: [][]byte{testSPS}, PPS: [][]byte{testPPS}}.Marshal()
	require.NoError(t, err)
	require.NoError(t, v.Start(&media.CodecParams{Codec: media.CodecH264, Config: cfg, Width: 1920, Height: 1080, FPS: 30},
		&media.CodecParams{Codec: media.CodecAAC, Config: testASC, SampleRate: 48000, Channels: 2}))
	const frame = time.Second / 30
	aac := media.FromTicks(1024, 48000)
	next := time.Duration(0)
	for i := 0; i < seconds*30; i++ {
		pts := time.Duration(i) * frame
		for next <= pts {
			require.NoError(t, v.WriteAudio(&media.Packet{Codec: media.CodecAAC, Data: make([]byte, 50), PTS: next, DTS: next}))
			next += aac
		}
		nalu := make([]byte, 300)
		nalu[0] = 1
		if i%gop == 0 {
			nalu[0] = 5
		}
		data := append(binary.BigEndian.AppendUint32(nil, uint32(len(nalu))), nalu...)
		require.NoError(t, v.WriteVideo(&media.Packet{Codec: media.CodecH264, Data: data, PTS: pts, DTS: pts, Keyframe: i%gop == 0}))
	}
	v.Stop()
	v.Close()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.segs
}

func newManifest(t *testing.T, clock time.Time, opts ...func(*Manifest)) *Manifest {
	t.Helper()
	m := &Manifest{Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Clock: func() time.Time { return clock }}
	for _, o := range opts {
		o(m)
	}
	require.NoError(t, m.Initialize())
	return m
}

func TestManifest(t *testing.T) {
	segs := segments(t, 12, 45) // a keyframe every 1.5 s: 1.5 s segments
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	m := newManifest(t, now)
	_, err := m.MPD([]string{"720p"})
	require.ErrorIs(t, err, ErrNoStream)
	updated := m.Updated()
	for _, s := range segs {
		m.SegmentDone(s)
	}
	select {
	case <-updated:
	default:
		t.Fatal("Updated is closed by a new segment")
	}
	b, err := m.MPD([]string{"720p", "480p"}) // a rung without segments is left out
	require.NoError(t, err)
	var doc mpd
	require.NoError(t, xml.Unmarshal(b, &doc), "%s", b)
	require.Equal(t, "dynamic", doc.Type)
	require.Equal(t, xsDateTime(now), doc.PublishTime)
	require.Len(t, doc.Period.AdaptationSets, 2)
	video := doc.Period.AdaptationSets[0].Representations
	require.Len(t, video, 1)
	require.Equal(t, "720p", video[0].ID)
	require.Equal(t, []int{1920, 1080}, []int{video[0].Width, video[0].Height})
	require.Equal(t, "30", video[0].FrameRate)
	tmpl := video[0].SegmentTemplate
	require.Equal(t, uint32(90000), tmpl.Timescale)
	require.True(t, strings.HasPrefix(tmpl.Media, "../hls/720p/") && strings.HasSuffix(tmpl.Media, "_video1_seg$Number$.mp4"), tmpl.Media)
	// Six 1.5 s segments, contiguous: one S with r=5.
	require.Equal(t, []s{{T: tmpl.Timeline.S[0].T, D: 135000, R: 5}}, tmpl.Timeline.S)
	var videoSeqs []int
	for _, sg := range segs {
		if sg.Playlist == hls.VideoPlaylist {
			videoSeqs = append(videoSeqs, sg.Seq)
		}
	}
	require.Len(t, videoSeqs, 7, "12 s of 1.5 s segments, the last one cut by Stop")
	require.Equal(t, videoSeqs[1], tmpl.StartNumber, "the window's first segment")
	require.Equal(t, *firstT(segs), tmpl.PresentationTimeOffset,
		"the live presentation's zero is the stream's first segment")
	audio := doc.Period.AdaptationSets[1]
	require.Equal(t, "audio", audio.ContentType)
	require.Equal(t, "mp4a.40.2", audio.Representations[0].Codecs)
	require.Equal(t, 48000, audio.Representations[0].AudioSamplingRate)
	require.Equal(t, 2, audio.Representations[0].AudioChannels.Value)
	require.Equal(t, uint32(48000), audio.Representations[0].SegmentTemplate.Timescale)

	// Once the stream ended, the MPD is static and starts at zero.
	m.StreamEnded("720p", segs[0].Stream)
	b, err = m.MPD([]string{"720p"})
	require.NoError(t, err)
	doc = mpd{}
	require.NoError(t, xml.Unmarshal(b, &doc))
	require.Equal(t, "static", doc.Type)
	require.Equal(t, "PT9S", doc.MediaPresentationDuration)
	require.Equal(t, tmpl.Timeline.S[0].T, doc.Period.AdaptationSets[0].Representations[0].SegmentTemplate.PresentationTimeOffset)

	// KeepAll lists every segment; a missing one starts the timeline again.
	all := newManifest(t, now, func(m *Manifest) { m.KeepAll = true })
	for _, sg := range segs {
		if sg.Playlist == hls.VideoPlaylist && sg.Seq == videoSeqs[3] {
			continue
		}
		all.SegmentDone(sg)
	}
	b, err = all.MPD([]string{"720p"})
	require.NoError(t, err)
	doc = mpd{}
	require.NoError(t, xml.Unmarshal(b, &doc))
	rep := doc.Period.AdaptationSets[0].Representations[0].SegmentTemplate
	require.Equal(t, videoSeqs[4], rep.StartNumber, "numbers stay right after the missing segment")
	require.Equal(t, 3, rep.Timeline.S[0].R+1, "the three segments after it")

	// At an origin that serves segments part by part, the live MPD says
	// a segment is readable from its first part on.
	ll := newManifest(t, now, func(m *Manifest) { m.PartTarget = 200 * time.Millisecond })
	for _, sg := range segs {
		ll.SegmentDone(sg)
	}
	b, err = ll.MPD([]string{"720p"})
	require.NoError(t, err)
	doc = mpd{}
	require.NoError(t, xml.Unmarshal(b, &doc))
	lt := doc.Period.AdaptationSets[0].Representations[0].SegmentTemplate
	require.Equal(t, "1.300", lt.AvailabilityTimeOffset)
	require.Equal(t, "false", lt.AvailabilityComplete)
	require.InDelta(t, 1900, doc.ServiceDescription.Latency.Target, 20, "a segment (the audio's run a little longer) and two parts")
	ll.StreamEnded("720p", segs[0].Stream)
	b, err = ll.MPD([]string{"720p"})
	require.NoError(t, err)
	require.NotContains(t, string(b), "availabilityTimeOffset", "a static MPD claims nothing")

	bad := segs[0]
	bad.Data = []byte("not a segment")
	m.SegmentDone(bad)
	require.Equal(t, uint64(1), m.Stats().BadSegments)
}

// firstT returns the first video segment's start in 90 kHz ticks.
func firstT(segs []hls.Segment) *uint64 {
	for _, sg := range segs {
		if sg.Playlist == hls.VideoPlaylist {
			p, err := NewPiece(sg)
			if err != nil {
				return nil
			}
			return &p.e.t
		}
	}
	return nil
}

// templateCases drives TestMediaTemplate.
var templateCases = []struct {
	name string
	seq  int
	want string
	ok   bool
}{
	{"ab12_video1_seg12.mp4", 12, "ab12_video1_seg$Number$.mp4", true},
	{"ab12_audio2_seg7.mp4", 7, "ab12_audio2_seg$Number$.mp4", true},
	{"ab12_video1_seg12.mp4", 13, "", false},
	{"ab12_video1_part12.mp4", 12, "", false},
	{"$x_video1_seg1.mp4", 1, "", false},
}

func TestMediaTemplate(t *testing.T) {
	for _, c := range templateCases {
		got, err := mediaTemplate(c.name, c.seq)
		if !c.ok {
			require.ErrorIs(t, err, ErrBadSegment, c.name)
			continue
		}
		require.NoError(t, err)
		require.Equal(t, c.want, got)
	}
}

func TestTimelineOf(t *testing.T) {
	require.Equal(t, segmentTimeline{S: []s{{T: 100, D: 10, R: 1}, {D: 20}, {T: 200, D: 20}}},
		timelineOf([]entry{{t: 100, d: 10}, {t: 110, d: 10}, {t: 120, d: 20}, {t: 200, d: 20}}))
	require.Equal(t, "PT1.5S", xsDuration(1500*time.Millisecond))
}
