package hls

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestVariantServesSegmentInProgress asks for the segment the muxer is
// making: the answer streams its parts as they come and ends with the
// very bytes of the finished segment.
func TestVariantServesSegmentInProgress(t *testing.T) {
	v := newTestVariant(t, "720p")
	require.NoError(t, v.Start(testVideoParams(t, 0), testAudioParams()))
	feed(t, v, 0, 2500*time.Millisecond, 1000, true)
	waitMeasured(t, v, 2)
	pl := parseMedia(t, get(v, "/hls/720p/"+VideoPlaylist).Body.Bytes())
	require.NotEmpty(t, pl.Parts, "a segment in progress")
	last := pl.Segments[len(pl.Segments)-1].URI
	next := pl.MediaSequence + len(pl.Segments)
	name := strings.Replace(last, "_seg"+itoa(next-1)+".mp4", "_seg"+itoa(next)+".mp4", 1)
	srv := httptest.NewServer(v)
	defer srv.Close()
	type answer struct {
		code   int
		header http.Header
		body   []byte
		err    error
	}
	got := make(chan answer, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/hls/720p/" + name)
		if err != nil {
			got <- answer{err: err}
			return
		}
		defer resp.Body.Close()
		var b bytes.Buffer
		_, err = b.ReadFrom(resp.Body)
		got <- answer{resp.StatusCode, resp.Header, b.Bytes(), err}
	}()
	select {
	case a := <-got:
		t.Fatalf("answered before the segment was complete: %+v", a)
	case <-time.After(300 * time.Millisecond):
	}
	feed(t, v, 2500*time.Millisecond, 4*time.Second, 1000, true)
	a := <-got
	require.NoError(t, a.err)
	require.Equal(t, http.StatusOK, a.code)
	require.Equal(t, ImmutableCacheControl, a.header.Get("Cache-Control"))
	whole := get(v, "/hls/720p/"+name)
	require.Equal(t, http.StatusOK, whole.Code)
	require.True(t, bytes.Equal(whole.Body.Bytes(), a.body), "the streamed answer is the finished segment (%d vs %d bytes)", len(a.body), whole.Body.Len())

	// Too far ahead, or another stream's prefix: 404 at once.
	require.Equal(t, http.StatusNotFound, get(v, "/hls/720p/"+strings.Replace(name, "_seg"+itoa(next), "_seg"+itoa(next+5), 1)).Code)
	require.Equal(t, http.StatusNotFound, get(v, "/hls/720p/0123_video1_seg"+itoa(next+1)+".mp4").Code)
}

func itoa(n int) string { return strconv.Itoa(n) }

// TestVariantCutsSegmentWhenStreamEnds stops the stream while a segment
// is being streamed: the client sees the response cut, not a complete
// (truncated) segment.
func TestVariantCutsSegmentWhenStreamEnds(t *testing.T) {
	v := newTestVariant(t, "720p")
	require.NoError(t, v.Start(testVideoParams(t, 0), nil))
	feed(t, v, 0, 2500*time.Millisecond, 1000, false)
	waitMeasured(t, v, 2)
	pl := parseMedia(t, get(v, "/hls/720p/"+VideoPlaylist).Body.Bytes())
	next := pl.MediaSequence + len(pl.Segments)
	name := strings.Replace(pl.Segments[len(pl.Segments)-1].URI, "_seg"+itoa(next-1)+".mp4", "_seg"+itoa(next)+".mp4", 1)
	srv := httptest.NewServer(v)
	defer srv.Close()
	errc := make(chan error, 1)
	go func() {
		resp, err := http.Get(srv.URL + "/hls/720p/" + name)
		if err != nil {
			errc <- err
			return
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		errc <- err
	}()
	select {
	case err := <-errc:
		t.Fatalf("answered before the stream ended: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	v.Stop()
	require.Error(t, <-errc, "the response is cut")
}
