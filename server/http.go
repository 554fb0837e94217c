package server

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"golive/assets"
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
}

// Handler returns the server's HTTP routes (DESIGN.md): the player page,
// /hls/, /overlay, /chat/ws, /api/status, /metrics and /healthz. Any path
// with a ".." element, a backslash or an encoded slash is answered 404
// before routing, so nothing is ever cleaned into another route.
func (s *Server) Handler() http.Handler {
	web := assets.Web()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		serveAsset(w, r, web, "index.html", "text/html; charset=utf-8")
	})
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

// serveHLS answers /hls/index.m3u8 and /hls/<rung>/<file>, with open CORS.
func (s *Server) serveHLS(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Range, Origin, Accept")
	h.Set("Access-Control-Expose-Headers", "Content-Length, Content-Range")
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
		return
	case http.MethodGet, http.MethodHead:
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	rest := strings.TrimPrefix(r.URL.Path, "/hls/")
	if rest == "index.m3u8" {
		pl := s.pipe.multivariant()
		if pl == nil {
			http.NotFound(w, r)
			return
		}
		h.Set("Content-Type", "application/vnd.apple.mpegurl")
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(pl)
		return
	}
	rung, file, ok := strings.Cut(rest, "/")
	if !ok || !safeName.MatchString(rung) || !safeName.MatchString(file) {
		http.NotFound(w, r)
		return
	}
	v, ok := s.pipe.lookup(rung)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if strings.HasSuffix(file, ".m3u8") {
		s.viewers.seen(r)
	}
	v.ServeHTTP(w, r)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}
