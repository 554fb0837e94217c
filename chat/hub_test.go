package chat

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testToken = "stream-key-123"

// waitTimeout bounds every wait in these tests; generous for -race on 2 busy cores.
const waitTimeout = 10 * time.Second

// fakeClock is an injected clock the tests move by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testEnv is a Hub mounted on an httptest server on 127.0.0.1:0.
type testEnv struct {
	hub   *Hub
	srv   *httptest.Server
	url   string
	clock *fakeClock
}

func newEnv(t *testing.T, configure func(h *Hub)) *testEnv {
	t.Helper()
	clock := &fakeClock{now: time.Unix(1_700_000_000, 0)}
	h := &Hub{ModeratorToken: testToken, Clock: clock.Now, ViewersInterval: 20 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler)}
	if configure != nil {
		configure(h)
	}
	require.NoError(t, h.Initialize())
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return &testEnv{hub: h, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http"), clock: clock}
}

// rawClient is an independent WebSocket client speaking raw JSON.
type rawClient struct {
	t  *testing.T
	ws *websocket.Conn
}

func (e *testEnv) dial(t *testing.T, query string) *rawClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, e.url+query, nil)
	require.NoError(t, err, "dial %s", e.url+query)
	ws.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &rawClient{t: t, ws: ws}
}

// join dials and says hello, and returns the client and its welcome.
func (e *testEnv) join(t *testing.T, query, hello string) (*rawClient, ServerMessage) {
	t.Helper()
	c := e.dial(t, query)
	c.send(hello)
	w := c.waitFor(func(m ServerMessage) bool { return m.Type == TypeWelcome || m.Type == TypeError })
	require.Equal(t, TypeWelcome, w.Type, "hello %s answered %+v", hello, w)
	return c, w
}

func (c *rawClient) send(frame string) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	require.NoError(c.t, c.ws.Write(ctx, websocket.MessageText, []byte(frame)))
}

// readRaw returns the next frame's bytes, or the read error.
func (c *rawClient) readRaw() ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, data, err := c.ws.Read(ctx)
	return data, err
}

func (c *rawClient) next() ServerMessage {
	c.t.Helper()
	data, err := c.readRaw()
	require.NoError(c.t, err, "waiting for a frame")
	m, err := DecodeServerMessage(data)
	require.NoError(c.t, err)
	return m
}

// waitFor reads frames until one matches.
func (c *rawClient) waitFor(match func(ServerMessage) bool) ServerMessage {
	c.t.Helper()
	for {
		if m := c.next(); match(m) {
			return m
		}
	}
}

