package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"golive/assets"
	"golive/server/dash"
	"golive/server/hls"
)

// safeName matches the path elements the HLS routes accept.
var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$`)

// staticFiles are the files of assets/web served at the root, with their
// content types.
var staticFiles = map[string]string{
	"/chat.js":                      "text/javascript; charset=utf-8",
	"/chat.css":                     "text/css; charset=utf-8",
	"/player.js":                    "text/javascript; charset=utf-8",
	"/webrtc.js":                    "text/javascript; charset=utf-8",
	"/player.css":                   "text/css; charset=utf-8",
	"/clockstrip.js":                "text/javascript; charset=utf-8",
	"/favicon.png":                  "image/png",
	"/vendor/hls.js/hls.min.js":     "text/javascript; charset=utf-8",
	"/vendor/hls.js/LICENSE":        "text/plain; charset=utf-8",
	"/vendor/hls.js/hls.min.js.map": "application/json",
	"/vendor/dash.js/dash.mediaplayer.min.js": "text/javascript; charset=utf-8",
	"/vendor/dash.js/LICENSE":                 "text/plain; charset=utf-8",
}

// Handler returns the server's HTTP routes (DESIGN.md): the player page,
// /hls/, /overlay, /chat/ws, /api/status, /metrics and /healthz. Any path
// with a ".." element, a backslash or an encoded slash is answered 404
// before routing, so nothing is ever cleaned into another route.
func (s *Server) Handler() http.Handler {
	web := assets.Web()
	mux := http.NewServeMux()
	mod, _ := s.Chat.(chatModeration)
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if mod != nil && mod.MoveTokenToCookie(w, r) {
			return // a moderator token leaves the address for a cookie
		}
		serveAsset(w, r, web, "index.html", "text/html; charset=utf-8")
	})
	if mod != nil {
		admin := mod.ModeratorsHandler(s.StreamKey)
		mux.Handle("/api/moderators", admin)
		mux.Handle("/api/moderators/", admin)
	}
	mux.HandleFunc("GET /overlay", func(w http.ResponseWriter, r *http.Request) {
		serveAsset(w, r, web, "overlay.html", "text/html; charset=utf-8")
	})
	for p, ctype := range staticFiles {
		file := strings.TrimPrefix(p, "/")
		if file == "favicon.ico" {
			file = "favicon.png"
		}
		mux.HandleFunc("GET "+p, func(w http.ResponseWriter, r *http.Request) {
			serveAsset(w, r, web, file, ctype)
		})
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("GET /api/status", s.serveStatus)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/hls/", s.serveHLS)
	mux.HandleFunc("/dash/", s.serveDASH)
	mux.HandleFunc("/whep", s.serveWHEP)
	mux.HandleFunc("/whep/", s.serveWHEP)
	mux.HandleFunc("/whip", s.serveWHIP)
	mux.HandleFunc("/whip/", s.serveWHIP)
	mux.HandleFunc("/chat/ws", func(w http.ResponseWriter, r *http.Request) {
		if s.Chat == nil {
			http.NotFound(w, r)
			return
		}
		s.Chat.ServeHTTP(w, r)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if unsafePath(r.URL) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("X-Content-Type-Options", "nosniff")
		mux.ServeHTTP(w, r)
	})
}

// chatModeration is what the chat offers moderators over HTTP (*chat.Hub has it).
type chatModeration interface {
	MoveTokenToCookie(w http.ResponseWriter, r *http.Request) bool
	ModeratorsHandler(adminKey string) http.Handler
}

// unsafePath reports a request path that could escape its route: a ".."
// or "." element (raw or percent-encoded), a backslash, a NUL or an
// encoded slash.
func unsafePath(u *url.URL) bool {
	raw := u.EscapedPath()
	if strings.Contains(strings.ToLower(raw), "%2f") || strings.Contains(strings.ToLower(raw), "%5c") {
		return true
	}
	p := u.Path
	if strings.ContainsAny(p, "\\\x00") {
		return true
	}
	for _, el := range strings.Split(p, "/") {
		if el == ".." || el == "." {
			return true
		}
	}
	return false
}

func serveAsset(w http.ResponseWriter, r *http.Request, fsys fs.FS, name, ctype string) {
	b, err := fs.ReadFile(fsys, name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(b))
}

// mediaCORS opens the media routes to every origin. The answer is the
// same whatever the Origin, so no Vary: Origin is needed and a CDN keeps
// one copy per URL.
func mediaCORS(w http.ResponseWriter, r *http.Request) bool {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, Origin, Accept, If-None-Match, If-Modified-Since")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range, ETag, Last-Modified, Date")
	switch r.Method {
	case http.MethodOptions:
		h.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return false
	case http.MethodGet, http.MethodHead:
		return true
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return false
	}
}

// manifestCacheControl is the Cache-Control of the multivariant playlist
// and the MPD: a CDN may hold them briefly.
const manifestCacheControl = "public, max-age=1"

// serveManifest answers with a manifest made just now (nil: none yet, a
// 404 a cache keeps a second at most), with an ETag, a Last-Modified,
// and conditional and HEAD requests answered.
func serveManifest(w http.ResponseWriter, r *http.Request, name, ctype string, body []byte) {
	if body == nil {
		w.Header().Set("Cache-Control", hls.MissingCacheControl)
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Cache-Control", manifestCacheControl)
	h.Set("ETag", hls.ETag(body))
	http.ServeContent(w, r, name, time.Now().UTC().Truncate(time.Second), bytes.NewReader(body))
}

// serveHLS answers /hls/index.m3u8 and /hls/<rung>/<file>, with open CORS.
func (s *Server) serveHLS(w http.ResponseWriter, r *http.Request) {
	if !mediaCORS(w, r) {
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/hls/")
	if rest == "index.m3u8" {
		serveManifest(w, r, rest, "application/vnd.apple.mpegurl", s.pipe.multivariant())
		return
	}
	rung, file, ok := strings.Cut(rest, "/")
	if !ok || !safeName.MatchString(rung) || !safeName.MatchString(file) {
		w.Header().Set("Cache-Control", hls.MissingCacheControl)
		http.NotFound(w, r)
		return
	}
	v, ok := s.pipe.lookup(rung)
	if !ok {
		w.Header().Set("Cache-Control", hls.MissingCacheControl)
		http.NotFound(w, r)
		return
	}
	if strings.HasSuffix(file, ".m3u8") {
		s.viewers.seen(r)
	}
	v.ServeHTTP(w, r)
}

// serveDASH answers /dash/manifest.mpd, the MPD over the same segments
// as /hls/, with open CORS.
func (s *Server) serveDASH(w http.ResponseWriter, r *http.Request) {
	if !mediaCORS(w, r) {
		return
	}
	if r.URL.Path != "/dash/manifest.mpd" {
		w.Header().Set("Cache-Control", hls.MissingCacheControl)
		http.NotFound(w, r)
		return
	}
	s.viewers.seen(r)
	serveManifest(w, r, "manifest.mpd", dash.ContentType, s.mpd(r.Context()))
}

// mpdWait is how long a request for the MPD of a stream that has no
// complete segment yet waits for one (as an HLS playlist request waits
// for content).
const mpdWait = 15 * time.Second

// mpd returns the MPD of the current (or last) stream, or nil when there
// is none. While a stream is live but has no complete segment yet, it
// waits for one.
func (s *Server) mpd(ctx context.Context) []byte {
	timeout := time.NewTimer(mpdWait)
	defer timeout.Stop()
	for {
		updated := s.dash.Updated()
		b, err := s.dash.MPD(s.pipe.rungNames())
		if err == nil {
			return b
		}
		if !s.pipe.isLive() {
			return nil
		}
		select {
		case <-updated:
		case <-timeout.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
