package publisher

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/yutopp/go-amf0"
	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"golive/internal/rtmpguard"
)

// Chunk stream IDs, as OBS and FFmpeg use them.
const (
	csidCommand = 3
	csidAudio   = 4
	csidData    = 5
	csidVideo   = 6
)

// maxUndecodable is how many server messages go-rtmp cannot decode are
// skipped before the server is deemed not to speak RTMP.
const maxUndecodable = 16

// chunkSize is the outgoing RTMP chunk size.
const chunkSize = 4096

// sessionConfig is what one connection attempt needs.
type sessionConfig struct {
	target       Target
	timeout      time.Duration // whole connect+publish exchange
	writeTimeout time.Duration // no write progress for this long breaks the session
	tls          *tls.Config
	log          *slog.Logger
	sent         *atomic.Int64 // bytes written, shared across sessions
	sendBuffer   int           // SO_SNDBUF, 0 = default
}

// reply is a command the server sent us.
type reply struct {
	name   string
	txn    int64
	args   []interface{}
	status Status
}

// session is one RTMP connection in publishing state. go-rtmp's
// ClientConn waits for replies without a timeout and cannot be interrupted,
// so the session drives go-rtmp's handshake, chunk streamer and message
// codecs itself over a net.Conn it owns. Writes must come from one
// goroutine; the reader goroutine only reads.
type session struct {
	cfg      sessionConfig
	nc       net.Conn
	cs       *rtmp.ChunkStreamer
	streamID uint32

	replies  chan reply
	readDone chan struct{}
	readErr  error // valid after readDone is closed

	closeOnce   sync.Once
	connReadErr *atomic.Bool
}

// countingConn counts the bytes written to the socket and remembers
// whether a read from the socket failed (to tell a broken connection from
// a message go-rtmp could not decode).
type countingConn struct {
	net.Conn
	n       *atomic.Int64
	readErr *atomic.Bool
}

func (c countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.readErr.Store(true)
	}
	return n, err
}

func (c countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.n.Add(int64(n))
	return n, err
}

// controlConfig is go-rtmp's control state with bounded resources: few
// chunk streams, so a hostile server cannot make us allocate without end.
func controlConfig() *rtmp.StreamControlStateConfig {
	return &rtmp.StreamControlStateConfig{
		DefaultChunkSize:           rtmp.DefaultChunkSize,
		MaxChunkSize:               rtmp.MaxChunkSize,
		MaxChunkStreams:            rtmpguard.MaxChunkStreams,
		DefaultAckWindowSize:       math.MaxInt32,
		MaxAckWindowSize:           math.MaxInt32,
		DefaultBandwidthWindowSize: math.MaxInt32,
		MaxBandwidthWindowSize:     math.MaxInt32,
		MaxMessageSize:             rtmp.MaxChunkSize,
		MaxMessageStreams:          16,
	}
}

