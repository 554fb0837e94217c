package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// natsHub is one instance of a room: a Hub with a NATSLink, on its own
// httptest server, with a real clock (presence and catch-up run on it).
type natsHub struct {
	*testEnv
	link *NATSLink
}

// newNATSHub starts an instance joined to the NATS server at url.
func newNATSHub(t *testing.T, url string, configure func(h *Hub, l *NATSLink)) *natsHub {
	t.Helper()
	l := &NATSLink{URL: url, ReconnectWait: 100 * time.Millisecond, PresenceInterval: 100 * time.Millisecond,
		SyncTimeout: 500 * time.Millisecond, SnapshotInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
	h := &Hub{ModeratorToken: testToken, ViewersInterval: 20 * time.Millisecond, NATS: l,
		Logger: slog.New(slog.DiscardHandler)}
	if os.Getenv("CHAT_TEST_LOG") != "" {
		l.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
		h.Logger = l.Logger
	}
	if configure != nil {
		configure(h, l)
	}
	require.NoError(t, l.Initialize())
	require.NoError(t, h.Initialize())
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		l.Close()
		srv.Close()
	})
	return &natsHub{testEnv: &testEnv{hub: h, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}, link: l}
}

// waitSynced waits until the instance has the room's state.
func waitSynced(t *testing.T, h *natsHub) {
	t.Helper()
	require.Eventually(t, func() bool { return h.hub.Stats().NATS.Synced }, waitTimeout, 5*time.Millisecond,
		"the instance takes the room's state")
}

// waitPeers waits until every instance knows all the others.
func waitPeers(t *testing.T, hubs ...*natsHub) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, h := range hubs {
			if h.hub.Stats().NATS.Peers != len(hubs)-1 {
				return false
			}
		}
		return true
	}, waitTimeout, 10*time.Millisecond, "instances see each other")
}

// collector reads every frame a raw client receives, in the background.
type collector struct {
	mu     sync.Mutex
	frames []ServerMessage
	err    error // why the connection ended
	done   chan struct{}
}

func collect(c *rawClient) *collector {
	col := &collector{done: make(chan struct{})}
	go func() {
		defer close(col.done)
		for {
			_, data, err := c.ws.Read(context.Background())
			if err != nil {
				col.mu.Lock()
				col.err = err
				col.mu.Unlock()
				return
			}
			m, err := DecodeServerMessage(data)
			if err != nil {
				continue
			}
			col.mu.Lock()
			col.frames = append(col.frames, m)
			col.mu.Unlock()
		}
	}()
	return col
}

// closeStatus waits until the connection ends and returns its close status.
func (col *collector) closeStatus(t *testing.T) websocket.StatusCode {
	t.Helper()
	select {
	case <-col.done:
	case <-time.After(waitTimeout):
		t.Fatal("the connection did not end")
	}
	return websocket.CloseStatus(col.err)
}

// texts returns the texts of the message frames received, in order.
func (col *collector) texts() []string {
	col.mu.Lock()
	defer col.mu.Unlock()
	var out []string
	for _, m := range col.frames {
		if m.Type == TypeMessage {
			out = append(out, m.Text)
		}
	}
	return out
}

