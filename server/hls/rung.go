package hls

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/gohlslib/v2"
	"github.com/bluenviron/gohlslib/v2/pkg/codecparams"
	"github.com/bluenviron/gohlslib/v2/pkg/codecs"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/mpeg4audio"

	"golive/media"
)

// ErrNotStarted is returned by Rung's write methods outside Start/Stop.
var ErrNotStarted = errors.New("hls rung not started")

// VideoPlaylist and AudioPlaylist are the media playlist names a rung
// serves (gohlslib names streams after their track index).
const (
	VideoPlaylist = "video1_stream.m3u8"
	AudioPlaylist = "audio2_stream.m3u8"
)

// Rung is one rendition's LL-HLS output. Between Start and Stop a gohlslib
// muxer serves it; after Stop, the last complete segments stay available
// under playlists that end with EXT-X-ENDLIST, until the next Start. Start,
// Stop and the writes come from one goroutine; ServeHTTP from any.
type Rung struct {
	// Name is the rung's path element under /hls/ (e.g. "720p").
	Name string
	// SegmentDuration is the minimum segment duration (default 1s).
	SegmentDuration time.Duration
	// PartDuration is the minimum part duration (default 200ms).
	PartDuration time.Duration
	// SegmentCount is how many segments playlists keep (default 7, the
	// low-latency minimum).
	SegmentCount int
	// Logger receives the rung's logs (default slog.Default()).
	Logger *slog.Logger

	stopMu sync.Mutex   // serialises Stop and Close
	mu     sync.RWMutex // writers hold it shared while they use the muxer
	muxer  *gohlslib.Muxer
	ended  map[string][]byte // path element -> body, after Stop
	video  *gohlslib.Track
	audio  *gohlslib.Track
	sps    []byte
	pps    []byte
	codecs []string

	// writer state, owned by the writing goroutine
	gotKey     bool
	wallStart  time.Time
	ptsStart   time.Duration
	audioNext  int64
	audioValid bool

	bytes   atomic.Uint64
	encErrs atomic.Uint64
	lastLog atomic.Int64
}

// RungStats is a snapshot of a rung.
type RungStats struct {
	// Live reports whether a muxer is running.
	Live bool
	// Bytes counts media bytes written since the rung was created.
	Bytes uint64
	// EncodeErrors counts samples the muxer rejected.
	EncodeErrors uint64
}

// Stats returns a snapshot of the rung.
func (r *Rung) Stats() RungStats {
	r.mu.RLock()
	live := r.muxer != nil
	r.mu.RUnlock()
	return RungStats{Live: live, Bytes: r.bytes.Load(), EncodeErrors: r.encErrs.Load()}
}

// Codecs returns the RFC 6381 codec strings of the running stream
// (video first), or nil before Start.
func (r *Rung) Codecs() []string {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return r.codecs
}

func (r *Rung) log() *slog.Logger {
	if r.Logger == nil {
		return slog.Default()
	}
	return r.Logger
}

