package chat

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

func isCode(code string) func(ServerMessage) bool {
	return func(m ServerMessage) bool { return m.Type == TypeError && m.Code == code }
}

func TestHubSlowMode(t *testing.T) {
	e := newEnv(t, nil)
	mod, _ := e.join(t, "?token="+testToken, `{"type":"hello","name":"mod"}`)
	viewer, _ := e.join(t, "", `{"type":"hello","name":"v"}`)
	mod.send(`{"type":"slow","seconds":10}`)
	require.Equal(t, 10, viewer.waitFor(isType(TypeSlow)).Seconds)
	_, w := e.join(t, "", `{"type":"hello","name":"late"}`)
	require.Equal(t, 10, w.Slow, "welcome tells slow mode")

	viewer.send(`{"type":"message","text":"one"}`)
	viewer.waitFor(isText("one"))
	viewer.send(`{"type":"message","text":"two"}`)
	e2 := viewer.waitFor(isType(TypeError))
	require.Equal(t, CodeSlowMode, e2.Code)
	require.Contains(t, e2.Message, "wait 10s")
	mod.send(`{"type":"message","text":"moderators are exempt"}`)
	mod.send(`{"type":"message","text":"twice"}`)
	viewer.waitFor(isText("twice"))

	e.clock.Advance(10 * time.Second)
	viewer.send(`{"type":"message","text":"three"}`)
	viewer.waitFor(isText("three"))
	require.Equal(t, uint64(1), e.hub.Stats().SlowRefused)

	mod.send(`{"type":"slow","seconds":0}`)
	require.Equal(t, 0, viewer.waitFor(isType(TypeSlow)).Seconds)
	viewer.send(`{"type":"message","text":"four"}`)
	viewer.waitFor(isText("four"))
	viewer.send(`{"type":"slow","seconds":5}`)
	require.Equal(t, CodeForbidden, viewer.waitFor(isType(TypeError)).Code)
}

func TestHubTimeouts(t *testing.T) {
	e := newEnv(t, nil)
	mod, _ := e.join(t, "?token="+testToken, `{"type":"hello","name":"mod"}`)
	viewer, w := e.join(t, "", `{"type":"hello","name":"v","id":"timed-out-browser"}`)
	other, _ := e.join(t, "", `{"type":"hello","name":"o"}`)
	mod.send(`{"type":"timeout","user":"` + w.User.ID + `","seconds":60}`)
	told := viewer.waitFor(isType(TypeError))
	require.Equal(t, CodeTimedOut, told.Code)
	require.Contains(t, told.Message, "1m0s")

	viewer.send(`{"type":"message","text":"muted"}`)
	require.Equal(t, CodeTimedOut, viewer.waitFor(isType(TypeError)).Code)
	viewer.send(`{"type":"reaction","emoji":"🔥"}`)
	require.Equal(t, CodeTimedOut, viewer.waitFor(isType(TypeError)).Code)
	// Reconnecting does not help: the timeout is the user's.
	again, _ := e.join(t, "", `{"type":"hello","name":"v","id":"timed-out-browser"}`)
	again.send(`{"type":"message","text":"muted again"}`)
	require.Equal(t, CodeTimedOut, again.waitFor(isType(TypeError)).Code)

	e.clock.Advance(61 * time.Second)
	viewer.send(`{"type":"message","text":"back"}`)
	other.waitFor(isText("back"))

	require.NoError(t, e.hub.Timeout(w.User.ID, time.Hour))
	require.Contains(t, viewer.waitFor(isCode(CodeTimedOut)).Message, "1h0m0s", "told at once")
	viewer.send(`{"type":"message","text":"muted by the app"}`)
	require.Equal(t, CodeTimedOut, viewer.waitFor(isType(TypeError)).Code)
	require.NoError(t, e.hub.Timeout(w.User.ID, 0), "0 lifts it")
	viewer.send(`{"type":"message","text":"lifted"}`)
	other.waitFor(isText("lifted"))
	require.ErrorIs(t, e.hub.Timeout("bad id", time.Minute), ErrBadRequest)
	st := e.hub.Stats()
	require.Equal(t, uint64(3), st.Timeouts)
	require.Equal(t, uint64(4), st.MutedRefused)
}

