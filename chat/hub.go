// Package chat is GoLive's live chat: a WebSocket hub (join/leave, history,
// viewer counts, reactions, moderation, rate limits), the JSON protocol it speaks
// (see "Chat protocol" in DESIGN.md), and a Go client the desktop app uses.
//
// Additions to the DESIGN protocol, all optional for clients:
//   - hello may carry "id": a persistent random id (8-64 of A-Z a-z 0-9 _ -) the
//     browser keeps in localStorage. The public user id seen by others is an HMAC
//     of it, so it cannot be used to impersonate; bans by user id hold across
//     reconnects that send the same id.
//   - hello without "name" joins read-only (welcome, history, live frames,
//     reactions; messages are refused with bad_request until a hello with a name).
//     A later hello renames the connection and is answered with a fresh welcome.
//   - welcome carries "moderator":true for ?token= connections, and user objects
//     carry "mod":true for moderators and for the app's Post messages.
//   - "ts" is Unix milliseconds; "reaction" carries "user" as an object {id, name}.
//   - ban also removes the user's messages from history (each announced with
//     "deleted") and closes its connections with StatusPolicyViolation "banned",
//     after an error frame with code banned. A flooding client is closed the same
//     way with reason "flooding".
//   - a ban by user id refuses every hello of that id; a ban of an address refuses
//     hellos with a name (and reactions) from it but lets a read-only hello
//     watch, so an OBS overlay on the same machine keeps working.
//   - the hub pings every connection each PingInterval; a connection that does not
//     answer within PingTimeout (a viewer whose network vanished) is dropped from
//     the viewer count at once and closed with StatusPolicyViolation "ping timeout".
//   - a connection that has not sent a valid hello within HelloTimeout of
//     connecting (whatever other frames it sent) is closed with
//     StatusPolicyViolation "hello timeout".
package chat

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Defaults of the Hub's configuration fields.
const (
	defaultHistorySize     = 100
	defaultMaxTextLen      = 500
	defaultRate            = 1.5 // 3 messages / 2 s
	defaultBurst           = 3
	defaultReactionRate    = 4
	defaultReactionBurst   = 8
	defaultFloodLimit      = 10
	defaultMaxMessageBytes = 4096
	defaultSendQueue       = 64
	defaultWriteTimeout    = 10 * time.Second
	defaultHelloTimeout    = 15 * time.Second
	defaultPingInterval    = 20 * time.Second
	defaultPingTimeout     = 10 * time.Second
	defaultViewersInterval = 500 * time.Millisecond
	maxSeenUsers           = 100000
)

// ErrClosed is returned by Post and Subscribe when the Hub is not running
// (not initialized yet, or closed).
var ErrClosed = errors.New("chat hub closed")

// CreatorID is the user id of messages the app posts with Hub.Post.
const CreatorID = "creator"

