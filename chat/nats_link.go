package chat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Defaults of the NATSLink's fields.
const (
	defaultNATSRoom         = "golive"
	defaultReconnectWait    = time.Second
	defaultPresenceInterval = time.Second
	defaultSyncTimeout      = 2 * time.Second
	defaultSnapshotInterval = 2 * time.Second
	defaultReplayBuffer     = 4096
	natsRequestTimeout      = 2 * time.Second
	maxReplayBatch          = 256
	maxReplayBytes          = 512 << 10
)

// Errors of a NATSLink.
var (
	// ErrNATSConfig is returned by NATSLink.Initialize for a URL, room or
	// credentials file it cannot use; the link is not running.
	ErrNATSConfig = errors.New("chat: bad NATS configuration")
	// ErrNATSUnavailable is returned by NATSLink.WaitConnected when the server
	// has not been reached yet; the link keeps trying in the background.
	ErrNATSUnavailable = errors.New("chat: NATS server not reachable")
)

// roomName is what a NATS room may be called (it becomes a subject token and
// part of a JetStream stream name).
var roomName = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// NATSLink joins a Hub's room to the same room on every instance connected to
// the same NATS server: each event (message, reaction, delete, ban, timeout,
// slow mode, blocked words, moderator tokens) is published once and applied once
// by every instance; presence every PresenceInterval sums the viewers and tells
// who missed what; an instance asks the origin of events it missed for them
// again (after a NATS outage, say), so nothing said meanwhile is lost or
// doubled. A joining instance takes the room's state from JetStream when the
// server has it (the room's latest snapshot, kept there by the instance with
// the lowest id), or else from a peer instance. nats.go reconnects by itself;
// while NATS is away each instance goes on serving its own viewers.
//
// Anyone who may publish on the room's subjects (golive.chat.ROOM.>) can act as
// an instance: give instances NATS credentials of their own.
type NATSLink struct {
	// URL is the NATS server: nats://[USER:PASSWORD@]HOST:PORT, or several
	// separated by commas for a cluster (tls:// for TLS). Required.
	URL string
	// CredsFile is a NATS credentials file (JWT and NKey seed), if the server wants one.
	CredsFile string
	// Room names the room; instances with the same Room share one. Default "golive".
	Room string
	// ReconnectWait is the pause between reconnect attempts. Default 1 s.
	ReconnectWait time.Duration
	// PresenceInterval is how often an instance tells the room its viewers and
	// latest event; an instance silent for three intervals is forgotten. Default 1 s.
	PresenceInterval time.Duration
	// SyncTimeout is how long a joining instance waits for the room's state from
	// a peer. Default 2 s.
	SyncTimeout time.Duration
	// SnapshotInterval is how often, while the room changes, its state is stored
	// in JetStream (when the server has it). Default 2 s.
	SnapshotInterval time.Duration
	// ReplayBuffer is how many of its own latest events an instance keeps for
	// instances that missed them. Default 4096.
	ReplayBuffer int
	// Logger receives the link's logs. Default slog.Default().
	Logger *slog.Logger

	log      *slog.Logger
	nc       *nats.Conn
	prefix   string // golive.chat.ROOM.
	stream   string // the JetStream stream of the room's snapshot
	redacted string
	ctx      context.Context
	cancel   context.CancelFunc
	wg       sync.WaitGroup
	wake     chan struct{} // (re)connected or a hub attached: probe JetStream, sync
	up       chan struct{} // closed once connected for the first time
	upOnce   sync.Once
	ring     *eventRing
	fetching atomic.Bool // a state fetch for a merge is in flight

	mu       sync.Mutex // guards the fields below
	closed   bool
	hub      *Hub
	hubCtx   context.Context // ends when the hub detaches
	hubStop  context.CancelFunc
	subs     []*nats.Subscription
	js       jetstream.JetStream // nil when the server has no JetStream
	inflight sync.WaitGroup      // callbacks and requests that use the hub

	published, received, dropped, publishErrors, reconnects atomic.Uint64
}

