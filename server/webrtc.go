package server

import (
	"fmt"
	"net"
	"net/http"

	"golive/server/webrtc"
)

// DefaultWebRTCMaxViewers is the default cap on WebRTC viewers.
const DefaultWebRTCMaxViewers = 100

// initWebRTC opens the one WebRTC transport (media port) every WebRTC
// session of the server shares. When WebRTCAddr was left to its default
// and that port is taken (another GoLive on this machine), the server runs
// without WebRTC and says so; an address that was asked for must open.
func (s *Server) initWebRTC() error {
	if s.NoWebRTC {
		s.Logger.Info("WebRTC is off")
		return nil
	}
	if s.WebRTCMaxViewers == 0 {
		s.WebRTCMaxViewers = DefaultWebRTCMaxViewers
	}
	if s.WebRTCMaxViewers < 0 {
		return fmt.Errorf("server: WebRTC max viewers %d", s.WebRTCMaxViewers)
	}
	tr := &webrtc.Transport{Addr: s.WebRTCAddr, Conn: s.WebRTCConn, ICEServers: s.ICEServers,
		Logger: s.Logger.With("stage", "webrtc")}
	if err := tr.Initialize(); err != nil {
		if s.WebRTCAddr == "" && s.WebRTCConn == nil {
			s.Logger.Warn("WebRTC is off: its default port cannot be opened", "addr", webrtc.DefaultAddr, "err", err)
			return nil
		}
		return fmt.Errorf("server: %w", err)
	}
	s.rtc = tr
	s.whep = &webrtc.WHEP{Transport: tr, MaxViewers: s.WebRTCMaxViewers,
		Logger: s.Logger.With("stage", "whep")}
	if err := s.whep.Initialize(); err != nil {
		s.whep = nil
		return fmt.Errorf("server: %w", err)
	}
	s.pipe.rtc = s.whep
	return nil
}

// serveWHEP answers /whep and its sessions; 503 when WebRTC is off.
func (s *Server) serveWHEP(w http.ResponseWriter, r *http.Request) {
	if s.whep == nil {
		http.Error(w, "WebRTC is off on this server", http.StatusServiceUnavailable)
		return
	}
	s.whep.ServeHTTP(w, r)
}

// WebRTCAddress returns the WebRTC media port's address (real port), or
// nil when WebRTC is off.
func (s *Server) WebRTCAddress() net.Addr {
	if s.rtc == nil {
		return nil
	}
	return s.rtc.Address()
}

// WebRTC returns the server's WebRTC transport (nil when WebRTC is off),
// for the endpoints that answer WHEP and WHIP offers on it.
func (s *Server) WebRTC() *webrtc.Transport { return s.rtc }

// closeWebRTC ends the WebRTC sessions and closes the media port.
func (s *Server) closeWebRTC() {
	if s.whep != nil {
		s.whep.Close()
	}
	if s.rtc != nil {
		s.rtc.Close()
	}
}