// Hub is the chat server behind /chat/ws. Configure the exported fields, call
// Initialize, mount it as an http.Handler, and Close it when done. All chat state
// is owned by one goroutine; every connection has a bounded send queue, and a
// connection whose queue is full is dropped, so a slow reader never blocks the hub.
type Hub struct {
	// ModeratorToken grants moderator rights to connections whose URL carries
	// ?token=ModeratorToken (compared in constant time). Empty: nobody is a moderator.
	ModeratorToken string
	// HistorySize is how many messages welcome carries. Default 100.
	HistorySize int
	// MaxTextLen is the longest message text in runes. Default 500.
	MaxTextLen int
	// Rate is the sustained rate, in frames per second, of a connection's token
	// bucket for messages and other non-reaction frames. Default 1.5 (3 / 2 s).
	Rate float64
	// Burst is that bucket's capacity. Default 3.
	Burst int
	// ReactionRate is the sustained reaction rate per connection. Default 4/s.
	ReactionRate float64
	// ReactionBurst is the reaction bucket's capacity. Default 8.
	ReactionBurst int
	// FloodLimit is how many rate-limited frames (net of frames that passed, one
	// forgiven per pass) a connection may send before it is disconnected with
	// StatusPolicyViolation. Default 10.
	FloodLimit int
	// MaxMessageBytes is the WebSocket read limit: a larger frame closes that
	// connection with StatusMessageTooBig. Default 4096.
	MaxMessageBytes int64
	// SendQueue is the per-connection send queue length, in frames. Default 64.
	SendQueue int
	// WriteTimeout bounds one frame's write. Default 10 s.
	WriteTimeout time.Duration
	// HelloTimeout is how long a new connection has, from the upgrade, to send a
	// valid hello; other frames do not extend it. A connection without one by then
	// is closed with StatusPolicyViolation "hello timeout". Default 15 s.
	HelloTimeout time.Duration
	// PingInterval is how often the hub pings each connection. Default 20 s.
	PingInterval time.Duration
	// PingTimeout is how long a ping may wait for its pong. A connection that does
	// not answer in time (its network vanished without a FIN) is removed from the
	// viewer count at once and closed with StatusPolicyViolation "ping timeout".
	// Default 10 s.
	PingTimeout time.Duration
	// ViewersInterval is how often a changed viewer count is broadcast (joins and
	// leaves are coalesced). Default 500 ms.
	ViewersInterval time.Duration
	// AllowedOrigins are extra Origin host patterns accepted on the upgrade
	// (websocket.AcceptOptions.OriginPatterns); the request's own host is always
	// accepted, and so are clients that send no Origin (non-browsers).
	AllowedOrigins []string
	// ClientIP returns the address bans by IP apply to. Default: the host of
	// r.RemoteAddr. Set it (e.g. to read X-Forwarded-For) only behind a trusted
	// reverse proxy or tunnel, where every viewer would otherwise share one address.
	ClientIP func(r *http.Request) string
	// Clock gives the time for rate limits and timestamps. Default time.Now.
	Clock func() time.Time
	// Logger receives the hub's logs. Default slog.Default().
	Logger *slog.Logger

	log      *slog.Logger
	ctx      context.Context
	cancel   context.CancelFunc
	inbox    chan func()
	secret   []byte
	idPrefix string

	mu      sync.Mutex // guards running and wg.Add against Close
	running bool
	wg      sync.WaitGroup

	stats hubCounters

	// owned by the run goroutine
	clients      map[*clientConn]struct{}
	history      []Message
	bannedIDs    map[string]struct{}
	bannedIPs    map[string]struct{}
	seenIPs      map[string]map[string]struct{}
	subs         map[*subscriber]struct{}
	seq          uint64
	viewers      int // joined connections that are not moderators
	viewersDirty bool
}

// HubStats is a snapshot of the Hub's counters.
type HubStats struct {
	// Viewers is the number of connections that said hello and are still
	// connected, moderators (the app, the creator's pages) not counted.
	Viewers int
	// Moderators is the number of connected moderator connections that said hello.
	Moderators int
	// Connections counts accepted WebSocket connections since Initialize.
	Connections uint64
	// Messages counts chat messages relayed (including Post).
	Messages uint64
	// Reactions counts reactions relayed.
	Reactions uint64
	// Deleted counts messages deleted by moderators or purged by bans.
	Deleted uint64
	// RateLimited counts frames dropped by the token buckets.
	RateLimited uint64
	// Flooders counts connections closed for flooding after warnings.
	Flooders uint64
	// DroppedSlow counts connections dropped because their send queue was full.
	DroppedSlow uint64
	// Bans counts ban actions.
	Bans uint64
	// BannedRejected counts hellos refused because the user id or address was banned.
	BannedRejected uint64
	// BadRequests counts frames answered with bad_request, forbidden or too_long.
	BadRequests uint64
	// TooBig counts connections closed for a frame larger than MaxMessageBytes.
	TooBig uint64
	// SubscriberDrops counts events dropped because a Subscribe channel was full.
	SubscriberDrops uint64
	// PingTimeouts counts connections closed because a ping got no pong in time.
	PingTimeouts uint64
	// HelloTimeouts counts connections closed for sending no valid hello in time.
	HelloTimeouts uint64
}

// hubCounters are the atomically updated counters behind HubStats.
type hubCounters struct {
	viewers, moderators, connections, messages, reactions, deleted, rateLimited, flooders,
	droppedSlow, bans, bannedRejected, badRequests, tooBig, subscriberDrops, pingTimeouts,
	helloTimeouts atomic.Uint64
}

// subscriber is one in-process Subscribe channel.
type subscriber struct {
	ch chan ServerMessage
}