// NATSStats is the state of a hub's NATS link, for /api/status and /metrics.
type NATSStats struct {
	// State is off (no link), connecting, connected, reconnecting or closed.
	State string `json:"state"`
	// URL is the server (credentials redacted).
	URL string `json:"url,omitempty"`
	// Room is the room's name.
	Room string `json:"room,omitempty"`
	// JetStream tells whether the server has JetStream (room state kept there).
	JetStream bool `json:"jetstream"`
	// Synced tells whether this instance has the room's state (taken from
	// JetStream or a peer, or founded here when there was none).
	Synced bool `json:"synced"`
	// Peers counts the other instances heard from.
	Peers int `json:"peers"`
	// Reconnects counts reconnections after the link was lost.
	Reconnects uint64 `json:"reconnects"`
	// Published counts events this instance published.
	Published uint64 `json:"published"`
	// Received counts events that arrived from other instances.
	Received uint64 `json:"received"`
	// Dropped counts malformed or oversized input from NATS, dropped.
	Dropped uint64 `json:"dropped"`
	// Duplicates counts events that arrived again and were not applied again.
	Duplicates uint64 `json:"duplicates"`
	// Replayed counts events fetched again from their origin after being missed.
	Replayed uint64 `json:"replayed"`
	// Lost counts events missed and no longer available from their origin.
	Lost uint64 `json:"lost"`
	// PublishErrors counts events NATS refused to take (they remain available for replay).
	PublishErrors uint64 `json:"publish_errors"`
}

// Initialize checks the configuration and starts connecting; it does not wait
// for the server (see WaitConnected): an unreachable server is retried in the
// background for as long as the link lives. Errors wrap ErrNATSConfig.
func (l *NATSLink) Initialize() error {
	if l.Room == "" {
		l.Room = defaultNATSRoom
	}
	if l.ReconnectWait <= 0 {
		l.ReconnectWait = defaultReconnectWait
	}
	if l.PresenceInterval <= 0 {
		l.PresenceInterval = defaultPresenceInterval
	}
	if l.SyncTimeout <= 0 {
		l.SyncTimeout = defaultSyncTimeout
	}
	if l.SnapshotInterval <= 0 {
		l.SnapshotInterval = defaultSnapshotInterval
	}
	if l.ReplayBuffer <= 0 {
		l.ReplayBuffer = defaultReplayBuffer
	}
	l.log = l.Logger
	if l.log == nil {
		l.log = slog.Default().With("stage", "chat-nats")
	}
	if !roomName.MatchString(l.Room) {
		return fmt.Errorf("chat nats: room %q must be 1-64 of A-Z a-z 0-9 _ -: %w", l.Room, ErrNATSConfig)
	}
	redacted, err := checkNATSURL(l.URL)
	if err != nil {
		return fmt.Errorf("chat nats: %w", err)
	}
	l.redacted = redacted
	opts := []nats.Option{
		nats.Name("golive chat"),
		nats.RetryOnFailedConnect(true),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(l.ReconnectWait),
		nats.ReconnectJitter(l.ReconnectWait/5, l.ReconnectWait/5),
		nats.Timeout(2 * time.Second),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(2),
		nats.ConnectHandler(func(nc *nats.Conn) { l.connected(nc, "connected") }),
		nats.ReconnectHandler(func(nc *nats.Conn) { l.reconnects.Add(1); l.connected(nc, "reconnected") }),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				l.log.Warn("NATS link lost; chat goes on here and catches up when it returns", "url", l.redacted, "error", err)
			}
		}),
		nats.ClosedHandler(func(nc *nats.Conn) {
			l.mu.Lock()
			closing := l.closed
			l.mu.Unlock()
			if err := nc.LastError(); err != nil && !closing {
				l.log.Error("NATS link closed", "url", l.redacted, "error", err)
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			l.log.Warn("NATS", "error", err)
		}),
	}
	if l.CredsFile != "" {
		if _, err := os.Stat(l.CredsFile); err != nil {
			return fmt.Errorf("chat nats: credentials: %v: %w", err, ErrNATSConfig)
		}
		opts = append(opts, nats.UserCredentials(l.CredsFile))
	}
	l.prefix = "golive.chat." + l.Room + "."
	l.stream = "GOLIVE_CHAT_" + l.Room
	l.ring = newEventRing(l.ReplayBuffer)
	l.wake = make(chan struct{}, 1)
	l.up = make(chan struct{})
	l.ctx, l.cancel = context.WithCancel(context.Background())
	nc, err := nats.Connect(l.URL, opts...)
	if err != nil {
		l.cancel()
		return fmt.Errorf("chat nats: %s: %v: %w", l.redacted, err, ErrNATSConfig)
	}
	l.nc = nc
	l.wg.Add(1)
	go l.run()
	return nil
}

