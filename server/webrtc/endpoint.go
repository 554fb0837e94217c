package webrtc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"sync"
	"time"

	pion "github.com/pion/webrtc/v4"
)

// Content types of the WHIP/WHEP exchange.
const (
	sdpType     = "application/sdp"
	sdpFragType = "application/trickle-ice-sdpfrag"
)

// Endpoint answers SDP offers over HTTP the way WHIP (RFC 9725) and WHEP
// both do. POST Path with an SDP offer (application/sdp) makes a session
// and answers 201 Created with the SDP answer, its Location
// (Path/SESSION) and the ICE servers as Link headers; DELETE Location ends
// the session (200); PATCH Location with an SDP fragment
// (application/trickle-ice-sdpfrag) adds the client's trickled candidates
// (204; an ICE restart is 422); OPTIONS answers CORS preflights with the
// Link headers. Errors: a body over MaxOfferSize or an offer that does not
// parse or that pion cannot answer is 400, the wrong content type 415,
// past MaxSessions 503; Authorize and Setup choose theirs with the
// package's sentinel errors. A session whose peer vanishes is closed when
// ICE times out, or after ConnectTimeout when it never connected.
type Endpoint struct {
	// Path is the endpoint's URL path ("/whep"); sessions live below it.
	Path string
	// Transport makes the peer connections (required).
	Transport *Transport
	// MaxSessions caps the sessions open at once (0: no cap).
	MaxSessions int
	// MaxOfferSize caps an offer's (or PATCH fragment's) size in bytes
	// (default 64 KiB).
	MaxOfferSize int
	// ConnectTimeout is how long a session may take to connect before it
	// is closed (default 15 s).
	ConnectTimeout time.Duration
	// GatherTimeout caps the wait for the server's own candidates (TURN
	// allocations) before the answer goes out (default 2 s).
	GatherTimeout time.Duration
	// Authorize, if set, checks every POST, PATCH and DELETE before
	// anything else (an error wrapping ErrUnauthorized is 401).
	Authorize func(r *http.Request) error
	// Setup adds a new session's media to its peer connection before the
	// offer is applied: tracks to send, transceivers to receive. Its error
	// refuses the offer (wrap a sentinel to choose the status).
	Setup func(r *http.Request, s *Session) (Media, error)
	// Logger receives the stage's logs (default slog.Default()).
	Logger *slog.Logger

	mu       sync.Mutex
	sessions map[string]*Session
	pending  int
	closed   bool
	wg       sync.WaitGroup
	stats    EndpointStats
}

// EndpointStats is a snapshot of an Endpoint's counters.
type EndpointStats struct {
	// Sessions is the number of sessions open (connected or connecting).
	Sessions int
	// Created counts sessions made; Refused offers refused for the cap;
	// Rejected requests refused otherwise (bad offer, unauthorized, …).
	Created, Refused, Rejected uint64
	// Deleted counts sessions ended by DELETE; PeerClosed by the peer
	// closing; Reaped by ICE failure or the connect timeout.
	Deleted, PeerClosed, Reaped uint64
}

// Initialize checks the configuration.
func (e *Endpoint) Initialize() error {
	switch {
	case e.Transport == nil:
		return fmt.Errorf("webrtc endpoint: %w: no Transport", ErrBadConfig)
	case e.Setup == nil:
		return fmt.Errorf("webrtc endpoint: %w: no Setup", ErrBadConfig)
	case !strings.HasPrefix(e.Path, "/") || strings.HasSuffix(e.Path, "/"):
		return fmt.Errorf("webrtc endpoint: %w: path %q", ErrBadConfig, e.Path)
	case e.MaxSessions < 0:
		return fmt.Errorf("webrtc endpoint: %w: MaxSessions %d", ErrBadConfig, e.MaxSessions)
	}
	if e.Logger == nil {
		e.Logger = slog.Default()
	}
	if e.MaxOfferSize <= 0 {
		e.MaxOfferSize = 64 << 10
	}
	if e.ConnectTimeout <= 0 {
		e.ConnectTimeout = 15 * time.Second
	}
	if e.GatherTimeout <= 0 {
		e.GatherTimeout = 2 * time.Second
	}
	e.sessions = map[string]*Session{}
	return nil
}

