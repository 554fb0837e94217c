package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"golive/internal/rtmpguard"
	"golive/media"
)

// Server is the RTMP ingest stage. Publishers connect to
// rtmp://HOST:PORT/<App>/<StreamKey>; one is live at a time.
type Server struct {
	// Listener is where publishers connect. If nil, Initialize listens on
	// Addr (default ":1935").
	Listener net.Listener
	// Addr is the TCP address to listen on when Listener is nil.
	Addr string
	// App is the RTMP application name (default "live").
	App string
	// StreamKey is the stream name a publisher must use. Required.
	StreamKey string
	// Sink receives the live stream. Required.
	Sink Sink
	// Logger receives the stage's logs (default slog.Default()).
	Logger *slog.Logger
	// IdleTimeout closes a connection that sends nothing for this long
	// (default 15s).
	IdleTimeout time.Duration
	// MaxChunkSize is the largest RTMP chunk size a peer may set; a larger
	// one closes its connection (default 1 MiB).
	MaxChunkSize uint32
	// MaxConnections bounds open RTMP connections; more are closed at once
	// (default 32).
	MaxConnections int
	// TakeoverAfter lets a new publisher with the right key take over the
	// live one once that has sent no media for this long — its link died
	// silently, and the broadcaster is reconnecting — instead of being
	// refused until IdleTimeout closes the dead connection. The stream
	// goes on for viewers (see Sink). Default 3 s; negative: never.
	TakeoverAfter time.Duration

	ctx    context.Context
	cancel context.CancelFunc
	srv    *rtmp.Server
	done   chan struct{}
	conns  sync.WaitGroup
	// sinkMu orders every call to Sink: after a takeover, the old
	// publisher's goroutine may still be running.
	sinkMu sync.Mutex

	mu        sync.Mutex
	live      *connHandler
	whipLive  *whipSession // a WHIP publisher holds the one slot instead of live
	open      map[*connHandler]net.Conn
	since     time.Time
	accepted  uint64
	refused   uint64
	takeovers uint64

	bytesIn atomic.Uint64
	badTags atomic.Uint64
}

// Stats is a snapshot of the ingest stage.
type Stats struct {
	// Live reports whether a publisher is accepted and streaming.
	Live bool
	// Publisher is the live publisher's remote address.
	Publisher string
	// Protocol is how the live publisher publishes: "rtmp" or "whip".
	Protocol string
	// Since is when the live publisher was accepted.
	Since time.Time
	// Video and Audio are the live stream's codec parameters (nil before
	// their sequence headers).
	Video, Audio *media.CodecParams
	// Connections is the number of open RTMP connections.
	Connections int
	// Accepted and Refused count publish requests since Initialize (a
	// publisher refused for its codec counts in both).
	Accepted, Refused uint64
	// Takeovers counts publishers that took over an idle live one.
	Takeovers uint64
	// BytesIn counts media payload bytes received since Initialize.
	BytesIn uint64
	// BadTags counts tags that could not be parsed and were dropped.
	BadTags uint64
}

// Initialize starts listening and accepting publishers.
func (s *Server) Initialize() error {
	if s.StreamKey == "" {
		return errors.New("ingest: StreamKey is required")
	}
	if s.Sink == nil {
		return errors.New("ingest: Sink is required")
	}
	if s.App == "" {
		s.App = "live"
	}
	if s.Logger == nil {
		s.Logger = slog.Default()
	}
	if s.IdleTimeout == 0 {
		s.IdleTimeout = 15 * time.Second
	}
	if s.MaxChunkSize == 0 {
		s.MaxChunkSize = 1 << 20
	}
	if s.MaxConnections <= 0 {
		s.MaxConnections = 32
	}
	if s.TakeoverAfter == 0 {
		s.TakeoverAfter = 3 * time.Second
	}
	if s.Listener == nil {
		addr := s.Addr
		if addr == "" {
			addr = ":1935"
		}
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("ingest: listen: %w", err)
		}
		s.Listener = l
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.open = make(map[*connHandler]net.Conn)
	s.done = make(chan struct{})
	s.srv = rtmp.NewServer(&rtmp.ServerConfig{OnConnect: s.onConnect})
	go func() {
		defer close(s.done)
		_ = s.srv.Serve(s.Listener)
	}()
	s.Logger.Info("rtmp listening", "addr", s.Listener.Addr().String())
	return nil
}

// ListenAddr returns the address publishers connect to.
func (s *Server) ListenAddr() net.Addr { return s.Listener.Addr() }