// checkNATSURL checks every server of a NATS URL and returns it with passwords
// and tokens redacted.
func checkNATSURL(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", fmt.Errorf("no URL: %w", ErrNATSConfig)
	}
	var out []string
	for _, part := range strings.Split(raw, ",") {
		u, err := url.Parse(strings.TrimSpace(part))
		if err != nil {
			return "", fmt.Errorf("URL %q: %v: %w", part, err, ErrNATSConfig)
		}
		switch u.Scheme {
		case "nats", "tls", "ws", "wss":
		default:
			return "", fmt.Errorf("URL %q: scheme must be nats://, tls://, ws:// or wss://: %w", u.Redacted(), ErrNATSConfig)
		}
		if u.Hostname() == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return "", fmt.Errorf("URL %q: want SCHEME://[USER:PASSWORD@]HOST:PORT: %w", u.Redacted(), ErrNATSConfig)
		}
		if u.User != nil {
			if _, hasPass := u.User.Password(); !hasPass {
				u.User = url.User("xxxxx") // a token
			}
		}
		out = append(out, u.Redacted())
	}
	return strings.Join(out, ","), nil
}

// WaitConnected waits until the link has reached the server once, or ctx ends;
// then it returns an error wrapping ErrNATSUnavailable with the last connection
// error, and the link keeps trying.
func (l *NATSLink) WaitConnected(ctx context.Context) error {
	select {
	case <-l.up:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %s: %w", l.redacted, l.whyDown(), ErrNATSUnavailable)
	}
}

// whyDown tells why the server has not been reached: nats.go's last error, or
// what dialling the first server gives (nats.go keeps "connection refused" to itself).
func (l *NATSLink) whyDown() string {
	if err := l.nc.LastError(); err != nil {
		return err.Error()
	}
	u, err := url.Parse(strings.TrimSpace(strings.Split(l.URL, ",")[0]))
	if err != nil {
		return "no answer"
	}
	port := u.Port()
	if port == "" {
		port = "4222"
	}
	c, err := net.DialTimeout("tcp", net.JoinHostPort(u.Hostname(), port), time.Second)
	if err != nil {
		return err.Error()
	}
	_ = c.Close()
	return "no answer to the NATS handshake"
}

// Close stops the link and closes its NATS connection; idempotent. Close the hub
// using the link first.
func (l *NATSLink) Close() {
	l.mu.Lock()
	if l.closed || l.cancel == nil {
		l.mu.Unlock()
		return
	}
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	if l.nc.IsConnected() {
		_ = l.nc.FlushTimeout(time.Second)
	}
	l.nc.Close()
}

// Stats returns the link's state and counters (peers and the catch-up counters
// come from the hub's Stats).
func (l *NATSLink) Stats() NATSStats {
	st := NATSStats{State: "off"}
	if l == nil || l.nc == nil {
		return st
	}
	st.URL, st.Room = l.redacted, l.Room
	switch l.nc.Status() {
	case nats.CONNECTED, nats.DRAINING_SUBS, nats.DRAINING_PUBS:
		st.State = "connected"
	case nats.RECONNECTING:
		st.State = "reconnecting"
		select {
		case <-l.up:
		default:
			st.State = "connecting"
		}
	case nats.CONNECTING:
		st.State = "connecting"
	default:
		st.State = "closed"
	}
	l.mu.Lock()
	st.JetStream = l.js != nil
	l.mu.Unlock()
	st.Reconnects = l.reconnects.Load()
	st.Published = l.published.Load()
	st.Received = l.received.Load()
	st.Dropped = l.dropped.Load()
	st.PublishErrors = l.publishErrors.Load()
	return st
}