// ServeHTTP answers the endpoint's requests (Path and Path/SESSION).
func (e *Endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Access-Control-Allow-Methods", "POST, PATCH, DELETE, OPTIONS")
	h.Set("Access-Control-Allow-Headers", "Content-Type, Authorization, If-Match")
	h.Set("Access-Control-Expose-Headers", "Location, Link, ETag, Accept-Patch")
	if r.URL.Path == e.Path {
		switch r.Method {
		case http.MethodPost:
			e.create(w, r)
		case http.MethodOptions:
			e.links(w)
			h.Set("Accept-Post", sdpType)
			w.WriteHeader(http.StatusNoContent)
		default:
			h.Set("Allow", "POST, OPTIONS")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		}
		return
	}
	id, ok := strings.CutPrefix(r.URL.Path, e.Path+"/")
	if !ok || strings.Contains(id, "/") {
		http.NotFound(w, r)
		return
	}
	switch r.Method {
	case http.MethodDelete:
		e.delete(w, r, id)
	case http.MethodPatch:
		e.patch(w, r, id)
	case http.MethodOptions:
		w.WriteHeader(http.StatusNoContent)
	default:
		h.Set("Allow", "PATCH, DELETE, OPTIONS")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// links adds the ICE servers as Link headers.
func (e *Endpoint) links(w http.ResponseWriter) {
	for _, l := range e.Transport.Links() {
		w.Header().Add("Link", l)
	}
}

// fail answers an error with its status and counts a rejection.
func (e *Endpoint) fail(w http.ResponseWriter, err error) {
	status := statusOf(err)
	e.mu.Lock()
	if errors.Is(err, ErrFull) {
		e.stats.Refused++
	} else {
		e.stats.Rejected++
	}
	e.mu.Unlock()
	switch status {
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="golive"`)
	case http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", "5")
	case http.StatusInternalServerError:
		e.Logger.Warn("webrtc: request failed", "path", e.Path, "err", err)
	}
	e.Logger.Debug("webrtc: request refused", "path", e.Path, "status", status, "err", err)
	http.Error(w, err.Error(), status)
}

// readBody reads a body of the given content type, at most MaxOfferSize.
func (e *Endpoint) readBody(r *http.Request, ctype string) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != ctype {
		return nil, fmt.Errorf("%w: want Content-Type %s", ErrUnsupportedMediaType, ctype)
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, int64(e.MaxOfferSize)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the body: %w", ErrBadOffer, err)
	}
	if len(body) > e.MaxOfferSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrBadOffer, e.MaxOfferSize)
	}
	return body, nil
}

// create answers POST: a new session from an SDP offer.
func (e *Endpoint) create(w http.ResponseWriter, r *http.Request) {
	if e.Authorize != nil {
		if err := e.Authorize(r); err != nil {
			e.fail(w, err)
			return
		}
	}
	body, err := e.readBody(r, sdpType)
	if err != nil {
		e.fail(w, err)
		return
	}
	offer, err := ParseOffer(body)
	if err != nil {
		e.fail(w, err)
		return
	}
	if err := e.reserve(); err != nil {
		e.fail(w, err)
		return
	}
	s, answer, err := e.open(r, offer)
	e.mu.Lock()
	e.pending--
	if err == nil && e.closed {
		err = ErrClosed
	}
	if err == nil {
		e.sessions[s.ID] = s
		e.stats.Created++
	}
	e.mu.Unlock()
	if err != nil {
		if s != nil {
			s.end()
		}
		e.fail(w, err)
		return
	}
	e.watch(s)
	e.Logger.Debug("webrtc: session opened", "path", e.Path, "session", s.ID, "remote", r.RemoteAddr)
	h := w.Header()
	e.links(w)
	h.Set("Content-Type", sdpType)
	h.Set("Location", e.Path+"/"+s.ID)
	h.Set("ETag", `"`+s.ID+`"`)
	h.Set("Accept-Patch", sdpFragType)
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, answer)
}

// reserve takes one of MaxSessions for an offer being answered.
func (e *Endpoint) reserve() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	switch {
	case e.closed:
		return ErrClosed
	case e.MaxSessions > 0 && len(e.sessions)+e.pending >= e.MaxSessions:
		return fmt.Errorf("%w: %d open", ErrFull, e.MaxSessions)
	}
	e.pending++
	return nil
}

// open makes the peer connection, lets Setup add the media, applies the
// offer and returns the answer with the server's candidates. On error the
// session returned (if any) must still be ended.
func (e *Endpoint) open(r *http.Request, offer *Offer) (*Session, string, error) {
	pc, err := e.Transport.NewPeerConnection()
	if err != nil {
		return nil, "", err
	}
	s := &Session{ID: newSessionID(), PC: pc, Offer: offer, Created: time.Now(), done: make(chan struct{})}
	if s.media, err = e.Setup(r, s); err != nil {
		return s, "", err
	}
	if err := pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeOffer, SDP: offer.SDP}); err != nil {
		return s, "", fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		return s, "", fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	gathered := pion.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		return s, "", fmt.Errorf("%w: %w", ErrBadOffer, err)
	}
	t := time.NewTimer(e.GatherTimeout)
	select {
	case <-gathered:
	case <-t.C:
	case <-r.Context().Done():
	}
	t.Stop()
	ld := pc.LocalDescription()
	if ld == nil {
		return s, "", fmt.Errorf("%w: no local description", ErrClosed)
	}
	return s, ld.SDP, nil
}

// watch follows a registered session's connection state: it starts the
// media once connected and ends the session when the peer closes, ICE
// fails or it never connects.
func (e *Endpoint) watch(s *Session) {
	s.PC.OnConnectionStateChange(func(st pion.PeerConnectionState) {
		switch st {
		case pion.PeerConnectionStateConnected:
			if !s.connected.Swap(true) && s.media != nil {
				s.media.Start()
			}
		case pion.PeerConnectionStateFailed:
			e.endLater(s, "ice failed")
		case pion.PeerConnectionStateClosed:
			e.endLater(s, "closed by peer")
		}
	})
	s.setTimer(e.ConnectTimeout, func() {
		if !s.connected.Load() {
			e.endLater(s, "connect timeout")
		}
	})
	// The peer may have connected (or gone) before the callback was set.
	switch s.PC.ConnectionState() {
	case pion.PeerConnectionStateConnected:
		if !s.connected.Swap(true) && s.media != nil {
			s.media.Start()
		}
	case pion.PeerConnectionStateFailed, pion.PeerConnectionStateClosed:
		e.endLater(s, "ice failed")
	}
}

// endLater ends a session from a pion callback or a timer, in a goroutine
// Close waits for.
func (e *Endpoint) endLater(s *Session, reason string) {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return // Close ends it
	}
	e.wg.Add(1)
	e.mu.Unlock()
	go func() {
		defer e.wg.Done()
		e.end(s, reason)
	}()
}

// end removes a session and closes it, counting why.
func (e *Endpoint) end(s *Session, reason string) {
	e.mu.Lock()
	if e.sessions[s.ID] == s {
		delete(e.sessions, s.ID)
		switch reason {
		case "deleted":
			e.stats.Deleted++
		case "closed by peer":
			e.stats.PeerClosed++
		case "shutdown":
		default:
			e.stats.Reaped++
		}
	}
	e.mu.Unlock()
	if s.end() {
		e.Logger.Debug("webrtc: session ended", "path", e.Path, "session", s.ID, "reason", reason)
	}
}

// lookup returns a registered session.
func (e *Endpoint) lookup(id string) (*Session, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.sessions[id]
	if !ok {
		return nil, fmt.Errorf("%w: no session %q", ErrNotFound, id)
	}
	return s, nil
}

// session authorizes a request on session id and finds the session; when
// either fails it answers the request and returns false.
func (e *Endpoint) session(w http.ResponseWriter, r *http.Request, id string) (*Session, bool) {
	if e.Authorize != nil {
		if err := e.Authorize(r); err != nil {
			e.fail(w, err)
			return nil, false
		}
	}
	s, err := e.lookup(id)
	if err != nil {
		e.fail(w, err)
		return nil, false
	}
	return s, true
}

// delete answers DELETE: the client ends its session.
func (e *Endpoint) delete(w http.ResponseWriter, r *http.Request, id string) {
	s, ok := e.session(w, r, id)
	if !ok {
		return
	}
	e.end(s, "deleted")
	w.WriteHeader(http.StatusOK)
}

// patch answers PATCH: trickled candidates from the client.
func (e *Endpoint) patch(w http.ResponseWriter, r *http.Request, id string) {
	s, ok := e.session(w, r, id)
	if !ok {
		return
	}
	if m := r.Header.Get("If-Match"); m != "" && m != "*" && m != `"`+s.ID+`"` {
		http.Error(w, "ETag does not match", http.StatusPreconditionFailed)
		return
	}
	body, err := e.readBody(r, sdpFragType)
	if err == nil {
		err = trickle(s, body)
	}
	if err != nil {
		e.fail(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// trickle adds the candidates of an SDP fragment (RFC 8840) to a session.
// New ICE credentials (an ICE restart) are refused with ErrUnprocessable.
func trickle(s *Session, frag []byte) error {
	mid := ""
	sc := bufio.NewScanner(bytes.NewReader(frag))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "a=ice-ufrag:"):
			if strings.TrimPrefix(line, "a=ice-ufrag:") != s.Offer.Ufrag {
				return fmt.Errorf("%w: ICE restarts are not supported", ErrUnprocessable)
			}
		case strings.HasPrefix(line, "a=mid:"):
			mid = strings.TrimPrefix(line, "a=mid:")
		case strings.HasPrefix(line, "a=candidate:"):
			c := pion.ICECandidateInit{Candidate: strings.TrimPrefix(line, "a=")}
			if mid != "" {
				m := mid
				c.SDPMid = &m
			}
			if err := s.PC.AddICECandidate(c); err != nil {
				return fmt.Errorf("%w: candidate: %w", ErrBadOffer, err)
			}
		}
	}
	return nil
}

// Stats returns a snapshot of the endpoint's counters.
func (e *Endpoint) Stats() EndpointStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := e.stats
	st.Sessions = len(e.sessions)
	return st
}

// Close ends every session and refuses new ones (503). It is idempotent.
func (e *Endpoint) Close() {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return
	}
	e.closed = true
	all := make([]*Session, 0, len(e.sessions))
	for _, s := range e.sessions {
		all = append(all, s)
	}
	e.mu.Unlock()
	for _, s := range all {
		e.end(s, "shutdown")
	}
	e.wg.Wait()
}
