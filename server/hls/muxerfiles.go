package hls

import (
	"bytes"
	"io"
	"net/http"
	"net/url"

	"github.com/bluenviron/gohlslib/v2"
)

// muxerFiles reads a muxer's files through its Handle, the one way
// gohlslib v2.2.0 gives its output out: it has no segment callbacks, and
// its Directory option writes segments only (init sections and playlists
// stay in memory) and removes them as they leave the window. A playlist
// request may wait for content, as a viewer's would; everything else is
// answered at once.
type muxerFiles struct {
	m *gohlslib.Muxer
}

// get returns a file's status and body; the status is 0 for a file the
// muxer does not have.
func (f muxerFiles) get(name, rawQuery string) (int, []byte) {
	var body bytes.Buffer
	code := f.read(&body, name, rawQuery)
	return code, body.Bytes()
}

// size returns a file's length without keeping it.
func (f muxerFiles) size(name string) (uint64, bool) {
	var n byteCounter
	code := f.read(&n, name, "")
	return uint64(n), code == http.StatusOK
}

func (f muxerFiles) read(body io.Writer, name, rawQuery string) int {
	resp := &fileResponse{body: body, header: http.Header{}}
	f.m.Handle(resp, &http.Request{
		Method: http.MethodGet,
		URL:    &url.URL{Path: "/" + name, RawQuery: rawQuery},
		Header: http.Header{},
	})
	return resp.code
}

// fileResponse is the http.ResponseWriter muxerFiles hands the muxer.
type fileResponse struct {
	header http.Header
	body   io.Writer
	code   int
}

func (r *fileResponse) Header() http.Header { return r.header }

func (r *fileResponse) WriteHeader(code int) {
	if r.code == 0 {
		r.code = code
	}
}

func (r *fileResponse) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return r.body.Write(b)
}

// byteCounter is an io.Writer that only counts.
type byteCounter uint64

func (c *byteCounter) Write(b []byte) (int, error) {
	*c += byteCounter(len(b))
	return len(b), nil
}