// connected runs when the link reaches the server (first time or again).
func (l *NATSLink) connected(nc *nats.Conn, how string) {
	l.log.Info("NATS link "+how, "url", nc.ConnectedUrlRedacted(), "room", l.Room)
	l.upOnce.Do(func() { close(l.up) })
	l.poke()
}

// poke wakes the run goroutine to (re)probe JetStream and sync an attached hub.
func (l *NATSLink) poke() {
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// attach joins h's room: it subscribes to the room's subjects and starts the
// sync of h's state. A link serves one hub.
func (l *NATSLink) attach(h *Hub) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.nc == nil || l.closed {
		return fmt.Errorf("chat nats: link not initialized or closed: %w", ErrNATSConfig)
	}
	if l.hub != nil {
		return fmt.Errorf("chat nats: link already serves a hub: %w", ErrNATSConfig)
	}
	l.hub = h
	l.hubCtx, l.hubStop = context.WithCancel(h.ctx)
	subs := []struct {
		subject string
		handle  func(*Hub, *nats.Msg)
	}{
		{l.prefix + "events", l.onEvent},
		{l.prefix + "presence", l.onPresence},
		{l.prefix + "replay." + h.origin, l.onReplayRequest},
		{l.prefix + "state", l.onStateRequest},
	}
	for _, s := range subs {
		handle := s.handle
		sub, err := l.nc.Subscribe(s.subject, func(m *nats.Msg) { l.withHub(func(h *Hub) { handle(h, m) }) })
		if err != nil {
			l.unsubscribeLocked()
			l.hub = nil
			l.hubStop()
			return fmt.Errorf("chat nats: subscribe %s: %w", s.subject, err)
		}
		l.subs = append(l.subs, sub)
	}
	l.poke()
	return nil
}

// detach leaves h's room, telling the others so: no callback reaches h once it
// returns.
func (l *NATSLink) detach(h *Hub) {
	if p, err := l.byePresence(h); err == nil && l.nc.IsConnected() {
		_ = l.nc.Publish(l.prefix+"presence", p)
		_ = l.nc.FlushTimeout(time.Second)
	}
	l.mu.Lock()
	if l.hub != h {
		l.mu.Unlock()
		return
	}
	l.hub = nil
	l.unsubscribeLocked()
	l.hubStop()
	l.mu.Unlock()
	l.inflight.Wait()
}

func (l *NATSLink) unsubscribeLocked() {
	for _, s := range l.subs {
		_ = s.Unsubscribe()
	}
	l.subs = nil
}

// withHub runs f with the attached hub, if any, counted so that detach waits for it.
func (l *NATSLink) withHub(f func(h *Hub)) {
	if h := l.holdHub(); h != nil {
		defer l.inflight.Done()
		f(h)
	}
}

// async runs f with the attached hub on a goroutine of its own.
func (l *NATSLink) async(f func(h *Hub)) {
	if h := l.holdHub(); h != nil {
		go func() {
			defer l.inflight.Done()
			f(h)
		}()
	}
}

// holdHub returns the attached hub, counted in inflight (the caller calls
// Done), or nil.
func (l *NATSLink) holdHub() *Hub {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.hub != nil {
		l.inflight.Add(1)
	}
	return l.hub
}

// hubDo runs f on h's goroutine and waits for it, unless h detaches first.
func (l *NATSLink) hubDo(h *Hub, f func()) error {
	l.mu.Lock()
	ctx := l.hubCtx
	l.mu.Unlock()
	return h.call(ctx, f)
}

