package publisher

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"time"

	rtmp "github.com/yutopp/go-rtmp"
	"github.com/yutopp/go-rtmp/handshake"

	"golive/internal/rtmpguard"
	"golive/internal/tcpstat"
)

// dialRTMP connects (TCP, then TLS for rtmps), handshakes and publishes
// (see rtmpConn.publish), all within cfg.timeout. It returns an error
// wrapping ErrUnreachable, ErrTimeout, ErrRefused, ErrProtocol or
// ErrClosed (ctx cancelled).
func dialRTMP(ctx context.Context, cfg rtmpConnConfig) (*rtmpConn, error) {
	ctx2, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	classify := func(op string, err error) error {
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%s: %w", op, ErrClosed)
		case ctx2.Err() != nil || errors.Is(err, os.ErrDeadlineExceeded):
			return fmt.Errorf("%s: %w after %v", op, ErrTimeout, cfg.timeout)
		case closedByPeer(err):
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
	tcp, ok := nc.(*net.TCPConn)
	if !ok {
		_ = nc.Close()
		return nil, fmt.Errorf("dial %s: %w: not a TCP connection", cfg.target.Addr, ErrUnreachable)
	}
	if cfg.sendBuffer > 0 {
		_ = tcp.SetWriteBuffer(cfg.sendBuffer)
	}
	if tcpstat.Supported() {
		// The kernel holds little unsent: a slow link shows in our queue
		// at once, and what waits in the kernel is measured (see linkMeter).
		if err := tcpstat.LimitUnsent(tcp, unsentLimit); err != nil {
			cfg.log.Debug("cannot bound the unsent bytes", "err", err)
		}
	}
	raw := new(atomic.Int64)
	nc = rawCounter{Conn: tcp, n: raw}
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

	c := &rtmpConn{
		cfg:         cfg,
		tcp:         tcp,
		raw:         raw,
		replies:     make(chan reply, 16),
		readDone:    make(chan struct{}),
		closing:     make(chan struct{}),
		connReadErr: new(atomic.Bool),
	}
	// Everything the server sends passes a guard before go-rtmp decodes
	// it: go-amf0 trusts the counts in AMF0 data, and one crafted reply
	// would otherwise kill the whole process with an out-of-memory fatal
	// error that no recover catches.
	c.nc = countingConn{Conn: rtmpguard.NewConn(nc), n: cfg.sent, readErr: c.connReadErr}
	if err := handshake.HandshakeWithServer(&s0Check{r: c.nc}, c.nc, &handshake.Config{SkipHandshakeVerification: true}); err != nil {
		_ = nc.Close()
		if errors.Is(err, ErrProtocol) {
			return nil, fmt.Errorf("RTMP handshake: %w", err)
		}
		return nil, classify("RTMP handshake", err)
	}
	c.cs = rtmp.NewChunkStreamer(bufio.NewReaderSize(c.nc, 4096), bufio.NewWriterSize(c.nc, chunkSize+64), controlConfig())
	go c.readLoop()

	if err := c.publish(ctx2); err != nil {
		c.close()
		if errors.Is(err, ErrRefused) || errors.Is(err, ErrProtocol) || errors.Is(err, ErrTimeout) {
			return nil, err
		}
		return nil, classify("publish", err)
	}
	stop()
	_ = nc.SetDeadline(time.Time{})
	return c, nil
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