// wait waits until a received frame matches.
func (col *collector) wait(t *testing.T, what string, match func(ServerMessage) bool) ServerMessage {
	t.Helper()
	var found ServerMessage
	require.Eventually(t, func() bool {
		col.mu.Lock()
		defer col.mu.Unlock()
		for _, m := range col.frames {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	}, waitTimeout, 5*time.Millisecond, "waiting for %s", what)
	return found
}

func TestNATSOneRoomAcrossThreeInstances(t *testing.T) {
	ns := peers.StartNATS(t)
	a, b, c := newNATSHub(t, ns.URL(), nil), newNATSHub(t, ns.URL(), nil), newNATSHub(t, ns.URL(), nil)
	waitPeers(t, a, b, c)

	va, _ := a.join(t, "", `{"type":"hello","name":"ann","id":"browser-of-ann"}`)
	vb, _ := b.join(t, "", `{"type":"hello","name":"bob","id":"browser-of-bob"}`)
	vc, _ := c.join(t, "", `{"type":"hello","name":"cat","id":"browser-of-cat"}`)
	modB, _ := b.join(t, "?token="+testToken, `{"type":"hello","name":"mod"}`)
	cols := map[string]*collector{"a": collect(va), "b": collect(vb), "c": collect(vc)}
	modCol := collect(modB)

	// The viewer count is the room's: three viewers, the moderator not counted.
	for name, col := range cols {
		col.wait(t, "viewers 3 on "+name, func(m ServerMessage) bool { return m.Type == TypeViewers && m.Count == 3 })
	}
	require.Equal(t, 3, a.hub.Stats().Viewers)
	require.Equal(t, 1, a.hub.Stats().LocalViewers)

	// A message said on any instance reaches every viewer exactly once.
	va.send(`{"type":"message","text":"from a"}`)
	vb.send(`{"type":"message","text":"from b"}`)
	vc.send(`{"type":"message","text":"from c"}`)
	for name, col := range cols {
		for _, text := range []string{"from a", "from b", "from c"} {
			col.wait(t, text+" on "+name, isText(text))
		}
	}
	va.send(`{"type":"reaction","emoji":"🔥"}`)
	cols["c"].wait(t, "reaction from a on c", func(m ServerMessage) bool {
		return m.Type == TypeReaction && m.Emoji == "🔥" && m.User != nil && m.User.Name == "ann"
	})

	// A moderator on b deletes a's message everywhere.
	msgA := cols["b"].wait(t, "from a", isText("from a"))
	modB.send(`{"type":"delete","id":"` + msgA.ID + `"}`)
	for name, col := range cols {
		col.wait(t, "deleted on "+name, func(m ServerMessage) bool { return m.Type == TypeDeleted && m.ID == msgA.ID })
	}

	// Slow mode set on b holds on c; blocked words set on b hold on a.
	modB.send(`{"type":"slow","seconds":60}`)
	cols["c"].wait(t, "slow mode on c", func(m ServerMessage) bool { return m.Type == TypeSlow && m.Seconds == 60 })
	vc.send(`{"type":"message","text":"under slow mode"}`)
	cols["a"].wait(t, "the first message under slow mode", isText("under slow mode"))
	vc.send(`{"type":"message","text":"too soon"}`)
	cols["c"].wait(t, "slow_mode error", func(m ServerMessage) bool { return m.Type == TypeError && m.Code == CodeSlowMode })
	modB.send(`{"type":"slow","seconds":0}`)
	cols["c"].wait(t, "slow mode off on c", func(m ServerMessage) bool { return m.Type == TypeSlow && m.Seconds == 0 })
	modB.send(`{"type":"words","words":["darn"]}`)
	modCol.wait(t, "words to the moderator", func(m ServerMessage) bool { return m.Type == TypeWords && len(m.Words) == 1 })
	require.Eventually(t, func() bool {
		s, err := a.hub.Settings()
		return err == nil && len(s.BlockedWords) == 1
	}, waitTimeout, 5*time.Millisecond)
	va.send(`{"type":"message","text":"well DARN it"}`)
	cols["a"].wait(t, "blocked error on a", func(m ServerMessage) bool { return m.Type == TypeError && m.Code == CodeBlocked })

	// A timeout given on b mutes cat on c.
	vcUser := cols["a"].wait(t, "from c", isText("from c")).User.ID
	modB.send(`{"type":"timeout","user":"` + vcUser + `","seconds":600}`)
	cols["c"].wait(t, "timed out on c", func(m ServerMessage) bool { return m.Type == TypeError && m.Code == CodeTimedOut })
	vc.send(`{"type":"reaction","emoji":"🎉"}`)
	require.Eventually(t, func() bool { return c.hub.Stats().MutedRefused >= 1 }, waitTimeout, 5*time.Millisecond)

	// A ban given on b closes ann on a, purges her messages, and holds when she
	// comes back through another instance (the public id is the room's).
	annID := cols["b"].wait(t, "ann's reaction", func(m ServerMessage) bool { return m.Type == TypeReaction }).User.ID
	va.send(`{"type":"message","text":"ann again"}`)
	cols["b"].wait(t, "ann again", isText("ann again"))
	modB.send(`{"type":"ban","user":"` + annID + `"}`)
	require.Equal(t, websocket.StatusPolicyViolation, cols["a"].closeStatus(t))
	cols["c"].wait(t, "ann again deleted on c", func(m ServerMessage) bool { return m.Type == TypeDeleted })
	again := c.dial(t, "")
	again.send(`{"type":"hello","name":"ann","id":"browser-of-ann"}`)
	e := again.waitFor(isType(TypeError))
	require.Equal(t, CodeBanned, e.Code)

	// Every message arrived once on each instance still in the room.
	for _, name := range []string{"b", "c"} {
		texts := cols[name].texts()
		sort.Strings(texts)
		require.Equal(t, []string{"ann again", "from a", "from b", "from c", "under slow mode"}, texts, "messages on %s", name)
	}
	st := c.hub.Stats().NATS
	require.Equal(t, "connected", st.State)
	require.True(t, st.JetStream)
	require.Zero(t, st.Dropped)
	require.Zero(t, st.Lost)
}

func TestNATSOutageCatchesUpWithoutLossOrDuplicates(t *testing.T) {
	ns := peers.StartNATS(t)
	a := newNATSHub(t, ns.URL(), nil)
	waitSynced(t, a)
	b := newNATSHub(t, ns.URL(), nil)
	waitSynced(t, b)
	waitPeers(t, a, b)
	va, _ := a.join(t, "?token="+testToken, `{"type":"hello","name":"ann"}`)
	vb, _ := b.join(t, "?token="+testToken, `{"type":"hello","name":"bob"}`)
	ca, cb := collect(va), collect(vb)
	va.send(`{"type":"message","text":"before 1"}`)
	cb.wait(t, "before 1", isText("before 1"))

	ns.Stop()
	require.Eventually(t, func() bool {
		return a.hub.Stats().NATS.State != "connected" && b.hub.Stats().NATS.State != "connected"
	}, waitTimeout, 10*time.Millisecond, "both instances notice the outage")
	var want []string
	for i := 0; i < 20; i++ {
		ta, tb := fmt.Sprintf("a during %d", i), fmt.Sprintf("b during %d", i)
		va.send(`{"type":"message","text":"` + ta + `"}`)
		vb.send(`{"type":"message","text":"` + tb + `"}`)
		want = append(want, ta, tb)
	}
	// Local chat goes on during the outage.
	ca.wait(t, "a's own last message", isText("a during 19"))
	cb.wait(t, "b's own last message", isText("b during 19"))

	ns.Start()
	va.send(`{"type":"message","text":"after"}`)
	want = append(want, "before 1", "after")
	sort.Strings(want)
	for name, col := range map[string]*collector{"a": ca, "b": cb} {
		require.Eventually(t, func() bool { return len(col.texts()) >= len(want) }, waitTimeout, 10*time.Millisecond,
			"%s gets everything said during the outage: %v", name, col.texts())
		got := col.texts()
		sort.Strings(got)
		require.Equal(t, want, got, "exactly once on %s", name)
	}
	require.Zero(t, a.hub.Stats().NATS.Lost)
	require.Zero(t, b.hub.Stats().NATS.Lost)
	require.GreaterOrEqual(t, a.hub.Stats().NATS.Reconnects, uint64(1))
}

func TestNATSHistoryFromJetStream(t *testing.T) {
	ns := peers.StartNATS(t)
	a := newNATSHub(t, ns.URL(), nil)
	require.Eventually(t, func() bool { return a.hub.Stats().NATS.JetStream }, waitTimeout, 10*time.Millisecond)
	require.NoError(t, a.hub.Post("Creator", "kept in JetStream"))
	require.NoError(t, a.hub.SetSlowMode(30*time.Second))
	mod, err := a.hub.MintModerator("Alice")
	require.NoError(t, err)
	nc, err := nats.Connect(ns.URL())
	require.NoError(t, err)
	defer nc.Close()
	waitSnapshot(t, nc, "golive", func(s snapshot) bool { return len(s.History) == 1 && len(s.Mods) == 1 })
	a.hub.Close() // no peer left: the next instance has only JetStream to ask

	b := newNATSHub(t, ns.URL(), nil)
	waitSynced(t, b)
	_, w := b.join(t, "", `{"type":"hello","name":"late"}`)
	require.Len(t, w.History, 1)
	require.Equal(t, "kept in JetStream", w.History[0].Text)
	require.Equal(t, 30, w.Slow)
	ok, id := b.hub.moderatorFor(mod.Token)
	require.True(t, ok, "a token minted on another instance works here")
	require.Equal(t, mod.ID, id)
}

// waitSnapshot waits until the room's snapshot in JetStream matches.
func waitSnapshot(t *testing.T, nc *nats.Conn, room string, match func(snapshot) bool) {
	t.Helper()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		st, err := js.Stream(ctx, "GOLIVE_CHAT_"+room)
		if err != nil {
			return false
		}
		msg, err := st.GetLastMsgForSubject(ctx, "golive.chat."+room+".snapshot")
		if err != nil {
			return false
		}
		s, err := decodeSnapshot(msg.Data, 0)
		return err == nil && match(s)
	}, waitTimeout, 20*time.Millisecond, "snapshot stored in JetStream")
}

