package hls

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golive/media"
)

// ErrNotStarted is returned by Variant's write methods outside Start/Stop.
var ErrNotStarted = errors.New("hls variant not started")

// ErrNoName is returned by Variant.Initialize when Name is empty.
var ErrNoName = errors.New("hls variant has no name")

// ErrBadParams is returned by Variant.Start when the stream's codec
// parameters cannot be muxed.
var ErrBadParams = errors.New("hls codec parameters not usable")

// VideoPlaylist and AudioPlaylist are the names of a variant's media
// playlists under /hls/<rung>/. They are this package's public names (the
// multivariant playlist, players and the bench use them); each is routed
// to the media playlist the muxer reports for that track, whatever
// gohlslib calls it.
const (
	VideoPlaylist = "video1_stream.m3u8"
	AudioPlaylist = "audio2_stream.m3u8"
)

// Variant is one rung's LL-HLS variant stream at a fixed URL across
// streams. Between Start and Stop a gohlslib muxer makes its media
// playlists, parts and segments; after Stop the last complete segments
// stay available under playlists that end with EXT-X-ENDLIST, until the
// next Start. Start, Stop and the writes come from one goroutine at a
// time (Stop and Close may come from any); ServeHTTP from any.
type Variant struct {
	// Name is the variant's path element under /hls/ (e.g. "720p").
	Name string
	// SegmentDuration is the minimum segment duration (default 1s).
	SegmentDuration time.Duration
	// PartDuration is the minimum part duration (default 200ms).
	PartDuration time.Duration
	// SegmentCount is how many segments playlists keep (default 7, the
	// low-latency minimum; smaller values are raised to it).
	SegmentCount int
	// Logger receives the variant's logs (default slog.Default()).
	Logger *slog.Logger
	// Clock gives the wall-clock time of samples for
	// EXT-X-PROGRAM-DATE-TIME and paces error logs (default time.Now).
	Clock func() time.Time
	// Sink, if set, is told about every complete segment and the end of
	// every stream (the DASH manifest and the object-storage uploader
	// follow the variant through it).
	Sink SegmentSink

	life sync.Mutex   // serialises Start, Stop and Close
	mu   sync.RWMutex // guards out and its state; writers hold it shared while they use the muxer
	out  *output      // the current or last stream; nil before the first Start and after Close

	counters counters
	waiting  atomic.Int64  // playlist requests the muxer holds now
	streams  atomic.Uint64 // streams started so far
}

// counters are a variant's totals since it was made.
type counters struct {
	bytes   atomic.Uint64
	encErrs atomic.Uint64
	lastLog atomic.Int64 // unix nanoseconds of the last encode error logged
}

// VariantStats is a snapshot of a Variant.
type VariantStats struct {
	// Live reports whether a muxer is running.
	Live bool
	// Bytes counts media bytes written since the variant was made.
	Bytes uint64
	// EncodeErrors counts samples the muxer rejected.
	EncodeErrors uint64
	// Waiting counts the playlist requests the muxer holds now (blocking
	// reloads waiting for the next part).
	Waiting int
	// Video and Audio are the media playlists' bitrates measured from the
	// segments the muxer produced, for the current or last stream (zero
	// before its first segment, and Audio for a stream without audio).
	Video, Audio Bandwidth
}

// Initialize checks the name and fills in the defaults. Call it once,
// before anything else.
func (v *Variant) Initialize() error {
	if v.Name == "" {
		return fmt.Errorf("hls: initialize: %w", ErrNoName)
	}
	if v.SegmentDuration <= 0 {
		v.SegmentDuration = time.Second
	}
	if v.PartDuration <= 0 {
		v.PartDuration = 200 * time.Millisecond
	}
	v.SegmentCount = max(v.SegmentCount, 7)
	if v.Logger == nil {
		v.Logger = slog.Default()
	}
	if v.Clock == nil {
		v.Clock = time.Now
	}
	return nil
}

// Stats returns a snapshot of the variant.
func (v *Variant) Stats() VariantStats {
	st := VariantStats{
		Bytes:        v.counters.bytes.Load(),
		EncodeErrors: v.counters.encErrs.Load(),
		Waiting:      int(v.waiting.Load()),
	}
	v.mu.RLock()
	o := v.out
	if o != nil {
		st.Live = o.state != stateEnded
	}
	v.mu.RUnlock()
	if o != nil {
		st.Video, st.Audio = o.bandwidth()
	}
	return st
}

// Start creates a muxer for a stream with these parameters (audio may be
// nil), replacing the ended playlists of a previous stream. The playlist
// URLs stay the same.
func (v *Variant) Start(video, audio *media.CodecParams) error {
	v.life.Lock()
	defer v.life.Unlock()
	o, err := startOutput(v, video, audio)
	if err != nil {
		return fmt.Errorf("hls %s: start: %w", v.Name, err)
	}
	v.mu.Lock()
	old := v.out
	v.out = o
	if old != nil {
		old.state = stateEnded // a stream never stopped keeps nothing
	}
	v.mu.Unlock()
	if old != nil {
		old.close()
	}
	return nil
}

