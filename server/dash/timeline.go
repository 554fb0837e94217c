package dash

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/codecparams"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	mp4 "github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"golive/server/hls"
)

// ErrBadSegment is returned (and logged by Manifest) for a segment or
// init section whose fragments cannot be read, or whose name does not
// follow the muxer's numbering.
var ErrBadSegment = errors.New("dash: unusable segment")

// track is what an init section says of its one track.
type track struct {
	timescale  uint32
	codec      string // RFC 6381
	video      bool
	width      int
	height     int
	sampleRate int
	channels   int
}

// parseInit reads an init section with one track.
func parseInit(b []byte) (track, error) {
	var in fmp4.Init
	if err := in.Unmarshal(bytes.NewReader(b)); err != nil {
		return track{}, fmt.Errorf("%w: init: %w", ErrBadSegment, err)
	}
	if len(in.Tracks) != 1 {
		return track{}, fmt.Errorf("%w: init has %d tracks, want 1", ErrBadSegment, len(in.Tracks))
	}
	it := in.Tracks[0]
	tr := track{timescale: it.TimeScale}
	if tr.timescale == 0 {
		return track{}, fmt.Errorf("%w: init track has no timescale", ErrBadSegment)
	}
	switch c := it.Codec.(type) {
	case *mp4.CodecH264:
		var sps h264.SPS
		if err := sps.Unmarshal(c.SPS); err != nil {
			return track{}, fmt.Errorf("%w: SPS: %w", ErrBadSegment, err)
		}
		tr.video, tr.width, tr.height = true, sps.Width(), sps.Height()
	case *mp4.CodecMPEG4Audio:
		tr.sampleRate, tr.channels = c.SampleRate, c.ChannelCount
	default:
		return track{}, fmt.Errorf("%w: codec %T", ErrBadSegment, it.Codec)
	}
	tr.codec = codecparams.Marshal(codecs.FromFMP4(it.Codec))
	return tr, nil
}

// entry is one segment of a timeline.
type entry struct {
	seq     int
	t, d    uint64 // start and duration in the track's timescale
	bytes   int
	samples int
}

// parseSegment reads a segment's start (the first fragment's
// baseMediaDecodeTime), duration (the sum of its samples' durations) and
// sample count.
func parseSegment(b []byte) (entry, error) {
	var parts fmp4.Parts
	if err := parts.Unmarshal(b); err != nil {
		return entry{}, fmt.Errorf("%w: %w", ErrBadSegment, err)
	}
	e := entry{bytes: len(b)}
	first := true
	for _, p := range parts {
		for _, pt := range p.Tracks {
			if first {
				e.t, first = pt.BaseTime, false
			}
			for _, s := range pt.Samples {
				e.d += uint64(s.Duration)
				e.samples++
			}
		}
	}
	if first || e.d == 0 {
		return entry{}, fmt.Errorf("%w: no samples", ErrBadSegment)
	}
	return e, nil
}

// mediaTemplate turns a segment name of the muxer ("abc_video1_seg12.mp4"
// for sequence 12) into a SegmentTemplate media attribute
// ("abc_video1_seg$Number$.mp4").
func mediaTemplate(name string, seq int) (string, error) {
	suffix := "_seg" + strconv.Itoa(seq) + ".mp4"
	if !strings.HasSuffix(name, suffix) || strings.ContainsAny(name, "$/") {
		return "", fmt.Errorf("%w: name %q does not end in %q", ErrBadSegment, name, suffix)
	}
	return strings.TrimSuffix(name, suffix) + "_seg$Number$.mp4", nil
}

// timeline is one media playlist of one rung, followed segment by
// segment.
type timeline struct {
	rung     string
	stream   uint64
	ended    bool
	initName string
	track    track
	media    string    // SegmentTemplate media attribute
	start    time.Time // wall-clock time of first
	first    uint64    // media time of the stream's first segment: the live presentation's zero
	entries  []entry
}

// add appends a segment, keeping at most keep entries (0: all).
func (tl *timeline) add(e entry, keep int) {
	if len(tl.entries) == 0 && tl.first == 0 {
		tl.first = e.t
	}
	tl.entries = append(tl.entries, e)
	if keep > 0 && len(tl.entries) > keep {
		tl.entries = append(tl.entries[:0], tl.entries[len(tl.entries)-keep:]...)
	}
}

// peak returns the densest segment's bitrate in bit/s (at least 1).
func (tl *timeline) peak() int {
	best := 1
	for _, e := range tl.entries {
		if e.d > 0 {
			best = max(best, int(float64(e.bytes)*8*float64(tl.track.timescale)/float64(e.d)))
		}
	}
	return best
}

// frameRate returns the video frame rate measured over the timeline, as
// an integer or a /1001 rate ("" when not measurable).
func (tl *timeline) frameRate() string {
	var samples int
	var d uint64
	for _, e := range tl.entries {
		samples += e.samples
		d += e.d
	}
	if d == 0 || samples == 0 {
		return ""
	}
	fps := float64(samples) * float64(tl.track.timescale) / float64(d)
	for _, r := range []float64{24, 25, 30, 48, 50, 60, 15, 12, 10} {
		switch {
		case abs(fps-r) < 0.05*r/30:
			return strconv.Itoa(int(r))
		case abs(fps-r*1000/1001) < 0.01:
			return strconv.Itoa(int(r*1000)) + "/1001"
		}
	}
	return ""
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// Piece is a segment as a manifest lists it: where it is, when it starts
// and how long it lasts. It keeps no reference to the segment's bytes.
type Piece struct {
	seg hls.Segment // Data dropped
	e   entry
}

// NewPiece reads a segment's timing from its fragments.
func NewPiece(s hls.Segment) (Piece, error) {
	e, err := parseSegment(s.Data)
	if err != nil {
		return Piece{}, err
	}
	e.seq = s.Seq
	s.Data = nil
	return Piece{seg: s, e: e}, nil
}

// fromSegment starts a timeline for the stream a segment belongs to.
func fromSegment(s hls.Segment) (*timeline, error) {
	tr, err := parseInit(s.Init)
	if err != nil {
		return nil, err
	}
	media, err := mediaTemplate(s.Name, s.Seq)
	if err != nil {
		return nil, err
	}
	return &timeline{rung: s.Rung, stream: s.Stream, initName: s.InitName, track: tr, media: media, start: s.Time}, nil
}
