package chat

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// ServeHTTP is the /chat/ws endpoint: it upgrades to WebSocket (origin-checked),
// then reads the connection's frames until it ends.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.track() {
		http.Error(w, "chat is not running", http.StatusServiceUnavailable)
		return
	}
	defer h.wg.Done()

	moderator := false
	if tok := r.URL.Query().Get("token"); tok != "" && h.ModeratorToken != "" {
		moderator = subtle.ConstantTimeCompare([]byte(tok), []byte(h.ModeratorToken)) == 1
	}
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{OriginPatterns: h.AllowedOrigins})
	if err != nil {
		h.log.Debug("websocket upgrade refused", "remote", r.RemoteAddr, "error", err)
		return
	}
	ws.SetReadLimit(h.MaxMessageBytes)
	h.stats.connections.Add(1)

	ip := remoteHost(r)
	if h.ClientIP != nil {
		ip = h.ClientIP(r)
	}
	// c.ctx ends when c is dropped or ends, not when the hub closes: cancelling a
	// write or ping in flight kills the connection without a close frame, and on
	// shutdown the writer finishes its frame and then closes with StatusGoingAway.
	ctx, cancel := context.WithCancel(context.Background())
	c := &clientConn{ws: ws, ip: ip, moderator: moderator, send: make(chan outFrame, h.SendQueue), ctx: ctx, cancel: cancel}

	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		h.writeLoop(c)
	}()
	pingerDone := make(chan struct{})
	go func() {
		defer close(pingerDone)
		h.watch(c)
	}()
	h.readLoop(c)
	cancel()
	<-writerDone
	<-pingerDone
	_ = ws.CloseNow()
	_ = h.do(context.Background(), func() { h.leave(c) })
}

// writeLoop writes c's queued frames until the queue says close, a write fails,
// or c is cancelled (dropped) or the hub is closing.
func (h *Hub) writeLoop(c *clientConn) {
	for {
		select {
		case f := <-c.send:
			if c.ctx.Err() != nil || h.ctx.Err() != nil {
				h.closeCancelled(c) // select picks at random: cancellation wins over queued frames
				return
			}
			if f.closeCode != 0 {
				_ = c.ws.Close(f.closeCode, f.closeReason)
				return
			}
			ctx, cancel := context.WithTimeout(c.ctx, h.WriteTimeout)
			err := c.ws.Write(ctx, websocket.MessageText, f.data)
			cancel()
			if err != nil {
				_ = c.ws.CloseNow()
				return
			}
		case <-c.ctx.Done():
			h.closeCancelled(c)
			return
		case <-h.ctx.Done():
			h.closeCancelled(c)
			return
		}
	}
}

// watch is c's watchdog until c ends. It closes c with StatusPolicyViolation
// "hello timeout" if c has not sent a valid hello HelloTimeout after the upgrade
// (other frames do not count), and pings c every PingInterval: pings need a
// concurrent reader to see the pong, which readLoop is. A ping that gets no pong
// within PingTimeout removes c from the hub at once and closes it with
// StatusPolicyViolation "ping timeout". It runs beside writeLoop so a slow pong
// never holds up c's queued frames.
func (h *Hub) watch(c *clientConn) {
	ticker := time.NewTicker(h.PingInterval)
	defer ticker.Stop()
	hello := time.NewTimer(h.HelloTimeout)
	defer hello.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-h.ctx.Done():
			return // the writer closes c
		case <-hello.C:
			if !c.helloed.Load() {
				h.stats.helloTimeouts.Add(1)
				h.log.Info("closed connection: no hello", "remote", c.ip, "timeout", h.HelloTimeout)
				// Not joined (helloed is set before the hub sees a hello): only the writer to tell.
				if !c.enqueue(outFrame{closeCode: websocket.StatusPolicyViolation, closeReason: "hello timeout"}) {
					c.cancel()
				}
			}
			continue
		case <-ticker.C:
		}
		ctx, cancel := context.WithTimeout(c.ctx, h.PingTimeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err == nil {
			continue
		}
		// A connection closed by its peer or by the hub fails its ping too; only
		// a ping that ran out of time while c was alive means a vanished peer.
		if c.ctx.Err() == nil && h.ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded) {
			h.stats.pingTimeouts.Add(1)
			h.log.Info("closed unresponsive connection: no pong", "remote", c.ip, "timeout", h.PingTimeout)
			_ = h.do(c.ctx, func() { h.disconnect(c, "ping timeout") })
		}
		return
	}
}

// closeCancelled closes a cancelled connection: gracefully when the hub is
// shutting down, at once when the connection was dropped.
func (h *Hub) closeCancelled(c *clientConn) {
	if h.ctx.Err() != nil {
		_ = c.ws.Close(websocket.StatusGoingAway, "server shutting down")
		return
	}
	_ = c.ws.CloseNow()
}

// readLoop reads, decodes and rate-limits c's frames and hands valid ones to the
// hub. It returns when the connection ends. Reads use a context the hub never
// cancels, so the writer can close gracefully; closing the WebSocket ends Read.
func (h *Hub) readLoop(c *clientConn) {
	now := h.Clock()
	msgs := newBucket(h.Rate, h.Burst, now)
	reactions := newBucket(h.ReactionRate, h.ReactionBurst, now)
	strikes := 0
	first, kicked := true, false
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				h.stats.tooBig.Add(1)
				h.log.Info("closed connection: frame too big", "remote", c.ip, "limit", h.MaxMessageBytes)
			}
			return
		}
		free := first // the hello on connect does not spend a token
		first = false
		if kicked {
			continue // closing: the writer is sending the close frame
		}
		m, derr := DecodeClientMessage(data, h.MaxTextLen)
		if typ != websocket.MessageText {
			derr = fmt.Errorf("frames must be JSON text: %w", ErrBadRequest)
		}
		b := msgs
		if derr == nil && m.Type == TypeReaction {
			b = reactions
		}
		if !c.moderator && !free && !b.allow(h.Clock()) {
			h.stats.rateLimited.Add(1)
			strikes++
			if strikes > h.FloodLimit {
				h.stats.flooders.Add(1)
				h.log.Info("disconnected flooding client", "remote", c.ip)
				kicked = true
				_ = h.do(c.ctx, func() { h.kick(c, fmt.Errorf("disconnected for flooding: %w", ErrRateLimited), "flooding") })
				continue // the writer closes the connection; Read then fails
			}
			h.reply(c, fmt.Errorf("slow down: at most %d messages per %s: %w", h.Burst,
				time.Duration(float64(h.Burst)/h.Rate*float64(time.Second)), ErrRateLimited))
			continue
		}
		if strikes > 0 {
			strikes--
		}
		if derr != nil {
			h.reply(c, derr)
			continue
		}
		if m.Type == TypeHello {
			// Set before the hand-over: while it is false the hub has not joined c.
			c.helloed.Store(true) // the hub joins c or, if banned, closes it
		}
		if h.do(c.ctx, func() { h.handle(c, m) }) != nil {
			return
		}
	}
}

// reply queues an error frame for c without blocking (dropped if the queue is full).
func (h *Hub) reply(c *clientConn, err error) {
	if code := ErrorCode(err); code != CodeRateLimited && code != CodeBanned {
		h.stats.badRequests.Add(1)
	}
	data, eerr := EncodeServerMessage(errorFrame(err))
	if eerr != nil {
		return
	}
	c.enqueue(outFrame{data: data})
}

// remoteHost returns the host part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
