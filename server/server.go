package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"golive/chat"
	"golive/media"
	"golive/server/dash"
	"golive/server/hls"
	"golive/server/ingest"
	"golive/server/ladder"
	"golive/server/s3"
	"golive/server/webrtc"
)

// Server is the bundled server: RTMP ingest, ladder, LL-HLS and the HTTP
// routes of DESIGN.md. Set the fields, call Initialize, then Close.
type Server struct {
	// RTMPAddr is where publishers connect (default ":1935"); ignored when
	// RTMPListener is set.
	RTMPAddr string
	// HTTPAddr is where viewers connect (default ":8080"); ignored when
	// HTTPListener is set.
	HTTPAddr string
	// RTMPListener and HTTPListener, if set, are used instead of listening
	// on the addresses (tests, embedding).
	RTMPListener, HTTPListener net.Listener
	// StreamKey is the key publishers must use. If empty, the key kept in
	// DataDir is used, generated on first run.
	StreamKey string
	// DataDir keeps the generated stream key (default
	// os.UserConfigDir()/golive).
	DataDir string
	// Ladder lists the rungs below the source (default ladder.DefaultLadder;
	// rungs not smaller than the source are skipped).
	Ladder []ladder.Spec
	// Segment and Part are the LL-HLS segment and part minimum durations
	// (default 1s and 200ms).
	Segment, Part time.Duration
	// Encoder is the ladder's encoder choice (default "auto").
	Encoder string
	// Preset is the ladder's libx264 preset (default the encoder
	// package's, "veryfast").
	Preset string
	// LadderMaxLag is how many frames a rung may queue before the lowest
	// rung is dropped (default 20).
	LadderMaxLag int
	// Chat is mounted at /chat/ws. If nil, the server runs its own
	// chat.Hub, moderated with minted moderator tokens kept in DataDir
	// (the stream key only publishes; it guards /api/moderators), joined to
	// other instances through ChatNATS, and closes it on Close.
	// When it also has Collector and Stats (as *chat.Hub has), its
	// metrics join /metrics and its counts /api/status.
	Chat http.Handler
	// ChatNATS, if set (initialized by the caller, who closes it after the
	// server), joins the server's own chat to the same room on other instances.
	ChatNATS *chat.NATSLink
	// TrustedProxies are the reverse proxies whose X-Forwarded-For and
	// Forwarded headers give the client address, for chat bans and the HLS
	// viewer count (default none: the peer address is the client's).
	TrustedProxies chat.TrustedProxies
	// Storage, if set, also pushes the stream to S3-compatible storage:
	// Initialize sets its Multivariant, Rungs and Logger and initializes
	// it (a missing bucket or refused credentials fail Initialize); Close
	// drains and closes it.
	Storage *s3.Uploader
	// WebRTCAddr is the UDP address of all WebRTC media (default ":8189").
	// When the default port is taken the server runs without WebRTC; an
	// address given must open. Ignored when WebRTCConn is set.
	WebRTCAddr string
	// WebRTCConn, if set, is the WebRTC media port (tests, embedding).
	WebRTCConn net.PacketConn
	// ICEServers are STUN and TURN servers for WebRTC (--ice-server).
	ICEServers []webrtc.ICEServer
	// WebRTCMaxViewers caps WebRTC viewers (default 100); beyond it, a
	// WHEP offer is answered 503.
	WebRTCMaxViewers int
	// NoWebRTC runs the server without WebRTC: /whep and /whip answer 503
	// and the player falls back to LL-HLS (embedding, tests).
	NoWebRTC bool
	// Collectors are registered on /metrics next to the server's own.
	Collectors []prometheus.Collector
	// Logger receives the server's logs (default slog.Default()).
	Logger *slog.Logger

	ingest   *ingest.Server
	pipe     *pipeline
	dash     *dash.Manifest
	httpSrv  *http.Server
	httpLn   net.Listener
	httpDone chan struct{}
	started  time.Time
	viewers  *viewerCounter
	registry *prometheus.Registry
	ownChat  *chat.Hub // the hub Initialize made when Chat was nil
	rtc      *webrtc.Transport
	whep     *webrtc.WHEP
	whip     *ingest.WHIP // WebRTC ingest; nil when WebRTC is off
	closeMu  sync.Mutex
	closed   bool
}

// DefaultDataDir returns os.UserConfigDir()/golive (or ./golive-data when
// there is no config dir).
func DefaultDataDir() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "golive-data"
	}
	return filepath.Join(dir, "golive")
}

