package chat

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// outFrame is one entry of a connection's send queue: a text frame, or (when
// closeCode is set) the instruction to close the connection with that status.
type outFrame struct {
	data        []byte
	closeCode   websocket.StatusCode
	closeReason string
	// latest marks a frame only the latest of which matters (viewer counts):
	// it replaces such a frame still queued instead of queueing behind it.
	latest bool
}

// clientConn is one viewer's WebSocket connection on the Hub. Its reader runs in
// one goroutine for the connection's whole life; everything else runs only while
// there is work: a writer while frames come (it lingers WriterLinger for more, so
// a busy chat does not start one per frame), a ping while one is due, the close
// on shutdown. An idle viewer therefore costs one goroutine, two timers and
// small buffers. The fields below "hub-owned" are touched only by the Hub's
// goroutine.
type clientConn struct {
	h         *Hub
	ws        *websocket.Conn
	ip        string
	moderator bool
	// modID is the id of the moderator token c connected with ("" for viewers
	// and for the Hub's ModeratorToken), so that revoking it finds c.
	modID string
	// ctx ends when c is dropped or its reader ends, not when the hub closes.
	// Writes and pings time out on contexts of their own (closing the socket
	// ends them), so that ctx does not keep a children map for idle viewers.
	ctx    context.Context
	cancel context.CancelFunc
	// helloed is set by the reader before it hands the first valid hello to the hub.
	helloed atomic.Bool

	mu          sync.Mutex // guards the fields down to helpers
	queue       []outFrame
	writing     bool          // a writer goroutine is draining queue or lingering for more
	wake        chan struct{} // tells a lingering writer a frame was queued
	closing     bool          // a close frame was taken from the queue: later frames are pointless
	ended       bool          // the reader has ended: no helper may start any more
	pinger      *time.Timer
	helloTimer  *time.Timer
	stopOnClose func() bool // unregisters the hub-shutdown callback
	helpers     sync.WaitGroup

	// hub-owned
	joined bool
	user   User
}

// newClientConn wraps an accepted WebSocket. start arms its timers.
func newClientConn(h *Hub, ws *websocket.Conn, ip string, moderator bool, modID string) *clientConn {
	ctx, cancel := context.WithCancel(context.Background())
	return &clientConn{h: h, ws: ws, ip: ip, moderator: moderator, modID: modID, ctx: ctx, cancel: cancel}
}

// start arms the hello timeout, the first ping and the close on hub shutdown.
func (c *clientConn) start() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.helloTimer = time.AfterFunc(c.h.HelloTimeout, c.helloDue)
	c.pinger = time.AfterFunc(c.h.PingInterval, func() { c.spawn(c.ping) })
	c.stopOnClose = context.AfterFunc(c.h.ctx, func() { c.spawn(c.goingAway) })
}

// end is called by the reader when the connection is over: it closes the
// socket (which ends a write or a ping in flight) and waits for the helpers.
func (c *clientConn) end() {
	c.cancel()
	_ = c.ws.CloseNow()
	c.mu.Lock()
	c.ended = true
	if c.pinger != nil {
		c.pinger.Stop()
		c.stopOnClose()
	}
	if c.helloTimer != nil {
		c.helloTimer.Stop()
	}
	c.queue = nil
	c.mu.Unlock()
	c.helpers.Wait()
}

// spawn runs f in a helper goroutine unless the connection has ended; the reader
// waits for every helper before it returns, so the hub's wait covers them.
func (c *clientConn) spawn(f func()) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.spawnLocked(f)
}

func (c *clientConn) spawnLocked(f func()) bool {
	if c.ended {
		return false
	}
	c.helpers.Add(1)
	go func() {
		defer c.helpers.Done()
		f()
	}()
	return true
}

// enqueue puts f on the send queue without blocking and starts a writer if none
// runs; it reports false when the queue is full (the caller drops c).
func (c *clientConn) enqueue(f outFrame) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.closing {
		return true // going away anyway: nothing to drop
	}
	if n := len(c.queue); f.latest && n > 0 && c.queue[n-1].latest {
		c.queue[n-1] = f
		return true
	}
	if len(c.queue) >= c.h.SendQueue {
		return false
	}
	c.queue = append(c.queue, f)
	switch {
	case c.writing:
		select {
		case c.wake <- struct{}{}:
		default: // already told
		}
	default:
		wake := make(chan struct{}, 1) // the writer's, dropped when it exits
		c.wake = wake
		c.writing = c.spawnLocked(func() { c.writeLoop(wake) })
	}
	return true
}