// Start creates a muxer for a stream with these parameters (audio may be
// nil), replacing the ended playlists of a previous stream. The playlist
// URLs stay the same.
func (r *Rung) Start(video, audio *media.CodecParams) error {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	var cfg media.AVCConfig
	if err := cfg.Unmarshal(video.Config); err != nil {
		return fmt.Errorf("hls %s: %w", r.Name, err)
	}
	vt := &gohlslib.Track{
		Codec:     &codecs.H264{SPS: cfg.SPS[0], PPS: cfg.PPS[0]},
		ClockRate: 90000,
	}
	tracks := []*gohlslib.Track{vt}
	cs := []string{codecparams.Marshal(&codecs.H264{SPS: cfg.SPS[0], PPS: cfg.PPS[0]})}
	var at *gohlslib.Track
	if audio != nil {
		var asc mpeg4audio.AudioSpecificConfig
		if err := asc.Unmarshal(audio.Config); err != nil {
			return fmt.Errorf("hls %s: AudioSpecificConfig: %w", r.Name, err)
		}
		at = &gohlslib.Track{Codec: &codecs.MPEG4Audio{Config: asc}, ClockRate: asc.SampleRate}
		tracks = append(tracks, at)
		cs = append(cs, codecparams.Marshal(at.Codec))
	}
	segCount := r.SegmentCount
	if segCount < 7 {
		segCount = 7
	}
	m := &gohlslib.Muxer{
		Tracks:             tracks,
		Variant:            gohlslib.MuxerVariantLowLatency,
		SegmentCount:       segCount,
		SegmentMinDuration: orDefault(r.SegmentDuration, time.Second),
		PartMinDuration:    orDefault(r.PartDuration, 200*time.Millisecond),
		OnEncodeError:      r.onEncodeError,
	}
	if err := m.Start(); err != nil {
		return fmt.Errorf("hls %s: start muxer: %w", r.Name, err)
	}
	r.mu.Lock()
	old := r.muxer
	r.muxer, r.ended = m, nil
	r.video, r.audio = vt, at
	r.sps, r.pps = cfg.SPS[0], cfg.PPS[0]
	r.codecs = cs
	r.gotKey, r.audioValid, r.wallStart = false, false, time.Time{}
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func (r *Rung) onEncodeError(err error) {
	r.encErrs.Add(1)
	now := time.Now().UnixNano()
	if last := r.lastLog.Load(); now-last > int64(time.Second) && r.lastLog.CompareAndSwap(last, now) {
		r.log().Warn("hls muxer rejected a sample", "rung", r.Name, "err", err)
	}
}

// ntp returns the wall-clock time of a sample, for EXT-X-PROGRAM-DATE-TIME.
func (r *Rung) ntp(pts time.Duration) time.Time {
	if r.wallStart.IsZero() {
		r.wallStart, r.ptsStart = time.Now(), pts
	}
	return r.wallStart.Add(pts - r.ptsStart)
}

// WriteVideo writes one H.264 access unit (AVCC, parameter sets not
// inside). Packets before the first keyframe are dropped; SPS and PPS are
// prepended to every keyframe.
func (r *Rung) WriteVideo(pkt *media.Packet) error {
	r.mu.RLock() // held while writing, so Stop never closes the muxer under a write
	defer r.mu.RUnlock()
	m, vt, sps, pps := r.muxer, r.video, r.sps, r.pps
	if m == nil {
		return ErrNotStarted
	}
	if !pkt.Keyframe && !r.gotKey {
		return nil
	}
	nalus, err := media.AVCCToNALUs(pkt.Data)
	if err != nil {
		return fmt.Errorf("hls %s: %w", r.Name, err)
	}
	au := make([][]byte, 0, len(nalus)+2)
	if pkt.Keyframe {
		r.gotKey = true
		au = append(au, sps, pps)
	}
	for _, n := range nalus {
		if len(n) > 0 {
			au = append(au, n)
		}
	}
	r.bytes.Add(uint64(len(pkt.Data)))
	if err := m.WriteH264(vt, r.ntp(pkt.PTS), media.ToTicks(pkt.PTS, 90000), au); err != nil {
		r.onEncodeError(err)
	}
	return nil
}

// WriteAudio writes one raw AAC frame. Timestamps are made exact in
// sample ticks: FLV's millisecond rounding is absorbed, real gaps are kept.
func (r *Rung) WriteAudio(pkt *media.Packet) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	m, at := r.muxer, r.audio
	if m == nil {
		return ErrNotStarted
	}
	if at == nil {
		return nil
	}
	rate := int64(at.ClockRate)
	ticks := media.ToTicks(pkt.PTS, rate)
	const frame = mpeg4audio.SamplesPerAccessUnit
	if r.audioValid {
		if d := ticks - r.audioNext; d > -frame/2 && d < frame/2 {
			ticks = r.audioNext
		}
	}
	r.audioNext, r.audioValid = ticks+frame, true
	r.bytes.Add(uint64(len(pkt.Data)))
	if err := m.WriteMPEG4Audio(at, r.ntp(pkt.PTS), ticks, [][]byte{pkt.Data}); err != nil {
		r.onEncodeError(err)
	}
	return nil
}

