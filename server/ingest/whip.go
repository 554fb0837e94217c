package ingest

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	pion "github.com/pion/webrtc/v4"

	"golive/server/webrtc"
)

// WHIP is the WebRTC ingest (WHIP, RFC 9725), beside the RTMP one: a
// publisher POSTs an SDP offer that sends H.264 (packetization-mode 1)
// and, optionally, Opus to Path with "Authorization: Bearer STREAMKEY",
// and its stream goes into the same Sink as an RTMP publisher's, through
// the same gate that holds packets until the codecs are known. WHIP and
// RTMP share one publisher slot: a wrong or missing key is 401, an offer
// while anyone publishes (over either) 409, an offer that sends no H.264
// 400. The H.264 RTP is put back in order (waiting ReorderWait for a
// retransmission), joined into access units with their SPS/PPS, and
// stamped from the RTP clocks; after a loss frames are dropped until the
// next keyframe, which is asked for (PLI), as it is at the start and
// whenever KeyframeInterval passes without one (browsers send keyframes
// only when asked; HLS segments need them). A
// publisher ends with DELETE, or when ICE times out because it vanished.
// Set the fields, Initialize, serve it over HTTP, and Close.
type WHIP struct {
	// Path is the endpoint's URL path (default "/whip").
	Path string
	// Transport makes the peer connections (required).
	Transport *webrtc.Transport
	// Ingest is the RTMP ingest whose stream key, Sink and publisher slot
	// WHIP shares (required, initialized).
	Ingest *Server
	// KeyframeInterval is the longest the stream may go without a
	// keyframe: when the publisher sends none by then (browsers send one
	// only when asked), one is asked for with a PLI. Set it to the HLS
	// segment duration, which keyframes cut (default 1 s; negative: never
	// asked for but at the start and after a loss).
	KeyframeInterval time.Duration
	// ReorderWait is how long a hole in a track's RTP sequence is waited
	// for before it is given up as lost (default 150 ms).
	ReorderWait time.Duration
	// Logger receives the stage's logs (default the Ingest's).
	Logger *slog.Logger

	endpoint *webrtc.Endpoint

	mu     sync.Mutex
	closed bool
	tracks sync.WaitGroup // the track readers, which end with their peer connections

	lost, late, bad, plis, dropped atomic.Uint64
}

// WHIPStats is a snapshot of the WebRTC ingest.
type WHIPStats struct {
	// Endpoint counts the sessions (created, refused, reaped …).
	Endpoint webrtc.EndpointStats
	// PacketsLost counts RTP packets given up as lost, PacketsLate those
	// that came after their place was given up (or twice), BadPackets
	// those whose payload could not be read.
	PacketsLost, PacketsLate, BadPackets uint64
	// PLIs counts keyframe requests sent; FramesDropped frames dropped
	// while waiting for a keyframe after a loss.
	PLIs, FramesDropped uint64
}

// Initialize checks the configuration and makes the endpoint.
func (w *WHIP) Initialize() error {
	if w.Ingest == nil || w.Ingest.ctx == nil {
		return errors.New("whip: Ingest is required and must be initialized")
	}
	if w.Path == "" {
		w.Path = "/whip"
	}
	if w.KeyframeInterval == 0 {
		w.KeyframeInterval = time.Second
	}
	if w.ReorderWait <= 0 {
		w.ReorderWait = defaultReorderWait
	}
	if w.Logger == nil {
		w.Logger = w.Ingest.Logger
	}
	w.endpoint = &webrtc.Endpoint{Path: w.Path, Transport: w.Transport, Authorize: w.authorize,
		Setup: w.setup, Logger: w.Logger}
	if err := w.endpoint.Initialize(); err != nil {
		return fmt.Errorf("whip: %w", err)
	}
	return nil
}

// ServeHTTP answers the WHIP requests (Path and its sessions).
func (w *WHIP) ServeHTTP(rw http.ResponseWriter, r *http.Request) { w.endpoint.ServeHTTP(rw, r) }

