package publisher

import (
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

// rtmpConnConfig is what one connection attempt needs.
type rtmpConnConfig struct {
	target       Target
	timeout      time.Duration // whole connect+publish exchange
	writeTimeout time.Duration // no write progress for this long breaks the connection
	tls          *tls.Config
	log          *slog.Logger
	sent         *atomic.Int64 // bytes written, shared across connections
	sendBuffer   int           // SO_SNDBUF, 0 = default
}

// rtmpConn is one RTMP client connection in publishing state (see
// dialRTMP). go-rtmp's ClientConn waits for replies without a timeout and
// cannot be interrupted, so rtmpConn drives go-rtmp's handshake, chunk
// streamer and message codecs itself over a net.Conn it owns. Writes must
// come from one goroutine; the reader goroutine (readLoop) only reads.
type rtmpConn struct {
	cfg      rtmpConnConfig
	nc       net.Conn
	cs       *rtmp.ChunkStreamer
	streamID uint32

	// tcp is the socket under nc (and under TLS); raw counts the bytes
	// written to it, TLS records included.
	tcp *net.TCPConn
	raw *atomic.Int64

	replies  chan reply
	readDone chan struct{}
	readErr  error // valid after readDone is closed

	// closing is closed by close; helpers (the link watcher) count in
	// helpers and end on it.
	closing chan struct{}
	helpers sync.WaitGroup

	brokenMu sync.Mutex
	broken   error // why breakWith broke the connection

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

// rawCounter counts the bytes written to the socket itself, under TLS.
type rawCounter struct {
	net.Conn
	n *atomic.Int64
}

func (c rawCounter) Write(p []byte) (int, error) {
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

// write schedules one message; it returns once the previous message on
// the same chunk stream has gone to the socket.
func (c *rtmpConn) write(ctx context.Context, csid int, streamID, ts uint32, msg rtmpmsg.Message) error {
	if err := c.lostErr(); err != nil {
		return err
	}
	if c.cfg.writeTimeout > 0 {
		// A socket deadline is on the wall clock by nature.
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.cfg.writeTimeout))
	}
	if err := c.cs.Write(ctx, csid, ts, &rtmp.ChunkMessage{StreamID: streamID, Message: msg}); err != nil {
		if broken := c.brokenErr(); broken != nil {
			return broken
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	return nil
}

// writeMedia sends an FLV audio or video tag body at ts milliseconds.
func (c *rtmpConn) writeMedia(ctx context.Context, video bool, ts uint32, body []byte) error {
	if video {
		return c.write(ctx, csidVideo, c.streamID, ts, &rtmpmsg.VideoMessage{Payload: bytes.NewReader(body)})
	}
	return c.write(ctx, csidAudio, c.streamID, ts, &rtmpmsg.AudioMessage{Payload: bytes.NewReader(body)})
}

// writeMetadata sends @setDataFrame onMetaData.
func (c *rtmpConn) writeMetadata(ctx context.Context, meta amf0.ECMAArray) error {
	var buf bytes.Buffer
	enc := amf0.NewEncoder(&buf)
	if err := enc.Encode("onMetaData"); err != nil {
		return err
	}
	if err := enc.Encode(meta); err != nil {
		return err
	}
	return c.write(ctx, csidData, c.streamID, 0, &rtmpmsg.DataMessage{
		Name: "@setDataFrame", Encoding: rtmpmsg.EncodingTypeAMF0, Body: &buf,
	})
}

// breakWith breaks the connection for err (a stalled link): the socket
// closes, so that writes under way fail, and lostErr returns err.
func (c *rtmpConn) breakWith(err error) {
	c.brokenMu.Lock()
	if c.broken == nil {
		c.broken = err
	}
	c.brokenMu.Unlock()
	_ = c.tcp.Close()
}

// brokenErr is why breakWith broke the connection (nil if it did not).
func (c *rtmpConn) brokenErr() error {
	c.brokenMu.Lock()
	defer c.brokenMu.Unlock()
	return c.broken
}

// lostErr says why the connection is broken, wrapping ErrConnectionLost
// (nil while it is not).
func (c *rtmpConn) lostErr() error {
	if broken := c.brokenErr(); broken != nil {
		return broken
	}
	select {
	case <-c.cs.Done():
		if err := c.cs.Err(); err != nil {
			return fmt.Errorf("%w: write: %v", ErrConnectionLost, err)
		}
		return fmt.Errorf("%w: writer stopped", ErrConnectionLost)
	default:
	}
	select {
	case <-c.readDone:
		return fmt.Errorf("%w: %v", ErrConnectionLost, c.readErr)
	default:
	}
	return nil
}

// readLoop reads what the server sends, applies its chunk size and
// forwards commands to replies. It ends on the first error.
func (c *rtmpConn) readLoop() {
	defer close(c.readDone)
	defer func() {
		if p := recover(); p != nil {
			c.readErr = fmt.Errorf("%w: %v", ErrProtocol, p)
		}
	}()
	var cmsg rtmp.ChunkMessage
	undecodable := 0
	for {
		_, _, err := c.cs.Read(&cmsg)
		if err != nil && !c.connReadErr.Load() && undecodable < maxUndecodable {
			// The socket is fine: go-rtmp read a whole message it cannot
			// decode (FFmpeg's onFCPublish has no transaction ID).
			// Skip it, but not forever.
			undecodable++
			c.cfg.log.Debug("skipped a message go-rtmp cannot decode", "err", err)
			continue
		}
		if err != nil {
			switch {
			case errors.Is(err, rtmpguard.ErrUnsafeMessage):
				c.readErr = fmt.Errorf("%w: %w", ErrProtocol, err)
			case closedByPeer(err):
				c.readErr = fmt.Errorf("server closed the connection: %w", err)
			case errors.Is(err, os.ErrDeadlineExceeded):
				c.readErr = fmt.Errorf("read: %w", err)
			default:
				c.readErr = fmt.Errorf("%w: %v", ErrProtocol, err)
			}
			return
		}
		undecodable = 0
		switch m := cmsg.Message.(type) {
		case *rtmpmsg.SetChunkSize:
			if err := c.cs.PeerState().SetChunkSize(m.ChunkSize); err != nil || m.ChunkSize == 0 {
				c.readErr = fmt.Errorf("%w: chunk size %d", ErrProtocol, m.ChunkSize)
				return
			}
		case *rtmpmsg.CommandMessage:
			args, err := decodeArgs(m.Body)
			if err != nil {
				c.readErr = fmt.Errorf("%w: command %q: %v", ErrProtocol, m.CommandName, err)
				return
			}
			r := reply{name: m.CommandName, txn: m.TransactionID, args: args, status: parseStatus(args)}
			c.cfg.log.Debug("server command", "name", r.name, "txn", r.txn, "status", r.status.String())
			select {
			case c.replies <- r:
			default: // nobody listens once live
			}
			if r.isErrorStatus() {
				// An error status while live (kicked, key revoked)
				// ends the connection.
				c.readErr = fmt.Errorf("%w: server status %s", ErrRefused, r.status)
				return
			}
		}
	}
}

// close tears the connection down and waits for go-rtmp's goroutines and
// its helpers.
func (c *rtmpConn) close() {
	c.closeOnce.Do(func() {
		close(c.closing)
		_ = c.nc.Close()
		_ = c.cs.Close()
		<-c.readDone
		<-c.cs.Done()
		c.helpers.Wait()
	})
}

// closedByPeer reports an error that means the other end closed or reset
// the connection.
func closedByPeer(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