// Stop ends the stream: the playlists of its last complete segments are
// kept, ending with EXT-X-ENDLIST, and the muxer is closed (which answers
// waiting blocking reloads).
func (r *Rung) Stop() {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	r.mu.RLock()
	m := r.muxer
	hasAudio := r.audio != nil
	r.mu.RUnlock()
	if m == nil {
		return
	}
	ended := map[string][]byte{}
	lists := []string{VideoPlaylist}
	if hasAudio {
		lists = append(lists, AudioPlaylist)
	}
	for _, name := range lists {
		body, ok := fetch(m, name, 300*time.Millisecond)
		if !ok {
			continue
		}
		pl, uris := endPlaylist(body)
		for _, u := range uris {
			if b, ok := fetch(m, u, time.Second); ok {
				ended[u] = b
			}
		}
		ended[name] = pl
	}
	r.mu.Lock()
	if r.muxer != m { // a Start replaced it meanwhile
		r.mu.Unlock()
		return
	}
	r.muxer = nil
	if len(ended) > 0 {
		r.ended = ended
	}
	r.mu.Unlock()
	m.Close()
}

// Close closes the muxer and drops the ended playlists. It is idempotent.
func (r *Rung) Close() {
	r.stopMu.Lock()
	defer r.stopMu.Unlock()
	r.mu.Lock()
	m := r.muxer
	r.muxer, r.ended = nil, nil
	r.mu.Unlock()
	if m != nil {
		m.Close()
	}
}

// fetch asks the muxer for one of its files without blocking for longer
// than timeout (gohlslib waits for content with no deadline; if it does
// not answer in time the request is abandoned and answered when the muxer
// closes).
func fetch(m *gohlslib.Muxer, name string, timeout time.Duration) ([]byte, bool) {
	type result struct {
		code int
		body []byte
	}
	ch := make(chan result, 1)
	go func() {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/"+name, nil)
		m.Handle(rec, req)
		ch <- result{rec.Code, rec.Body.Bytes()}
	}()
	select {
	case res := <-ch:
		return res.body, res.code == http.StatusOK && len(res.body) > 0
	case <-time.After(timeout):
		return nil, false
	}
}

// endPlaylist turns a live LL-HLS media playlist into a finished one:
// parts, preload hints, server control and gap segments are dropped,
// complete segments kept, and EXT-X-ENDLIST appended. It returns the files
// the playlist names.
func endPlaylist(live []byte) ([]byte, []string) {
	var header []string
	type entry struct {
		tags []string
		uri  string
		gap  bool
	}
	var entries []entry
	var cur entry
	inBody := false
	mediaSeq := -1
	sc := bufio.NewScanner(bytes.NewReader(live))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "",
			strings.HasPrefix(line, "#EXT-X-PART:"),
			strings.HasPrefix(line, "#EXT-X-PART-INF"),
			strings.HasPrefix(line, "#EXT-X-PRELOAD-HINT"),
			strings.HasPrefix(line, "#EXT-X-SERVER-CONTROL"),
			strings.HasPrefix(line, "#EXT-X-SKIP"),
			strings.HasPrefix(line, "#EXT-X-ENDLIST"):
			continue
		case strings.HasPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"):
			n, err := strconv.Atoi(strings.TrimPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"))
			if err == nil {
				mediaSeq = n
				continue
			}
			header = append(header, line)
		case strings.HasPrefix(line, "#EXT-X-MAP:"):
			header = append(header, line)
		case strings.HasPrefix(line, "#EXTINF"), strings.HasPrefix(line, "#EXT-X-PROGRAM-DATE-TIME"),
			strings.HasPrefix(line, "#EXT-X-DISCONTINUITY"), strings.HasPrefix(line, "#EXT-X-GAP"):
			inBody = true
			cur.tags = append(cur.tags, line)
			if strings.HasPrefix(line, "#EXT-X-GAP") {
				cur.gap = true
			}
		case strings.HasPrefix(line, "#"):
			if inBody {
				cur.tags = append(cur.tags, line)
			} else {
				header = append(header, line)
			}
		default:
			cur.uri = stripQuery(line)
			entries = append(entries, cur)
			cur = entry{}
		}
	}
	var out bytes.Buffer
	var uris []string
	skipped := 0
	kept := entries[:0]
	for _, e := range entries {
		if e.gap {
			if len(kept) == 0 {
				skipped++
			}
			continue
		}
		kept = append(kept, e)
	}
	var maps []string
	for _, h := range header {
		if strings.HasPrefix(h, "#EXT-X-MAP:") {
			maps = append(maps, h)
			continue
		}
		out.WriteString(h + "\n")
	}
	if mediaSeq >= 0 {
		fmt.Fprintf(&out, "#EXT-X-MEDIA-SEQUENCE:%d\n", mediaSeq+skipped)
	}
	for _, h := range maps {
		out.WriteString(h + "\n")
		if strings.HasPrefix(h, "#EXT-X-MAP:") {
			if i := strings.Index(h, `URI="`); i >= 0 {
				rest := h[i+5:]
				if j := strings.IndexByte(rest, '"'); j >= 0 {
					uris = append(uris, stripQuery(rest[:j]))
				}
			}
		}
	}
	for _, e := range kept {
		for _, tag := range e.tags {
			out.WriteString(tag + "\n")
		}
		out.WriteString(e.uri + "\n")
		uris = append(uris, e.uri)
	}
	out.WriteString("#EXT-X-ENDLIST\n")
	return out.Bytes(), uris
}

