package hls

import (
	"net/http"
	"regexp"
	"strconv"
	"time"

	"github.com/bluenviron/gohlslib/v2/pkg/playlist"
)

// segmentName is how the muxer names a segment: its random prefix, the
// stream's id and the segment's media sequence number.
var segmentName = regexp.MustCompile(`^([0-9a-f]{1,32})_([A-Za-z0-9]{1,32})_seg([0-9]{1,9})\.mp4$`)

// serveProgressive answers a request for a segment the muxer is still
// making (or is about to start) part by part, as each part completes, in
// one chunked response whose bytes end up those of the whole segment: a
// low-latency DASH player reads a segment while it grows. It returns
// false, having written nothing, for a name that is not such a segment
// of this output. A stream that ends mid-segment cuts the connection, so
// that no cache keeps a truncated segment.
func (o *output) serveProgressive(w http.ResponseWriter, req *http.Request, name string) bool {
	m := segmentName.FindStringSubmatch(name)
	if m == nil || req.Method != http.MethodGet {
		return false
	}
	select {
	case <-o.found:
	default:
		return false // no segment complete yet: nothing lists this one
	}
	own := m[2] + "_stream.m3u8"
	known := false
	for _, n := range o.names {
		known = known || n == own
	}
	if !known {
		return false
	}
	msn, err := strconv.Atoi(m[3])
	if err != nil {
		return false
	}
	init := m[1] + "_" + m[2] + "_init.mp4"
	flusher, _ := w.(http.Flusher)
	written, part, started := 0, 0, false
	start := func() {
		if !started {
			started = true
			h := w.Header()
			h.Set("Content-Type", "video/mp4")
			h.Set("Cache-Control", ImmutableCacheControl) // the bytes to come are the segment's
			w.WriteHeader(http.StatusOK)
		}
	}
	fail := func() bool {
		if started {
			abort(w) // the answer is incomplete: no cache may keep it
			return true
		}
		return false
	}
	for {
		if req.Context().Err() != nil {
			return fail()
		}
		// Answered once part `part` of segment msn exists, or msn is
		// complete (a part index past its last is the next segment's
		// first).
		code, body := o.files.get(own, "_HLS_msn="+strconv.Itoa(msn)+"&_HLS_part="+strconv.Itoa(part))
		if code != http.StatusOK {
			return fail()
		}
		var pl playlist.Media
		if err := pl.Unmarshal(body); err != nil || pl.Map == nil || pl.Map.URI != init {
			return fail()
		}
		idx := msn - pl.MediaSequence
		switch {
		case idx >= 0 && idx < len(pl.Segments):
			// Complete now: the rest of it, from the muxer's own copy.
			code, data := o.files.get(name, "")
			if code != http.StatusOK || written > len(data) {
				return fail()
			}
			start()
			_, _ = w.Write(data[written:])
			return true
		case idx == len(pl.Segments):
			for ; part < len(pl.Parts); part++ {
				code, b := o.files.get(pl.Parts[part].URI, "")
				if code != http.StatusOK {
					return fail()
				}
				start()
				if _, err := w.Write(b); err != nil {
					return true // the client left
				}
				written += len(b)
			}
			if flusher != nil && started {
				flusher.Flush()
			}
		default:
			return fail()
		}
	}
}

// abort cuts the connection under a response already begun, so that the
// client (or a cache) sees it incomplete rather than ended: the
// connection is taken over and closed, or where that cannot be done
// (HTTP/2) its writes are made to fail.
func abort(w http.ResponseWriter) {
	rc := http.NewResponseController(w)
	if c, _, err := rc.Hijack(); err == nil {
		_ = c.Close()
		return
	}
	_ = rc.SetWriteDeadline(time.Unix(1, 0))
	_ = rc.Flush()
}
