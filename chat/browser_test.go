package chat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"golive/assets"
)

// The payloads a hostile viewer sends; each would set window.__pwned if rendered as HTML.
const (
	xssName = `<img src=x onerror=__pwned=1>`
	xssText = `<img src=x onerror="window.__pwned=2"><script>window.__pwned=3</script><b>bold</b>`
	xssLive = `<svg onload="window.__pwned=4"></svg><img src=x onerror="window.__pwned=5">`
)

// playerTestPage stands in for the server's index.html: the chat panel and the
// reactions layer the way the player includes them.
const playerTestPage = `<!doctype html><html><head><meta charset="utf-8">
<link rel="stylesheet" href="/chat.css"><script src="/chat.js" defer></script></head>
<body><div style="position:relative;width:640px;height:360px"><div id="reactions"></div></div>
<div style="height:400px"><div id="chat"></div></div></body></html>`

// findChromium returns the Chromium binary, skipping (or failing under CI=true) when absent.
func findChromium(t *testing.T) string {
	for _, p := range []string{"/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (required under CI=true): apt-get install chromium")
	}
	t.Skip("chromium not found")
	return ""
}

// cdp is a minimal Chrome DevTools Protocol client over coder/websocket.
type cdp struct {
	ws *websocket.Conn
	id int
}

func (c *cdp) call(ctx context.Context, session, method string, params any) (json.RawMessage, error) {
	c.id++
	req := map[string]any{"id": c.id, "method": method, "params": params}
	if session != "" {
		req["sessionId"] = session
	}
	data, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if err := c.ws.Write(ctx, websocket.MessageText, data); err != nil {
		return nil, fmt.Errorf("cdp %s: %w", method, err)
	}
	for {
		_, data, err := c.ws.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("cdp %s: %w", method, err)
		}
		var resp struct {
			ID     int             `json:"id"`
			Result json.RawMessage `json:"result"`
			Error  *struct {
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(data, &resp); err != nil {
			return nil, fmt.Errorf("cdp %s: %w", method, err)
		}
		if resp.ID != c.id {
			continue // an event
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("cdp %s: %s", method, resp.Error.Message)
		}
		return resp.Result, nil
	}
}

// startChromium launches headless Chromium with DevTools on a free port and connects to it.
func startChromium(t *testing.T, ctx context.Context) *cdp {
	bin := findChromium(t)
	cmd := exec.Command(bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--remote-debugging-port=0", "--user-data-dir="+t.TempDir(), "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // its helpers share our child's group
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	t.Cleanup(func() {
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
		}
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) // the group we started
		<-exited
	})
	re := regexp.MustCompile(`DevTools listening on (ws://\S+)`)
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	var wsURL string
	select {
	case wsURL = <-found:
	case <-ctx.Done():
		t.Fatal("chromium did not print its DevTools address")
	}
	ws, _, err := websocket.Dial(ctx, wsURL, nil)
	require.NoError(t, err)
	ws.SetReadLimit(32 << 20)
	c := &cdp{ws: ws}
	t.Cleanup(func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, _ = c.call(closeCtx, "", "Browser.close", map[string]any{})
		_ = ws.CloseNow()
	})
	return c
}

// pageState is what the probe script reports about a page.
type pageState struct {
	Names   []string `json:"names"`
	Texts   []string `json:"texts"`
	Imgs    int      `json:"imgs"`
	Svgs    int      `json:"svgs"`
	Scripts int      `json:"scripts"`
	Pwned   int      `json:"pwned"`
	Floats  int      `json:"floats"`
	Deletes int      `json:"deletes"`
	HTML    string   `json:"html"`
}

const probe = `JSON.stringify({
  names: Array.from(document.querySelectorAll('#chat .chat-name')).map(e => e.textContent),
  texts: Array.from(document.querySelectorAll('#chat .chat-text')).map(e => e.textContent),
  imgs: document.getElementsByTagName('img').length,
  svgs: document.getElementsByTagName('svg').length,
  scripts: document.querySelectorAll('#chat script').length,
  pwned: window.__pwned || 0,
  floats: document.querySelectorAll('.chat-float').length,
  deletes: document.querySelectorAll('#chat .chat-delete').length,
  html: document.getElementById('chat').innerHTML
})`

// page is one browser tab under DevTools control.
type page struct {
	t       *testing.T
	ctx     context.Context
	c       *cdp
	session string
}

// openPage opens url in a new tab.
func openPage(t *testing.T, ctx context.Context, c *cdp, url string) *page {
	return openPageIn(t, ctx, c, url, "")
}

// openPageIn opens url in a new tab of browser context browserContext ("" the default one).
func openPageIn(t *testing.T, ctx context.Context, c *cdp, url, browserContext string) *page {
	params := map[string]any{"url": url}
	if browserContext != "" {
		params["browserContextId"] = browserContext
	}
	res, err := c.call(ctx, "", "Target.createTarget", params)
	require.NoError(t, err)
	var target struct {
		TargetID string `json:"targetId"`
	}
	require.NoError(t, json.Unmarshal(res, &target))
	res, err = c.call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true})
	require.NoError(t, err)
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	require.NoError(t, json.Unmarshal(res, &attached))
	return &page{t: t, ctx: ctx, c: c, session: attached.SessionID}
}

// eval runs a JavaScript expression in the page and returns its string value.
func (p *page) eval(expr string) string {
	res, err := p.c.call(p.ctx, p.session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true})
	require.NoError(p.t, err)
	var ev struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails any `json:"exceptionDetails"`
	}
	require.NoError(p.t, json.Unmarshal(res, &ev))
	require.Nil(p.t, ev.ExceptionDetails, "evaluating %s", expr)
	if v, ok := ev.Result.Value.(string); ok {
		return v
	}
	return fmt.Sprint(ev.Result.Value)
}

