package chat

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/assets"
	"golive/internal/peers"
)

// TestBrowserModeratorTools opens the player page in headless Chromium with a
// minted moderator token and checks that the token leaves the address for an
// HttpOnly cookie, that the page moderates through it (time out, slow mode,
// blocked words) and shows badges, and that a viewer's page shows slow mode
// and refuses the creator's name.
func TestBrowserModeratorTools(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	hub := &Hub{ViewersInterval: 50 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, hub.Initialize())
	tok, err := hub.MintModerator("Alice")
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/chat/ws", hub)
	mux.HandleFunc("/player.html", func(w http.ResponseWriter, r *http.Request) {
		if hub.MoveTokenToCookie(w, r) {
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(playerTestPage))
	})
	mux.Handle("/", http.FileServerFS(assets.Web()))
	srv := httptest.NewServer(mux)
	t.Cleanup(func() {
		hub.Close()
		srv.Close()
	})
	e := &testEnv{hub: hub, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat/ws"}
	viewer, _ := e.join(t, "", `{"type":"hello","name":"viewer","id":"browser-test-viewer"}`)
	viewer.send(`{"type":"message","text":"a viewer's message"}`)
	viewer.waitFor(isText("a viewer's message"))
	require.NoError(t, hub.Post("Creator", "the creator speaks"))

	browser := peers.StartChromium(t)
	mod := openPage(t, ctx, browser, srv.URL+"/player.html?token="+tok.Token+"&n=3", false)
	require.Eventually(t, func() bool { return hub.Stats().Moderators == 1 }, 30*time.Second, 20*time.Millisecond,
		"the page joined as a moderator through its cookie")
	require.Equal(t, "?n=3", mod.eval(`location.search`), "the token left the address")
	require.Equal(t, "false", mod.eval(`document.cookie.includes('golive_mod')`), "the cookie is HttpOnly")

	waitPage(t, mod, "tools and badges", func(pageState) bool {
		return mod.eval(`document.querySelectorAll('#chat .chat-timeout').length`) == "1" &&
			mod.eval(`Array.from(document.querySelectorAll('#chat .chat-badge')).map(b => b.textContent).join()`) == "CREATOR" &&
			mod.eval(`getComputedStyle(document.querySelector('#chat .chat-modbar')).display`) != "none"
	})

	// Slow mode and blocked words from the moderation bar.
	mod.eval(`(() => { const s = document.querySelector('#chat .chat-slow-select'); s.value = '30'; s.dispatchEvent(new Event('change')); return 'ok'; })()`)
	mod.eval(`(() => { document.querySelector('#chat .chat-words-input').value = 'zonk\n\n heck* '; document.querySelector('#chat .chat-words button').click(); return 'ok'; })()`)
	require.Eventually(t, func() bool {
		s, err := hub.Settings()
		return err == nil && s.SlowMode == 30*time.Second && strings.Join(s.BlockedWords, ",") == "zonk,heck*"
	}, 30*time.Second, 20*time.Millisecond, "the bar's settings reached the hub")
	require.Equal(t, 30, viewer.waitFor(isType(TypeSlow)).Seconds)

	// Time out the viewer from its message.
	mod.eval(`document.querySelector('#chat .chat-timeout').click()`)
	told := viewer.waitFor(isCode(CodeTimedOut))
	require.Contains(t, told.Message, "10m0s")

	// A viewer's page shows slow mode, and cannot take the creator's name.
	v := openPage(t, ctx, browser, srv.URL+"/player.html", true) // another viewer's browser: no moderator cookie there
	require.Eventually(t, func() bool {
		var built bool
		return v.Evaluate(ctx, `!!document.querySelector('#chat .chat-list')`, &built) == nil && built
	}, 30*time.Second, 20*time.Millisecond, "chat.js built the panel: %v", v.Errors())
	waitPage(t, v, "slow mode shown", func(pageState) bool {
		return v.eval(`document.querySelector('#chat .chat-slow').textContent`) == "🐢 30 s"
	})
	require.Equal(t, "none", v.eval(`getComputedStyle(document.querySelector('#chat .chat-modbar')).display`))
	require.Equal(t, "0", v.eval(`document.querySelectorAll('#chat .chat-tool').length`))
	v.eval(`(() => { const f = document.querySelector('#chat .chat-name-form'); f.querySelector('input').value = 'Cr3ator'; f.requestSubmit(); return 'ok'; })()`)
	waitPage(t, v, "name refused", func(pageState) bool {
		return strings.Contains(v.eval(`document.querySelector('#chat .chat-status').textContent`), "Pick another") &&
			v.eval(`getComputedStyle(document.querySelector('#chat .chat-name-form')).display`) != "none"
	})
	st := v.state()
	require.Zero(t, st.Pwned)
}