// Close stops accepting, closes every connection (ending a live stream)
// and waits for them. It is idempotent.
func (s *Server) Close() {
	if s.cancel == nil {
		return
	}
	s.cancel()
	_ = s.srv.Close()
	<-s.done
	s.mu.Lock()
	for _, c := range s.open {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.conns.Wait()
}

// Stats returns a snapshot of the stage.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := Stats{
		Connections: len(s.open),
		Accepted:    s.accepted,
		Refused:     s.refused,
		Takeovers:   s.takeovers,
		BytesIn:     s.bytesIn.Load(),
		BadTags:     s.badTags.Load(),
	}
	if h := s.live; h != nil {
		st.Live, st.Protocol = true, "rtmp"
		st.Publisher = h.remote
		st.Since = s.since
		st.Video, st.Audio = h.params()
	}
	if w := s.whipLive; w != nil {
		st.Live, st.Publisher, st.Since, st.Protocol = true, w.remote, s.since, "whip"
		st.Video, st.Audio = w.params()
	}
	return st
}

// onConnect is go-rtmp's per-connection hook; it runs on the connection's
// goroutine before the handshake.
func (s *Server) onConnect(c net.Conn) (io.ReadWriteCloser, *rtmp.ConnConfig) {
	h := &connHandler{srv: s, remote: c.RemoteAddr().String()}
	h.log = s.Logger.With("remote", h.remote)
	ic := &idleConn{Conn: c, timeout: s.IdleTimeout, guard: rtmpguard.New(), onClose: func() { s.forget(h) }}
	s.mu.Lock()
	if s.ctx.Err() != nil || len(s.open) >= s.MaxConnections {
		full := s.ctx.Err() == nil
		s.mu.Unlock()
		if full {
			h.log.Warn("connection refused: too many open connections", "limit", s.MaxConnections)
		}
		_ = c.Close()
	} else {
		s.open[h] = c
		s.conns.Add(1)
		h.tracked = true
		s.mu.Unlock()
	}
	return ic, &rtmp.ConnConfig{
		Handler: h,
		ControlState: rtmp.StreamControlStateConfig{
			MaxChunkSize:    s.MaxChunkSize,
			MaxChunkStreams: rtmpguard.MaxChunkStreams,
		},
		Logger: newLogrus(h.log),
	}
}

// forget is called once when a connection's socket is closed.
func (s *Server) forget(h *connHandler) {
	s.release(h)
	s.mu.Lock()
	_, ok := s.open[h]
	delete(s.open, h)
	s.mu.Unlock()
	if ok && h.tracked {
		s.conns.Done()
	}
}

// acquire makes h the live publisher if none is, or takes over a live one
// that has sent nothing for TakeoverAfter; h.pub is set when it returns
// true.
func (s *Server) acquire(h *connHandler) bool {
	s.sinkMu.Lock()
	defer s.sinkMu.Unlock()
	s.mu.Lock()
	old := s.live
	if s.ctx.Err() != nil || s.whipLive != nil || (old != nil && !s.idle(old)) {
		s.refused++
		s.mu.Unlock()
		return false
	}
	s.live = h
	s.accepted++
	if old == nil {
		s.since = time.Now()
	} else {
		s.takeovers++
	}
	oldConn := s.open[old]
	s.mu.Unlock()
	h.lastMedia.Store(time.Now().UnixNano())
	pub := &publication{sink: s.Sink, log: h.log}
	if old != nil {
		// The stream goes on: the new publication continues the old
		// one's, and the old connection, dead, is closed.
		idle := time.Since(time.Unix(0, old.lastMedia.Load()))
		h.log.Warn("publisher taken over: the live one sent nothing", "for", idle.Round(time.Millisecond), "previous", old.remote)
		if prev := old.detachPublication(); prev != nil {
			pub.resume(prev)
		}
		if oldConn != nil {
			_ = oldConn.Close()
		}
	}
	h.mu.Lock()
	h.pub = pub
	h.mu.Unlock()
	return true
}

// idle reports whether live publisher h may be taken over.
func (s *Server) idle(h *connHandler) bool {
	return s.TakeoverAfter > 0 && time.Since(time.Unix(0, h.lastMedia.Load())) >= s.TakeoverAfter
}

func (s *Server) countRefused() {
	s.mu.Lock()
	s.refused++
	s.mu.Unlock()
}

