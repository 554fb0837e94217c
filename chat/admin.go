package chat

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// moderatorCookieAge is how long a moderator's browser keeps its token.
const moderatorCookieAge = 30 * 24 * time.Hour

// maxAdminBody bounds the body of a mint request.
const maxAdminBody = 4 << 10

// MoveTokenToCookie takes a moderator token out of a page's address: when r
// carries ?token=, it sets the token, if it is valid, as the HttpOnly
// ModeratorCookie (SameSite=Strict, path /chat, Secure over TLS) and redirects
// (303) to the same URL without it, so the token leaves the address bar, the
// history and any link shared from it. It reports whether it answered r.
func (h *Hub) MoveTokenToCookie(w http.ResponseWriter, r *http.Request) bool {
	q := r.URL.Query()
	if !q.Has("token") {
		return false
	}
	if ok, _ := h.moderatorFor(q.Get("token")); ok {
		http.SetCookie(w, &http.Cookie{
			Name: ModeratorCookie, Value: q.Get("token"), Path: "/chat", MaxAge: int(moderatorCookieAge / time.Second),
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil,
		})
	}
	q.Del("token")
	u := url.URL{Path: r.URL.Path, RawQuery: q.Encode()}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
	return true
}

// mintRequest is the body of POST /api/moderators.
type mintRequest struct {
	Name string `json:"name"`
}

// decodeMintRequest parses a mint request; the name is checked by MintModerator.
func decodeMintRequest(body []byte) (mintRequest, error) {
	var req mintRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return mintRequest{}, err
	}
	return req, nil
}

// ModeratorsHandler serves the admin routes for moderator tokens, guarded by
// adminKey (the stream key) as "Authorization: Bearer adminKey":
//
//	POST   /api/moderators       {"name":"alice"} → 201 {"id","name","created","token"}
//	GET    /api/moderators       → 200 [{"id","name","created"}]
//	DELETE /api/moderators/{id}  → 204, or 404 for an unknown id
//
// Mount it at both /api/moderators and /api/moderators/. With an empty adminKey
// every request is refused.
func (h *Hub) ModeratorsHandler(adminKey string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || adminKey == "" || subtle.ConstantTimeCompare([]byte(auth), []byte(adminKey)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="golive"`)
			http.Error(w, "the stream key is required as a bearer token", http.StatusUnauthorized)
			return
		}
		id := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/api/moderators"), "/")
		switch {
		case id == "" && r.Method == http.MethodGet:
			list, err := h.Moderators()
			if err != nil {
				http.Error(w, err.Error(), http.StatusServiceUnavailable)
				return
			}
			writeAdminJSON(w, http.StatusOK, list)
		case id == "" && r.Method == http.MethodPost:
			body, err := io.ReadAll(io.LimitReader(r.Body, maxAdminBody+1))
			if err != nil || len(body) > maxAdminBody {
				http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
				return
			}
			req, err := decodeMintRequest(body)
			if err != nil {
				http.Error(w, `body must be {"name":"..."}`, http.StatusBadRequest)
				return
			}
			tok, err := h.MintModerator(req.Name)
			if err != nil {
				status := http.StatusBadRequest
				if errors.Is(err, ErrClosed) {
					status = http.StatusServiceUnavailable
				}
				http.Error(w, err.Error(), status)
				return
			}
			writeAdminJSON(w, http.StatusCreated, tok)
		case id != "" && r.Method == http.MethodDelete:
			if err := h.RevokeModerator(id); err != nil {
				status := http.StatusNotFound
				if errors.Is(err, ErrClosed) {
					status = http.StatusServiceUnavailable
				}
				http.Error(w, err.Error(), status)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
	})
}

// writeAdminJSON writes v as JSON with status.
func writeAdminJSON(w http.ResponseWriter, status int, v any) {
	data, err := marshalText(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(data, '\n'))
}
