package server

import (
	"fmt"
	"net/http"

	"golive/server/ingest"
)

// initWHIP starts WebRTC ingest at /whip on the WebRTC transport, sharing
// the RTMP ingest's key, sink and publisher slot. Without WebRTC there is
// no WHIP either.
func (s *Server) initWHIP() error {
	if s.rtc == nil {
		return nil
	}
	w := &ingest.WHIP{Transport: s.rtc, Ingest: s.ingest, KeyframeInterval: s.Segment,
		Logger: s.Logger.With("stage", "whip")}
	if err := w.Initialize(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	s.whip = w
	return nil
}

// serveWHIP answers /whip and its sessions; 503 when WebRTC is off.
func (s *Server) serveWHIP(w http.ResponseWriter, r *http.Request) {
	if s.whip == nil {
		http.Error(w, "WebRTC is off on this server", http.StatusServiceUnavailable)
		return
	}
	s.whip.ServeHTTP(w, r)
}

// WHIPStats returns the WebRTC ingest's counters (zero when WebRTC is off).
func (s *Server) WHIPStats() ingest.WHIPStats {
	if s.whip == nil {
		return ingest.WHIPStats{}
	}
	return s.whip.Stats()
}