// authorize checks the bearer token against the stream key.
func (w *WHIP) authorize(r *http.Request) error {
	token, ok := webrtc.BearerToken(r)
	if !ok {
		w.Ingest.countRefused()
		return fmt.Errorf("%w: no bearer token (send the stream key as Authorization: Bearer KEY)", webrtc.ErrUnauthorized)
	}
	if !KeyMatches(token, w.Ingest.StreamKey) {
		w.Ingest.countRefused()
		w.Logger.Warn("whip publish refused: wrong stream key", "remote", r.RemoteAddr)
		return fmt.Errorf("%w: wrong stream key", webrtc.ErrUnauthorized)
	}
	return nil
}

// setup takes the publisher slot for a new session and makes it receive
// (taking over a WHIP publisher that went silent, see acquireWHIP).
func (w *WHIP) setup(r *http.Request, s *webrtc.Session) (webrtc.Media, error) {
	if err := webrtc.CheckPublishOffer(s.Offer); err != nil {
		w.Ingest.countRefused()
		return nil, err
	}
	p := newWHIPSession(w, s, r.RemoteAddr)
	if !w.Ingest.acquireWHIP(p) {
		p.log.Warn("whip publish refused: a publisher is already live")
		return nil, fmt.Errorf("%w: a publisher is already live", webrtc.ErrConflict)
	}
	if err := p.receive(); err != nil {
		p.Close()
		return nil, fmt.Errorf("whip: %w", err)
	}
	p.log.Info("whip publisher accepted")
	return p, nil
}

// goTrack runs a track reader unless the stage is closing.
func (w *WHIP) goTrack(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	w.tracks.Add(1)
	go func() {
		defer w.tracks.Done()
		f()
	}()
}

// Stats returns a snapshot of the stage.
func (w *WHIP) Stats() WHIPStats {
	return WHIPStats{Endpoint: w.endpoint.Stats(), PacketsLost: w.lost.Load(), PacketsLate: w.late.Load(),
		BadPackets: w.bad.Load(), PLIs: w.plis.Load(), FramesDropped: w.dropped.Load()}
}

// Close ends the WHIP session (its stream stops) and refuses new ones
// (503). It is idempotent.
func (w *WHIP) Close() {
	if w.endpoint == nil {
		return
	}
	w.endpoint.Close()
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.tracks.Wait()
}

// acquireWHIP makes p the live publisher if nobody (RTMP or WHIP) is. A
// live WHIP publisher that has sent nothing for TakeoverAfter (its link
// died, and it is reconnecting) is let go first: its stream stops, p's
// starts.
func (s *Server) acquireWHIP(p *whipSession) bool {
	s.mu.Lock()
	old := s.whipLive
	s.mu.Unlock()
	if old != nil && s.TakeoverAfter > 0 && old.idle() >= s.TakeoverAfter {
		p.log.Warn("whip publisher taken over: the live one sent nothing", "for", old.idle().Round(time.Millisecond),
			"previous", old.remote)
		old.Close() // stops its stream and frees the slot
		go func() { _ = old.s.PC.Close() }()
		s.mu.Lock()
		s.takeovers++
		s.mu.Unlock()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live != nil || s.whipLive != nil || s.ctx.Err() != nil {
		s.refused++
		return false
	}
	s.whipLive, s.since = p, time.Now()
	s.accepted++
	p.lastMedia.Store(time.Now().UnixNano())
	return true
}

// releaseWHIP frees the slot if p holds it; p's stream has stopped.
func (s *Server) releaseWHIP(p *whipSession) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.whipLive == p {
		s.whipLive = nil
	}
}

// transceiver kinds a WHIP session receives.
var whipKinds = []pion.RTPCodecType{pion.RTPCodecTypeVideo, pion.RTPCodecTypeAudio}