// closeStatus reads until the connection ends and returns its close status.
func (c *rawClient) closeStatus() websocket.StatusCode {
	for {
		if _, err := c.readRaw(); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func isType(typ string) func(ServerMessage) bool {
	return func(m ServerMessage) bool { return m.Type == typ }
}

func isText(text string) func(ServerMessage) bool {
	return func(m ServerMessage) bool { return m.Type == TypeMessage && m.Text == text }
}

func TestHubHTMLArrivesVerbatim(t *testing.T) {
	e := newEnv(t, nil)
	watcher, _ := e.join(t, "", `{"type":"hello","name":"watcher"}`)
	evil, w := e.join(t, "", `{"type":"hello","name":"<img src=x onerror=alert(1)>","id":"evil-browser-1"}`)
	require.Equal(t, "<img src=x onerror=alert(1)>", w.User.Name)

	evil.send(`{"type":"message","text":"<script>alert(\"x\")</script> & <b>bold</b>\u0007"}`)
	for {
		data, err := watcher.readRaw()
		require.NoError(t, err)
		m, err := DecodeServerMessage(data)
		require.NoError(t, err)
		if m.Type != TypeMessage {
			continue
		}
		// The raw frame carries the markup literally (no HTML escaping), the decoded
		// text is the input minus the control character.
		require.Contains(t, string(data), `"name":"<img src=x onerror=alert(1)>"`)
		require.Contains(t, string(data), `<script>alert(\"x\")</script> & <b>bold</b>"`)
		require.Equal(t, `<script>alert("x")</script> & <b>bold</b>`, m.Text)
		require.Equal(t, "<img src=x onerror=alert(1)>", m.User.Name)
		require.Equal(t, w.User.ID, m.User.ID)
		require.NotEmpty(t, m.ID)
		require.Equal(t, e.clock.Now().UnixMilli(), m.TS)
		break
	}
}

func TestHubHistoryOnWelcome(t *testing.T) {
	e := newEnv(t, nil)
	for i := 0; i < 105; i++ {
		require.NoError(t, e.hub.Post("creator", "msg "+strings.Repeat("x", i%3)+string(rune('a'+i%26))))
	}
	_, w := e.join(t, "", `{"type":"hello"}`)
	require.Len(t, w.History, 100)
	require.Equal(t, "", w.User.Name, "read-only viewer has no name")
	// Oldest first: messages 5..104 survive.
	require.Equal(t, "msg "+strings.Repeat("x", 5%3)+"f", w.History[0].Text)
	require.Equal(t, "msg "+strings.Repeat("x", 104%3)+string(rune('a'+104%26)), w.History[99].Text)
	require.Equal(t, CreatorID, w.History[0].User.ID)
	require.True(t, w.History[0].User.Mod)
	seen := map[string]bool{}
	for _, m := range w.History {
		require.False(t, seen[m.ID], "duplicate id %s", m.ID)
		seen[m.ID] = true
	}
	require.Equal(t, uint64(105), e.hub.Stats().Messages)
}

func TestHubFloodIsRateLimited(t *testing.T) {
	e := newEnv(t, nil)
	watcher, _ := e.join(t, "", `{"type":"hello","name":"watcher"}`)
	flooder, fw := e.join(t, "", `{"type":"hello","name":"flooder"}`)

	// 100 messages "in one second": the injected clock does not move, so the bucket
	// never refills and exactly Burst messages may pass.
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	for i := 0; i < 100; i++ {
		if err := flooder.ws.Write(ctx, websocket.MessageText, []byte(`{"type":"message","text":"spam"}`)); err != nil {
			break // the hub hung up on the flooder: expected once it kept going
		}
	}
	limited := false
	var status websocket.StatusCode
	for {
		data, err := flooder.readRaw()
		if err != nil {
			status = websocket.CloseStatus(err)
			break
		}
		m, derr := DecodeServerMessage(data)
		require.NoError(t, derr)
		if m.Type == TypeError && m.Code == CodeRateLimited {
			limited = true
		}
	}
	require.True(t, limited, "flooder was told rate_limited")
	require.Equal(t, websocket.StatusPolicyViolation, status, "a client that keeps flooding is disconnected")

	require.NoError(t, e.hub.Post("creator", "sentinel"))
	got := 0
	for {
		m := watcher.waitFor(isType(TypeMessage))
		if m.Text == "sentinel" {
			break
		}
		require.Equal(t, fw.User.ID, m.User.ID)
		got++
	}
	require.Equal(t, e.hub.Burst, got, "other viewers get only the messages within the limit")
	st := e.hub.Stats()
	require.GreaterOrEqual(t, st.RateLimited, uint64(e.hub.FloodLimit))
	require.Equal(t, uint64(1), st.Flooders)
}

func TestHubShortBurstKeepsConnection(t *testing.T) {
	e := newEnv(t, nil)
	c, _ := e.join(t, "", `{"type":"hello","name":"eager"}`)
	// The hello on connect is free: three messages pass, the next two are limited.
	for i := 0; i < 5; i++ {
		c.send(`{"type":"message","text":"m` + string(rune('0'+i)) + `"}`)
	}
	// Errors are queued by the reader, messages by the hub: order between them is free.
	texts, limited := 0, 0
	for texts < 3 || limited < 2 {
		m := c.next()
		switch {
		case m.Type == TypeMessage:
			require.Equal(t, "m"+string(rune('0'+texts)), m.Text)
			texts++
		case m.Type == TypeError:
			require.Equal(t, CodeRateLimited, m.Code)
			limited++
		}
	}
	require.Equal(t, uint64(2), e.hub.Stats().RateLimited)

	e.clock.Advance(2 * time.Second) // three tokens back
	c.send(`{"type":"message","text":"after the pause"}`)
	c.waitFor(isText("after the pause"))
	require.Equal(t, uint64(0), e.hub.Stats().Flooders)
}

func TestHubModeration(t *testing.T) {
	e := newEnv(t, nil)
	viewer, _ := e.join(t, "", `{"type":"hello","name":"viewer"}`)
	mod, mw := e.join(t, "?token="+testToken, `{"type":"hello","name":"creator"}`)
	require.True(t, mw.Moderator)
	require.True(t, mw.User.Mod)
	_, notMod := e.join(t, "?token=wrong", `{"type":"hello","name":"guesser"}`)
	require.False(t, notMod.Moderator)

	viewer.send(`{"type":"message","text":"delete me"}`)
	m := viewer.waitFor(isText("delete me"))
	mod.waitFor(isText("delete me"))

	viewer.send(`{"type":"delete","id":"` + m.ID + `"}`)
	require.Equal(t, CodeForbidden, viewer.waitFor(isType(TypeError)).Code)
	viewer.send(`{"type":"ban","user":"` + m.User.ID + `"}`)
	require.Equal(t, CodeForbidden, viewer.waitFor(isType(TypeError)).Code)

	mod.send(`{"type":"delete","id":"` + m.ID + `"}`)
	require.Equal(t, m.ID, viewer.waitFor(isType(TypeDeleted)).ID)
	mod.send(`{"type":"delete","id":"` + m.ID + `"}`)
	require.Equal(t, CodeBadRequest, mod.waitFor(isType(TypeError)).Code, "deleting twice")

	_, w := e.join(t, "", `{"type":"hello"}`)
	require.Empty(t, w.History, "deleted message is gone from history")
	require.Equal(t, uint64(1), e.hub.Stats().Deleted)
}

func TestHubBanHoldsAcrossReconnects(t *testing.T) {
	e := newEnv(t, nil)
	mod, _ := e.join(t, "?token="+testToken, `{"type":"hello","name":"creator"}`)
	troll, tw := e.join(t, "", `{"type":"hello","name":"troll","id":"troll-browser-1"}`)
	troll.send(`{"type":"message","text":"bad words"}`)
	m := mod.waitFor(isText("bad words"))
	require.Equal(t, tw.User.ID, m.User.ID)
	require.NotContains(t, m.User.ID, "troll", "public id does not reveal the browser id")

	mod.send(`{"type":"ban","user":"` + m.User.ID + `"}`)
	require.Equal(t, m.ID, mod.waitFor(isType(TypeDeleted)).ID, "ban purges the user's messages")
	e1 := troll.waitFor(isType(TypeError))
	require.Equal(t, CodeBanned, e1.Code)
	require.Equal(t, websocket.StatusPolicyViolation, troll.closeStatus())

	// Same browser id: refused.
	again := e.dial(t, "")
	again.send(`{"type":"hello","name":"troll2","id":"troll-browser-1"}`)
	require.Equal(t, CodeBanned, again.waitFor(isType(TypeError)).Code)
	require.Equal(t, websocket.StatusPolicyViolation, again.closeStatus())

	// A fresh id from the same address: refused too (IP ban).
	fresh := e.dial(t, "")
	fresh.send(`{"type":"hello","name":"innocent","id":"another-browser"}`)
	require.Equal(t, CodeBanned, fresh.waitFor(isType(TypeError)).Code)

	// The moderator (same address) is exempt and can still chat.
	_, mw := e.join(t, "?token="+testToken, `{"type":"hello","name":"creator"}`)
	require.True(t, mw.Moderator)

	// A read-only page from the banned address (an OBS overlay) may watch, not react.
	overlay, _ := e.join(t, "", `{"type":"hello","id":"obs-overlay-1"}`)
	require.NoError(t, e.hub.Post("creator", "overlay sees this"))
	overlay.waitFor(isText("overlay sees this"))
	overlay.send(`{"type":"reaction","emoji":"🔥"}`)
	require.Equal(t, CodeBanned, overlay.waitFor(isType(TypeError)).Code)

	// The banned browser id is refused even read-only.
	ro := e.dial(t, "")
	ro.send(`{"type":"hello","id":"troll-browser-1"}`)
	require.Equal(t, CodeBanned, ro.waitFor(isType(TypeError)).Code)

	st := e.hub.Stats()
	require.Equal(t, uint64(1), st.Bans)
	require.Equal(t, uint64(3), st.BannedRejected)
}

func TestHubIPBanPerAddress(t *testing.T) {
	// Viewers on different LAN addresses, injected through the ClientIP hook.
	e := newEnv(t, func(h *Hub) {
		h.ClientIP = func(r *http.Request) string { return r.Header.Get("X-Test-Addr") }
	})
	dialFrom := func(addr, query, hello string) *rawClient {
		ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
		defer cancel()
		ws, _, err := websocket.Dial(ctx, e.url+query, &websocket.DialOptions{HTTPHeader: http.Header{"X-Test-Addr": {addr}}})
		require.NoError(t, err)
		t.Cleanup(func() { _ = ws.CloseNow() })
		c := &rawClient{t: t, ws: ws}
		c.send(hello)
		return c
	}
	mod := dialFrom("10.0.0.9", "?token="+testToken, `{"type":"hello","name":"creator"}`)
	mod.waitFor(isType(TypeWelcome))
	troll := dialFrom("10.0.0.1", "", `{"type":"hello","name":"troll","id":"troll-browser-2"}`)
	tw := troll.waitFor(isType(TypeWelcome))
	neighbour := dialFrom("10.0.0.2", "", `{"type":"hello","name":"neighbour","id":"neighbour-1"}`)
	neighbour.waitFor(isType(TypeWelcome))

	mod.send(`{"type":"ban","user":"` + tw.User.ID + `"}`)
	require.Equal(t, CodeBanned, troll.waitFor(isType(TypeError)).Code)

	again := dialFrom("10.0.0.1", "", `{"type":"hello","name":"fresh","id":"fresh-browser-1"}`)
	require.Equal(t, CodeBanned, again.waitFor(isType(TypeError)).Code, "same address, new id")
	other := dialFrom("10.0.0.3", "", `{"type":"hello","name":"fresh","id":"fresh-browser-1"}`)
	require.Equal(t, "fresh", other.waitFor(isType(TypeWelcome)).User.Name, "other address, new id")
	neighbour.send(`{"type":"message","text":"still chatting"}`)
	neighbour.waitFor(isText("still chatting"))
}

func TestHubOversizedFrameCloses(t *testing.T) {
	e := newEnv(t, nil)
	other, _ := e.join(t, "", `{"type":"hello","name":"other"}`)
	big, _ := e.join(t, "", `{"type":"hello","name":"big"}`)
	big.send(`{"type":"message","text":"` + strings.Repeat("a", 5000) + `"}`)
	require.Equal(t, websocket.StatusMessageTooBig, big.closeStatus())

	require.NoError(t, e.hub.Post("creator", "still here"))
	other.waitFor(isText("still here"))
	require.Eventually(t, func() bool { return e.hub.Stats().TooBig == 1 }, waitTimeout, 5*time.Millisecond)
}

func TestHubBadFramesKeepConnection(t *testing.T) {
	e := newEnv(t, func(h *Hub) { h.Burst = 20 })
	c := e.dial(t, "")
	c.send(`{"type":"message","text":"before hello"}`)
	require.Equal(t, CodeBadRequest, c.waitFor(isType(TypeError)).Code)
	c.send(`{"type":"hello"}`)
	c.waitFor(isType(TypeWelcome))
	c.send(`{"type":"message","text":"no name yet"}`)
	require.Equal(t, CodeBadRequest, c.waitFor(isType(TypeError)).Code)
	c.send(`{"type":"hello","name":"` + strings.Repeat("n", 40) + `"}`)
	require.Equal(t, CodeTooLong, c.waitFor(isType(TypeError)).Code)
	c.send(`{"type":"hello","name":"named"}`)
	require.Equal(t, "named", c.waitFor(isType(TypeWelcome)).User.Name)
	c.send(`{"type":"message","text":"` + strings.Repeat("é", 501) + `"}`)
	require.Equal(t, CodeTooLong, c.waitFor(isType(TypeError)).Code)
	c.send(`{"type":"reaction","emoji":"💩"}`)
	require.Equal(t, CodeBadRequest, c.waitFor(isType(TypeError)).Code)
	c.send(`not json`)
	require.Equal(t, CodeBadRequest, c.waitFor(isType(TypeError)).Code)
	c.send(`{"type":"reaction","emoji":"🔥"}`)
	r := c.waitFor(isType(TypeReaction))
	require.Equal(t, "🔥", r.Emoji)
	require.Equal(t, "named", r.User.Name)
	c.send(`{"type":"message","text":"finally"}`)
	c.waitFor(isText("finally"))
}

func TestHubSlowClientDropped(t *testing.T) {
	e := newEnv(t, func(h *Hub) {
		h.SendQueue = 16
		h.MaxTextLen = 4000
	})
	slow := e.dial(t, "")
	slow.send(`{"type":"hello","name":"slow"}`) // and never reads again
	fast, _ := e.join(t, "", `{"type":"hello","name":"fast"}`)
	require.Eventually(t, func() bool { return e.hub.Stats().Viewers == 2 }, waitTimeout, 5*time.Millisecond)

	text := strings.Repeat("z", 3900)
	const batch = 8 // below SendQueue, so the fast reader never falls behind
	sent := 0
	for e.hub.Stats().DroppedSlow == 0 {
		require.Less(t, sent, 40000, "slow client never dropped (%d messages ≈ %d MB)", sent, sent*4/1000)
		start := time.Now()
		for i := 0; i < batch; i++ {
			require.NoError(t, e.hub.Post("creator", text))
		}
		for i := 0; i < batch; i++ {
			fast.waitFor(isType(TypeMessage))
		}
		sent += batch
		// Generous bound: a blocked peer must never hold the others up for a write timeout.
		require.Less(t, time.Since(start), 5*time.Second, "fast viewer delayed by the slow one")
	}
	t.Logf("slow client dropped after %d messages of %d bytes", sent, len(text))
	require.NoError(t, e.hub.Post("creator", "after the drop"))
	fast.waitFor(isText("after the drop"))
	st := e.hub.Stats()
	require.Equal(t, uint64(1), st.DroppedSlow)
	require.Equal(t, 1, st.Viewers)
	// The slow client's connection is gone: draining it ends in an error.
	for {
		if _, err := slow.readRaw(); err != nil {
			break
		}
	}
}

func TestHubViewersAndReactionsReachSubscribers(t *testing.T) {
	e := newEnv(t, nil)
	events, cancel, err := e.hub.Subscribe(64)
	require.NoError(t, err)
	w := <-events
	require.Equal(t, TypeWelcome, w.Type)

	a, _ := e.join(t, "", `{"type":"hello","name":"a"}`)
	b, _ := e.join(t, "", `{"type":"hello","name":"b"}`)
	a.waitFor(func(m ServerMessage) bool { return m.Type == TypeViewers && m.Count == 2 })
	require.NoError(t, b.ws.Close(websocket.StatusNormalClosure, ""))
	a.waitFor(func(m ServerMessage) bool { return m.Type == TypeViewers && m.Count == 1 })

	a.send(`{"type":"reaction","emoji":"👏"}`)
	deadline := time.After(waitTimeout)
	for done := false; !done; {
		select {
		case m := <-events:
			done = m.Type == TypeReaction && m.Emoji == "👏" && m.User.Name == "a"
		case <-deadline:
			t.Fatal("subscriber never saw the reaction")
		}
	}
	cancel()
	cancel() // idempotent
	for range events {
	}
}

func TestHubOriginCheck(t *testing.T) {
	e := newEnv(t, func(h *Hub) { h.AllowedOrigins = []string{"good.example"} })
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, resp, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://evil.example"}}})
	require.Error(t, err)
	require.NotNil(t, resp)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)

	ws, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {"http://good.example"}}})
	require.NoError(t, err)
	_ = ws.CloseNow()
	ws, _, err = websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: http.Header{"Origin": {e.srv.URL}}})
	require.NoError(t, err, "same host is always allowed")
	_ = ws.CloseNow()
}