// release ends h's stream if it is the live one and frees the slot.
func (s *Server) release(h *connHandler) {
	s.sinkMu.Lock()
	defer s.sinkMu.Unlock()
	s.mu.Lock()
	live := s.live == h
	s.mu.Unlock()
	if !live {
		return
	}
	h.stopPublication()
	s.mu.Lock()
	s.live = nil
	s.mu.Unlock()
	h.log.Info("publisher left")
}

// isLive reports whether h is the live publisher.
func (s *Server) isLive(h *connHandler) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.live == h
}

// connHandler is go-rtmp's handler for one connection.
type connHandler struct {
	rtmp.DefaultHandler
	srv     *Server
	conn    *rtmp.Conn
	remote  string
	log     *slog.Logger
	tracked bool
	buf     bytes.Buffer

	mu       sync.Mutex // guards pub against Stats readers
	pub      *publication
	streamID uint32
	badLog   time.Time
	// lastMedia is when the publisher last sent media (or was accepted),
	// Unix ns.
	lastMedia atomic.Int64
}

func (h *connHandler) params() (video, audio *media.CodecParams) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.pub == nil {
		return nil, nil
	}
	return clone(h.pub.demux.VideoParams()), clone(h.pub.demux.AudioParams())
}

func clone(p *media.CodecParams) *media.CodecParams {
	if p == nil {
		return nil
	}
	c := *p
	c.Config = append([]byte(nil), p.Config...)
	return &c
}

// OnServe keeps the connection to answer refusals with a NetStream status.
func (h *connHandler) OnServe(conn *rtmp.Conn) { h.conn = conn }

// OnConnect refuses other applications than App.
func (h *connHandler) OnConnect(_ uint32, cmd *rtmpmsg.NetConnectionConnect) error {
	app := strings.Trim(cmd.Command.App, "/")
	if i := strings.IndexByte(app, '?'); i >= 0 {
		app = app[:i]
	}
	if app != h.srv.App {
		h.srv.countRefused()
		h.log.Warn("connect refused: unknown application", "app", cmd.Command.App)
		return fmt.Errorf("%w: unknown application %q", ErrRefused, cmd.Command.App)
	}
	return nil
}

// OnPublish accepts the publisher if the key matches and nobody is live.
func (h *connHandler) OnPublish(ctx *rtmp.StreamContext, _ uint32, cmd *rtmpmsg.NetStreamPublish) error {
	name := cmd.PublishingName
	if i := strings.IndexByte(name, '?'); i >= 0 {
		name = name[:i]
	}
	if !KeyMatches(name, h.srv.StreamKey) {
		h.srv.countRefused()
		h.log.Warn("publish refused: wrong stream key")
		h.status(ctx.StreamID, rtmpmsg.NetStreamOnStatusCodePublishBadName, "wrong stream key")
		return fmt.Errorf("%w: wrong stream key", ErrRefused)
	}
	h.mu.Lock()
	h.streamID = ctx.StreamID
	h.mu.Unlock()
	if !h.srv.acquire(h) {
		h.log.Warn("publish refused: a publisher is already live")
		h.status(ctx.StreamID, rtmpmsg.NetStreamOnStatusCodePublishBadName, "already publishing")
		return fmt.Errorf("%w: already publishing", ErrRefused)
	}
	h.log.Info("publisher accepted", "type", cmd.PublishingType)
	return nil
}

// OnSetDataFrame reads onMetaData.
func (h *connHandler) OnSetDataFrame(_ uint32, data *rtmpmsg.NetStreamSetDataFrame) error {
	h.srv.sinkMu.Lock()
	defer h.srv.sinkMu.Unlock()
	if s := h.currentPublication(); s != nil {
		if md, ok := ParseMetadata(data.Payload); ok {
			s.metadata(md)
			h.log.Debug("metadata", "encoder", md.Encoder, "video", md.VideoCodec, "audio", md.AudioCodec,
				"size", fmt.Sprintf("%dx%d", md.Width, md.Height), "fps", md.FPS)
		}
	}
	return nil
}

// OnVideo demuxes one video tag; the payload is copied before the call returns.
func (h *connHandler) OnVideo(ts uint32, payload io.Reader) error {
	return h.onMedia(ts, payload, true)
}

// OnAudio demuxes one audio tag; the payload is copied before the call returns.
func (h *connHandler) OnAudio(ts uint32, payload io.Reader) error {
	return h.onMedia(ts, payload, false)
}