// state probes the page.
func (p *page) state() pageState {
	var st pageState
	if v := p.eval(probe); v != "" && v != "<nil>" {
		require.NoError(p.t, json.Unmarshal([]byte(v), &st))
	}
	return st
}

// waitPage probes until cond holds.
func waitPage(t *testing.T, p *page, what string, cond func(pageState) bool) pageState {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		st := p.state()
		if cond(st) {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("page never showed %s; last state: %+v", what, st)
		}
		time.Sleep(100 * time.Millisecond) // polling a browser, not synchronising goroutines
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestBrowserRendersChatAsText serves the real chat.js, chat.css and overlay.html
// next to a Hub and checks in headless Chromium that HTML in names and texts is
// shown as text: no element is created and no script runs.
func TestBrowserRendersChatAsText(t *testing.T) {
	findChromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	hub := &Hub{ModeratorToken: testToken, ViewersInterval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, hub.Initialize())
	mux := http.NewServeMux()
	mux.Handle("/chat/ws", hub)
	mux.HandleFunc("/overlay", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, assets.Web(), "overlay.html")
	})
	mux.HandleFunc("/player.html", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, playerTestPage)
	})
	mux.Handle("/", http.FileServerFS(assets.Web()))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { // runs after the browser and clients registered below are gone
		hub.Close()
		srv.Close()
	})

	// A hostile viewer posts before the pages open (history path).
	e := &testEnv{hub: hub, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat/ws"}
	evil, _ := e.join(t, "", `{"type":"hello","name":`+jsonString(xssName)+`,"id":"evil-browser-1"}`)
	evil.send(`{"type":"message","text":` + jsonString(xssText) + `}`)
	evil.waitFor(isText(xssText))

	browser := startChromium(t, ctx)
	overlay := openPage(t, ctx, browser, srv.URL+"/overlay")
	player := openPage(t, ctx, browser, srv.URL+"/player.html?token="+testToken)
	require.Eventually(t, func() bool { st := hub.Stats(); return st.Viewers >= 2 && st.Moderators >= 1 },
		30*time.Second, 20*time.Millisecond, "both pages joined the chat (overlay as viewer, ?token= page as moderator)")

	// Live path: a message and a reaction after the pages are connected.
	evil.send(`{"type":"message","text":` + jsonString(xssLive) + `}`)
	evil.send(`{"type":"reaction","emoji":"🔥"}`)

	for name, p := range map[string]*page{"overlay": overlay, "player": player} {
		st := waitPage(t, p, name+": both messages", func(s pageState) bool {
			return contains(s.Texts, xssText) && contains(s.Texts, xssLive)
		})
		require.True(t, contains(st.Names, xssName), "%s shows the name as text: %v", name, st.Names)
		require.Zero(t, st.Imgs, "%s created an <img> from user text", name)
		require.Zero(t, st.Svgs, "%s created an <svg> from user text", name)
		require.Zero(t, st.Scripts, "%s created a <script> from user text", name)
		require.Zero(t, st.Pwned, "%s ran user script", name)
		require.Contains(t, st.HTML, "&lt;img src=x onerror=", "%s markup is escaped text", name)
	}
	st := waitPage(t, player, "floating reaction", func(s pageState) bool { return s.Floats > 0 })
	require.Positive(t, st.Deletes, "moderator page (?token=) shows delete buttons")
	st = overlay.state()
	require.Zero(t, st.Deletes, "overlay shows no moderator buttons")
	require.Zero(t, st.Pwned)

	// The creator picks a name and chats through the page's forms...
	player.eval(`(() => {
		const f = document.querySelector('#chat .chat-name-form');
		f.querySelector('input').value = 'Creator';
		f.requestSubmit();
		return 'ok';
	})()`)
	waitPage(t, player, "the name accepted", func(pageState) bool {
		return player.eval(`getComputedStyle(document.querySelector('#chat .chat-form')).display`) != "none"
	})
	player.eval(`(() => {
		const f = document.querySelector('#chat .chat-form');
		f.querySelector('input').value = 'hello from the page';
		f.requestSubmit();
		return 'ok';
	})()`)
	waitPage(t, overlay, "the page's message on the overlay", func(s pageState) bool {
		return contains(s.Texts, "hello from the page") && contains(s.Names, "Creator")
	})
	// ...and deletes the hostile message with its moderator button.
	player.eval(`(() => {
		for (const li of document.querySelectorAll('#chat .chat-message')) {
			if (li.querySelector('.chat-text').textContent.startsWith('<svg')) { li.querySelector('.chat-delete').click(); }
		}
		return 'ok';
	})()`)
	for name, p := range map[string]*page{"overlay": overlay, "player": player} {
		waitPage(t, p, name+": the deleted message gone", func(s pageState) bool {
			return !contains(s.Texts, xssLive) && contains(s.Texts, xssText)
		})
	}
}

// jsonString quotes s as a JSON string.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestPagesNeverParseHTML is the static half of the XSS claim: the chat script
// has no API that parses a string as HTML.
func TestPagesNeverParseHTML(t *testing.T) {
	for _, name := range []string{"chat.js", "overlay.html"} {
		data, err := fs.ReadFile(assets.Web(), name)
		require.NoError(t, err, "%s is embedded", name)
		for _, api := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"} {
			require.NotContains(t, string(data), api, "%s uses %s", name, api)
		}
	}
}
