package chat

import (
	"fmt"
	"sync"
	"time"
)

// subscriber is one in-process Subscribe channel.
type subscriber struct {
	ch chan ServerMessage
}

// RoomSettings are the room's moderation settings.
type RoomSettings struct {
	// SlowMode is the shortest time between two messages of one viewer (0: off).
	SlowMode time.Duration
	// BlockedWords is the blocked-words list.
	BlockedWords []string
}

// Post relays a message from the app (the creator) to every viewer, as user
// {"id":"creator","name":name,"mod":true}; name becomes reserved. The text is
// cleaned and limited like a viewer's; errors wrap ErrBadRequest, ErrTooLong or
// ErrClosed.
func (h *Hub) Post(name, text string) error {
	n, err := cleanName(name)
	if err != nil {
		return fmt.Errorf("chat post: %w", err)
	}
	data, err := EncodeClientMessage(ClientMessage{Type: TypeMessage, Text: text})
	if err != nil {
		return fmt.Errorf("chat post: %w", err)
	}
	m, err := DecodeClientMessage(data, h.MaxTextLen)
	if err != nil {
		return fmt.Errorf("chat post: %w", err)
	}
	return h.do(h.ctx, func() {
		h.room.reserve(n)
		h.emit(event{Type: evMessage, User: &User{ID: CreatorID, Name: n, Mod: true}, Text: m.Text})
	})
}

// Delete removes message id from history and from every viewer's page, as a
// moderator's delete would. Errors wrap ErrBadRequest (no such message) or ErrClosed.
func (h *Hub) Delete(id string) error {
	return h.moderateErr("chat delete", ClientMessage{Type: TypeDelete, Ref: id})
}

// Ban bans public user id (and the addresses it connected from) for the room's
// lifetime, as a moderator's ban would. Errors wrap ErrBadRequest or ErrClosed.
func (h *Hub) Ban(user string) error {
	if !validRef(user) {
		return fmt.Errorf("chat ban: invalid user id: %w", ErrBadRequest)
	}
	return h.moderateErr("chat ban", ClientMessage{Type: TypeBan, User: user})
}

// Timeout mutes public user id for d (whole seconds, at most MaxTimeoutSeconds;
// 0 lifts a timeout), as a moderator's timeout would. Errors wrap ErrBadRequest
// or ErrClosed.
func (h *Hub) Timeout(user string, d time.Duration) error {
	secs := int(d / time.Second)
	if !validRef(user) || secs < 0 || secs > MaxTimeoutSeconds {
		return fmt.Errorf("chat timeout: invalid user id or duration: %w", ErrBadRequest)
	}
	return h.moderateErr("chat timeout", ClientMessage{Type: TypeTimeout, User: user, Seconds: secs})
}

// SetSlowMode sets the shortest time between two messages of one viewer
// (whole seconds, at most MaxSlowModeSeconds; 0 turns slow mode off). Errors
// wrap ErrBadRequest or ErrClosed.
func (h *Hub) SetSlowMode(d time.Duration) error {
	secs := int(d / time.Second)
	if secs < 0 || secs > MaxSlowModeSeconds {
		return fmt.Errorf("chat slow mode: interval out of range: %w", ErrBadRequest)
	}
	return h.moderateErr("chat slow mode", ClientMessage{Type: TypeSlow, Seconds: secs})
}

// SetBlockedWords replaces the blocked-words list (see the README's chat
// section for how entries match). Errors wrap ErrTooLong or ErrClosed.
func (h *Hub) SetBlockedWords(words []string) error {
	clean, err := cleanWords(words)
	if err != nil {
		return fmt.Errorf("chat blocked words: %w", err)
	}
	return h.moderateErr("chat blocked words", ClientMessage{Type: TypeWords, Words: clean})
}

// Settings returns the room's slow mode and blocked-words list. Errors wrap ErrClosed.
func (h *Hub) Settings() (RoomSettings, error) {
	out := make(chan RoomSettings, 1)
	err := h.do(h.ctx, func() {
		out <- RoomSettings{SlowMode: time.Duration(h.room.slow.Value) * time.Second,
			BlockedWords: append([]string{}, h.room.words.Value...)}
	})
	if err != nil {
		return RoomSettings{}, fmt.Errorf("chat settings: %w", err)
	}
	return <-out, nil
}

// moderateErr runs a moderator action on the hub's goroutine.
func (h *Hub) moderateErr(op string, m ClientMessage) error {
	errc := make(chan error, 1)
	if err := h.do(h.ctx, func() { errc <- h.moderate(m) }); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if err := <-errc; err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// Subscribe returns a channel that receives, first, a welcome frame carrying the
// current history, slow mode and blocked words and (if buf > 1) a viewers frame,
// then every frame the hub broadcasts (message, reaction, deleted, viewers, slow,
// words). Frames that do not fit in buf (default 64) are dropped for this
// subscriber and counted, so a slow subscriber never blocks the hub. Call cancel
// to release it; the channel is closed after cancel or when the hub closes.
func (h *Hub) Subscribe(buf int) (events <-chan ServerMessage, cancel func(), err error) {
	if buf <= 0 {
		buf = defaultSendQueue
	}
	s := &subscriber{ch: make(chan ServerMessage, buf)}
	if err := h.do(h.ctx, func() {
		h.subs[s] = struct{}{}
		s.ch <- h.subscriberWelcome()
		if buf > 1 {
			s.ch <- ServerMessage{Type: TypeViewers, Count: h.roomViewers()}
		}
	}); err != nil {
		return nil, nil, fmt.Errorf("chat subscribe: %w", err)
	}
	var once sync.Once
	return s.ch, func() {
		once.Do(func() {
			_ = h.do(h.ctx, func() {
				if _, ok := h.subs[s]; ok {
					delete(h.subs, s)
					close(s.ch)
				}
			})
		})
	}, nil
}
