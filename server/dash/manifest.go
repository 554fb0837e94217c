package dash

import (
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"golive/server/hls"
)

// ErrNoStream is returned by Manifest.MPD before the listed rungs have a
// complete segment.
var ErrNoStream = errors.New("dash: no segment yet")

// ContentType is the MPD's media type.
const ContentType = "application/dash+xml"

// Manifest follows the variants' segments (it is an hls.SegmentSink) and
// writes the MPD over them. Its methods are safe from any goroutine and
// never block on I/O.
type Manifest struct {
	// Window is how many segments every Representation lists while live
	// (default 6: one fewer than the muxers keep, so that every listed
	// segment is still served). KeepAll lists every segment of the
	// stream instead (for storage that keeps the whole event).
	Window  int
	KeepAll bool
	// PartTarget, when set, is the parts' duration at an origin that
	// answers a request for a segment in progress part by part: a live
	// MPD then tells players (availabilityTimeOffset,
	// availabilityTimeComplete="false") that a segment can be read from
	// its first part on, and aims at a lower latency. Zero (object
	// storage, which holds complete segments only) claims nothing.
	PartTarget time.Duration
	// MediaBase is the path from the MPD to the rungs' directories
	// (default "../hls/": the MPD at /dash/manifest.mpd, the media at
	// /hls/<rung>/).
	MediaBase string
	// Logger receives the manifest's logs (default slog.Default()).
	Logger *slog.Logger
	// Clock gives the publish time (default time.Now).
	Clock func() time.Time

	mu        sync.Mutex
	timelines map[key]*timeline
	updated   chan struct{} // closed and replaced on every change
	errs      uint64
	lastLog   time.Time
}

// key names a timeline: a rung's video or audio media playlist.
type key struct{ rung, playlist string }

// ManifestStats is a snapshot of a Manifest.
type ManifestStats struct {
	// Timelines counts the media playlists followed.
	Timelines int
	// BadSegments counts segments that could not be read.
	BadSegments uint64
}

// Initialize fills in the defaults. Call it once, before anything else.
func (m *Manifest) Initialize() error {
	if m.Window <= 0 {
		m.Window = 6
	}
	if m.MediaBase == "" {
		m.MediaBase = "../hls/"
	}
	if m.Logger == nil {
		m.Logger = slog.Default()
	}
	if m.Clock == nil {
		m.Clock = time.Now
	}
	m.timelines = map[key]*timeline{}
	m.updated = make(chan struct{})
	return nil
}

// Updated returns a channel closed at the next change of the manifest
// (a segment added, a stream ended).
func (m *Manifest) Updated() <-chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updated
}

// changed wakes whoever waits on Updated; m.mu is held.
func (m *Manifest) changed() {
	close(m.updated)
	m.updated = make(chan struct{})
}

// Stats returns a snapshot.
func (m *Manifest) Stats() ManifestStats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return ManifestStats{Timelines: len(m.timelines), BadSegments: m.errs}
}

// SegmentDone adds a complete segment to its playlist's timeline; a
// segment of a new stream starts the timeline again.
func (m *Manifest) SegmentDone(s hls.Segment) {
	p, err := NewPiece(s)
	if err != nil {
		m.mu.Lock()
		m.fail(s, err)
		m.mu.Unlock()
		return
	}
	m.Add(p)
}

// Add adds a segment read beforehand to its playlist's timeline (in
// sequence order); a segment of a new stream starts the timeline again.
func (m *Manifest) Add(p Piece) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, e := p.seg, p.e
	k := key{s.Rung, s.Playlist}
	tl := m.timelines[k]
	if tl == nil || tl.stream != s.Stream || tl.initName != s.InitName {
		var err error
		if tl, err = fromSegment(s); err != nil {
			m.fail(s, err)
			return
		}
		m.timelines[k] = tl
	}
	if n := len(tl.entries); n > 0 && tl.entries[n-1].seq+1 != e.seq {
		// A segment the follower never saw: numbers would no longer
		// match the timeline, so it starts again from here.
		tl.entries, tl.start, tl.first = nil, s.Time, 0
	}
	keep := m.Window
	if m.KeepAll {
		keep = 0
	}
	tl.add(e, keep)
	if tl.start.IsZero() && !s.Time.IsZero() {
		// The wall-clock time of the timeline's first segment, from the
		// first segment that had one.
		tl.start = s.Time.Add(-ticks(e.t-tl.first, tl.track.timescale))
	}
	m.changed()
}

// StreamEnded marks the rung's timelines of that stream ended: once all
// listed rungs ended, the MPD is static.
func (m *Manifest) StreamEnded(rung string, stream uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, tl := range m.timelines {
		if k.rung == rung && tl.stream == stream {
			tl.ended = true
		}
	}
	m.changed()
}

// fail counts a segment that could not be read and logs at most one a
// second.
func (m *Manifest) fail(s hls.Segment, err error) {
	m.errs++
	if now := m.Clock(); now.Sub(m.lastLog) >= time.Second {
		m.lastLog = now
		m.Logger.Error("dash: segment left out of the manifest", "rung", s.Rung, "segment", s.Name, "err", err)
	}
}