func stripQuery(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// ServeHTTP serves the rung's playlists, parts and segments; the request's
// last path element names the file. Unknown files get 404.
func (r *Rung) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	name := path.Base(req.URL.Path)
	r.mu.RLock()
	m, ended := r.muxer, r.ended
	r.mu.RUnlock()
	if m != nil {
		tw := &trackingWriter{ResponseWriter: w, holdErrors: strings.HasSuffix(name, ".m3u8")}
		m.Handle(tw, req)
		switch {
		case tw.held:
			// gohlslib answers a waiting playlist request 500 when the
			// muxer closes: answer with the ended playlist instead, once
			// Stop has stored it.
			r.stopMu.Lock()
			r.mu.RLock()
			ended = r.ended
			r.mu.RUnlock()
			r.stopMu.Unlock()
			if body, ok := ended[name]; ok {
				serveEnded(w, name, body)
				return
			}
			http.Error(w, "stream ended", http.StatusServiceUnavailable)
		case !tw.wrote:
			http.NotFound(w, req)
		}
		return
	}
	if body, ok := ended[name]; ok {
		serveEnded(w, name, body)
		return
	}
	http.NotFound(w, req)
}

// serveEnded answers with a file kept after the stream ended.
func serveEnded(w http.ResponseWriter, name string, body []byte) {
	if strings.HasSuffix(name, ".m3u8") {
		w.Header().Set("Content-Type", "application/vnd.apple.mpegurl")
		w.Header().Set("Cache-Control", "no-cache")
	} else {
		w.Header().Set("Content-Type", "video/mp4")
	}
	_, _ = w.Write(body)
}

// trackingWriter records whether the muxer answered at all (gohlslib
// writes nothing for a file it does not know).
// With holdErrors, a 500 is held back (not sent) and reported in held.
type trackingWriter struct {
	http.ResponseWriter
	wrote      bool
	holdErrors bool
	held       bool
}

func (t *trackingWriter) WriteHeader(code int) {
	if t.holdErrors && code == http.StatusInternalServerError && !t.wrote {
		t.held = true
		return
	}
	t.wrote = true
	t.ResponseWriter.WriteHeader(code)
}

func (t *trackingWriter) Write(b []byte) (int, error) {
	if t.held {
		return len(b), nil
	}
	t.wrote = true
	return t.ResponseWriter.Write(b)
}

// Flush lets the muxer's blocking responses go out promptly.
func (t *trackingWriter) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