func TestNATSHistoryFromPeerWithoutJetStream(t *testing.T) {
	ns := peers.StartNATS(t, peers.NATSOptions{NoJetStream: true})
	a := newNATSHub(t, ns.URL(), nil)
	require.NoError(t, a.hub.Post("Creator", "one"))
	require.NoError(t, a.hub.Post("Creator", "two"))
	waitSynced(t, a)
	b := newNATSHub(t, ns.URL(), nil)
	waitSynced(t, b)
	waitPeers(t, a, b)
	require.False(t, b.hub.Stats().NATS.JetStream)
	_, w := b.join(t, "", `{"type":"hello"}`)
	require.Len(t, w.History, 2)
	require.Equal(t, "one", w.History[0].Text)
	// The same browser id is the same public user on both instances (b took
	// the room's secret with its state).
	_, wa := a.join(t, "", `{"type":"hello","name":"zed","id":"same-browser-1"}`)
	_, wb := b.join(t, "", `{"type":"hello","name":"zed","id":"same-browser-1"}`)
	require.Equal(t, wa.User.ID, wb.User.ID)
}

func TestNATSInstancesStartedApartBecomeOneRoom(t *testing.T) {
	ns := peers.StartNATS(t, peers.NATSOptions{NoJetStream: true})
	url := ns.URL()
	ns.Stop()
	a, b := newNATSHub(t, url, nil), newNATSHub(t, url, nil)
	require.NoError(t, a.hub.Post("Creator", "said on a alone"))
	_, wa := a.join(t, "", `{"type":"hello","name":"zed","id":"same-browser-2"}`)
	_, wb := b.join(t, "", `{"type":"hello","name":"zed","id":"same-browser-2"}`)
	require.NotEqual(t, wa.User.ID, wb.User.ID, "two rooms: two secrets")

	vb, _ := b.join(t, "", `{"type":"hello","name":"watching b"}`)
	colB := collect(vb)

	ns.Start()
	waitPeers(t, a, b)
	require.Eventually(t, func() bool {
		_, wa := a.join(t, "", `{"type":"hello","id":"same-browser-2"}`)
		_, wb := b.join(t, "", `{"type":"hello","id":"same-browser-2"}`)
		return wa.User.ID == wb.User.ID && len(wb.History) == 1
	}, waitTimeout, 50*time.Millisecond, "one secret and one history after the merge")
	colB.wait(t, "a's message, live on b", isText("said on a alone"))
	require.Equal(t, []string{"said on a alone"}, colB.texts(), "once")
}

