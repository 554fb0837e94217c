package chat

import (
	"fmt"
	"sync"
)

// subscriber is one in-process Subscribe channel.
type subscriber struct {
	ch chan ServerMessage
}

// Post relays a message from the app (the creator) to every viewer, as user
// {"id":"creator","name":name,"mod":true}. The text is cleaned and limited like a
// viewer's; errors wrap ErrBadRequest, ErrTooLong or ErrClosed.
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
		h.relayMessage(User{ID: CreatorID, Name: n, Mod: true}, m.Text)
	})
}

// Delete removes message id from history and from every viewer's page, as a
// moderator's delete would. Errors wrap ErrBadRequest (no such message) or ErrClosed.
func (h *Hub) Delete(id string) error {
	found := make(chan bool, 1)
	if err := h.do(h.ctx, func() { found <- h.deleteMessage(id) }); err != nil {
		return fmt.Errorf("chat delete: %w", err)
	}
	if !<-found {
		return fmt.Errorf("chat delete: no message %q in history: %w", id, ErrBadRequest)
	}
	return nil
}

// Ban bans public user id (and the addresses it connected from) for the hub's
// lifetime, as a moderator's ban would. Errors wrap ErrBadRequest or ErrClosed.
func (h *Hub) Ban(user string) error {
	if !validRef(user) {
		return fmt.Errorf("chat ban: invalid user id: %w", ErrBadRequest)
	}
	if err := h.do(h.ctx, func() { h.ban(user) }); err != nil {
		return fmt.Errorf("chat ban: %w", err)
	}
	return nil
}

// Subscribe returns a channel that receives, first, a welcome frame carrying the
// current history and (if buf > 1) a viewers frame, then every frame the hub broadcasts (message, reaction,
// deleted, viewers). Frames that do not fit in buf (default 64) are dropped for
// this subscriber and counted, so a slow subscriber never blocks the hub. Call
// cancel to release it; the channel is closed after cancel or when the hub closes.
func (h *Hub) Subscribe(buf int) (events <-chan ServerMessage, cancel func(), err error) {
	if buf <= 0 {
		buf = defaultSendQueue
	}
	s := &subscriber{ch: make(chan ServerMessage, buf)}
	if err := h.do(h.ctx, func() {
		h.subs[s] = struct{}{}
		s.ch <- ServerMessage{Type: TypeWelcome, User: &User{}, History: h.historyCopy()}
		if buf > 1 {
			s.ch <- ServerMessage{Type: TypeViewers, Count: h.viewers}
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