// dialSession connects, handshakes and publishes. It returns an error
// wrapping ErrUnreachable, ErrTimeout, ErrRefused, ErrProtocol or
// ErrClosed (ctx cancelled).
func dialSession(ctx context.Context, cfg sessionConfig) (*session, error) {
	ctx2, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	classify := func(op string, err error) error {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%s: %w", op, ErrClosed)
		case ctx2.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("%s: %w after %v", op, ErrTimeout, cfg.timeout)
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) || isReset(err):
			return fmt.Errorf("%s: %w: the server closed the connection", op, ErrRefused)
		}
		return fmt.Errorf("%s: %w: %v", op, ErrProtocol, err)
	}

	var d net.Dialer
	nc, err := d.DialContext(ctx2, "tcp", cfg.target.Addr)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("dial %s: %w", cfg.target.Addr, ErrClosed)
		}
		if ctx2.Err() != nil {
			return nil, fmt.Errorf("dial %s: %w: %w after %v", cfg.target.Addr, ErrUnreachable, ErrTimeout, cfg.timeout)
		}
		return nil, fmt.Errorf("dial %s: %w: %v", cfg.target.Addr, ErrUnreachable, err)
	}
	if tc, ok := nc.(*net.TCPConn); ok && cfg.sendBuffer > 0 {
		_ = tc.SetWriteBuffer(cfg.sendBuffer)
	}
	// Blocking I/O below is interrupted by the deadline or by ctx.
	stop := context.AfterFunc(ctx2, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()
	if dl, ok := ctx2.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	if cfg.target.Scheme == "rtmps" {
		tc := &tls.Config{ServerName: cfg.target.Host, MinVersion: tls.VersionTLS12}
		if cfg.tls != nil {
			tc = cfg.tls.Clone()
			if tc.ServerName == "" {
				tc.ServerName = cfg.target.Host
			}
		}
		tconn := tls.Client(nc, tc)
		if err := tconn.HandshakeContext(ctx2); err != nil {
			_ = nc.Close()
			if ctx.Err() != nil || ctx2.Err() != nil {
				return nil, classify("TLS handshake", err)
			}
			return nil, fmt.Errorf("TLS handshake with %s: %w: %v", cfg.target.Host, ErrUnreachable, err)
		}
		nc = tconn
	}

	s := &session{
		cfg:      cfg,
		replies:  make(chan reply, 16),
		readDone: make(chan struct{}),
	}
	sent := cfg.sent
	if sent == nil {
		sent = new(atomic.Int64)
	}
	s.connReadErr = new(atomic.Bool)
	// Everything the server sends passes a guard before go-rtmp decodes
	// it: go-amf0 trusts the counts in AMF0 data, and one crafted reply
	// would otherwise kill the whole process with an out-of-memory fatal
	// error that no recover catches.
	s.nc = countingConn{Conn: rtmpguard.NewConn(nc), n: sent, readErr: s.connReadErr}
	if err := handshake.HandshakeWithServer(&s0Check{r: s.nc}, s.nc, &handshake.Config{SkipHandshakeVerification: true}); err != nil {
		_ = nc.Close()
		if errors.Is(err, ErrProtocol) {
			return nil, fmt.Errorf("RTMP handshake: %w", err)
		}
		return nil, classify("RTMP handshake", err)
	}
	s.cs = rtmp.NewChunkStreamer(bufio.NewReaderSize(s.nc, 4096), bufio.NewWriterSize(s.nc, chunkSize+64), controlConfig())
	go s.readLoop()

	if err := s.publish(ctx2); err != nil {
		s.close()
		if errors.Is(err, ErrRefused) || errors.Is(err, ErrProtocol) || errors.Is(err, ErrTimeout) {
			return nil, err
		}
		return nil, classify("publish", err)
	}
	stop()
	_ = nc.SetDeadline(time.Time{})
	return s, nil
}

// publish runs connect, releaseStream, FCPublish, createStream and publish
// and waits for NetStream.Publish.Start.
func (s *session) publish(ctx context.Context) error {
	t := s.cfg.target
	// Our chunk size goes up before the first message: the change
	// happens-before the writer goroutine reads it (channel send).
	if err := s.cs.SelfState().SetChunkSize(chunkSize); err != nil {
		return err
	}
	if err := s.cs.Write(ctx, 2, 0, &rtmp.ChunkMessage{Message: &rtmpmsg.SetChunkSize{ChunkSize: chunkSize}}); err != nil {
		return err
	}
	connect := map[string]interface{}{
		"app":      t.App,
		"type":     "nonprivate",
		"flashVer": "FMLE/3.0 (compatible; GoLive)",
		"tcUrl":    t.TCURL,
	}
	if err := s.command(ctx, 0, "connect", 1, connect); err != nil {
		return err
	}
	r, err := s.await(ctx, func(r reply) bool { return r.txn == 1 && (r.name == "_result" || r.name == "_error") })
	if err != nil {
		return fmt.Errorf("connect to application %q: %w", t.App, err)
	}
	if r.name == "_error" || r.status.IsError() {
		return fmt.Errorf("connect to application %q: %w: %s", t.App, ErrRefused, r.status)
	}
	if err := s.command(ctx, 0, "releaseStream", 2, nil, t.Key); err != nil {
		return err
	}
	if err := s.command(ctx, 0, "FCPublish", 3, nil, t.Key); err != nil {
		return err
	}
	if err := s.command(ctx, 0, "createStream", 4, nil); err != nil {
		return err
	}
	r, err = s.await(ctx, func(r reply) bool { return r.txn == 4 && (r.name == "_result" || r.name == "_error") })
	if err != nil {
		return fmt.Errorf("createStream: %w", err)
	}
	id, ok := streamIDFromArgs(r.args)
	if r.name == "_error" || !ok {
		return fmt.Errorf("createStream: %w: %s", ErrRefused, r.status)
	}
	s.streamID = id
	if err := s.command(ctx, id, "publish", 5, nil, t.Key, "live"); err != nil {
		return err
	}
	r, err = s.await(ctx, func(r reply) bool {
		return r.name == "onStatus" || (r.txn == 5 && r.name == "_error")
	})
	if err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	if r.name == "_error" || r.status.IsError() {
		return fmt.Errorf("publish %s: %w: %s", t.Redacted(), ErrRefused, r.status)
	}
	if r.status.Code != "NetStream.Publish.Start" {
		s.cfg.log.Debug("publish answered with an unusual status", "status", r.status.String())
	}
	return nil
}

