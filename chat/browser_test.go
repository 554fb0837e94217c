package chat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/assets"
	"golive/internal/peers"
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

const probe = `({
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

// page is a tab of the test's Chromium whose helpers fail the test on a
// DevTools error or a thrown exception.
type page struct {
	*peers.Page
	t   *testing.T
	ctx context.Context
}

// openPage opens url in a new tab of browser; an isolated tab has a browser
// context of its own (its own cookies, as another viewer's browser).
func openPage(t *testing.T, ctx context.Context, browser *peers.Chromium, url string, isolated bool) *page {
	open := browser.NewPage
	if isolated {
		open = browser.NewIsolatedPage
	}
	p, err := open(ctx, url)
	require.NoError(t, err)
	return &page{Page: p, t: t, ctx: ctx}
}

// eval runs a JavaScript expression in the page and returns its value as text.
func (p *page) eval(expr string) string {
	var v any
	require.NoError(p.t, p.Evaluate(p.ctx, expr, &v))
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

// state probes the page.
func (p *page) state() pageState {
	var st pageState
	require.NoError(p.t, p.Evaluate(p.ctx, probe, &st))
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
			t.Fatalf("page never showed %s; last state: %+v; page errors: %v", what, st, p.Errors())
		}
		time.Sleep(100 * time.Millisecond) // polling a browser, not synchronising goroutines
	}
}

// TestBrowserRendersChatAsText serves the real chat.js, chat.css and overlay.html
// next to a Hub and checks in headless Chromium that HTML in names and texts is
// shown as text: no element is created and no script runs.
func TestBrowserRendersChatAsText(t *testing.T) {
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

	browser := peers.StartChromium(t)
	overlay := openPage(t, ctx, browser, srv.URL+"/overlay", false)
	player := openPage(t, ctx, browser, srv.URL+"/player.html?token="+testToken, false)
	require.Eventually(t, func() bool { st := hub.Stats(); return st.Viewers >= 2 && st.Moderators >= 1 },
		30*time.Second, 20*time.Millisecond, "both pages joined the chat (overlay as viewer, ?token= page as moderator)")

	// Live path: a message and a reaction after the pages are connected.
	evil.send(`{"type":"message","text":` + jsonString(xssLive) + `}`)
	evil.send(`{"type":"reaction","emoji":"🔥"}`)

	for name, p := range map[string]*page{"overlay": overlay, "player": player} {
		st := waitPage(t, p, name+": both messages", func(s pageState) bool {
			return slices.Contains(s.Texts, xssText) && slices.Contains(s.Texts, xssLive)
		})
		require.True(t, slices.Contains(st.Names, xssName), "%s shows the name as text: %v", name, st.Names)
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
		return slices.Contains(s.Texts, "hello from the page") && slices.Contains(s.Names, "Creator")
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
			return !slices.Contains(s.Texts, xssLive) && slices.Contains(s.Texts, xssText)
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