// Initialize applies defaults and starts the hub's goroutine.
func (h *Hub) Initialize() error {
	if h.HistorySize <= 0 {
		h.HistorySize = defaultHistorySize
	}
	if h.MaxTextLen <= 0 {
		h.MaxTextLen = defaultMaxTextLen
	}
	if h.Rate <= 0 {
		h.Rate = defaultRate
	}
	if h.Burst <= 0 {
		h.Burst = defaultBurst
	}
	if h.ReactionRate <= 0 {
		h.ReactionRate = defaultReactionRate
	}
	if h.ReactionBurst <= 0 {
		h.ReactionBurst = defaultReactionBurst
	}
	if h.FloodLimit <= 0 {
		h.FloodLimit = defaultFloodLimit
	}
	if h.MaxMessageBytes <= 0 {
		h.MaxMessageBytes = defaultMaxMessageBytes
	}
	if h.SendQueue <= 0 {
		h.SendQueue = defaultSendQueue
	}
	if h.WriteTimeout <= 0 {
		h.WriteTimeout = defaultWriteTimeout
	}
	if h.HelloTimeout <= 0 {
		h.HelloTimeout = defaultHelloTimeout
	}
	if h.PingInterval <= 0 {
		h.PingInterval = defaultPingInterval
	}
	if h.PingTimeout <= 0 {
		h.PingTimeout = defaultPingTimeout
	}
	if h.ViewersInterval <= 0 {
		h.ViewersInterval = defaultViewersInterval
	}
	if h.Clock == nil {
		h.Clock = time.Now
	}
	h.log = h.Logger
	if h.log == nil {
		h.log = slog.Default().With("stage", "chat")
	}

	h.secret = make([]byte, 32)
	if _, err := rand.Read(h.secret); err != nil {
		return fmt.Errorf("chat initialize: %w", err)
	}
	prefix := make([]byte, 3)
	if _, err := rand.Read(prefix); err != nil {
		return fmt.Errorf("chat initialize: %w", err)
	}
	h.idPrefix = hex.EncodeToString(prefix) + "-"

	h.clients = make(map[*clientConn]struct{})
	h.bannedIDs = make(map[string]struct{})
	h.bannedIPs = make(map[string]struct{})
	h.seenIPs = make(map[string]map[string]struct{})
	h.subs = make(map[*subscriber]struct{})
	h.inbox = make(chan func()) // unbuffered: a func handed over always runs
	h.ctx, h.cancel = context.WithCancel(context.Background())

	h.mu.Lock()
	h.running = true
	h.wg.Add(1)
	h.mu.Unlock()
	go h.run()
	return nil
}

// Close disconnects every viewer (StatusGoingAway), stops the hub and waits for
// all its goroutines. It is idempotent.
func (h *Hub) Close() {
	h.mu.Lock()
	wasRunning := h.running
	h.running = false
	h.mu.Unlock()
	if !wasRunning {
		return
	}
	h.cancel()
	h.wg.Wait()
}

// Stats returns a snapshot of the hub's counters; safe from any goroutine.
func (h *Hub) Stats() HubStats {
	s := &h.stats
	return HubStats{
		Viewers:         int(s.viewers.Load()),
		Moderators:      int(s.moderators.Load()),
		Connections:     s.connections.Load(),
		Messages:        s.messages.Load(),
		Reactions:       s.reactions.Load(),
		Deleted:         s.deleted.Load(),
		RateLimited:     s.rateLimited.Load(),
		Flooders:        s.flooders.Load(),
		DroppedSlow:     s.droppedSlow.Load(),
		Bans:            s.bans.Load(),
		BannedRejected:  s.bannedRejected.Load(),
		BadRequests:     s.badRequests.Load(),
		TooBig:          s.tooBig.Load(),
		SubscriberDrops: s.subscriberDrops.Load(),
		PingTimeouts:    s.pingTimeouts.Load(),
		HelloTimeouts:   s.helloTimeouts.Load(),
	}
}

// Post relays a message from the app (the creator) to every viewer, as user
// {"id":"creator","name":name,"mod":true}. The text is cleaned and limited like a
// viewer's; errors wrap ErrBadRequest, ErrTooLong or ErrClosed.
func (h *Hub) Post(name, text string) error {
	n, err := cleanName(name)
	if err != nil {
		return fmt.Errorf("chat post: %w", err)
	}
	data, err := EncodeClientMessage(ClientMessage{Type: TypeMessage, Text: text})
	if err != nil {
		return fmt.Errorf("chat post: %w", err)
	}
	m, err := DecodeClientMessage(data, h.MaxTextLen)
	if err != nil {
		return fmt.Errorf("chat post: %w", err)
	}
	return h.do(h.ctx, func() {
		h.relayMessage(User{ID: CreatorID, Name: n, Mod: true}, m.Text)
	})
}