func TestHubBlockedWords(t *testing.T) {
	e := newEnv(t, nil)
	mod, _ := e.join(t, "?token="+testToken, `{"type":"hello","name":"mod"}`)
	viewer, w := e.join(t, "", `{"type":"hello","name":"v"}`)
	require.Empty(t, w.Words, "viewers are not told the list")
	mod.send(`{"type":"words","words":["darn","heck*"]}`)
	require.Equal(t, []string{"darn", "heck*"}, mod.waitFor(isType(TypeWords)).Words)

	viewer.send(`{"type":"message","text":"well DARN it"}`)
	refused := viewer.waitFor(isType(TypeError))
	require.Equal(t, CodeBlocked, refused.Code)
	require.Contains(t, refused.Message, `"darn"`)
	viewer.send(`{"type":"message","text":"heckin fine"}`)
	require.Equal(t, CodeBlocked, viewer.waitFor(isType(TypeError)).Code)
	viewer.send(`{"type":"message","text":"darned fine"}`)
	mod.waitFor(isText("darned fine"))
	mod.send(`{"type":"message","text":"darn, says the moderator"}`)
	viewer.waitFor(isText("darn, says the moderator"))
	require.Equal(t, uint64(2), e.hub.Stats().Blocked)

	_, mw := e.join(t, "?token="+testToken, `{"type":"hello","name":"mod2"}`)
	require.Equal(t, []string{"darn", "heck*"}, mw.Words)
	require.NoError(t, e.hub.SetBlockedWords([]string{"other"}))
	require.Equal(t, []string{"other"}, mod.waitFor(isType(TypeWords)).Words)
	s, err := e.hub.Settings()
	require.NoError(t, err)
	require.Equal(t, []string{"other"}, s.BlockedWords)
	require.ErrorIs(t, e.hub.SetBlockedWords([]string{strings.Repeat("x", 51)}), ErrTooLong)
}

func TestHubReservedNames(t *testing.T) {
	e := newEnv(t, nil)
	for _, name := range []string{"Creator", "cr3ator", "CREATOR", "Сreator", "Moderator", "admin"} {
		c := e.dial(t, "")
		c.send(`{"type":"hello","name":"` + name + `"}`)
		refused := c.waitFor(isType(TypeError))
		require.Equal(t, CodeNameTaken, refused.Code, name)
		w := c.waitFor(isType(TypeWelcome))
		require.Empty(t, w.User.Name, "%s joins read-only", name)
		c.send(`{"type":"message","text":"x"}`)
		require.Equal(t, CodeBadRequest, c.waitFor(isType(TypeError)).Code)
	}
	// A moderator's chat name, a name the app posts under and a token's name are reserved too.
	_, _ = e.join(t, "?token="+testToken, `{"type":"hello","name":"Ann the Mod"}`)
	require.NoError(t, e.hub.Post("Streamer Sam", "hello"))
	_, err := e.hub.MintModerator("Alice")
	require.NoError(t, err)
	viewer, _ := e.join(t, "", `{"type":"hello","name":"bob"}`)
	for _, name := range []string{"ann the mod", "streamer_sam", "A1ice"} {
		require.Eventually(t, func() bool {
			viewer.send(`{"type":"hello","name":"` + name + `"}`)
			m := viewer.waitFor(func(m ServerMessage) bool { return m.Type == TypeError || m.Type == TypeWelcome })
			return m.Type == TypeError && m.Code == CodeNameTaken
		}, waitTimeout, 10*time.Millisecond, name)
	}
	e.clock.Advance(time.Minute) // the hellos above spent the rate limit
	viewer.send(`{"type":"message","text":"still bob"}`)
	require.Equal(t, "bob", viewer.waitFor(isText("still bob")).User.Name, "a refused rename keeps the name")
	require.GreaterOrEqual(t, e.hub.Stats().NamesRefused, uint64(9))
}