// MPD writes the manifest of rungs (best first; the first one's audio,
// if any, is the audio AdaptationSet). It is dynamic while any listed
// rung is live and static once all ended.
func (m *Manifest) MPD(rungs []string) ([]byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var videos []*timeline
	live := false
	for _, r := range rungs {
		if tl := m.timelines[key{r, hls.VideoPlaylist}]; tl != nil && len(tl.entries) > 0 {
			videos = append(videos, tl)
			live = live || !tl.ended
		}
	}
	if len(videos) == 0 {
		return nil, ErrNoStream
	}
	top := videos[0]
	var audio *timeline
	if tl := m.timelines[key{top.rung, hls.AudioPlaylist}]; tl != nil && len(tl.entries) > 0 && tl.stream == top.stream {
		audio = tl
	}
	// The presentation's zero is the first listed video segment's start
	// when the stream ended (a static MPD starts at 0), and the stream's
	// first segment while live (fixed for the stream's life).
	zero := float64(top.entries[0].t) / float64(top.track.timescale)
	doc := &mpd{
		Profiles:      "urn:mpeg:dash:profile:isoff-live:2011",
		MinBufferTime: xsDuration(time.Second),
		Period:        period{ID: fmt.Sprintf("s%d", top.stream), Start: "PT0S"},
	}
	var maxSeg, window time.Duration
	for _, tl := range append(append([]*timeline(nil), videos...), audio) {
		if tl == nil {
			continue
		}
		var span uint64
		for _, e := range tl.entries {
			maxSeg = max(maxSeg, ticks(e.d, tl.track.timescale))
			span += e.d
		}
		window = max(window, ticks(span, tl.track.timescale))
	}
	if live {
		if top.start.IsZero() {
			return nil, fmt.Errorf("%w: the stream's first segment has no wall-clock time", ErrNoStream)
		}
		first := top.first
		zero = float64(first) / float64(top.track.timescale)
		now := m.Clock()
		doc.Type = "dynamic"
		doc.AvailabilityStartTime = xsDateTime(top.start)
		doc.PublishTime = xsDateTime(now)
		doc.MinimumUpdatePeriod = xsDuration(maxSeg.Round(time.Millisecond))
		doc.MaxSegmentDuration = xsDuration(maxSeg.Round(time.Millisecond))
		doc.TimeShiftBufferDepth = xsDuration(window.Round(time.Millisecond))
		delay, least := 3*maxSeg, maxSeg
		if m.PartTarget > 0 {
			delay, least = maxSeg+2*m.PartTarget, 2*m.PartTarget
		}
		doc.SuggestedPresentationDelay = xsDuration(delay.Round(time.Millisecond))
		doc.ServiceDescription = &serviceDesc{ID: "0", Latency: latency{
			Target: int(delay.Milliseconds()), Min: int(least.Milliseconds()), Max: int((2 * delay).Milliseconds())}}
		doc.UTCTiming = &utcTiming{SchemeIDURI: "urn:mpeg:dash:utc:direct:2014", Value: xsDateTime(now)}
	} else {
		doc.Type = "static"
		var d uint64
		for _, e := range top.entries {
			d += e.d
		}
		doc.MediaPresentationDuration = xsDuration(ticks(d, top.track.timescale).Round(time.Millisecond))
		doc.MaxSegmentDuration = xsDuration(maxSeg.Round(time.Millisecond))
	}
	lowLatency := live && m.PartTarget > 0
	vs := adaptationSet{ID: 0, ContentType: "video", MimeType: "video/mp4", SegmentAlignment: true, StartWithSAP: 1}
	for _, tl := range videos {
		r := m.representation(tl, tl.rung, zero, lowLatency)
		r.Width, r.Height, r.FrameRate, r.SAR = tl.track.width, tl.track.height, tl.frameRate(), "1:1"
		vs.MaxWidth, vs.MaxHeight = max(vs.MaxWidth, r.Width), max(vs.MaxHeight, r.Height)
		vs.Representations = append(vs.Representations, r)
	}
	doc.Period.AdaptationSets = append(doc.Period.AdaptationSets, vs)
	if audio != nil {
		r := m.representation(audio, "audio", zero, lowLatency)
		r.AudioSamplingRate = audio.track.sampleRate
		r.AudioChannels = &audioChannelConfig{SchemeIDURI: "urn:mpeg:mpegB:cicp:ChannelConfiguration", Value: audio.track.channels}
		doc.Period.AdaptationSets = append(doc.Period.AdaptationSets, adaptationSet{ID: 1, ContentType: "audio",
			MimeType: "audio/mp4", SegmentAlignment: true, StartWithSAP: 1, Representations: []representation{r}})
	}
	b, err := xml.MarshalIndent(doc, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dash: mpd: %w", err)
	}
	return append([]byte(xml.Header), append(b, '\n')...), nil
}

// representation writes tl as a Representation whose presentation time
// zero is zero seconds of media time. With lowLatency, a segment is
// available from its first part on: availabilityTimeOffset is its longest
// segment less a part.
func (m *Manifest) representation(tl *timeline, id string, zero float64, lowLatency bool) representation {
	r := representation{
		ID: id, Bandwidth: tl.peak(), Codecs: tl.track.codec,
		SegmentTemplate: segmentTemplate{
			Timescale:              tl.track.timescale,
			PresentationTimeOffset: uint64(zero * float64(tl.track.timescale)),
			StartNumber:            tl.entries[0].seq,
			Initialization:         m.MediaBase + tl.rung + "/" + tl.initName,
			Media:                  m.MediaBase + tl.rung + "/" + tl.media,
			Timeline:               timelineOf(tl.entries),
		},
	}
	var longest uint64
	for _, e := range tl.entries {
		longest = max(longest, e.d)
	}
	if d := ticks(longest, tl.track.timescale); lowLatency && d > m.PartTarget {
		r.SegmentTemplate.AvailabilityTimeOffset = strconv.FormatFloat((d - m.PartTarget).Seconds(), 'f', 3, 64)
		r.SegmentTemplate.AvailabilityComplete = "false"
	}
	return r
}

// ticks converts n ticks of timescale to a duration.
func ticks(n uint64, timescale uint32) time.Duration {
	return time.Duration(float64(n) / float64(timescale) * float64(time.Second))
}