// Initialize loads or generates the stream key and starts the RTMP and
// HTTP listeners. On error everything started is closed again.
func (s *Server) Initialize() (err error) {
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.Segment <= 0 {
		s.Segment = time.Second
	}
	if s.Part <= 0 {
		s.Part = 200 * time.Millisecond
	}
	if s.Part > s.Segment {
		return fmt.Errorf("server: part %v longer than segment %v", s.Part, s.Segment)
	}
	if s.Encoder == "" {
		s.Encoder = "auto"
	}
	if s.Ladder == nil {
		s.Ladder, _ = ladder.ParseSpecs(ladder.DefaultLadder)
	}
	if s.StreamKey == "" {
		if s.DataDir == "" {
			s.DataDir = DefaultDataDir()
		}
		if s.StreamKey, err = ingest.LoadOrCreateStreamKey(s.DataDir); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	s.started = time.Now()
	s.viewers = newViewerCounter(15*time.Second, s.TrustedProxies.ClientIP)
	s.dash = &dash.Manifest{PartTarget: s.Part, Logger: s.Logger.With("stage", "dash")}
	if err := s.dash.Initialize(); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	sinks := segmentSinks{s.dash}
	if s.Storage != nil {
		s.Storage.Multivariant = func() []byte { return s.pipe.multivariant() }
		s.Storage.Rungs = func() []string { return s.pipe.rungNames() }
		if s.Storage.Logger == nil {
			s.Storage.Logger = s.Logger.With("stage", "s3")
		}
		if err := s.Storage.Initialize(); err != nil {
			return fmt.Errorf("server: %w", err)
		}
		sinks = append(sinks, s.Storage)
	}
	s.pipe = &pipeline{
		specs: s.Ladder, segment: s.Segment, part: s.Part, encoder: s.Encoder,
		preset: s.Preset, maxLag: s.LadderMaxLag, sink: sinks,
		log: s.Logger.With("stage", "pipeline"), variants: map[string]*hls.Variant{},
		rate: bitrateMeter{meter: media.RateMeter{Window: ingestRateWindow}},
	}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	if s.Chat == nil {
		s.ownChat = &chat.Hub{NATS: s.ChatNATS, Logger: s.Logger.With("stage", "chat")}
		if s.DataDir != "" {
			s.ownChat.TokenFile = filepath.Join(s.DataDir, "moderators.json")
		}
		if len(s.TrustedProxies) > 0 {
			s.ownChat.ClientIP = s.TrustedProxies.ClientIP
		}
		if err := s.ownChat.Initialize(); err != nil {
			s.ownChat = nil
			return fmt.Errorf("server: %w", err)
		}
		s.Chat = s.ownChat
	}
	if err := s.initMetrics(); err != nil {
		return err
	}
	if err := s.initWebRTC(); err != nil {
		return err
	}
	s.ingest = &ingest.Server{
		Listener: s.RTMPListener, Addr: orString(s.RTMPAddr, ":1935"),
		StreamKey: s.StreamKey, Sink: s.pipe, Logger: s.Logger.With("stage", "ingest"),
	}
	if err := s.ingest.Initialize(); err != nil {
		s.ingest = nil
		return fmt.Errorf("server: %w", err)
	}
	if err := s.initWHIP(); err != nil {
		return err
	}
	s.httpLn = s.HTTPListener
	if s.httpLn == nil {
		if s.httpLn, err = net.Listen("tcp", orString(s.HTTPAddr, ":8080")); err != nil {
			return fmt.Errorf("server: http listen: %w", err)
		}
	}
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       60 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.Logger.Handler(), slog.LevelDebug),
	}
	s.httpDone = make(chan struct{})
	go func() {
		defer close(s.httpDone)
		if err := s.httpSrv.Serve(s.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.Logger.Error("http server stopped", "err", err)
		}
	}()
	s.Logger.Info("http listening", "addr", s.httpLn.Addr().String())
	return nil
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// RTMPAddress returns the address publishers connect to (real port).
func (s *Server) RTMPAddress() net.Addr { return s.ingest.ListenAddr() }

// HTTPAddress returns the address viewers connect to (real port).
func (s *Server) HTTPAddress() net.Addr { return s.httpLn.Addr() }

// Key returns the stream key in use.
func (s *Server) Key() string { return s.StreamKey }

// Close stops the ingest (ending a live stream), the HTTP server and every
// rung. It is idempotent.
func (s *Server) Close() {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if s.whip != nil {
		s.whip.Close()
	}
	if s.ingest != nil {
		s.ingest.Close()
	}
	if s.pipe != nil {
		s.pipe.close() // answers blocked playlist requests
	}
	if s.Storage != nil {
		s.Storage.Close() // after the ended playlists were queued
	}
	if s.ownChat != nil {
		s.ownChat.Close() // its WebSockets are hijacked: Shutdown would not wait for them
	}
	s.closeWebRTC()
	if s.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		if err := s.httpSrv.Shutdown(ctx); err != nil {
			_ = s.httpSrv.Close()
		}
		cancel()
		<-s.httpDone
	} else if s.httpLn != nil {
		_ = s.httpLn.Close()
	}
}