func TestNATSUnreachableThenUp(t *testing.T) {
	ns := peers.StartNATS(t)
	url := ns.URL()
	ns.Stop()
	l := &NATSLink{URL: url, ReconnectWait: 100 * time.Millisecond, PresenceInterval: 100 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, l.Initialize())
	defer l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	err := l.WaitConnected(ctx)
	require.ErrorIs(t, err, ErrNATSUnavailable)
	require.Contains(t, err.Error(), ns.Addr())
	require.Equal(t, "connecting", l.Stats().State)

	h := &Hub{NATS: l, Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, h.Initialize())
	defer h.Close()
	require.NoError(t, h.Post("Creator", "local chat works without NATS"))

	ns.Start()
	ctx2, cancel2 := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel2()
	require.NoError(t, l.WaitConnected(ctx2))
	require.Eventually(t, func() bool { return h.Stats().NATS.State == "connected" }, waitTimeout, 10*time.Millisecond)
}

func TestNATSLinkRefusesBadConfiguration(t *testing.T) {
	for _, tc := range []struct {
		name, url, room, creds string
	}{
		{"no URL", "", "", ""},
		{"http scheme", "http://127.0.0.1:4222", "", ""},
		{"no host", "nats://", "", ""},
		{"path", "nats://127.0.0.1:4222/room", "", ""},
		{"garbage", "::not a url", "", ""},
		{"bad room", "nats://127.0.0.1:4222", "a.b", ""},
		{"missing creds", "nats://127.0.0.1:4222", "", "/nonexistent/golive.creds"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := &NATSLink{URL: tc.url, Room: tc.room, CredsFile: tc.creds, Logger: slog.New(slog.DiscardHandler)}
			require.ErrorIs(t, l.Initialize(), ErrNATSConfig)
			l.Close()
		})
	}
}

