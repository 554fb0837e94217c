package hls

import (
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"sync"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecparams"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"golive/media"
)

// muxerIndex is the muxer's own multivariant playlist, its documented
// entry point (gohlslib's muxer example plays it). The names of the
// muxer's media playlists are learned from it, never assumed.
const muxerIndex = "index.m3u8"

// outputState is where an output is in its life.
type outputState int

const (
	// stateLive: the muxer takes writes and serves viewers.
	stateLive outputState = iota
	// stateEnding: writes are refused while Stop reads what to keep; the
	// muxer still serves viewers.
	stateEnding
	// stateEnded: the muxer is closed (or closing); the kept files are
	// served.
	stateEnded
)

// output is one stream through a Variant: its gohlslib muxer and the
// writers' timestamp state while live, the followers that measure what
// the muxer produces, and the files kept after the stream ended.
type output struct {
	log          *slog.Logger
	clock        func() time.Time
	counters     *counters
	segmentCount int
	started      time.Time // when Start made it: the Last-Modified of its media files
	rung         string
	stream       uint64      // the variant's stream number
	sink         SegmentSink // nil: none

	muxer  *gohlslib.Muxer
	files  muxerFiles
	video  *gohlslib.Track
	audio  *gohlslib.Track // nil without audio
	sps    []byte
	pps    []byte
	params description // what the multivariant playlist says of this stream

	state outputState // guarded by the Variant's mu
	ended endedFiles  // guarded by the Variant's mu; set with stateEnded

	// writer state, owned by the writing goroutine
	gotKey     bool
	wallStart  time.Time
	ptsStart   time.Duration
	audioNext  int64
	audioValid bool

	found     chan struct{}        // closed once discover has learned the muxer's media playlists, or given up
	names     map[string]string    // public playlist name -> the muxer's; set before found is closed
	followers map[string]*follower // by public playlist name; set before found is closed

	closed    chan struct{} // closed when close begins
	closeOnce sync.Once
	wg        sync.WaitGroup // discover and the followers
}

// startOutput starts a muxer for a stream with these parameters (audio
// may be nil) and the goroutine that learns its playlists.
func startOutput(v *Variant, video, audio *media.CodecParams) (*output, error) {
	var cfg media.AVCConfig
	if err := cfg.Unmarshal(video.Config); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadParams, err)
	}
	h264 := &codecs.H264{SPS: cfg.SPS[0], PPS: cfg.PPS[0]}
	o := &output{
		log: v.Logger, clock: v.Clock, counters: &v.counters, segmentCount: v.SegmentCount,
		started: v.Clock(), rung: v.Name, stream: v.streams.Add(1), sink: v.Sink,
		video: &gohlslib.Track{Codec: h264, ClockRate: 90000},
		sps:   cfg.SPS[0], pps: cfg.PPS[0],
		params: description{width: video.Width, height: video.Height, fps: video.FPS,
			videoCodec: codecparams.Marshal(h264), videoBitrate: video.Bitrate},
		found:  make(chan struct{}),
		closed: make(chan struct{}),
	}
	tracks := []*gohlslib.Track{o.video}
	if audio != nil {
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(audio.Config); err != nil {
			return nil, fmt.Errorf("%w: AudioSpecificConfig: %w", ErrBadParams, err)
		}
		o.audio = &gohlslib.Track{Codec: &codecs.MPEG4Audio{Config: asc}, ClockRate: asc.SampleRate}
		tracks = append(tracks, o.audio)
		o.params.audioCodec, o.params.audioBitrate = codecparams.Marshal(o.audio.Codec), audio.Bitrate
	}
	o.muxer = &gohlslib.Muxer{
		Tracks:             tracks,
		Variant:            gohlslib.MuxerVariantLowLatency,
		SegmentCount:       v.SegmentCount,
		SegmentMinDuration: v.SegmentDuration,
		PartMinDuration:    v.PartDuration,
		OnEncodeError:      o.onEncodeError,
	}
	if err := o.muxer.Start(); err != nil {
		return nil, fmt.Errorf("muxer: %w", err)
	}
	o.files = muxerFiles{o.muxer}
	o.wg.Add(1)
	go o.discover()
	return o, nil
}

// discover learns the muxer's media playlists from its multivariant
// playlist (which it answers once the first segment is complete) and
// starts a follower on each.
func (o *output) discover() {
	defer o.wg.Done()
	defer close(o.found)
	code, body := o.files.get(muxerIndex, "")
	if code != http.StatusOK {
		return // closed before its first segment
	}
	var mv playlist.Multivariant
	if err := mv.Unmarshal(body); err != nil || len(mv.Variants) == 0 {
		o.log.Error("hls muxer's multivariant playlist is unreadable: serving it unmeasured", "err", err)
		return
	}
	o.names = map[string]string{VideoPlaylist: mv.Variants[0].URI}
	for _, r := range mv.Renditions {
		if r.Type == playlist.MultivariantRenditionTypeAudio && r.URI != nil {
			o.names[AudioPlaylist] = *r.URI
		}
	}
	o.followers = map[string]*follower{}
	for public, own := range o.names {
		f := &follower{files: o.files, name: own, public: public, rung: o.rung, stream: o.stream, last: -1,
			sink: o.sink, clock: o.clock, log: o.log, window: bandwidthWindow{size: o.segmentCount}}
		o.followers[public] = f
		o.wg.Add(1)
		go func() {
			defer o.wg.Done()
			f.run()
		}()
	}
}