// Delete removes message id from history and from every viewer's page, as a
// moderator's delete would. Errors wrap ErrBadRequest (no such message) or ErrClosed.
func (h *Hub) Delete(id string) error {
	found := make(chan bool, 1)
	if err := h.do(h.ctx, func() { found <- h.deleteMessage(id) }); err != nil {
		return fmt.Errorf("chat delete: %w", err)
	}
	if !<-found {
		return fmt.Errorf("chat delete: no message %q in history: %w", id, ErrBadRequest)
	}
	return nil
}

// Ban bans public user id (and the addresses it connected from) for the hub's
// lifetime, as a moderator's ban would. Errors wrap ErrBadRequest or ErrClosed.
func (h *Hub) Ban(user string) error {
	if !validRef(user) {
		return fmt.Errorf("chat ban: invalid user id: %w", ErrBadRequest)
	}
	if err := h.do(h.ctx, func() { h.ban(user) }); err != nil {
		return fmt.Errorf("chat ban: %w", err)
	}
	return nil
}

// Subscribe returns a channel that receives, first, a welcome frame carrying the
// current history and (if buf > 1) a viewers frame, then every frame the hub broadcasts (message, reaction,
// deleted, viewers). Frames that do not fit in buf (default 64) are dropped for
// this subscriber and counted, so a slow subscriber never blocks the hub. Call
// cancel to release it; the channel is closed after cancel or when the hub closes.
func (h *Hub) Subscribe(buf int) (events <-chan ServerMessage, cancel func(), err error) {
	if buf <= 0 {
		buf = defaultSendQueue
	}
	s := &subscriber{ch: make(chan ServerMessage, buf)}
	if err := h.do(h.ctx, func() {
		h.subs[s] = struct{}{}
		s.ch <- ServerMessage{Type: TypeWelcome, User: &User{}, History: h.historyCopy()}
		if buf > 1 {
			s.ch <- ServerMessage{Type: TypeViewers, Count: h.viewers}
		}
	}); err != nil {
		return nil, nil, fmt.Errorf("chat subscribe: %w", err)
	}
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			_ = h.do(h.ctx, func() {
				if _, ok := h.subs[s]; ok {
					delete(h.subs, s)
					close(s.ch)
				}
			})
		})
	}, nil
}

// do runs f on the hub's goroutine; it fails with ErrClosed if the hub stops first.
func (h *Hub) do(ctx context.Context, f func()) error {
	if h.ctx == nil {
		return ErrClosed
	}
	select {
	case h.inbox <- f:
		return nil
	case <-ctx.Done():
		return ErrClosed
	case <-h.ctx.Done():
		return ErrClosed
	}
}

// run is the hub's goroutine: it owns every map and the history.
func (h *Hub) run() {
	defer h.wg.Done()
	ticker := time.NewTicker(h.ViewersInterval)
	defer ticker.Stop()
	for {
		select {
		case f := <-h.inbox:
			f()
		case <-ticker.C:
			if h.viewersDirty {
				h.viewersDirty = false
				h.broadcast(ServerMessage{Type: TypeViewers, Count: h.viewers})
			}
		case <-h.ctx.Done():
			for s := range h.subs {
				close(s.ch)
				delete(h.subs, s)
			}
			return
		}
	}
}

// track registers a connection with the wait group unless the hub is stopped.
func (h *Hub) track() bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.running {
		return false
	}
	h.wg.Add(1)
	return true
}

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

