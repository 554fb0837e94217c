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
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
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
// With NATS set, the room is shared with every hub on the same NATS room.
type Hub struct {
	// ModeratorToken, if set, also grants moderator rights to connections that
	// carry it (?token= or the moderator cookie), compared in constant time. It
	// is one shared secret; moderator tokens minted with MintModerator are one
	// per moderator and revocable. Empty: only minted tokens make moderators.
	ModeratorToken string
	// TokenFile keeps the minted moderator tokens (their SHA-256 hashes, never
	// the tokens) across restarts; it is read by Initialize and rewritten on
	// every change. Empty: tokens last as long as the hub.
	TokenFile string
	// CreatorName is the app's default display name for Post; no viewer may take
	// it or a look-alike of it (see ReservedNames). Default "Creator".
	CreatorName string
	// ReservedNames are further names no viewer may take, compared folded (case,
	// accents, look-alike letters and separators do not count). The creator's
	// names (CreatorName and every name passed to Post) and the moderators'
	// (their tokens' names and the names they chat under) are always reserved.
	// Default: moderator, mod, admin, administrator, system, golive.
	ReservedNames []string
	// NATS, if set and initialized, joins this hub's room to the same room on
	// other instances (see NATSLink). The hub uses it but does not close it.
	NATS *NATSLink
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
	// WriterLinger is how long a connection's writer goroutine waits for more
	// frames once its queue is empty before it exits; a viewer of a quiet chat
	// then holds no writer, one of a busy chat keeps it. Default 2 s.
	WriterLinger time.Duration
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

	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	inbox  chan func()
	origin string                     // this instance: message ids and events start with it
	tokens atomic.Pointer[tokenTable] // moderator tokens by hash, for ServeHTTP

	mu      sync.Mutex // guards running and wg.Add against Close
	running bool
	wg      sync.WaitGroup

	stats hubCounters

	// owned by the run goroutine
	room         *room
	clients      map[*clientConn]struct{}
	seenIPs      map[string][]string  // public user id → addresses it connected from
	lastSent     map[string]time.Time // user id → last message, for slow mode
	subs         map[*subscriber]struct{}
	seq          uint64 // the last event this instance made
	viewers      int    // joined connections here that are not moderators
	moderators   int    // joined moderator connections here
	shownViewers int    // the room's count last broadcast
	peers        map[string]*peer
	tracker      *originTracker
	asked        map[string]time.Time // origin → when its missing events were last asked for
	synced       bool                 // the room's state was fetched (or this instance founded it)
	version      uint64               // counts changes to the room, for snapshots
}

// Initialize applies defaults and starts the hub's goroutine.
func (h *Hub) Initialize() error {
	h.setDefaults()

	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return fmt.Errorf("chat initialize: %w", err)
	}
	origin := make([]byte, 4)
	if _, err := rand.Read(origin); err != nil {
		return fmt.Errorf("chat initialize: %w", err)
	}
	h.origin = hex.EncodeToString(origin)
	h.room = newRoom(h.HistorySize, secret, h.Clock())
	h.room.reserve(h.CreatorName)
	for _, n := range h.ReservedNames {
		h.room.reserve(n)
	}
	if err := h.loadTokens(); err != nil {
		return fmt.Errorf("chat initialize: %w", err)
	}
	h.publishTokens()

	h.clients = make(map[*clientConn]struct{})
	h.seenIPs = make(map[string][]string)
	h.lastSent = make(map[string]time.Time)
	h.subs = make(map[*subscriber]struct{})
	h.peers = make(map[string]*peer)
	h.asked = make(map[string]time.Time)
	h.synced = h.NATS == nil
	h.tracker = newOriginTracker(h.origin)
	h.inbox = make(chan func()) // unbuffered: a func handed over always runs
	h.ctx, h.cancel = context.WithCancel(context.Background())

	h.mu.Lock()
	h.running = true
	h.wg.Add(1)
	h.mu.Unlock()
	go h.run()
	if h.NATS != nil {
		if err := h.NATS.attach(h); err != nil {
			h.Close()
			return fmt.Errorf("chat initialize: %w", err)
		}
	}
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
	if h.NATS != nil {
		h.NATS.detach(h)
	}
	h.cancel()
	h.wg.Wait()
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

// call runs f on the hub's goroutine and waits until it has run; it fails with
// ErrClosed if the hub stops before f was handed over. Never call it from the
// hub's goroutine.
func (h *Hub) call(ctx context.Context, f func()) error {
	done := make(chan struct{})
	if err := h.do(ctx, func() { defer close(done); f() }); err != nil {
		return err
	}
	<-done
	return nil
}

// run is the hub's goroutine: it owns the room and every map.
func (h *Hub) run() {
	defer h.wg.Done()
	ticker := time.NewTicker(h.ViewersInterval)
	defer ticker.Stop()
	for {
		select {
		case f := <-h.inbox:
			f()
		case <-ticker.C:
			h.tick()
		case <-h.ctx.Done():
			for s := range h.subs {
				close(s.ch)
				delete(h.subs, s)
			}
			return
		}
	}
}

// tick runs every ViewersInterval: it forgets silent peers, broadcasts a changed
// viewer count, asks for events still missing and forgets old state.
func (h *Hub) tick() {
	now := h.Clock()
	h.prunePeers(now)
	if n := h.roomViewers(); n != h.shownViewers {
		h.shownViewers = n
		h.broadcast(ServerMessage{Type: TypeViewers, Count: n})
	}
	h.checkGaps(now)
	h.room.pruneTimeouts(now)
	if slow := time.Duration(h.room.slow.Value) * time.Second; len(h.lastSent) > maxSeenUsers/10 || slow == 0 && len(h.lastSent) > 0 {
		for id, t := range h.lastSent {
			if now.Sub(t) >= slow {
				delete(h.lastSent, id)
			}
		}
	}
}

// leads reports whether this instance is the one of the room that stores its
// snapshot: the lowest id among the instances alive.
func (h *Hub) leads() bool {
	for o := range h.peers {
		if o < h.origin {
			return false
		}
	}
	return true
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