func (h *connHandler) onMedia(ts uint32, payload io.Reader, video bool) error {
	h.srv.sinkMu.Lock()
	defer h.srv.sinkMu.Unlock()
	s := h.currentPublication()
	if s == nil || !h.srv.isLive(h) {
		return nil
	}
	h.buf.Reset()
	n, err := h.buf.ReadFrom(payload)
	if err != nil {
		return fmt.Errorf("read tag: %w", err)
	}
	h.lastMedia.Store(time.Now().UnixNano())
	h.srv.bytesIn.Add(uint64(n))
	var res TagResult
	h.mu.Lock()
	if video {
		res, err = s.demux.Video(ts, h.buf.Bytes())
	} else {
		res, err = s.demux.Audio(ts, h.buf.Bytes())
	}
	h.mu.Unlock()
	switch {
	case errors.Is(err, ErrUnsupportedCodec):
		h.srv.countRefused()
		h.log.Warn("publisher refused: unsupported codec", "err", err)
		h.status(h.streamID, rtmpmsg.NetStreamOnStatusCodePublishFailed, err.Error())
		return err
	case err != nil:
		h.srv.badTags.Add(1)
		if now := time.Now(); now.Sub(h.badLog) > time.Second {
			h.badLog = now
			h.log.Warn("dropped a bad tag", "err", err)
		}
		return nil
	}
	if err := s.handle(res); err != nil {
		h.log.Warn("publisher refused: the stream could not start", "err", err)
		h.status(h.streamID, rtmpmsg.NetStreamOnStatusCodePublishFailed, "stream could not start")
		return err
	}
	return nil
}

// OnFCUnpublish ends the stream when the publisher says it is done.
func (h *connHandler) OnFCUnpublish(_ uint32, _ *rtmpmsg.NetStreamFCUnpublish) error {
	h.srv.release(h)
	return nil
}

// OnDeleteStream ends the stream when the publisher deletes it.
func (h *connHandler) OnDeleteStream(_ uint32, _ *rtmpmsg.NetStreamDeleteStream) error {
	h.srv.release(h)
	return nil
}

// OnClose ends the stream when the connection closes.
func (h *connHandler) OnClose() { h.srv.release(h) }

func (h *connHandler) currentPublication() *publication {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.pub
}

// detachPublication takes h's publication away without ending its stream
// (another publisher continues it).
func (h *connHandler) detachPublication() *publication {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.pub
	h.pub = nil
	return s
}

func (h *connHandler) stopPublication() {
	h.mu.Lock()
	s := h.pub
	h.pub = nil
	h.mu.Unlock()
	if s != nil {
		s.stop()
	}
}

// status sends an error-level NetStream onStatus before go-rtmp's own
// generic answer, so the publisher learns why it was refused.
func (h *connHandler) status(streamID uint32, code rtmpmsg.NetStreamOnStatusCode, desc string) {
	if h.conn == nil {
		return
	}
	var body bytes.Buffer
	enc := rtmpmsg.NewAMFEncoder(&body, rtmpmsg.EncodingTypeAMF0)
	if err := rtmpmsg.EncodeBodyAnyValues(enc, &rtmpmsg.NetStreamOnStatus{
		InfoObject: rtmpmsg.NetStreamOnStatusInfoObject{
			Level: rtmpmsg.NetStreamOnStatusLevelError, Code: code, Description: desc,
		},
	}); err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(h.srv.ctx, 2*time.Second)
	defer cancel()
	_ = h.conn.Write(ctx, 5, 0, &rtmp.ChunkMessage{
		StreamID: streamID,
		Message: &rtmpmsg.CommandMessage{
			CommandName: "onStatus", Encoding: rtmpmsg.EncodingTypeAMF0, Body: &body,
		},
	})
}

// idleConn sets a read deadline before every read, so a silent peer costs
// one connection for at most the idle timeout; acknowledges what it read at
// once (quickAck); passes what it reads through an rtmpguard.Guard; and
// reports its close once.
type idleConn struct {
	net.Conn
	timeout time.Duration
	guard   *rtmpguard.Guard
	once    sync.Once
	onClose func()
}

func (c *idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.timeout))
	n, err := c.Conn.Read(p)
	if n > 0 {
		quickAck(c.Conn) // the publisher's next piece need not wait for a delayed ACK
		if gerr := c.guard.Feed(p[:n]); gerr != nil {
			return 0, gerr
		}
	}
	return n, err
}

func (c *idleConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.onClose)
	return err
}
