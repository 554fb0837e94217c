package s3

import (
	"bytes"
	"math"
	"regexp"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"

	"golive/server/dash"
	"golive/server/hls"
)

// Cache-Control of the objects in the bucket.
const (
	immutableCache = hls.ImmutableCacheControl
	liveCache      = "public, max-age=1"
	endedCache     = "public, max-age=60"
)

// safeName is what an object name from the muxer may be: its segment
// and init names are hex, letters, digits and underscores.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// entry is one segment of a track, from complete at the origin to
// uploaded (or given up) and, outside Keep, deleted.
type entry struct {
	seq       int
	name      string
	duration  time.Duration
	time      time.Time
	completed time.Time
	piece     dash.Piece
	pieceOK   bool
	data      []byte // until uploaded or given up
	uploaded  bool
	lost      bool
	tr        *track
}

func (e *entry) finished() bool { return e.uploaded || e.lost }

// trackKey names a track: a rung's video or audio media playlist.
type trackKey struct{ rung, playlist string }

// track is one media playlist as the bucket holds it.
type track struct {
	key      trackKey
	stream   uint64
	initName string
	entries  []*entry
	fed      int  // entries handed to the MPD's manifest
	ended    bool // the stream ended: finish the playlist once nothing is pending
}

// state is the uploader's owner goroutine's: the tracks, the queue and
// the storage's health. Only run touches it.
type state struct {
	u         *Uploader
	tracks    map[trackKey]*track
	queue     []*job
	segBytes  int
	busy      int // requests in flight
	paused    bool
	backoff   time.Duration
	retry     *time.Timer
	lags      []time.Duration
	last      map[string][]byte // body last uploaded per playlist or manifest key
	inflight  map[string]bool   // playlist and manifest keys being uploaded
	lostLog   time.Time         // when given-up segments were last logged
	lostSince int               // given up since then
	manifest  *dash.Manifest
}

func newState(u *Uploader) *state {
	return &state{u: u, tracks: map[trackKey]*track{}, last: map[string][]byte{}, inflight: map[string]bool{}, manifest: manifestFor(u)}
}

// run owns the state until the uploader stops.
func (s *state) run() {
	u := s.u
	drain := u.drain
	var deadline <-chan time.Time
	var retryC <-chan time.Time
	for {
		var out chan *job
		var next *job
		at := -1
		// After a failure, one request at a time probes the storage until
		// one succeeds.
		if s.busy < u.Workers && !s.paused && (s.backoff == 0 || s.busy == 0) {
			if at = s.pick(); at >= 0 {
				out, next = u.work, s.queue[at]
			}
		}
		if deadline != nil && len(s.queue) == 0 && s.busy == 0 {
			u.cancel()
			return
		}
		if s.retry != nil {
			retryC = s.retry.C
		} else {
			retryC = nil
		}
		select {
		case seg := <-u.segCh:
			s.segment(seg)
		case e := <-u.endCh:
			s.ended(e)
		case out <- next:
			s.queue = append(s.queue[:at], s.queue[at+1:]...)
			s.busy++
			if next.seg != nil {
				s.segBytes -= len(next.body)
			}
			if next.merged {
				s.inflight[next.key] = true
			}
		case r := <-u.done:
			s.busy--
			delete(s.inflight, r.j.key)
			s.finish(r)
		case <-retryC:
			s.retry, s.paused = nil, false
		case <-drain:
			drain = nil
			deadline = time.After(u.DrainTimeout)
		case <-deadline:
			u.Logger.Warn("s3: uploads left undone at close", "queued", len(s.queue), "in_flight", s.busy)
			u.cancel()
			return
		}
		s.publishStats()
	}
}

// pick returns the index of the first queued request that may start: a
// playlist or manifest put waits while an older body of its key is being
// uploaded, so that the bucket never goes back to an older one. -1: none.
func (s *state) pick() int {
	for i, j := range s.queue {
		if !j.merged || !s.inflight[j.key] {
			return i
		}
	}
	return -1
}