func TestModeratorTokens(t *testing.T) {
	file := filepath.Join(t.TempDir(), "moderators.json")
	e := newEnv(t, func(h *Hub) { h.ModeratorToken = ""; h.TokenFile = file })
	alice, err := e.hub.MintModerator("Alice")
	require.NoError(t, err)
	require.Len(t, alice.Token, 32)
	e.clock.Advance(time.Second)
	bob, err := e.hub.MintModerator("Bob")
	require.NoError(t, err)
	list, err := e.hub.Moderators()
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "Alice", list[0].Name)

	// The file keeps hashes, never tokens.
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	require.NotContains(t, string(data), alice.Token)
	require.Contains(t, string(data), hashToken(alice.Token))
	fi, err := os.Stat(file)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// A token in the query or in the cookie makes a moderator; the old shared
	// secret does not when it is not set.
	_, w := e.join(t, "?token="+alice.Token, `{"type":"hello","name":"alice"}`)
	require.True(t, w.Moderator)
	require.True(t, w.User.Mod)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	header := http.Header{"Cookie": {ModeratorCookie + "=" + bob.Token}}
	ws, _, err := websocket.Dial(ctx, e.url, &websocket.DialOptions{HTTPHeader: header})
	require.NoError(t, err)
	defer ws.CloseNow()
	bobConn := &rawClient{t: t, ws: ws}
	bobConn.send(`{"type":"hello","name":"bob"}`)
	require.True(t, bobConn.waitFor(isType(TypeWelcome)).Moderator)
	_, w = e.join(t, "?token="+testToken, `{"type":"hello","name":"x"}`)
	require.False(t, w.Moderator)

	// Revoking closes the connections made with the token.
	require.NoError(t, e.hub.RevokeModerator(bob.ID))
	ce := bobConn.closeError()
	require.Equal(t, websocket.StatusPolicyViolation, ce.Code)
	require.Equal(t, "moderator token revoked", ce.Reason)
	require.ErrorIs(t, e.hub.RevokeModerator(bob.ID), ErrBadRequest)
	_, w = e.join(t, "?token="+bob.Token, `{"type":"hello","name":"bob2"}`)
	require.False(t, w.Moderator)

	// Another hub on the same file knows Alice's token and not Bob's.
	e2 := newEnv(t, func(h *Hub) { h.ModeratorToken = ""; h.TokenFile = file })
	_, w = e2.join(t, "?token="+alice.Token, `{"type":"hello","name":"alice"}`)
	require.True(t, w.Moderator)
	_, w = e2.join(t, "?token="+bob.Token, `{"type":"hello","name":"bob"}`)
	require.False(t, w.Moderator)
	_, err = e2.hub.MintModerator(" ")
	require.ErrorIs(t, err, ErrBadRequest)
}

func TestMoveTokenToCookie(t *testing.T) {
	e := newEnv(t, nil)
	tok, err := e.hub.MintModerator("Alice")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, url, location string
		cookie              bool
	}{
		{"minted token", "/?token=" + tok.Token + "&n=8", "/?n=8", true},
		{"shared token", "/?token=" + testToken, "/", true},
		{"wrong token", "/?token=nope", "/", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			require.True(t, e.hub.MoveTokenToCookie(rec, httptest.NewRequest(http.MethodGet, tc.url, nil)))
			require.Equal(t, http.StatusSeeOther, rec.Code)
			require.Equal(t, tc.location, rec.Header().Get("Location"))
			cookies := rec.Result().Cookies()
			if !tc.cookie {
				require.Empty(t, cookies)
				return
			}
			require.Len(t, cookies, 1)
			c := cookies[0]
			require.Equal(t, ModeratorCookie, c.Name)
			require.True(t, c.HttpOnly)
			require.Equal(t, http.SameSiteStrictMode, c.SameSite)
			require.Equal(t, "/chat", c.Path)
		})
	}
	rec := httptest.NewRecorder()
	require.False(t, e.hub.MoveTokenToCookie(rec, httptest.NewRequest(http.MethodGet, "/?n=8", nil)))
}