// handle applies one valid client frame; it runs on the hub's goroutine.
func (h *Hub) handle(c *clientConn, m ClientMessage) {
	if m.Type == TypeHello {
		h.hello(c, m)
		return
	}
	if !c.joined {
		h.reply(c, fmt.Errorf("send hello first: %w", ErrBadRequest))
		return
	}
	switch m.Type {
	case TypeMessage:
		if c.user.Name == "" {
			h.reply(c, fmt.Errorf("pick a name (hello with a name) before chatting: %w", ErrBadRequest))
			return
		}
		h.relayMessage(c.user, m.Text)
	case TypeReaction:
		if h.refused(c, true) {
			h.kick(c, fmt.Errorf("you are banned from this chat: %w", ErrBanned), "banned")
			return
		}
		h.stats.reactions.Add(1)
		u := c.user
		h.broadcast(ServerMessage{Type: TypeReaction, Emoji: m.Emoji, User: &u})
	case TypeDelete:
		if !c.moderator {
			h.reply(c, fmt.Errorf("only moderators may delete: %w", ErrForbidden))
			return
		}
		if !h.deleteMessage(m.Ref) {
			h.reply(c, fmt.Errorf("no message %q in history: %w", m.Ref, ErrBadRequest))
		}
	case TypeBan:
		if !c.moderator {
			h.reply(c, fmt.Errorf("only moderators may ban: %w", ErrForbidden))
			return
		}
		h.ban(m.User)
	}
}

// hello joins c (first hello) or renames it (later hellos) and sends welcome.
func (h *Hub) hello(c *clientConn, m ClientMessage) {
	id := ""
	if m.ClientID != "" {
		id = h.publicID(m.ClientID)
	}
	if !c.joined {
		if id == "" {
			id = randomID()
		}
		c.user = User{ID: id, Mod: c.moderator}
		if h.refused(c, m.HasName) {
			h.stats.bannedRejected.Add(1)
			h.kick(c, fmt.Errorf("you are banned from this chat: %w", ErrBanned), "banned")
			return
		}
		c.joined = true
		h.addClient(c)
		h.remember(id, c.ip)
	} else if id != "" && id != c.user.ID {
		h.reply(c, fmt.Errorf("id cannot change on a connection: %w", ErrBadRequest))
		return
	} else if m.HasName && h.refused(c, true) {
		h.stats.bannedRejected.Add(1)
		h.kick(c, fmt.Errorf("you are banned from this chat: %w", ErrBanned), "banned")
		return
	}
	if m.HasName {
		c.user.Name = m.Name
	}
	u := c.user
	h.sendTo(c, ServerMessage{Type: TypeWelcome, User: &u, History: h.historyCopy(), Moderator: c.moderator})
	h.sendTo(c, ServerMessage{Type: TypeViewers, Count: h.viewers})
}

// leave forgets c; it runs on the hub's goroutine.
func (h *Hub) leave(c *clientConn) {
	h.removeClient(c)
}

// addClient registers a joined connection; moderators are not counted as viewers.
func (h *Hub) addClient(c *clientConn) {
	h.clients[c] = struct{}{}
	if c.moderator {
		h.stats.moderators.Add(1)
	} else {
		h.viewers++
		h.stats.viewers.Store(uint64(h.viewers))
		h.viewersDirty = true
	}
}

// removeClient forgets a connection; it reports whether it was registered.
func (h *Hub) removeClient(c *clientConn) bool {
	if _, ok := h.clients[c]; !ok {
		return false
	}
	delete(h.clients, c)
	if c.moderator {
		h.stats.moderators.Add(^uint64(0))
	} else {
		h.viewers--
		h.stats.viewers.Store(uint64(h.viewers))
		h.viewersDirty = true
	}
	return true
}

// relayMessage stores and broadcasts a new message from u.
func (h *Hub) relayMessage(u User, text string) {
	h.seq++
	msg := Message{ID: h.idPrefix + strconv.FormatUint(h.seq, 10), User: u, Text: text, TS: h.Clock().UnixMilli()}
	h.history = append(h.history, msg)
	if over := len(h.history) - h.HistorySize; over > 0 {
		h.history = append(h.history[:0:0], h.history[over:]...)
	}
	h.stats.messages.Add(1)
	h.broadcast(messageFrame(msg))
}

// deleteMessage removes message id from history and tells everyone.
func (h *Hub) deleteMessage(id string) bool {
	for i, msg := range h.history {
		if msg.ID == id {
			h.history = append(h.history[:i:i], h.history[i+1:]...)
			h.stats.deleted.Add(1)
			h.broadcast(ServerMessage{Type: TypeDeleted, ID: id})
			return true
		}
	}
	return false
}