// run is the link's goroutine: presence and snapshots every PresenceInterval,
// JetStream probing and the hub's sync after every (re)connection.
func (l *NATSLink) run() {
	defer l.wg.Done()
	ticker := time.NewTicker(l.PresenceInterval)
	defer ticker.Stop()
	var lastSnapshot time.Time
	var snapshotVersion uint64
	for {
		select {
		case <-l.ctx.Done():
			return
		case <-l.wake:
			if !l.nc.IsConnected() {
				continue
			}
			l.probeJetStream()
			l.withHub(l.sync)
		case <-ticker.C:
			if !l.nc.IsConnected() {
				continue
			}
			l.withHub(func(h *Hub) {
				l.sendPresence(h)
				if time.Since(lastSnapshot) >= l.SnapshotInterval {
					if v, ok := l.storeSnapshot(h, snapshotVersion); ok {
						snapshotVersion, lastSnapshot = v, time.Now()
					}
				}
			})
		}
	}
}

// probeJetStream finds out whether the server has JetStream and, if so, makes
// sure the room's snapshot stream exists.
func (l *NATSLink) probeJetStream() {
	ctx, cancel := context.WithTimeout(l.ctx, natsRequestTimeout)
	defer cancel()
	var js jetstream.JetStream
	if j, err := jetstream.New(l.nc); err == nil {
		if _, err := j.AccountInfo(ctx); err == nil {
			_, err = j.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
				Name: l.stream, Subjects: []string{l.prefix + "snapshot"}, MaxMsgsPerSubject: 1,
				Storage: jetstream.FileStorage, Discard: jetstream.DiscardOld, MaxMsgSize: maxSnapshotBytes,
			})
			if err == nil {
				js = j
			} else {
				l.log.Warn("JetStream: cannot keep the room's state there; peers will give it", "error", err)
			}
		} else if !errors.Is(err, jetstream.ErrJetStreamNotEnabled) && !errors.Is(err, jetstream.ErrJetStreamNotEnabledForAccount) {
			l.log.Info("JetStream not available; peers give the room's state", "error", err)
		}
	}
	l.mu.Lock()
	l.js = js
	l.mu.Unlock()
}

// jetStream returns the server's JetStream, nil without.
func (l *NATSLink) jetStream() jetstream.JetStream {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.js
}

// sync gives a hub that has not synced yet the room's state: the snapshot kept
// in JetStream if the server has one, or else a peer's, or none (this instance
// founds the room).
func (l *NATSLink) sync(h *Hub) {
	synced := make(chan bool, 1)
	if l.hubDo(h, func() { synced <- h.synced }) != nil || <-synced {
		return
	}
	var snap *snapshot
	source := "JetStream"
	if js := l.jetStream(); js != nil {
		snap = l.loadSnapshot(js, h.MaxTextLen)
	}
	if snap == nil {
		source = "a peer instance"
		snap = l.askState(h, "", l.SyncTimeout)
	}
	_ = l.hubDo(h, func() {
		if snap != nil {
			h.mergeSnapshot(*snap)
			l.log.Info("chat room state taken", "from", source, "messages", len(snap.History), "instances", len(snap.Applied))
		} else {
			l.log.Info("no chat room state found: this instance starts the room")
		}
		h.synced = true
		h.stats.synced.Store(true)
		h.checkGaps(h.Clock())
	})
}

// loadSnapshot reads the room's snapshot from JetStream (nil if there is none).
func (l *NATSLink) loadSnapshot(js jetstream.JetStream, maxText int) *snapshot {
	ctx, cancel := context.WithTimeout(l.ctx, natsRequestTimeout)
	defer cancel()
	st, err := js.Stream(ctx, l.stream)
	if err != nil {
		return nil
	}
	msg, err := st.GetLastMsgForSubject(ctx, l.prefix+"snapshot")
	if err != nil {
		if !errors.Is(err, jetstream.ErrMsgNotFound) {
			l.log.Warn("JetStream: reading the room's state", "error", err)
		}
		return nil
	}
	s, err := decodeSnapshot(msg.Data, maxText)
	if err != nil {
		l.dropped.Add(1)
		l.log.Warn("JetStream: dropped the room's stored state", "error", err)
		return nil
	}
	return &s
}

