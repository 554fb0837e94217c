package server

import (
	"net/http"
	"sync"
	"time"
)

// maxTrackedViewers bounds the viewer table.
const maxTrackedViewers = 100_000

// viewerCounter counts HLS viewers: distinct client address and user agent
// pairs that fetched a media playlist within the window. The client address
// comes from clientIP (behind trusted proxies, their forwarding headers).
type viewerCounter struct {
	window   time.Duration
	now      func() time.Time
	clientIP func(*http.Request) string
	mu       sync.Mutex
	last     map[string]time.Time
}

func newViewerCounter(window time.Duration, clientIP func(*http.Request) string) *viewerCounter {
	return &viewerCounter{window: window, now: time.Now, clientIP: clientIP, last: map[string]time.Time{}}
}

func (v *viewerCounter) seen(r *http.Request) {
	key := v.clientIP(r) + "|" + r.UserAgent()
	now := v.now()
	v.mu.Lock()
	defer v.mu.Unlock()
	if _, ok := v.last[key]; !ok && len(v.last) >= maxTrackedViewers {
		v.pruneLocked(now)
		if len(v.last) >= maxTrackedViewers {
			return
		}
	}
	v.last[key] = now
}

func (v *viewerCounter) pruneLocked(now time.Time) {
	for k, t := range v.last {
		if now.Sub(t) > v.window {
			delete(v.last, k)
		}
	}
}

// count returns the viewers seen within the window.
func (v *viewerCounter) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.pruneLocked(v.now())
	return len(v.last)
}
