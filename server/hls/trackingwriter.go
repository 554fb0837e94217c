package hls

import "net/http"

// trackingWriter records whether the muxer answered at all (gohlslib
// writes nothing for a file it does not know). With holdErrors, a 500 is
// held back (not sent) and reported in held.
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
