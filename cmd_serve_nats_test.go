package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// serveProc is a `golive serve` process (the built binary) on loopback ports.
type serveProc struct {
	cmd    *exec.Cmd
	http   string
	key    string
	stderr *peers.SyncBuffer
	done   chan struct{}
}

// startServeProc runs the binary with args after the loopback and data-dir
// flags, and returns once it printed its addresses and key.
func startServeProc(t *testing.T, args ...string) *serveProc {
	t.Helper()
	all := append([]string{"serve", "--rtmp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--data-dir", t.TempDir(), "--ladder", "240p"}, args...)
	cmd := exec.Command(golive, all...)
	p := &serveProc{cmd: cmd, stderr: &peers.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	go func() { _ = cmd.Wait(); close(p.done) }()
	t.Cleanup(p.stop)
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	for p.key == "" {
		select {
		case line, ok := <-lines:
			require.True(t, ok, "serve exited early: %s", p.stderr.String())
			if a, ok := strings.CutPrefix(line, "http listening on "); ok {
				p.http = a
			}
			if k, ok := strings.CutPrefix(line, "stream key: "); ok {
				p.key = k
			}
		case <-deadline:
			t.Fatalf("serve printed no key within 30 s: %s", p.stderr.String())
		}
	}
	go func() {
		for range lines {
		}
	}()
	return p
}

// stop interrupts serve and waits for it.
func (p *serveProc) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// status reads /api/status.
func (p *serveProc) status(t *testing.T) map[string]any {
	t.Helper()
	resp, err := http.Get("http://" + p.http + "/api/status")
	require.NoError(t, err)
	defer resp.Body.Close()
	var st map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	return st
}

// chatStatus returns /api/status's chat part.
func (p *serveProc) chatStatus(t *testing.T) map[string]any {
	return p.status(t)["chat"].(map[string]any)
}

// mint mints a moderator token through the admin route.
func (p *serveProc) mint(t *testing.T, name string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+p.http+"/api/moderators", strings.NewReader(`{"name":"`+name+`"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+p.key)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var tok struct{ Token string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	return tok.Token
}

// wsViewer is an independent WebSocket client speaking the chat protocol's JSON.
type wsViewer struct {
	t      *testing.T
	ws     *websocket.Conn
	addr   string // the address it claims through X-Forwarded-For
	mu     sync.Mutex
	frames []map[string]any
	done   chan struct{}
	err    error
}

// viewerAddrs numbers the addresses joinChat's viewers claim to come from.
var viewerAddrs atomic.Int32

// joinChat connects to p's chat with query, says hello and collects every
// frame. Each viewer comes "through a proxy" with an address of its own in
// X-Forwarded-For (serve trusts 127.0.0.1 where it is started with
// --trusted-proxy), so a ban by address hits that viewer only.
func joinChat(t *testing.T, p *serveProc, query, hello string) *wsViewer {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	addr := fmt.Sprintf("198.51.100.%d", viewerAddrs.Add(1))
	ws, _, err := websocket.Dial(ctx, "ws://"+p.http+"/chat/ws"+query,
		&websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {addr}}})
	require.NoError(t, err)
	ws.SetReadLimit(1 << 20)
	v := &wsViewer{t: t, ws: ws, addr: addr, done: make(chan struct{})}
	t.Cleanup(func() { _ = ws.CloseNow(); <-v.done })
	go func() {
		defer close(v.done)
		for {
			_, data, err := ws.Read(context.Background())
			if err != nil {
				v.mu.Lock()
				v.err = err
				v.mu.Unlock()
				return
			}
			var m map[string]any
			if json.Unmarshal(data, &m) == nil {
				v.mu.Lock()
				v.frames = append(v.frames, m)
				v.mu.Unlock()
			}
		}
	}()
	v.send(hello)
	v.wait("welcome", func(m map[string]any) bool { return m["type"] == "welcome" })
	return v
}

func (v *wsViewer) send(frame string) {
	v.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(v.t, v.ws.Write(ctx, websocket.MessageText, []byte(frame)))
}

func (v *wsViewer) wait(what string, match func(map[string]any) bool) map[string]any {
	v.t.Helper()
	var found map[string]any
	require.Eventually(v.t, func() bool {
		v.mu.Lock()
		defer v.mu.Unlock()
		for _, m := range v.frames {
			if match(m) {
				found = m
				return true
			}
		}
		return false
	}, 20*time.Second, 10*time.Millisecond, "waiting for %s", what)
	return found
}

// texts returns the texts of the message frames received.
func (v *wsViewer) texts() []string {
	v.mu.Lock()
	defer v.mu.Unlock()
	var out []string
	for _, m := range v.frames {
		if m["type"] == "message" {
			out = append(out, m["text"].(string))
		}
	}
	sort.Strings(out)
	return out
}

func text(s string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == "message" && m["text"] == s }
}

func errorCode(code string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["type"] == "error" && m["code"] == code }
}

func userID(m map[string]any) string { return m["user"].(map[string]any)["id"].(string) }

// TestServeChatAcrossInstancesOverNATS runs three `golive serve` processes on
// one nats-server (JetStream on) and checks, with independent WebSocket
// clients, that they show one room: messages once everywhere, the viewer count
// summed, moderation (with a token minted on another instance) everywhere, and
// a NATS restart survived without loss or duplicates.
func TestServeChatAcrossInstancesOverNATS(t *testing.T) {
	ns := peers.StartNATS(t)
	a := startServeProc(t, "--chat-nats", ns.URL(), "--trusted-proxy", "127.0.0.1/32")
	b := startServeProc(t, "--chat-nats", ns.URL(), "--trusted-proxy", "127.0.0.1/32")
	c := startServeProc(t, "--chat-nats", ns.URL(), "--trusted-proxy", "127.0.0.1/32")
	for _, p := range []*serveProc{a, b, c} {
		require.Eventually(t, func() bool {
			n := p.chatStatus(t)["nats"].(map[string]any)
			return n["state"] == "connected" && n["synced"] == true && n["peers"] == 2.0
		}, 20*time.Second, 50*time.Millisecond, "instance sees the others: %s", p.stderr.String())
	}
	// Started together, the three founded three rooms; they become one (one
	// secret: one browser id is one public user id on every instance).
	require.Eventually(t, func() bool {
		ids := map[string]bool{}
		for _, p := range []*serveProc{a, b, c} {
			var w map[string]any
			require.NoError(t, json.Unmarshal([]byte(joinChatRaw(t, p, "", `{"type":"hello","id":"e2e-probe-browser"}`)), &w))
			ids[userID(w)] = true
		}
		return len(ids) == 1
	}, 20*time.Second, 100*time.Millisecond, "one room")
	token := a.mint(t, "Alice")
	va := joinChat(t, a, "", `{"type":"hello","name":"ann","id":"e2e-browser-ann"}`)
	vb := joinChat(t, b, "", `{"type":"hello","name":"bob","id":"e2e-browser-bob"}`)
	vc := joinChat(t, c, "", `{"type":"hello","name":"cat","id":"e2e-browser-cat"}`)
	mod := joinChat(t, b, "?token="+token, `{"type":"hello","name":"Alice"}`)
	require.Equal(t, true, mod.wait("moderator welcome", func(m map[string]any) bool { return m["type"] == "welcome" })["moderator"],
		"a token minted on a works on b")

	for _, v := range []*wsViewer{va, vb, vc} {
		v.wait("3 viewers", func(m map[string]any) bool { return m["type"] == "viewers" && m["count"] == 3.0 })
	}
	require.Eventually(t, func() bool { return c.chatStatus(t)["viewers"] == 3.0 }, 10*time.Second, 50*time.Millisecond)
	require.Equal(t, 1.0, c.chatStatus(t)["local_viewers"])
	resp, err := http.Get("http://" + a.http + "/metrics")
	require.NoError(t, err)
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Contains(t, string(metrics), "golive_chat_nats_connected 1")

	va.send(`{"type":"message","text":"hello from a"}`)
	vc.send(`{"type":"message","text":"hello from c"}`)
	vb.send(`{"type":"reaction","emoji":"🎉"}`)
	for _, v := range []*wsViewer{va, vb, vc} {
		v.wait("hello from a", text("hello from a"))
		v.wait("hello from c", text("hello from c"))
	}
	va.wait("b's reaction", func(m map[string]any) bool { return m["type"] == "reaction" && m["emoji"] == "🎉" })

	// A viewer cannot take the moderator's name; the moderator's messages carry the badge.
	impostor := joinChat(t, c, "", `{"type":"hello","name":"ALlCE"}`)
	impostor.wait("name_taken", errorCode("name_taken"))
	mod.send(`{"type":"message","text":"I moderate"}`)
	fromMod := vc.wait("the moderator's message", text("I moderate"))
	require.Equal(t, true, fromMod["user"].(map[string]any)["mod"])

	// Moderation from b holds on a and c.
	msgA := vc.wait("hello from a", text("hello from a"))
	mod.send(`{"type":"delete","id":"` + msgA["id"].(string) + `"}`)
	va.wait("deleted on a", func(m map[string]any) bool { return m["type"] == "deleted" && m["id"] == msgA["id"] })
	modC := joinChat(t, c, "?token="+token, `{"type":"hello","name":"Alice"}`)
	mod.send(`{"type":"words","words":["zonk"]}`)
	modC.wait("the list reached c", func(m map[string]any) bool { return m["type"] == "words" })
	vc.send(`{"type":"message","text":"zonk"}`)
	vc.wait("blocked word refused on c", errorCode("blocked"))
	mod.send(`{"type":"timeout","user":"` + userID(msgA) + `","seconds":300}`)
	va.wait("timed out on a", errorCode("timed_out"))
	mod.send(`{"type":"slow","seconds":30}`)
	vc.wait("slow mode on c", func(m map[string]any) bool { return m["type"] == "slow" && m["seconds"] == 30.0 })
	mod.send(`{"type":"slow","seconds":0}`)
	vc.wait("slow mode off on c", func(m map[string]any) bool { return m["type"] == "slow" && m["seconds"] == 0.0 })
	bobID := userID(va.wait("bob's reaction", func(m map[string]any) bool { return m["type"] == "reaction" }))
	mod.send(`{"type":"ban","user":"` + bobID + `"}`)
	vb.wait("banned", errorCode("banned"))
	require.Eventually(t, func() bool {
		again := joinChatRaw(t, c, "", `{"type":"hello","name":"bob","id":"e2e-browser-bob"}`)
		return strings.Contains(again, `"code":"banned"`)
	}, 10*time.Second, 50*time.Millisecond, "the ban holds on another instance")
	sameAddr := joinChatRaw(t, a, vb.addr, `{"type":"hello","name":"bob's friend"}`)
	require.Contains(t, sameAddr, `"code":"banned"`, "and so does the ban of bob's address, taken from X-Forwarded-For")

	// nats-server restarts: what is said meanwhile reaches the others once.
	ns.Stop()
	require.Eventually(t, func() bool {
		return a.chatStatus(t)["nats"].(map[string]any)["state"] != "connected"
	}, 10*time.Second, 20*time.Millisecond)
	vc.send(`{"type":"message","text":"during the outage"}`)
	vc.wait("local chat goes on", text("during the outage"))
	ns.Start()
	va.wait("the outage message reaches a", text("during the outage"))
	mod.wait("and b", text("during the outage"))
	for _, v := range []*wsViewer{va, vc, mod} {
		require.Equal(t, 1, count(v.texts(), "during the outage"), "once")
		require.Equal(t, 1, count(v.texts(), "hello from c"), "once")
	}
	require.Equal(t, 0.0, a.chatStatus(t)["nats"].(map[string]any)["lost"])
}

// joinChatRaw says hello on a fresh connection (from addr, through a proxy,
// if set) and returns the first frame.
func joinChatRaw(t *testing.T, p *serveProc, addr, hello string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var opts *websocket.DialOptions
	if addr != "" {
		opts = &websocket.DialOptions{HTTPHeader: http.Header{"X-Forwarded-For": {addr}}}
	}
	ws, _, err := websocket.Dial(ctx, "ws://"+p.http+"/chat/ws", opts)
	require.NoError(t, err)
	defer ws.CloseNow()
	require.NoError(t, ws.Write(ctx, websocket.MessageText, []byte(hello)))
	_, data, err := ws.Read(ctx)
	require.NoError(t, err)
	return string(data)
}

func count(list []string, s string) int {
	n := 0
	for _, x := range list {
		if x == s {
			n++
		}
	}
	return n
}

// TestServeChatNATSUnreachableOrWrong checks that serve says in one line that
// it cannot use --chat-nats and still runs its own chat.
func TestServeChatNATSUnreachableOrWrong(t *testing.T) {
	for _, tc := range []struct {
		url, says string
	}{
		{"nats://127.0.0.1:1", "connection refused"},
		{"http://127.0.0.1:4222", "scheme must be nats://"},
	} {
		t.Run(tc.url, func(t *testing.T) {
			p := startServeProc(t, "--chat-nats", tc.url)
			lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n")
			var ours []string
			for _, l := range lines {
				if strings.HasPrefix(l, "golive serve: ") {
					ours = append(ours, l)
				}
			}
			require.Len(t, ours, 1, "one line: %q", p.stderr.String())
			require.Contains(t, ours[0], "--chat-nats")
			require.Contains(t, ours[0], tc.says)
			require.Contains(t, ours[0], "the chat runs on this instance alone")
			v := joinChat(t, p, "", `{"type":"hello","name":"solo"}`)
			v.send(`{"type":"message","text":"local chat works"}`)
			v.wait("own message", text("local chat works"))
		})
	}
}
