package chat

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/coder/websocket"
)

// ServeHTTP is the /chat/ws endpoint: it upgrades to WebSocket (origin-checked)
// and hands the connection to a reader goroutine of its own, so the HTTP
// server's goroutine and buffers are released while the viewer stays.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !h.track() {
		http.Error(w, "chat is not running", http.StatusServiceUnavailable)
		return
	}
	moderator, modID := h.authenticate(r)
	ip := h.clientIP(r)
	ws, err := websocket.Accept(smallBuffers{w}, r, &websocket.AcceptOptions{OriginPatterns: h.AllowedOrigins})
	if err != nil {
		h.wg.Done()
		h.log.Debug("websocket upgrade refused", "remote", r.RemoteAddr, "error", err)
		return
	}
	ws.SetReadLimit(h.MaxMessageBytes)
	h.stats.connections.Add(1)
	c := newClientConn(h, ws, ip, moderator, modID)
	c.start()
	go func() {
		defer h.wg.Done()
		h.readLoop(c)
		c.end()
		_ = h.do(context.Background(), func() { h.leave(c) })
	}()
}

// readLoop reads c's frames until the connection ends and has each one
// processed. Reads use a context the hub never cancels, so the writer can close
// gracefully; closing the WebSocket ends Read. Processing (JSON decoding, rate
// limits, the hand-over to the hub) runs on a short-lived goroutine: the reader's
// own stack, which an idle viewer keeps for hours, then stays at the runtime's
// minimum for a blocked read (4 KiB) instead of growing to 8 KiB for good.
func (h *Hub) readLoop(c *clientConn) {
	now := h.Clock()
	rs := &readState{msgs: *newBucket(h.Rate, h.Burst, now), reactions: *newBucket(h.ReactionRate, h.ReactionBurst, now), first: true}
	for {
		typ, data, err := c.ws.Read(context.Background())
		if err != nil {
			if errors.Is(err, websocket.ErrMessageTooBig) {
				h.stats.tooBig.Add(1)
				h.log.Info("closed connection: frame too big", "remote", c.ip, "limit", h.MaxMessageBytes)
			}
			return
		}
		if !onFreshStack(func() bool { return h.readFrame(c, rs, typ, data) }) {
			return
		}
	}
}

// readState is what c's reader remembers between frames.
type readState struct {
	msgs, reactions bucket
	strikes         int
	first, kicked   bool
}

// onFreshStack runs f on a new goroutine and waits for it.
func onFreshStack(f func() bool) bool {
	done := make(chan bool, 1)
	go func() { done <- f() }()
	return <-done
}

// readFrame decodes and rate-limits one frame of c and hands a valid one to the
// hub; it reports false when the hub has stopped.
func (h *Hub) readFrame(c *clientConn, rs *readState, typ websocket.MessageType, data []byte) bool {
	free := rs.first // the hello on connect does not spend a token
	rs.first = false
	if rs.kicked {
		return true // closing: the writer is sending the close frame
	}
	m, derr := DecodeClientMessage(data, h.MaxTextLen)
	if typ != websocket.MessageText {
		derr = fmt.Errorf("frames must be JSON text: %w", ErrBadRequest)
	}
	b := &rs.msgs
	if derr == nil && m.Type == TypeReaction {
		b = &rs.reactions
	}
	if !c.moderator && !free && !b.allow(h.Clock()) {
		h.stats.rateLimited.Add(1)
		rs.strikes++
		if rs.strikes > h.FloodLimit {
			h.stats.flooders.Add(1)
			h.log.Info("disconnected flooding client", "remote", c.ip)
			rs.kicked = true
			_ = h.do(c.ctx, func() { h.kick(c, fmt.Errorf("disconnected for flooding: %w", ErrRateLimited), "flooding") })
			return true // the writer closes the connection; Read then fails
		}
		h.reply(c, fmt.Errorf("slow down: at most %d messages per %s: %w", h.Burst,
			time.Duration(float64(h.Burst)/h.Rate*float64(time.Second)), ErrRateLimited))
		return true
	}
	if rs.strikes > 0 {
		rs.strikes--
	}
	if derr != nil {
		h.reply(c, derr)
		return true
	}
	if m.Type == TypeHello {
		// Set before the hand-over: while it is false the hub has not joined c.
		c.helloReceived() // the hub joins c or, if banned, closes it
	}
	return h.do(c.ctx, func() { h.handle(c, m) }) == nil
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

// clientIP returns the address bans by IP apply to.
func (h *Hub) clientIP(r *http.Request) string {
	if h.ClientIP != nil {
		return h.ClientIP(r)
	}
	return remoteHost(r)
}

// remoteHost returns the host part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}