// segment takes a complete segment from the origin.
func (s *state) segment(seg hls.Segment) {
	if !safeName.MatchString(seg.Rung) || !safeName.MatchString(seg.Name) || !safeName.MatchString(seg.InitName) {
		s.u.Logger.Error("s3: segment with an unsafe name left out", "rung", seg.Rung, "name", seg.Name)
		return
	}
	k := trackKey{seg.Rung, seg.Playlist}
	tr := s.tracks[k]
	if tr == nil || tr.stream != seg.Stream || tr.initName != seg.InitName {
		if tr != nil {
			s.retire(tr)
		}
		tr = &track{key: k, stream: seg.Stream, initName: seg.InitName}
		s.tracks[k] = tr
		s.enqueue(&job{key: s.objectKey(k.rung, seg.InitName), body: seg.Init, ctype: "video/mp4", cache: immutableCache})
	}
	e := &entry{seq: seg.Seq, name: seg.Name, duration: seg.Duration, time: seg.Time, completed: seg.Completed, data: seg.Data, tr: tr}
	if p, err := dash.NewPiece(seg); err == nil {
		e.piece, e.pieceOK = p, true
	}
	tr.entries = append(tr.entries, e)
	s.enqueue(&job{key: s.objectKey(k.rung, seg.Name), body: seg.Data, ctype: "video/mp4", cache: immutableCache, seg: e})
}

// retire deletes what a replaced stream left in the bucket (outside Keep).
func (s *state) retire(tr *track) {
	if s.u.Keep {
		return
	}
	for _, e := range tr.entries {
		if e.uploaded {
			s.enqueue(&job{key: s.objectKey(tr.key.rung, e.name), del: true})
		}
	}
	s.enqueue(&job{key: s.objectKey(tr.key.rung, tr.initName), del: true})
}

// ended finishes the rung's playlists of that stream.
func (s *state) ended(e streamEnd) {
	s.manifest.StreamEnded(e.rung, e.stream)
	for _, tr := range s.tracks {
		if tr.key.rung == e.rung && tr.stream == e.stream {
			tr.ended = true
			s.publish(tr)
		}
	}
}

// enqueue adds a request; a playlist or manifest put replaces its queued
// predecessor; past QueueBytes the oldest waiting segment is given up.
func (s *state) enqueue(j *job) {
	if j.merged {
		for _, q := range s.queue {
			if q.merged && q.key == j.key {
				q.body = j.body
				q.cache = j.cache
				return
			}
		}
	}
	s.queue = append(s.queue, j)
	if j.seg == nil {
		return
	}
	s.segBytes += len(j.body)
	for s.segBytes > s.u.QueueBytes {
		i := 0
		for i < len(s.queue) && s.queue[i].seg == nil {
			i++
		}
		if i == len(s.queue) {
			break
		}
		drop := s.queue[i]
		s.queue = append(s.queue[:i], s.queue[i+1:]...)
		s.segBytes -= len(drop.body)
		drop.seg.lost, drop.seg.data = true, nil
		s.u.update(func(st *Stats) { st.Lost++ })
		s.lostSince++
		if now := s.u.Clock(); now.Sub(s.lostLog) >= time.Second {
			s.u.Logger.Warn("s3: segments given up (queue full): marked as gaps", "count", s.lostSince, "last", drop.key)
			s.lostLog, s.lostSince = now, 0
		}
		if tr := drop.seg.tr; s.tracks[tr.key] == tr { // not replaced by a new stream meanwhile
			s.publish(tr)
		}
	}
}

// finish takes a request's result: on failure the request goes back to
// the head of the queue and uploads wait with backoff.
func (s *state) finish(r result) {
	u := s.u
	if r.err != nil {
		s.queue = append([]*job{r.j}, s.queue...)
		if r.j.seg != nil {
			s.segBytes += len(r.j.body)
		}
		if !s.paused {
			s.backoff = min(max(2*s.backoff, 250*time.Millisecond), 5*time.Second)
			s.paused = true
			s.retry = time.NewTimer(s.backoff)
		}
		u.update(func(st *Stats) {
			if st.State != StateDown {
				u.Logger.Warn("s3: storage unreachable: uploads wait and retry", "err", r.err)
			}
			st.State, st.LastError = StateDown, r.err.Error()
			st.Failures++
		})
		return
	}
	s.backoff = 0
	u.update(func(st *Stats) {
		if st.State == StateDown {
			u.Logger.Info("s3: storage back: catching up", "queued", len(s.queue))
		}
		st.State = StateUp
		if r.j.del {
			st.Deleted++
		} else {
			st.Uploaded++
		}
	})
	if r.j.merged {
		s.last[r.j.key] = r.j.body
	}
	e := r.j.seg
	if e == nil || r.j.del {
		return
	}
	e.uploaded, e.data = true, nil
	lag := u.Clock().Sub(e.completed)
	s.lags = append(s.lags, lag)
	if len(s.lags) > 64 {
		s.lags = s.lags[len(s.lags)-64:]
	}
	med := median(s.lags)
	u.update(func(st *Stats) { st.Segments++; st.LastLag, st.MedianLag = lag, med })
	if s.tracks[e.tr.key] == e.tr { // not replaced by a new stream meanwhile
		s.publish(e.tr)
	}
}