// await waits for the reply that match accepts, skipping others.
func (s *session) await(ctx context.Context, match func(reply) bool) (reply, error) {
	for {
		select {
		case r := <-s.replies:
			if match(r) {
				return r, nil
			}
			if r.name == "onStatus" && r.status.IsError() {
				return r, nil
			}
		case <-s.readDone:
			// Replies sent before the close are still worth reading.
			select {
			case r := <-s.replies:
				if match(r) || (r.name == "onStatus" && r.status.IsError()) {
					return r, nil
				}
				continue
			default:
			}
			if errors.Is(s.readErr, ErrProtocol) {
				return reply{}, s.readErr
			}
			if ctx.Err() != nil {
				return reply{}, ctx.Err()
			}
			if errors.Is(s.readErr, os.ErrDeadlineExceeded) {
				return reply{}, fmt.Errorf("%w: %v", ErrTimeout, s.readErr)
			}
			return reply{}, fmt.Errorf("%w: the server closed the connection (%v)", ErrRefused, s.readErr)
		case <-ctx.Done():
			return reply{}, ctx.Err()
		}
	}
}

// command writes an AMF0 command on the control chunk stream.
func (s *session) command(ctx context.Context, streamID uint32, name string, txn int64, args ...interface{}) error {
	var buf bytes.Buffer
	enc := amf0.NewEncoder(&buf)
	for _, a := range args {
		if err := enc.Encode(a); err != nil {
			return fmt.Errorf("encode %s: %w", name, err)
		}
	}
	return s.write(ctx, csidCommand, streamID, 0, &rtmpmsg.CommandMessage{
		CommandName: name, TransactionID: txn, Encoding: rtmpmsg.EncodingTypeAMF0, Body: &buf,
	})
}

// write schedules one message; it returns once the previous message on
// the same chunk stream has gone to the socket.
func (s *session) write(ctx context.Context, csid int, streamID, ts uint32, msg rtmpmsg.Message) error {
	select {
	case <-s.cs.Done():
		return s.lostErr()
	case <-s.readDone:
		return s.lostErr()
	default:
	}
	if s.cfg.writeTimeout > 0 {
		_ = s.nc.SetWriteDeadline(time.Now().Add(s.cfg.writeTimeout))
	}
	if err := s.cs.Write(ctx, csid, ts, &rtmp.ChunkMessage{StreamID: streamID, Message: msg}); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	return nil
}

// writeMedia sends an FLV audio or video tag body at ts milliseconds.
func (s *session) writeMedia(ctx context.Context, video bool, ts uint32, body []byte) error {
	if video {
		return s.write(ctx, csidVideo, s.streamID, ts, &rtmpmsg.VideoMessage{Payload: bytes.NewReader(body)})
	}
	return s.write(ctx, csidAudio, s.streamID, ts, &rtmpmsg.AudioMessage{Payload: bytes.NewReader(body)})
}

// writeMetadata sends @setDataFrame onMetaData.
func (s *session) writeMetadata(ctx context.Context, meta amf0.ECMAArray) error {
	var buf bytes.Buffer
	enc := amf0.NewEncoder(&buf)
	if err := enc.Encode("onMetaData"); err != nil {
		return err
	}
	if err := enc.Encode(meta); err != nil {
		return err
	}
	return s.write(ctx, csidData, s.streamID, 0, &rtmpmsg.DataMessage{
		Name: "@setDataFrame", Encoding: rtmpmsg.EncodingTypeAMF0, Body: &buf,
	})
}

