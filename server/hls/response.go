package hls

import (
	"bytes"
	"net/http"
	"time"
)

// response is the http.ResponseWriter handed to the muxer: it keeps the
// muxer's whole answer (a playlist, part, segment or init section is a
// few hundred kB at most, and the muxer writes it from memory at once)
// so that it goes out with the origin's own cache headers, an ETag, and
// answers to conditional, range and HEAD requests.
type response struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func newResponse() *response { return &response{header: http.Header{}} }

func (r *response) Header() http.Header { return r.header }

func (r *response) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *response) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// answered reports whether the muxer answered at all (gohlslib writes
// nothing for a file it does not know).
func (r *response) answered() bool { return r.code != 0 }

// serveFile answers req with body as file name, made at modified: the
// Content-Type and Cache-Control of its kind, a strong ETag, and
// http.ServeContent's handling of If-None-Match, If-Modified-Since, Range
// and HEAD.
func serveFile(w http.ResponseWriter, req *http.Request, name string, body []byte, modified time.Time, cacheCtl string) {
	h := w.Header()
	h.Set("Content-Type", contentType(name))
	h.Set("Cache-Control", cacheCtl)
	h.Set("ETag", ETag(body))
	http.ServeContent(w, req, name, modified.UTC().Truncate(time.Second), bytes.NewReader(body))
}

// notFound answers 404 for an object not made (yet), cacheable for a
// second.
func notFound(w http.ResponseWriter, req *http.Request) {
	w.Header().Set("Cache-Control", MissingCacheControl)
	http.NotFound(w, req)
}
