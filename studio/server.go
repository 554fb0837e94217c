package studio

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"syscall"

	"golive/server"
	"golive/server/ladder"
)

// Server is the bundled server as a Studio drives it; *server.Server is one.
type Server interface {
	Initialize() error
	Close()
	// RTMPAddress and HTTPAddress are the addresses actually listened on.
	RTMPAddress() net.Addr
	HTTPAddress() net.Addr
}

// ServerConfig is what a Studio asks its bundled server for.
type ServerConfig struct {
	// RTMPAddr and HTTPAddr are where to listen ("HOST:0" for any port).
	RTMPAddr, HTTPAddr string
	// StreamKey is the key publishers must use (it also guards /api/moderators).
	StreamKey string
	// Chat serves /chat/ws.
	Chat http.Handler
	// Logger is the studio's logger.
	Logger *slog.Logger
}

// BundledServer returns a Studio.NewServer that makes a server.Server with
// the given ladder (nil: its default) and data directory ("": its default).
func BundledServer(rungs []ladder.Spec, dataDir string) func(ServerConfig) Server {
	return func(cfg ServerConfig) Server {
		return &server.Server{RTMPAddr: cfg.RTMPAddr, HTTPAddr: cfg.HTTPAddr, StreamKey: cfg.StreamKey,
			Chat: cfg.Chat, Ladder: rungs, DataDir: dataDir, Logger: cfg.Logger.With("stage", "server")}
	}
}

// startServer starts the bundled server on the preferred addresses, moving
// to a free port for each one that is busy.
func (s *Studio) startServer() (Server, error) {
	cfg := ServerConfig{RTMPAddr: s.RTMPAddr, HTTPAddr: s.HTTPAddr, StreamKey: s.key, Chat: s.hub, Logger: s.Logger}
	for range 3 {
		srv := s.NewServer(cfg)
		err := srv.Initialize()
		if err == nil {
			return srv, nil
		}
		if !errors.Is(err, syscall.EADDRINUSE) {
			return nil, err
		}
		s.log.Info("port busy, using a free one", "err", err)
		cfg.RTMPAddr, cfg.HTTPAddr = freePort(cfg.RTMPAddr), freePort(cfg.HTTPAddr)
	}
	return nil, fmt.Errorf("no free port for the bundled server")
}

// freePort returns addr with a free port if its port is taken.
func freePort(addr string) string {
	l, err := net.Listen("tcp", addr)
	if err == nil {
		l.Close()
		return addr
	}
	host, _, _ := net.SplitHostPort(addr)
	return net.JoinHostPort(host, "0")
}

// ViewerURL returns the bundled server's player page on the LAN address,
// or "" without a bundled server.
func (s *Studio) ViewerURL() string {
	if s.server == nil {
		return ""
	}
	_, port, _ := net.SplitHostPort(s.server.HTTPAddress().String())
	lan := s.LANAddress
	if lan == "" {
		lan = hostLANAddress()
	}
	return "http://" + net.JoinHostPort(lan, port) + "/"
}