func TestNATSDropsMalformedEvents(t *testing.T) {
	ns := peers.StartNATS(t, peers.NATSOptions{NoJetStream: true})
	a := newNATSHub(t, ns.URL(), nil)
	v, _ := a.join(t, "", `{"type":"hello","name":"v"}`)
	col := collect(v)
	nc, err := nats.Connect(ns.URL())
	require.NoError(t, err)
	defer nc.Close()
	bad := 0
	for _, tc := range eventCases {
		if tc.err == nil {
			continue
		}
		require.NoError(t, nc.Publish("golive.chat.golive.events", []byte(tc.in)))
		bad++
	}
	for _, junk := range []string{"", "null", `{"o":"x"}`, strings.Repeat("x", maxEventBytes+1), "\xff\xfe"} {
		require.NoError(t, nc.Publish("golive.chat.golive.events", []byte(junk)))
		require.NoError(t, nc.Publish("golive.chat.golive.presence", []byte(junk)))
		bad += 2
	}
	require.NoError(t, nc.Publish("golive.chat.golive.events",
		[]byte(`{"o":"feedbeef","s":1,"t":"message","ts":1,"id":"feedbeef-1","user":{"id":"u1","name":"remote"},"text":"valid"}`)))
	col.wait(t, "the valid event", isText("valid"))
	require.Eventually(t, func() bool { return a.hub.Stats().NATS.Dropped == uint64(bad) }, waitTimeout, 10*time.Millisecond,
		"dropped %d of %d", a.hub.Stats().NATS.Dropped, bad)
	require.Equal(t, []string{"valid"}, col.texts(), "nothing malformed reached the viewer")
	data, err := json.Marshal(a.hub.Stats())
	require.NoError(t, err)
	require.Contains(t, string(data), `"dropped":`)
}
