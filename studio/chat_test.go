package studio

import (
	"context"
	"image"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/chat"
	"golive/media"
)

func TestChatAndOverlay(t *testing.T) {
	h := newStudio(t, nil, true)
	require.NoError(t, h.SendChat("hello from the studio"))
	h.waitFor(t, "own message", func() bool { return len(h.Chat()) == 1 })
	require.Equal(t, "Creator", h.Chat()[0].User.Name)

	// A viewer joins over the WebSocket and writes.
	viewer := &chat.Client{URL: "ws://" + h.server.HTTPAddress().String() + "/chat/ws", Name: "viewer"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, viewer.Dial(ctx))
	defer viewer.Close()
	require.NoError(t, viewer.Send(ctx, "spam spam"))
	h.waitFor(t, "viewer message", func() bool { return len(h.Chat()) == 2 })
	msg := h.Chat()[1]
	require.Equal(t, "spam spam", msg.Text)

	// Moderation in process: the viewer sees its message deleted, then
	// the ban ends its connection.
	require.NoError(t, h.DeleteChat(msg.ID))
	h.waitFor(t, "deleted", func() bool { return len(h.Chat()) == 1 })
	require.NoError(t, h.BanChat(msg.User.ID))
	var deleted, banned bool
	for ended := false; !ended; {
		select {
		case m, ok := <-viewer.Events():
			ended = !ok
			deleted = deleted || (m.Type == chat.TypeDeleted && m.ID == msg.ID)
			banned = banned || (m.Type == chat.TypeError && m.Code == chat.CodeBanned)
		case <-ctx.Done():
			t.Fatal("the banned viewer's connection did not end")
		}
	}
	require.True(t, deleted, "the viewer saw the delete")
	require.True(t, banned, "the viewer was told it is banned")

	// Overlay: off leaves frames alone; on burns the chat in.
	frame := func() *media.VideoFrame {
		f := media.NewVideoFrame(1280, 720)
		for i := range f.Y {
			f.Y[i] = 100
		}
		return f
	}
	f := frame()
	h.engine.onFrame(f)
	require.Equal(t, frame().Y, f.Y)
	h.SetOverlay(true)
	require.True(t, h.Status().Overlay)
	f = frame()
	h.engine.onFrame(f)
	box := h.overlay.Bounds()
	require.False(t, box.Empty())
	require.True(t, box.In(image.Rect(0, 0, 1280, 720)))
	changed := 0
	for i, v := range f.Y {
		if v != 100 {
			changed++
			x, y := i%1280, i/1280
			require.True(t, image.Pt(x, y).In(box), "pixel %d,%d outside the overlay box changed", x, y)
		}
	}
	require.Greater(t, changed, 1000)
	h.SetOverlay(false)
	f = frame()
	h.engine.onFrame(f)
	require.Equal(t, frame().Y, f.Y)
}

func TestChatModerationTools(t *testing.T) {
	h := newStudio(t, nil, true)
	chatURL := "ws://" + h.server.HTTPAddress().String() + "/chat/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The stream key does not make a moderator; an invite does.
	keyHolder := &chat.Client{URL: chatURL, Name: "key holder", Token: h.StreamKey()}
	require.NoError(t, keyHolder.Dial(ctx))
	require.False(t, keyHolder.Welcome().Moderator, "the stream key only publishes")
	require.NoError(t, keyHolder.Close())
	inv, err := h.InviteModerator("Alice")
	require.NoError(t, err)
	require.Equal(t, h.ViewerURL()+"?token="+inv.Token, inv.URL)
	mods, err := h.Moderators()
	require.NoError(t, err)
	require.Len(t, mods, 1)
	require.Equal(t, "Alice", mods[0].Name)
	alice := &chat.Client{URL: chatURL, Name: "Alice", Token: inv.Token}
	require.NoError(t, alice.Dial(ctx))
	defer alice.Close()
	require.True(t, alice.Welcome().Moderator)

	viewer := &chat.Client{URL: chatURL, Name: "viewer"}
	require.NoError(t, viewer.Dial(ctx))
	defer viewer.Close()
	require.NoError(t, viewer.Send(ctx, "hi"))
	h.waitFor(t, "the viewer's message", func() bool { return len(h.Chat()) == 1 })
	userID := h.Chat()[0].User.ID

	waitEvent := func(c *chat.Client, what string, match func(chat.ServerMessage) bool) {
		t.Helper()
		for {
			select {
			case m, ok := <-c.Events():
				require.True(t, ok, "%s: connection ended: %v", what, c.Err())
				if match(m) {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no %s", what)
			}
		}
	}
	require.NoError(t, h.TimeoutChat(userID, 10*time.Minute))
	waitEvent(viewer, "timed_out", func(m chat.ServerMessage) bool { return m.Type == chat.TypeError && m.Code == chat.CodeTimedOut })
	require.NoError(t, h.TimeoutChat(userID, 0))

	require.NoError(t, h.SetSlowMode(30*time.Second))
	require.NoError(t, h.SetBlockedWords([]string{"zonk"}))
	h.waitFor(t, "settings from the hub", func() bool {
		st := h.ChatSettings()
		return st.SlowMode == 30*time.Second && len(st.BlockedWords) == 1
	})
	waitEvent(viewer, "slow mode", func(m chat.ServerMessage) bool { return m.Type == chat.TypeSlow && m.Seconds == 30 })

	require.NoError(t, h.RevokeModerator(inv.ID))
	for range alice.Events() {
	}
	require.Contains(t, alice.Err().Error(), "moderator token revoked")
	mods, err = h.Moderators()
	require.NoError(t, err)
	require.Empty(t, mods)
}