// WriteVideo writes one H.264 access unit (AVCC, parameter sets not
// inside). Packets before the first keyframe are dropped; SPS and PPS are
// prepended to every keyframe.
func (v *Variant) WriteVideo(pkt *media.Packet) error {
	v.mu.RLock() // held while writing, so Stop never closes the muxer under a write
	defer v.mu.RUnlock()
	if v.out == nil || v.out.state != stateLive {
		return ErrNotStarted
	}
	return v.out.writeVideo(pkt)
}

// WriteAudio writes one raw AAC frame. Timestamps are made exact in
// sample ticks: FLV's millisecond rounding is absorbed, real gaps are kept.
func (v *Variant) WriteAudio(pkt *media.Packet) error {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.out == nil || v.out.state != stateLive {
		return ErrNotStarted
	}
	v.out.writeAudio(pkt)
	return nil
}

// Stop ends the stream: the playlists of its last complete segments are
// kept, ending with EXT-X-ENDLIST, and the muxer is closed (which answers
// waiting blocking reloads with the kept playlists).
func (v *Variant) Stop() {
	v.life.Lock()
	defer v.life.Unlock()
	v.mu.Lock()
	o := v.out
	if o == nil || o.state != stateLive {
		v.mu.Unlock()
		return
	}
	o.state = stateEnding // writes are refused from now on; viewers are still served
	v.mu.Unlock()
	kept := o.keep()
	o.finish()
	v.mu.Lock()
	o.state, o.ended = stateEnded, kept
	v.mu.Unlock()
	o.close()
}

// Close closes the muxer and drops the ended playlists. It is idempotent.
func (v *Variant) Close() {
	v.life.Lock()
	defer v.life.Unlock()
	v.mu.Lock()
	o := v.out
	v.out = nil
	if o != nil && o.state != stateEnded {
		o.state = stateEnded // with nothing kept
	}
	v.mu.Unlock()
	if o != nil {
		o.close()
	}
}

// ServeHTTP serves the variant's playlists, parts and segments; the
// request's last path element names the file. Answers carry the headers
// a CDN needs: parts, segments and init sections are immutable, media
// playlists (blocking reloads included) cacheable for about one part
// target, every answer has a strong ETag and a Last-Modified, and HEAD,
// conditional and range requests are answered. Unknown files get a 404
// cacheable for a second.
func (v *Variant) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	name := path.Base(req.URL.Path)
	v.mu.RLock()
	o := v.out
	var st outputState
	if o != nil {
		st = o.state
	}
	v.mu.RUnlock()
	switch {
	case o == nil:
		notFound(w, req)
		return
	case st == stateEnded:
		v.serveEnded(w, req, o, name, false)
		return
	}
	isPlaylist := strings.HasSuffix(name, ".m3u8")
	if isPlaylist {
		v.waiting.Add(1)
		defer v.waiting.Add(-1)
	}
	fwd, ok := o.route(req, name)
	if !ok {
		if req.Context().Err() == nil {
			v.serveEnded(w, req, o, name, true) // the muxer closed before it had content
		}
		return
	}
	// The muxer answers GET alike for every method it is handed; HEAD is
	// answered from the same body.
	get := fwd.Clone(fwd.Context())
	get.Method = http.MethodGet
	resp := newResponse()
	o.muxer.Handle(resp, get)
	switch {
	case isPlaylist && resp.code == http.StatusInternalServerError:
		// gohlslib answers a waiting playlist request 500 when the muxer
		// closes: answer with the ended playlist instead (Stop keeps it
		// before it closes the muxer).
		v.serveEnded(w, req, o, name, true)
	case !resp.answered():
		if !isPlaylist && o.serveProgressive(w, req, name) {
			return
		}
		notFound(w, req)
	case resp.code != http.StatusOK:
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, http.StatusText(resp.code), resp.code)
	case isPlaylist:
		serveFile(w, req, name, resp.body.Bytes(), v.Clock(), PlaylistCacheControl(v.PartDuration))
	default:
		serveFile(w, req, name, resp.body.Bytes(), o.started, ImmutableCacheControl)
	}
}

// serveEnded answers with a file o kept after its stream ended. A file
// it does not have is 404, or 503 for a request that waited while the
// stream ended.
func (v *Variant) serveEnded(w http.ResponseWriter, req *http.Request, o *output, name string, waited bool) {
	v.mu.RLock()
	kept := o.ended
	v.mu.RUnlock()
	body, ok := kept[name]
	switch {
	case ok:
		// An ended playlist is final, but the next stream reuses its URL.
		serveFile(w, req, name, body, o.started, cacheControl(name, v.PartDuration))
	case waited:
		w.Header().Set("Cache-Control", "no-store")
		http.Error(w, "stream ended", http.StatusServiceUnavailable)
	default:
		notFound(w, req)
	}
}

// measured returns the description of the current or last stream and the
// video and audio bandwidths its muxer's segments measured; false before
// the first Start.
func (v *Variant) measured() (d description, video, audio Bandwidth, ok bool) {
	v.mu.RLock()
	o := v.out
	v.mu.RUnlock()
	if o == nil {
		return d, video, audio, false
	}
	video, audio = o.bandwidth()
	return o.params, video, audio, true
}