// stateRequest is the body of a state request: to names the instance that
// should answer ("" any instance that has synced).
type stateRequest struct {
	To string `json:"to,omitempty"`
}

// askState asks the room (or instance to) for its state.
func (l *NATSLink) askState(h *Hub, to string, timeout time.Duration) *snapshot {
	body, _ := json.Marshal(stateRequest{To: to})
	msg, err := l.nc.Request(l.prefix+"state", body, timeout)
	if err != nil {
		return nil
	}
	s, err := decodeSnapshot(msg.Data, h.MaxTextLen)
	if err != nil {
		l.dropped.Add(1)
		l.log.Warn("dropped a room state from NATS", "error", err)
		return nil
	}
	return &s
}

// fetchState fetches the state of instance origin, which is in an older
// founding of the room, and merges it (two instances that started apart while
// NATS was away end in one room).
func (l *NATSLink) fetchState(origin string) {
	if !l.fetching.CompareAndSwap(false, true) {
		return
	}
	l.async(func(h *Hub) {
		defer l.fetching.Store(false)
		snap := l.askState(h, origin, natsRequestTimeout)
		if snap == nil {
			return
		}
		_ = l.hubDo(h, func() {
			h.mergeSnapshot(*snap)
			l.log.Info("merged the chat room of an instance that started apart", "instance", origin)
		})
	})
}

// onStateRequest answers a state request once the hub has synced.
func (l *NATSLink) onStateRequest(h *Hub, m *nats.Msg) {
	var req stateRequest
	if len(m.Data) > maxPresenceBytes || json.Unmarshal(m.Data, &req) != nil || (req.To != "" && !validOrigin(req.To)) {
		l.dropped.Add(1)
		return
	}
	if req.To != "" && req.To != h.origin {
		return
	}
	var data []byte
	_ = l.hubDo(h, func() {
		if h.synced {
			data, _ = encodeSnapshot(h.snapshot())
		}
	})
	if data != nil {
		_ = m.Respond(data)
	}
}

// storeSnapshot stores the room's state in JetStream when this instance is the
// one that does (the lowest id of the room) and the state changed since version.
func (l *NATSLink) storeSnapshot(h *Hub, version uint64) (uint64, bool) {
	js := l.jetStream()
	if js == nil {
		return version, false
	}
	var data []byte
	var now uint64
	_ = l.hubDo(h, func() {
		now = h.version
		if !h.synced || now == version || !h.leads() {
			return
		}
		data, _ = encodeSnapshot(h.snapshot())
	})
	if data == nil {
		return version, false
	}
	ctx, cancel := context.WithTimeout(l.ctx, natsRequestTimeout)
	defer cancel()
	if _, err := js.Publish(ctx, l.prefix+"snapshot", data); err != nil {
		l.log.Warn("JetStream: storing the room's state", "error", err)
		return version, false
	}
	return now, true
}

// sendPresence publishes this instance's presence.
func (l *NATSLink) sendPresence(h *Hub) {
	var p presence
	if l.hubDo(h, func() { p = h.presence() }) != nil {
		return
	}
	data, err := json.Marshal(p)
	if err == nil {
		_ = l.nc.Publish(l.prefix+"presence", data)
	}
}

// byePresence encodes h's last presence, saying it leaves.
func (l *NATSLink) byePresence(h *Hub) ([]byte, error) {
	var p presence
	if err := l.hubDo(h, func() { p = h.presence() }); err != nil {
		return nil, err
	}
	p.Bye = true
	return json.Marshal(p)
}

// onPresence hands another instance's presence to the hub.
func (l *NATSLink) onPresence(h *Hub, m *nats.Msg) {
	p, err := decodePresence(m.Data)
	if err != nil {
		l.dropped.Add(1)
		return
	}
	_ = l.hubDo(h, func() { h.receivePresence(p) })
}