// publish brings the bucket's playlists up to date after a segment of
// tr finished: the media playlist, the MPD and the multivariant playlist.
func (s *state) publish(tr *track) {
	listed := 0 // the finished entries from the start, in order
	for listed < len(tr.entries) && tr.entries[listed].finished() {
		listed++
	}
	for ; tr.fed < listed; tr.fed++ {
		if e := tr.entries[tr.fed]; e.pieceOK {
			s.manifest.Add(e.piece)
		}
	}
	if !s.u.Keep {
		// Segments this far behind the listed window no player asks for.
		for len(tr.entries) > 0 && listed > 2*s.u.SegmentCount {
			old := tr.entries[0]
			if old.uploaded {
				s.enqueue(&job{key: s.objectKey(tr.key.rung, old.name), del: true})
			}
			tr.entries = tr.entries[1:]
			tr.fed--
			listed--
		}
	}
	final := tr.ended && listed == len(tr.entries)
	list := tr.entries[:listed]
	if !s.u.Keep && len(list) > s.u.SegmentCount {
		list = list[len(list)-s.u.SegmentCount:]
	}
	if pl := mediaPlaylist(tr.initName, list, final, s.u.Keep); pl != nil {
		s.put(s.objectKey(tr.key.rung, tr.key.playlist), pl, "application/vnd.apple.mpegurl", final)
	}
	// The manifests follow the top rung's video: once a segment, and at
	// the end.
	rungs := s.u.Rungs()
	if !final && (len(rungs) == 0 || tr.key != (trackKey{rungs[0], hls.VideoPlaylist})) {
		return
	}
	if mv := s.u.Multivariant(); mv != nil {
		s.put(s.u.Location.Key("hls/index.m3u8"), mv, "application/vnd.apple.mpegurl", false)
	}
	if mpd, err := s.manifest.MPD(rungs); err == nil {
		s.put(s.u.Location.Key("dash/manifest.mpd"), mpd, dash.ContentType, final)
	}
}

// put queues a playlist or manifest unless the bucket has it already.
func (s *state) put(key string, body []byte, ctype string, final bool) {
	if last, ok := s.last[key]; ok && bytes.Equal(last, body) {
		return
	}
	cache := liveCache
	if final {
		cache = endedCache
	}
	s.enqueue(&job{key: key, body: body, ctype: ctype, cache: cache, merged: true})
}

// objectKey is the key of a rung's file, as on the origin.
func (s *state) objectKey(rung, name string) string {
	return s.u.Location.Key("hls/" + rung + "/" + name)
}

// publishStats copies the queue's figures into the shared stats.
func (s *state) publishStats() {
	n, b := len(s.queue), s.segBytes
	s.u.update(func(st *Stats) { st.Queue, st.QueueBytes = n, b })
}

// mediaPlaylist writes a media playlist of complete segments, no parts:
// given-up segments as gaps; final ends it (a VOD with keep).
func mediaPlaylist(initName string, list []*entry, final, keep bool) []byte {
	if len(list) == 0 {
		return nil
	}
	pl := &playlist.Media{
		Version: 9, IndependentSegments: true, MediaSequence: list[0].seq,
		Map: &playlist.MediaMap{URI: initName}, Endlist: final,
	}
	if final && keep {
		vod := playlist.MediaPlaylistType(playlist.MediaPlaylistTypeVOD)
		pl.PlaylistType = &vod
	}
	for _, e := range list {
		pl.TargetDuration = max(pl.TargetDuration, int(math.Round(e.duration.Seconds())), 1)
		seg := &playlist.MediaSegment{Duration: e.duration, URI: e.name, Gap: e.lost}
		if !e.time.IsZero() {
			t := e.time
			seg.DateTime = &t
		}
		pl.Segments = append(pl.Segments, seg)
	}
	b, err := pl.Marshal()
	if err != nil {
		return nil
	}
	return b
}