// finish unpublishes politely and waits until what was written reached
// the socket, or ctx ends.
func (s *session) finish(ctx context.Context) error {
	// Media first: go-rtmp interleaves chunk streams, and a server that
	// sees deleteStream early drops what is still in flight.
	for _, csid := range []int{csidAudio, csidData, csidVideo} {
		if _, err := s.cs.NewChunkWriter(ctx, csid); err != nil {
			return err
		}
	}
	_ = s.command(ctx, 0, "FCUnpublish", 6, nil, s.cfg.target.Key)
	_ = s.command(ctx, 0, "deleteStream", 7, nil, float64(s.streamID))
	_, err := s.cs.NewChunkWriter(ctx, csidCommand)
	return err
}

// lost reports whether the connection is broken; the channel is closed
// when the server closes or the writer fails.
func (s *session) lostErr() error {
	select {
	case <-s.cs.Done():
		if err := s.cs.Err(); err != nil {
			return fmt.Errorf("%w: write: %v", ErrConnectionLost, err)
		}
	default:
	}
	select {
	case <-s.readDone:
		return fmt.Errorf("%w: %v", ErrConnectionLost, s.readErr)
	default:
	}
	return nil
}

// readLoop reads what the server sends, applies its chunk size and
// forwards commands. It ends on the first error.
func (s *session) readLoop() {
	defer close(s.readDone)
	defer func() {
		if p := recover(); p != nil {
			s.readErr = fmt.Errorf("%w: %v", ErrProtocol, p)
		}
	}()
	var cmsg rtmp.ChunkMessage
	undecodable := 0
	for {
		_, _, err := s.cs.Read(&cmsg)
		if err != nil && !s.connReadErr.Load() && undecodable < maxUndecodable {
			// The socket is fine: go-rtmp read a whole message it cannot
			// decode (FFmpeg's onFCPublish has no transaction ID).
			// Skip it, but not forever.
			undecodable++
			s.cfg.log.Debug("skipped a message go-rtmp cannot decode", "err", err)
			continue
		}
		if err != nil {
			if errors.Is(err, rtmpguard.ErrUnsafeMessage) {
				s.readErr = fmt.Errorf("%w: %w", ErrProtocol, err)
			} else if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) || isReset(err) {
				s.readErr = fmt.Errorf("server closed the connection: %w", err)
			} else if errors.Is(err, os.ErrDeadlineExceeded) {
				s.readErr = fmt.Errorf("read: %w", err)
			} else {
				s.readErr = fmt.Errorf("%w: %v", ErrProtocol, err)
			}
			return
		}
		undecodable = 0
		switch m := cmsg.Message.(type) {
		case *rtmpmsg.SetChunkSize:
			if err := s.cs.PeerState().SetChunkSize(m.ChunkSize); err != nil || m.ChunkSize == 0 {
				s.readErr = fmt.Errorf("%w: chunk size %d", ErrProtocol, m.ChunkSize)
				return
			}
		case *rtmpmsg.CommandMessage:
			args, err := decodeArgs(m.Body)
			if err != nil {
				s.readErr = fmt.Errorf("%w: command %q: %v", ErrProtocol, m.CommandName, err)
				return
			}
			r := reply{name: m.CommandName, txn: m.TransactionID, args: args, status: parseStatus(args)}
			s.cfg.log.Debug("server command", "name", r.name, "txn", r.txn, "status", r.status.String())
			if r.name == "onStatus" && r.status.IsError() {
				// An error status while live (kicked, key revoked)
				// ends the session.
				select {
				case s.replies <- r:
				default:
				}
				s.readErr = fmt.Errorf("%w: server status %s", ErrRefused, r.status)
				return
			}
			select {
			case s.replies <- r:
			default: // nobody listens once live
			}
		}
	}
}

// close tears the connection down and waits for go-rtmp's goroutines.
func (s *session) close() {
	s.closeOnce.Do(func() {
		_ = s.nc.Close()
		_ = s.cs.Close()
		<-s.readDone
		<-s.cs.Done()
	})
}

// isReset reports a connection reset or broken pipe.
func isReset(err error) bool {
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// s0Check fails the handshake when the server's first byte is not RTMP
// version 3 (an HTTP or TLS server answered, say).
type s0Check struct {
	r    io.Reader
	seen bool
}

func (c *s0Check) Read(p []byte) (int, error) {
	if c.seen || len(p) == 0 {
		return c.r.Read(p)
	}
	n, err := c.r.Read(p[:1])
	if n == 1 {
		c.seen = true
		if p[0] != 3 {
			return 0, fmt.Errorf("%w: it answered with version byte %#02x (%q), not 3", ErrProtocol, p[0], p[0])
		}
	}
	return n, err
}