// route returns the request to hand the muxer: a public playlist name
// becomes the muxer's own name for it. It waits until the muxer has
// reported its names (as the muxer itself makes a playlist request wait
// for content) and returns false when the muxer closed first or the
// client left.
func (o *output) route(req *http.Request, name string) (*http.Request, bool) {
	if name != VideoPlaylist && (name != AudioPlaylist || o.audio == nil) {
		return req, true // not ours to route: the muxer answers (or 404s) at once
	}
	select {
	case <-o.found:
	case <-o.closed:
		return nil, false
	case <-req.Context().Done():
		return nil, false
	}
	own, ok := o.names[name]
	if !ok || own == name {
		return req, true
	}
	fwd := req.WithContext(req.Context())
	u := *req.URL
	u.Path = path.Join(path.Dir(u.Path), own)
	fwd.URL = &u
	return fwd, true
}

// bandwidth returns what the followers measured so far.
func (o *output) bandwidth() (video, audio Bandwidth) {
	select {
	case <-o.found:
	default:
		return video, audio
	}
	if f := o.followers[VideoPlaylist]; f != nil {
		video = f.bandwidth()
	}
	if f := o.followers[AudioPlaylist]; f != nil {
		audio = f.bandwidth()
	}
	return video, audio
}

// keep reads the stream's last complete segments from the muxer, for the
// playlists that end it. Writes are refused by then, so nothing rotates
// under it; the muxer still serves viewers meanwhile.
func (o *output) keep() endedFiles {
	select {
	case <-o.found:
		return keepEnded(o.files, o.names, o.log)
	default:
		return nil // no segment complete: nothing to keep
	}
}

// finish has every follower report the segments completed since its last
// blocking reload returned; Stop calls it before it closes the muxer.
func (o *output) finish() {
	select {
	case <-o.found:
	default:
		return // no segment complete
	}
	for _, f := range o.followers {
		f.finish()
	}
}

// close closes the muxer, which answers its waiting requests and ends the
// followers, waits for them, and tells the sink that the stream ended
// (after its last segment). It is idempotent.
func (o *output) close() {
	o.closeOnce.Do(func() {
		close(o.closed)
		o.muxer.Close()
		o.wg.Wait()
		if o.sink != nil {
			o.sink.StreamEnded(o.rung, o.stream)
		}
	})
}

func (o *output) onEncodeError(err error) {
	o.counters.encErrs.Add(1)
	now := o.clock().UnixNano()
	if last := o.counters.lastLog.Load(); now-last > int64(time.Second) && o.counters.lastLog.CompareAndSwap(last, now) {
		o.log.Warn("hls muxer rejected a sample", "err", err)
	}
}

// ntp returns the wall-clock time of a sample, for EXT-X-PROGRAM-DATE-TIME.
func (o *output) ntp(pts time.Duration) time.Time {
	if o.wallStart.IsZero() {
		o.wallStart, o.ptsStart = o.clock(), pts
	}
	return o.wallStart.Add(pts - o.ptsStart)
}

// writeVideo hands the muxer one AVCC access unit as NAL units, with SPS
// and PPS before every keyframe; packets before the first keyframe are
// dropped.
func (o *output) writeVideo(pkt *media.Packet) error {
	if !pkt.Keyframe && !o.gotKey {
		return nil
	}
	nalus, err := media.AVCCToNALUs(pkt.Data)
	if err != nil {
		return fmt.Errorf("hls: write video: %w", err)
	}
	au := make([][]byte, 0, len(nalus)+2)
	if pkt.Keyframe {
		o.gotKey = true
		au = append(au, o.sps, o.pps)
	}
	for _, n := range nalus {
		if len(n) > 0 {
			au = append(au, n)
		}
	}
	o.counters.bytes.Add(uint64(len(pkt.Data)))
	if err := o.muxer.WriteH264(o.video, o.ntp(pkt.PTS), media.ToTicks(pkt.PTS, 90000), au); err != nil {
		o.onEncodeError(err)
	}
	return nil
}

// writeAudio hands the muxer one raw AAC frame at an exact sample tick.
func (o *output) writeAudio(pkt *media.Packet) {
	if o.audio == nil {
		return
	}
	rate := int64(o.audio.ClockRate)
	ticks := media.ToTicks(pkt.PTS, rate)
	const frame = mpeg4audio.SamplesPerAccessUnit
	if o.audioValid {
		if d := ticks - o.audioNext; d > -frame/2 && d < frame/2 {
			ticks = o.audioNext
		}
	}
	o.audioNext, o.audioValid = ticks+frame, true
	o.counters.bytes.Add(uint64(len(pkt.Data)))
	if err := o.muxer.WriteMPEG4Audio(o.audio, o.ntp(pkt.PTS), ticks, [][]byte{pkt.Data}); err != nil {
		o.onEncodeError(err)
	}
}