func TestGoClientModerates(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	app := &Client{URL: e.url, Name: "creator", Token: testToken}
	require.NoError(t, app.Dial(ctx))
	defer app.Close()
	require.True(t, app.Welcome().Moderator)

	viewer := &Client{URL: e.url, Name: "viewer", ID: "viewer-browser-1"}
	require.NoError(t, viewer.Dial(ctx))
	defer viewer.Close()

	waitEvent := func(c *Client, match func(ServerMessage) bool) ServerMessage {
		t.Helper()
		for {
			select {
			case m, ok := <-c.Events():
				require.True(t, ok, "connection ended: %v", c.Err())
				if match(m) {
					return m
				}
			case <-ctx.Done():
				t.Fatal("timed out waiting for an event")
			}
		}
	}
	require.NoError(t, viewer.SetName(ctx, "viewer2"))
	require.Equal(t, "viewer2", waitEvent(viewer, isType(TypeWelcome)).User.Name, "rename answered with a welcome")
	require.NoError(t, viewer.Send(ctx, "hello <b>world</b>"))
	m := waitEvent(app, isText("hello <b>world</b>"))
	require.NoError(t, app.Send(ctx, "welcome!"))
	own := waitEvent(viewer, isText("welcome!"))
	require.True(t, own.User.Mod)

	require.NoError(t, viewer.Delete(ctx, own.ID))
	require.Equal(t, CodeForbidden, waitEvent(viewer, isType(TypeError)).Code)
	require.NoError(t, app.Delete(ctx, m.ID))
	require.Equal(t, m.ID, waitEvent(viewer, isType(TypeDeleted)).ID)
	require.NoError(t, app.React(ctx, "🎉"))
	waitEvent(viewer, isType(TypeReaction))

	require.NoError(t, app.Ban(ctx, m.User.ID))
	require.Equal(t, CodeBanned, waitEvent(viewer, isType(TypeError)).Code)
	for range viewer.Events() {
	}
	require.Error(t, viewer.Err())

	again := &Client{URL: e.url, Name: "viewer", ID: "viewer-browser-1"}
	require.ErrorIs(t, again.Dial(ctx), ErrBanned)

	// Metrics through a private registry.
	reg := prometheus.NewRegistry()
	require.NoError(t, reg.Register(e.hub.Collector()))
	families, err := reg.Gather()
	require.NoError(t, err)
	values := map[string]float64{}
	for _, f := range families {
		for _, metric := range f.GetMetric() {
			if metric.GetCounter() != nil {
				values[f.GetName()] = metric.GetCounter().GetValue()
			} else {
				values[f.GetName()] = metric.GetGauge().GetValue()
			}
		}
	}
	require.Equal(t, 2.0, values["golive_chat_messages_total"])
	require.Equal(t, 1.0, values["golive_chat_bans_total"])
	require.Equal(t, 0.0, values["golive_chat_viewers"], "the banned viewer left; the moderator app is not a viewer")
	require.Len(t, values, 33, "every counter and gauge, NATS link included")
}

