package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/chat"
)

// TestServerOwnChat checks the chat the server runs when none is given: a
// moderator token minted with the stream key moderates (the stream key itself
// does not), a viewer's message reaches the moderator, who can delete it, and
// the counts show in /api/status and /metrics.
func TestServerOwnChat(t *testing.T) {
	s := testServer(t, "240p", func(s *Server) { s.DataDir = t.TempDir() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	wsURL := "ws://" + s.HTTPAddress().String() + "/chat/ws"

	keyOnly := &chat.Client{URL: wsURL, Name: "key holder", Token: s.Key()}
	require.NoError(t, keyOnly.Dial(ctx))
	require.False(t, keyOnly.Welcome().Moderator, "the stream key only publishes")
	require.NoError(t, keyOnly.Close())

	req, err := http.NewRequest(http.MethodPost, s.testURL("/api/moderators"), strings.NewReader(`{"name":"Alice"}`))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+s.Key())
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var tok chat.ModeratorToken
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&tok))
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	code, _ := get(t, s.testURL("/api/moderators"))
	require.Equal(t, http.StatusUnauthorized, code, "the admin route wants the stream key")

	// The player page moves the token from its address into an HttpOnly cookie.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noRedirect.Get(s.testURL("/?token=" + tok.Token))
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	require.Equal(t, "/", resp.Header.Get("Location"))
	require.Contains(t, resp.Header.Get("Set-Cookie"), "HttpOnly")

	mod := &chat.Client{URL: wsURL, Name: "creator", Token: tok.Token}
	require.NoError(t, mod.Dial(ctx))
	defer mod.Close()
	require.True(t, mod.Welcome().Moderator)
	viewer := &chat.Client{URL: wsURL, Name: "viewer"}
	require.NoError(t, viewer.Dial(ctx))
	defer viewer.Close()
	require.False(t, viewer.Welcome().Moderator)

	require.NoError(t, viewer.Send(ctx, "<b>hello</b>"))
	msg := waitChat(t, mod, chat.TypeMessage)
	require.Equal(t, "<b>hello</b>", msg.Text)
	require.NoError(t, mod.Delete(ctx, msg.ID))
	require.Equal(t, msg.ID, waitChat(t, viewer, chat.TypeDeleted).ID)

	_, body := get(t, s.testURL("/api/status"))
	var st Status
	require.NoError(t, json.Unmarshal([]byte(body), &st))
	require.NotNil(t, st.Chat)
	require.Equal(t, 1, st.Chat.Viewers)
	require.Equal(t, 1, st.Chat.LocalViewers)
	require.Equal(t, "off", st.Chat.NATS.State)
	require.Equal(t, 1, st.Chat.Moderators)
	require.Equal(t, uint64(1), st.Chat.Messages)
	_, metrics := get(t, s.testURL("/metrics"))
	require.True(t, strings.Contains(metrics, "golive_chat_"), "chat metrics on /metrics")
}

// waitChat returns the next event of type typ a client receives.
func waitChat(t *testing.T, c *chat.Client, typ string) chat.ServerMessage {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case m, ok := <-c.Events():
			require.True(t, ok, "chat connection closed: %v", c.Err())
			if m.Type == typ {
				return m
			}
		case <-timeout:
			t.Fatalf("no %s event", typ)
		}
	}
}