// ban bans user id and every address it connected from, disconnects its
// connections (moderators excepted) and removes its messages from history.
func (h *Hub) ban(id string) {
	h.stats.bans.Add(1)
	h.bannedIDs[id] = struct{}{}
	for ip := range h.seenIPs[id] {
		h.bannedIPs[ip] = struct{}{}
	}
	h.log.Info("banned user", "user", id, "addresses", len(h.seenIPs[id]))
	for c := range h.clients {
		if h.refused(c, c.user.Name != "") {
			h.kick(c, fmt.Errorf("you were banned by a moderator: %w", ErrBanned), "banned")
		}
	}
	var purge []string
	for _, msg := range h.history {
		if msg.User.ID == id {
			purge = append(purge, msg.ID)
		}
	}
	for _, mid := range purge {
		h.deleteMessage(mid)
	}
}

// refused reports whether c may not take part: a banned user id is refused
// outright; a banned address is refused when the connection chats (has or asks
// for a name, or reacts), so a read-only page on that address, such as an OBS
// overlay on the creator's machine, keeps showing the chat. Moderators are exempt.
func (h *Hub) refused(c *clientConn, chatting bool) bool {
	if c.moderator {
		return false
	}
	if _, byID := h.bannedIDs[c.user.ID]; byID {
		return true
	}
	_, byIP := h.bannedIPs[c.ip]
	return byIP && chatting
}

// remember records that public id connected from ip (bounded).
func (h *Hub) remember(id, ip string) {
	ips, ok := h.seenIPs[id]
	if !ok {
		if len(h.seenIPs) >= maxSeenUsers {
			return
		}
		ips = make(map[string]struct{}, 1)
		h.seenIPs[id] = ips
	}
	ips[ip] = struct{}{}
}

// kick removes c from the hub, tells it why and closes it with StatusPolicyViolation.
func (h *Hub) kick(c *clientConn, why error, reason string) {
	h.removeClient(c)
	data, err := EncodeServerMessage(errorFrame(why))
	if err != nil || !c.enqueue(outFrame{data: data}) ||
		!c.enqueue(outFrame{closeCode: websocket.StatusPolicyViolation, closeReason: reason}) {
		c.cancel()
	}
}

// disconnect removes c from the hub and closes it with StatusPolicyViolation and
// reason, after the frames already queued for it; at once if its queue is full.
func (h *Hub) disconnect(c *clientConn, reason string) {
	h.removeClient(c)
	if !c.enqueue(outFrame{closeCode: websocket.StatusPolicyViolation, closeReason: reason}) {
		c.cancel()
	}
}

// sendTo queues one frame for c, dropping c if its queue is full.
func (h *Hub) sendTo(c *clientConn, m ServerMessage) {
	data, err := EncodeServerMessage(m)
	if err != nil {
		h.log.Error("encode frame", "type", m.Type, "error", err)
		return
	}
	if !c.enqueue(outFrame{data: data}) {
		h.dropSlow(c)
	}
}

// broadcast encodes m once and queues it for every joined connection and
// subscriber; connections whose queue is full are dropped.
func (h *Hub) broadcast(m ServerMessage) {
	data, err := EncodeServerMessage(m)
	if err != nil {
		h.log.Error("encode frame", "type", m.Type, "error", err)
		return
	}
	f := outFrame{data: data}
	for c := range h.clients {
		if !c.enqueue(f) {
			h.dropSlow(c)
		}
	}
	for s := range h.subs {
		select {
		case s.ch <- m:
		default:
			h.stats.subscriberDrops.Add(1)
		}
	}
}

// dropSlow disconnects a connection whose send queue is full.
func (h *Hub) dropSlow(c *clientConn) {
	h.removeClient(c)
	h.stats.droppedSlow.Add(1)
	h.log.Info("dropped slow client", "remote", c.ip, "queue", h.SendQueue)
	c.cancel()
}

// historyCopy returns a copy of the history, oldest first.
func (h *Hub) historyCopy() []Message {
	return append([]Message(nil), h.history...)
}

// remoteHost returns the host part of r.RemoteAddr.
func remoteHost(r *http.Request) string {
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

// publicID derives the public user id from a browser-kept id.
func (h *Hub) publicID(clientID string) string {
	mac := hmac.New(sha256.New, h.secret)
	mac.Write([]byte(clientID))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}

// randomID returns a fresh public id for a connection without a browser-kept id.
func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
