package hls

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// recordingSink records what a variant reports.
type recordingSink struct {
	mu       sync.Mutex
	segments []Segment
	ended    []string
}

func (r *recordingSink) SegmentDone(s Segment) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.segments = append(r.segments, s)
}

func (r *recordingSink) StreamEnded(rung string, stream uint64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, fmt.Sprintf("%s/%d after %d", rung, stream, len(r.segments)))
}

func (r *recordingSink) snapshot() ([]Segment, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Segment(nil), r.segments...), append([]string(nil), r.ended...)
}

func TestVariantReportsEverySegment(t *testing.T) {
	sink := &recordingSink{}
	v := newTestVariant(t, "720p")
	v.Sink = sink
	require.NoError(t, v.Start(testVideoParams(t, 0), testAudioParams()))
	feed(t, v, 0, 5*time.Second, 1000, true)
	waitMeasured(t, v, 3)
	v.Stop()
	segs, ended := sink.snapshot()
	require.Equal(t, []string{fmt.Sprintf("720p/1 after %d", len(segs))}, ended, "the end comes after the last segment")

	// Every segment the ended playlists keep was reported, with its bytes
	// and init section, as the origin serves them.
	byName := map[string]Segment{}
	lastSeq := map[string]int{}
	for _, s := range segs {
		require.Equal(t, "720p", s.Rung)
		require.Equal(t, uint64(1), s.Stream)
		require.NotEmpty(t, s.Data)
		require.NotEmpty(t, s.Init)
		require.True(t, strings.HasSuffix(s.InitName, "_init.mp4"), s.InitName)
		require.Positive(t, s.Duration)
		require.False(t, s.Completed.IsZero())
		if prev, ok := lastSeq[s.Playlist]; ok {
			require.Equal(t, prev+1, s.Seq, "%s: no segment skipped", s.Playlist)
		}
		lastSeq[s.Playlist] = s.Seq
		byName[s.Name] = s
	}
	require.Len(t, lastSeq, 2, "video and audio playlists")
	for _, name := range []string{VideoPlaylist, AudioPlaylist} {
		pl := parseMedia(t, get(v, "/hls/720p/"+name).Body.Bytes())
		for _, seg := range pl.Segments {
			s, ok := byName[seg.URI]
			require.True(t, ok, "%s reported", seg.URI)
			require.Equal(t, s.Playlist, name)
			require.True(t, bytes.Equal(s.Data, get(v, "/hls/720p/"+seg.URI).Body.Bytes()), seg.URI)
		}
		require.True(t, bytes.Equal(byName[pl.Segments[0].URI].Init, get(v, "/hls/720p/"+pl.Map.URI).Body.Bytes()))
	}
}

// cacheCases drives TestVariantCacheHeaders: each file kind and the
// Cache-Control a CDN must see on it.
var cacheCases = []struct {
	name  string
	file  func(pl *playlistNames) string
	cache string
	ctype string
}{
	{"media playlist", func(p *playlistNames) string { return VideoPlaylist }, "public, max-age=1", "application/vnd.apple.mpegurl"},
	{"blocking reload", func(p *playlistNames) string { return p.blocking }, "public, max-age=1", "application/vnd.apple.mpegurl"},
	{"init section", func(p *playlistNames) string { return p.init }, ImmutableCacheControl, "video/mp4"},
	{"segment", func(p *playlistNames) string { return p.segment }, ImmutableCacheControl, "video/mp4"},
	{"part", func(p *playlistNames) string { return p.part }, ImmutableCacheControl, "video/mp4"},
}

type playlistNames struct{ blocking, init, segment, part string }

func TestVariantCacheHeaders(t *testing.T) {
	v := newTestVariant(t, "720p")
	require.NoError(t, v.Start(testVideoParams(t, 0), nil))
	feed(t, v, 0, 4*time.Second, 1000, false)
	waitMeasured(t, v, 2)
	pl := parseMedia(t, get(v, "/hls/720p/"+VideoPlaylist).Body.Bytes())
	last := pl.Segments[len(pl.Segments)-1]
	require.NotEmpty(t, last.Parts)
	names := &playlistNames{
		blocking: fmt.Sprintf("%s?_HLS_msn=%d&_HLS_part=0", VideoPlaylist, pl.MediaSequence+len(pl.Segments)-1),
		init:     pl.Map.URI, segment: last.URI, part: last.Parts[0].URI,
	}
	for _, c := range cacheCases {
		target := "/hls/720p/" + c.file(names)
		rec := get(v, target)
		require.Equal(t, http.StatusOK, rec.Code, c.name)
		h := rec.Header()
		require.Equal(t, c.cache, h.Get("Cache-Control"), c.name)
		require.Equal(t, c.ctype, h.Get("Content-Type"), c.name)
		etag := h.Get("ETag")
		require.Regexp(t, `^"[0-9a-f]+"$`, etag, c.name)
		require.NotEmpty(t, h.Get("Last-Modified"), c.name)
		require.Equal(t, fmt.Sprint(rec.Body.Len()), h.Get("Content-Length"), c.name)

		head := httptest.NewRecorder()
		v.ServeHTTP(head, httptest.NewRequest(http.MethodHead, target, nil))
		require.Equal(t, http.StatusOK, head.Code, c.name)
		require.Zero(t, head.Body.Len(), "%s: HEAD has no body", c.name)
		require.Equal(t, h.Get("Content-Length"), head.Header().Get("Content-Length"), c.name)

		cond := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, target, nil)
		req.Header.Set("If-None-Match", etag)
		v.ServeHTTP(cond, req)
		if c.cache == ImmutableCacheControl {
			require.Equal(t, http.StatusNotModified, cond.Code, "%s: revalidation", c.name)
		}
	}
	rec := get(v, "/hls/720p/"+strings.Replace(names.part, "_part", "_part9", 1))
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Equal(t, MissingCacheControl, rec.Header().Get("Cache-Control"), "a 404 is cached a second at most")
	require.Equal(t, "public, max-age=3", PlaylistCacheControl(2500*time.Millisecond))
}