func TestHubLifecycle(t *testing.T) {
	h := &Hub{}
	require.ErrorIs(t, h.Post("a", "b"), ErrClosed)
	require.NoError(t, h.Initialize())
	srv := httptest.NewServer(h)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	c := &Client{URL: "ws" + strings.TrimPrefix(srv.URL, "http"), Name: "x"}
	require.NoError(t, c.Dial(ctx))
	h.Close()
	for range c.Events() {
	}
	require.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(c.Err()))
	require.NoError(t, c.Close())
	h.Close() // idempotent
	require.ErrorIs(t, h.Post("a", "b"), ErrClosed)
	_, _, err := h.Subscribe(1)
	require.True(t, errors.Is(err, ErrClosed))
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

func TestHubInProcessModeration(t *testing.T) {
	e := newEnv(t, nil)
	events, cancel, err := e.hub.Subscribe(64)
	require.NoError(t, err)
	defer cancel()
	require.Equal(t, TypeWelcome, (<-events).Type)
	require.Equal(t, ServerMessage{Type: TypeViewers}, <-events)

	_, _ = e.join(t, "?token="+testToken, `{"type":"hello","name":"creator"}`)
	v, vw := e.join(t, "", `{"type":"hello","name":"v","id":"in-process-1"}`)
	require.Eventually(t, func() bool { st := e.hub.Stats(); return st.Viewers == 1 && st.Moderators == 1 },
		waitTimeout, 5*time.Millisecond, "moderators are not counted as viewers")
	v.send(`{"type":"message","text":"to delete"}`)
	m := v.waitFor(isText("to delete"))

	require.NoError(t, e.hub.Delete(m.ID))
	require.Equal(t, m.ID, v.waitFor(isType(TypeDeleted)).ID)
	require.ErrorIs(t, e.hub.Delete(m.ID), ErrBadRequest)
	require.ErrorIs(t, e.hub.Ban(""), ErrBadRequest)
	require.NoError(t, e.hub.Ban(vw.User.ID))
	require.Equal(t, CodeBanned, v.waitFor(isType(TypeError)).Code)
	require.Equal(t, websocket.StatusPolicyViolation, v.closeStatus())
	require.ErrorIs(t, e.hub.Post("", "x"), ErrBadRequest)
	require.ErrorIs(t, e.hub.Post("creator", strings.Repeat("x", 501)), ErrTooLong)
}