// drop closes c at once (its queue was full, or it was dropped by the hub).
func (c *clientConn) drop() {
	c.cancel()
	_ = c.ws.CloseNow()
}

// writeLoop writes c's queued frames until the queue has stayed empty for
// WriterLinger, a close frame is taken, a write fails, c is dropped, or the hub
// is closing (then the shutdown's close wins over queued frames).
func (c *clientConn) writeLoop(wake <-chan struct{}) {
	var idle *time.Timer
	defer func() {
		if idle != nil {
			idle.Stop()
		}
	}()
	for {
		c.mu.Lock()
		if c.closing || c.ctx.Err() != nil || c.h.ctx.Err() != nil {
			c.queue, c.wake = nil, nil
			c.writing = false
			c.mu.Unlock()
			return
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			if idle == nil {
				idle = time.NewTimer(c.h.WriterLinger)
			} else {
				idle.Reset(c.h.WriterLinger)
			}
			select {
			case <-wake:
			case <-c.ctx.Done():
			case <-c.h.ctx.Done():
			case <-idle.C:
				c.mu.Lock()
				if len(c.queue) == 0 {
					c.queue, c.wake = nil, nil
					c.writing = false
					c.mu.Unlock()
					return
				}
				c.mu.Unlock()
			}
			continue
		}
		// Pop by shifting, so the queue keeps its array while the writer lives
		// (no allocation per frame); it is dropped when the writer exits.
		f := c.queue[0]
		n := copy(c.queue, c.queue[1:])
		c.queue[n] = outFrame{}
		c.queue = c.queue[:n]
		if f.closeCode != 0 {
			c.closing = true
			c.queue = nil
		}
		c.mu.Unlock()
		if f.closeCode != 0 {
			_ = c.ws.Close(f.closeCode, f.closeReason)
			continue // the loop ends on closing
		}
		ctx, cancel := context.WithTimeout(context.Background(), c.h.WriteTimeout)
		err := c.ws.Write(ctx, websocket.MessageText, f.data)
		cancel()
		if err != nil {
			c.mu.Lock()
			c.closing = true
			c.mu.Unlock()
			_ = c.ws.CloseNow()
		}
	}
}

// goingAway closes c gracefully when the hub shuts down, after the frame being
// written (if any).
func (c *clientConn) goingAway() {
	c.mu.Lock()
	c.closing = true
	c.mu.Unlock()
	_ = c.ws.Close(websocket.StatusGoingAway, "server shutting down")
}

// helloReceived stops the hello timeout once a valid hello came.
func (c *clientConn) helloReceived() {
	c.helloed.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.helloTimer != nil {
		c.helloTimer.Stop()
		c.helloTimer = nil
	}
}

// helloDue closes c with StatusPolicyViolation "hello timeout" if it has not sent
// a valid hello by now (other frames do not count).
func (c *clientConn) helloDue() {
	c.mu.Lock()
	c.helloTimer = nil // fired: nothing to stop, nothing to keep
	c.mu.Unlock()
	if c.helloed.Load() {
		return
	}
	h := c.h
	h.stats.helloTimeouts.Add(1)
	h.log.Info("closed connection: no hello", "remote", c.ip, "timeout", h.HelloTimeout)
	// Not joined (helloed is set before the hub sees a hello): only the writer to tell.
	if !c.enqueue(outFrame{closeCode: websocket.StatusPolicyViolation, closeReason: "hello timeout"}) {
		c.drop()
	}
}

// ping pings c once; the reader is the concurrent reader that sees the pong. A
// ping that gets no pong within PingTimeout removes c from the hub at once and
// closes it with StatusPolicyViolation "ping timeout"; otherwise the next ping is
// armed. It runs beside the writer, so a slow pong never holds up c's frames.
func (c *clientConn) ping() {
	h := c.h
	ctx, cancel := context.WithTimeout(context.Background(), h.PingTimeout)
	err := c.ws.Ping(ctx)
	cancel()
	if err == nil {
		c.mu.Lock()
		if !c.ended {
			c.pinger.Reset(h.PingInterval)
		}
		c.mu.Unlock()
		return
	}
	// A connection closed by its peer or by the hub fails its ping too; only a
	// ping that ran out of time while c was alive means a vanished peer.
	if c.ctx.Err() == nil && h.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
		h.stats.pingTimeouts.Add(1)
		h.log.Info("closed unresponsive connection: no pong", "remote", c.ip, "timeout", h.PingTimeout)
		_ = h.do(c.ctx, func() { h.disconnect(c, "ping timeout") })
	}
}
