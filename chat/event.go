package chat

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Event types: every change to a room is one of these, made on one instance
// and applied by every instance (see Hub.apply).
const (
	evMessage   = "message"
	evReaction  = "reaction"
	evDelete    = "delete"
	evBan       = "ban"
	evTimeout   = "timeout"
	evSlow      = "slow"
	evWords     = "words"
	evModAdd    = "mod_add"
	evModRevoke = "mod_revoke"
)

// Limits of what arrives from other instances.
const (
	// maxEventBytes is the largest encoded event accepted.
	maxEventBytes = 16 << 10
	// maxEventIPs bounds the addresses a ban event carries.
	maxEventIPs = maxIPsPerUser
	// maxOriginLen bounds an instance id.
	maxOriginLen = 32
)

// ErrBadEvent is wrapped by the decoders of what arrives over NATS (events,
// presence, replays, snapshots) when it is malformed, oversized or invalid;
// such input is dropped and counted.
var ErrBadEvent = errors.New("chat: malformed event")

// event is one change to a room, as instances apply it and exchange it over
// NATS. Origin and Seq identify it: every instance numbers its own events 1, 2,
// 3…, so each event is applied once per instance however often it arrives.
// Only the fields of its Type are set.
type event struct {
	// Origin is the instance that made the event (8 hex digits).
	Origin string `json:"o"`
	// Seq numbers the origin's events from 1 without gaps.
	Seq uint64 `json:"s"`
	// Type is one of the ev* constants.
	Type string `json:"t"`
	// TS is when the event was made, Unix ms.
	TS int64 `json:"ts"`
	// ID is the message id (message, delete).
	ID string `json:"id,omitempty"`
	// User is the author (message, reaction).
	User *User `json:"user,omitempty"`
	// Text is the message text (message).
	Text string `json:"text,omitempty"`
	// Emoji is the reaction (reaction).
	Emoji string `json:"emoji,omitempty"`
	// Target is the user id (ban, timeout) or moderator id (mod_revoke).
	Target string `json:"target,omitempty"`
	// IPs are the addresses the origin saw the banned user use (ban).
	IPs []string `json:"ips,omitempty"`
	// Until is when a timeout ends, Unix ms, 0 when it is lifted (timeout).
	Until int64 `json:"until,omitempty"`
	// Seconds is the timeout's length (timeout) or slow mode's interval (slow).
	Seconds int `json:"seconds,omitempty"`
	// Words is the blocked-words list (words).
	Words []string `json:"words,omitempty"`
	// Mod is the new moderator token's record (mod_add).
	Mod *modRecord `json:"mod,omitempty"`
}

// encodeEvent marshals an event for NATS.
func encodeEvent(ev event) ([]byte, error) {
	return marshalText(ev)
}

// decodeEvent parses and checks one event from another instance as strictly as
// client input: size, type, and every field of the type (names and texts clean
// and within limits, ids well-formed, emoji allowed, addresses parseable).
// maxText is the longest message text in runes. Errors wrap ErrBadEvent.
func decodeEvent(data []byte, maxText int) (event, error) {
	if len(data) > maxEventBytes {
		return event{}, fmt.Errorf("event of %d bytes, limit %d: %w", len(data), maxEventBytes, ErrBadEvent)
	}
	var ev event
	if err := json.Unmarshal(data, &ev); err != nil {
		return event{}, fmt.Errorf("event: invalid JSON: %w", ErrBadEvent)
	}
	if err := ev.check(maxText); err != nil {
		return event{}, err
	}
	return ev, nil
}

// check validates a decoded event; see decodeEvent.
func (ev *event) check(maxText int) error {
	if maxText <= 0 {
		maxText = defaultMaxTextLen
	}
	bad := func(what string) error {
		return fmt.Errorf("%s event: %s: %w", truncate(ev.Type, 16), what, ErrBadEvent)
	}
	if !validOrigin(ev.Origin) {
		return bad("invalid origin")
	}
	if ev.Seq == 0 {
		return bad("sequence number 0")
	}
	if ev.TS < 0 {
		return bad("negative time")
	}
	switch ev.Type {
	case evMessage:
		if !validRef(ev.ID) || !strings.HasPrefix(ev.ID, ev.Origin+"-") {
			return bad("invalid message id")
		}
		if !validUser(ev.User, true) {
			return bad("invalid user")
		}
		if ev.Text != StripControl(ev.Text) || strings.TrimSpace(ev.Text) == "" || !utf8.ValidString(ev.Text) {
			return bad("invalid text")
		}
		if utf8.RuneCountInString(ev.Text) > maxText {
			return bad("text too long")
		}
	case evReaction:
		if !validUser(ev.User, false) || !validReaction(ev.Emoji) {
			return bad("invalid reaction")
		}
	case evDelete:
		if !validRef(ev.ID) {
			return bad("invalid message id")
		}
	case evBan:
		if !validRef(ev.Target) || len(ev.IPs) > maxEventIPs {
			return bad("invalid target")
		}
		for _, ip := range ev.IPs {
			if _, err := netip.ParseAddr(ip); err != nil {
				return bad("invalid address")
			}
		}
	case evTimeout:
		if !validRef(ev.Target) || ev.Until < 0 || ev.Seconds < 0 || ev.Seconds > MaxTimeoutSeconds {
			return bad("invalid timeout")
		}
	case evSlow:
		if ev.Seconds < 0 || ev.Seconds > MaxSlowModeSeconds {
			return bad("invalid interval")
		}
	case evWords:
		words, err := cleanWords(ev.Words)
		if err != nil {
			return bad("invalid words")
		}
		ev.Words = words
	case evModAdd:
		if ev.Mod == nil || !ev.Mod.valid() {
			return bad("invalid moderator")
		}
	case evModRevoke:
		if !validRef(ev.Target) {
			return bad("invalid moderator id")
		}
	default:
		return bad("unknown type")
	}
	return nil
}

// validOrigin reports whether s can be an instance id: 1-32 of 0-9 a-z.
func validOrigin(s string) bool {
	if s == "" || len(s) > maxOriginLen {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

// validUser reports whether u is a well-formed author: a valid id and a clean
// name (required for messages).
func validUser(u *User, named bool) bool {
	if u == nil || !validRef(u.ID) {
		return false
	}
	if u.Name == "" {
		return !named
	}
	name, err := cleanName(u.Name)
	return err == nil && name == u.Name
}