// publish sends an event of this instance to the room and keeps it for replay.
// It runs on the hub's goroutine and never blocks on the network: while NATS is
// away nats.go buffers, and what it cannot buffer is replayed on request.
func (l *NATSLink) publish(ev event) {
	data, err := encodeEvent(ev)
	if err != nil {
		return
	}
	l.ring.add(ev.Seq, data)
	if err := l.nc.Publish(l.prefix+"events", data); err != nil {
		l.publishErrors.Add(1)
		return
	}
	l.published.Add(1)
}

// onEvent hands an event from the room to the hub, checked like client input.
func (l *NATSLink) onEvent(h *Hub, m *nats.Msg) {
	ev, err := decodeEvent(m.Data, h.MaxTextLen)
	if err != nil {
		l.dropped.Add(1)
		return
	}
	if ev.Origin == h.origin {
		return
	}
	l.received.Add(1)
	_ = l.hubDo(h, func() { h.receive(ev) })
}

// replayRequest asks an instance for its events from From to To.
type replayRequest struct {
	From uint64 `json:"from"`
	To   uint64 `json:"to"`
}

// replayReply carries events an instance sends again; First is its oldest
// event still kept.
type replayReply struct {
	Origin string            `json:"o"`
	First  uint64            `json:"first"`
	Events []json.RawMessage `json:"events"`
}

// requestReplay asks origin for its events from to to, and hands what comes
// back to the hub. It does not block the hub.
func (l *NATSLink) requestReplay(origin string, from, to uint64) {
	if to-from >= maxReplayBatch {
		to = from + maxReplayBatch - 1
	}
	l.async(func(h *Hub) {
		body, _ := json.Marshal(replayRequest{From: from, To: to})
		msg, err := l.nc.Request(l.prefix+"replay."+origin, body, natsRequestTimeout)
		if err != nil {
			return // asked again later, or given up
		}
		first, events, err := decodeReplay(msg.Data, origin, from, to, h.MaxTextLen)
		if err != nil {
			l.dropped.Add(1)
			l.log.Warn("dropped a replay from NATS", "instance", origin, "error", err)
			return
		}
		l.received.Add(uint64(len(events)))
		_ = l.hubDo(h, func() { h.replayed(origin, first, events) })
	})
}

// decodeReplay parses and checks a replay reply from origin for events from..to.
// Errors wrap ErrBadEvent.
func decodeReplay(data []byte, origin string, from, to uint64, maxText int) (uint64, []event, error) {
	if len(data) > maxReplayBytes+maxEventBytes+1024 {
		return 0, nil, fmt.Errorf("replay too large: %w", ErrBadEvent)
	}
	var r replayReply
	if err := json.Unmarshal(data, &r); err != nil {
		return 0, nil, fmt.Errorf("replay: invalid JSON: %w", ErrBadEvent)
	}
	if r.Origin != origin || r.First == 0 || len(r.Events) > maxReplayBatch {
		return 0, nil, fmt.Errorf("replay: invalid header: %w", ErrBadEvent)
	}
	events := make([]event, 0, len(r.Events))
	for _, raw := range r.Events {
		ev, err := decodeEvent(raw, maxText)
		if err != nil {
			return 0, nil, err
		}
		if ev.Origin != origin || ev.Seq < from || ev.Seq > to {
			return 0, nil, fmt.Errorf("replay: event %s/%d outside %d-%d: %w", ev.Origin, ev.Seq, from, to, ErrBadEvent)
		}
		events = append(events, ev)
	}
	return r.First, events, nil
}

// onReplayRequest answers a request for this instance's events.
func (l *NATSLink) onReplayRequest(h *Hub, m *nats.Msg) {
	var req replayRequest
	if len(m.Data) > maxPresenceBytes || json.Unmarshal(m.Data, &req) != nil || req.From == 0 || req.To < req.From {
		l.dropped.Add(1)
		return
	}
	first, events := l.ring.get(req.From, req.To, maxReplayBatch, maxReplayBytes)
	data, err := json.Marshal(replayReply{Origin: h.origin, First: first, Events: events})
	if err == nil {
		_ = m.Respond(data)
	}
}