func TestModeratorsHandler(t *testing.T) {
	e := newEnv(t, nil)
	srv := httptest.NewServer(e.hub.ModeratorsHandler("the-stream-key"))
	defer srv.Close()
	do := func(method, path, key, body string) (int, string) {
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		if key != "" {
			req.Header.Set("Authorization", "Bearer "+key)
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := do(http.MethodGet, "/api/moderators", "", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, _ = do(http.MethodGet, "/api/moderators", "wrong", "")
	require.Equal(t, http.StatusUnauthorized, code)
	code, body := do(http.MethodPost, "/api/moderators", "the-stream-key", `{"name":"Alice"}`)
	require.Equal(t, http.StatusCreated, code, body)
	var tok ModeratorToken
	require.NoError(t, json.Unmarshal([]byte(body), &tok))
	require.Equal(t, "Alice", tok.Name)
	require.NotEmpty(t, tok.Token)
	code, body = do(http.MethodGet, "/api/moderators", "the-stream-key", "")
	require.Equal(t, http.StatusOK, code)
	require.Contains(t, body, `"name":"Alice"`)
	require.NotContains(t, body, tok.Token, "the list never shows tokens")
	code, _ = do(http.MethodPost, "/api/moderators", "the-stream-key", `{"name":""}`)
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = do(http.MethodPost, "/api/moderators", "the-stream-key", `nope`)
	require.Equal(t, http.StatusBadRequest, code)
	code, _ = do(http.MethodPost, "/api/moderators", "the-stream-key", `{"name":"`+strings.Repeat("x", maxAdminBody)+`"}`)
	require.Equal(t, http.StatusRequestEntityTooLarge, code)
	code, _ = do(http.MethodDelete, "/api/moderators/"+tok.ID, "the-stream-key", "")
	require.Equal(t, http.StatusNoContent, code)
	code, _ = do(http.MethodDelete, "/api/moderators/"+tok.ID, "the-stream-key", "")
	require.Equal(t, http.StatusNotFound, code)
	code, _ = do(http.MethodPut, "/api/moderators", "the-stream-key", "")
	require.Equal(t, http.StatusMethodNotAllowed, code)

	closed := &Hub{}
	srv2 := httptest.NewServer(closed.ModeratorsHandler(""))
	defer srv2.Close()
	resp, err := http.Get(srv2.URL + "/api/moderators")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no admin key: no admin")
}

func FuzzDecodeMintRequest(f *testing.F) {
	for _, seed := range []string{`{"name":"Alice"}`, `{"name":""}`, `nope`, `{"name":5}`, `[]`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeMintRequest(data)
		if err != nil {
			return
		}
		if name, err := cleanName(req.Name); err == nil && (name == "" || strings.ContainsAny(name, "\x00\n")) {
			t.Fatalf("unclean name %q accepted", name)
		}
	})
}

func TestGoClientModerationFrames(t *testing.T) {
	e := newEnv(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	mod := &Client{URL: e.url, Name: "mod", Token: testToken}
	require.NoError(t, mod.Dial(ctx))
	defer mod.Close()
	viewer, w := e.join(t, "", `{"type":"hello","name":"v"}`)
	require.NoError(t, mod.SlowMode(ctx, 20*time.Second))
	require.Equal(t, 20, viewer.waitFor(isType(TypeSlow)).Seconds)
	require.NoError(t, mod.SetBlockedWords(ctx, []string{"zap"}))
	require.NoError(t, mod.Timeout(ctx, w.User.ID, 90*time.Second))
	require.Equal(t, CodeTimedOut, viewer.waitFor(isType(TypeError)).Code)
	waitClientEvent(t, ctx, mod, func(m ServerMessage) bool { return m.Type == TypeWords && len(m.Words) == 1 })
	s, err := e.hub.Settings()
	require.NoError(t, err)
	require.Equal(t, 20*time.Second, s.SlowMode)
}
