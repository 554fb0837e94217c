package chat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Message types of the chat protocol (the "type" field of every frame).
const (
	TypeHello    = "hello"
	TypeMessage  = "message"
	TypeReaction = "reaction"
	TypeDelete   = "delete"
	TypeBan      = "ban"
	TypeTimeout  = "timeout"
	TypeSlow     = "slow"
	TypeWords    = "words"
	TypeWelcome  = "welcome"
	TypeDeleted  = "deleted"
	TypeViewers  = "viewers"
	TypeError    = "error"
)

// Error codes sent in {"type":"error","code":...} frames.
const (
	CodeRateLimited = "rate_limited"
	CodeTooLong     = "too_long"
	CodeBanned      = "banned"
	CodeBadRequest  = "bad_request"
	CodeForbidden   = "forbidden"
	CodeSlowMode    = "slow_mode"
	CodeTimedOut    = "timed_out"
	CodeBlocked     = "blocked"
	CodeNameTaken   = "name_taken"
)

// Protocol limits that are not configurable on the Hub.
const (
	// MaxNameLen is the longest display name, in runes, after control characters are stripped.
	MaxNameLen = 32
	// MinClientIDLen and MaxClientIDLen bound the browser-kept id sent in hello.
	MinClientIDLen = 8
	// MaxClientIDLen is the longest browser-kept id accepted in hello.
	MaxClientIDLen = 64
	// MaxTimeoutSeconds is the longest timeout a moderator may give (14 days).
	MaxTimeoutSeconds = 14 * 24 * 3600
	// MaxSlowModeSeconds is the longest slow-mode interval (one hour).
	MaxSlowModeSeconds = 3600
	// MaxBlockedWords is how many entries the blocked-words list holds.
	MaxBlockedWords = 200
	// MaxBlockedWordLen is the longest blocked-words entry, in runes.
	MaxBlockedWordLen = 50
	// maxRefLen bounds message ids and user ids named in delete and ban.
	maxRefLen = 64
)

// Sentinel errors returned (wrapped with %w) by DecodeClientMessage and by the Hub
// when it refuses a client frame; each maps to one protocol error code.
var (
	// ErrBadRequest is returned for malformed JSON, an unknown type, a missing or
	// invalid field, or a reaction outside the allowed set.
	ErrBadRequest = errors.New(CodeBadRequest)
	// ErrTooLong is returned when a text or a name exceeds its length limit.
	ErrTooLong = errors.New(CodeTooLong)
	// ErrRateLimited is returned when a connection sends faster than its token bucket allows.
	ErrRateLimited = errors.New(CodeRateLimited)
	// ErrForbidden is returned when a non-moderator sends delete or ban.
	ErrForbidden = errors.New(CodeForbidden)
	// ErrBanned is returned when a banned user or address says hello.
	ErrBanned = errors.New(CodeBanned)
	// ErrSlowMode is returned when a viewer writes again sooner than slow mode allows.
	ErrSlowMode = errors.New(CodeSlowMode)
	// ErrTimedOut is returned when a viewer a moderator timed out writes or reacts.
	ErrTimedOut = errors.New(CodeTimedOut)
	// ErrBlocked is returned when a message contains a word on the blocked-words list.
	ErrBlocked = errors.New(CodeBlocked)
	// ErrNameTaken is returned when a viewer asks for the creator's or a moderator's name.
	ErrNameTaken = errors.New(CodeNameTaken)
)

// errorSentinels lists every sentinel that maps to a protocol code, most specific first.
var errorSentinels = [...]error{ErrTooLong, ErrRateLimited, ErrForbidden, ErrBanned, ErrSlowMode,
	ErrTimedOut, ErrBlocked, ErrNameTaken, ErrBadRequest}

// reactions lists the only emoji a reaction may carry, in the order pages show them.
var reactions = [...]string{"❤️", "🔥", "👏", "😂", "😮", "🎉"}

// Reactions returns the only emoji a reaction may carry, in the order pages show them.
func Reactions() []string { return append([]string(nil), reactions[:]...) }

// ErrorCode maps an error to its protocol code; unknown errors map to bad_request.
func ErrorCode(err error) string {
	for _, s := range errorSentinels {
		if errors.Is(err, s) {
			return s.Error()
		}
	}
	return CodeBadRequest
}

// ClientMessage is one decoded and validated client → server frame. Only the fields
// of its Type are set.
type ClientMessage struct {
	// Type is hello, message, reaction, delete, ban, timeout, slow or words.
	Type string
	// Name is the display name of a hello (empty: join read-only, without a name).
	Name string
	// HasName tells whether a hello carried a name.
	HasName bool
	// ClientID is the optional browser-kept id of a hello (protocol addition: "id" in hello).
	ClientID string
	// Text is the text of a message, control characters stripped.
	Text string
	// Emoji is the emoji of a reaction, one of Reactions().
	Emoji string
	// Ref is the message id of a delete.
	Ref string
	// User is the public user id of a ban or a timeout.
	User string
	// Seconds is a timeout's length (0 lifts it) or slow mode's interval (0 turns it off).
	Seconds int
	// Words is the new blocked-words list (words), cleaned and without duplicates.
	Words []string
}

// wireClient is the JSON shape of every client frame.
type wireClient struct {
	Type  string  `json:"type"`
	Name  *string `json:"name,omitempty"`
	ID    string  `json:"id,omitempty"`
	Text  string  `json:"text,omitempty"`
	Emoji string  `json:"emoji,omitempty"`
	User  string  `json:"user,omitempty"`
	// Seconds and Words are pointers so that a missing field is told from 0 and [].
	Seconds *int      `json:"seconds,omitempty"`
	Words   *[]string `json:"words,omitempty"`
}

// DecodeClientMessage parses and validates one client frame. maxText is the
// longest message text in runes (≤ 0 means the default 500). Errors wrap
// ErrBadRequest or ErrTooLong.
func DecodeClientMessage(data []byte, maxText int) (ClientMessage, error) {
	if maxText <= 0 {
		maxText = defaultMaxTextLen
	}
	var w wireClient
	if err := json.Unmarshal(data, &w); err != nil {
		return ClientMessage{}, fmt.Errorf("decode: invalid JSON: %w", ErrBadRequest)
	}
	var m ClientMessage
	m.Type = w.Type
	switch w.Type {
	case TypeHello:
		if w.Name != nil {
			name, err := cleanName(*w.Name)
			if err != nil {
				return ClientMessage{}, fmt.Errorf("decode hello: %w", err)
			}
			m.Name, m.HasName = name, true
		}
		if w.ID != "" {
			if !validClientID(w.ID) {
				return ClientMessage{}, fmt.Errorf("decode hello: id must be %d-%d characters of A-Z a-z 0-9 _ -: %w",
					MinClientIDLen, MaxClientIDLen, ErrBadRequest)
			}
			m.ClientID = w.ID
		}
	case TypeMessage:
		text := StripControl(w.Text)
		if strings.TrimSpace(text) == "" {
			return ClientMessage{}, fmt.Errorf("decode message: empty text: %w", ErrBadRequest)
		}
		if n := utf8.RuneCountInString(text); n > maxText {
			return ClientMessage{}, fmt.Errorf("decode message: text is %d characters, limit %d: %w", n, maxText, ErrTooLong)
		}
		m.Text = text
	case TypeReaction:
		if !validReaction(w.Emoji) {
			return ClientMessage{}, fmt.Errorf("decode reaction: emoji must be one of %s: %w",
				strings.Join(reactions[:], " "), ErrBadRequest)
		}
		m.Emoji = w.Emoji
	case TypeDelete:
		if !validRef(w.ID) {
			return ClientMessage{}, fmt.Errorf("decode delete: missing or invalid id: %w", ErrBadRequest)
		}
		m.Ref = w.ID
	case TypeBan:
		if !validRef(w.User) {
			return ClientMessage{}, fmt.Errorf("decode ban: missing or invalid user: %w", ErrBadRequest)
		}
		m.User = w.User
	case TypeTimeout:
		if !validRef(w.User) {
			return ClientMessage{}, fmt.Errorf("decode timeout: missing or invalid user: %w", ErrBadRequest)
		}
		if w.Seconds == nil || *w.Seconds < 0 || *w.Seconds > MaxTimeoutSeconds {
			return ClientMessage{}, fmt.Errorf("decode timeout: seconds must be 0-%d: %w", MaxTimeoutSeconds, ErrBadRequest)
		}
		m.User, m.Seconds = w.User, *w.Seconds
	case TypeSlow:
		if w.Seconds == nil || *w.Seconds < 0 || *w.Seconds > MaxSlowModeSeconds {
			return ClientMessage{}, fmt.Errorf("decode slow: seconds must be 0-%d: %w", MaxSlowModeSeconds, ErrBadRequest)
		}
		m.Seconds = *w.Seconds
	case TypeWords:
		if w.Words == nil {
			return ClientMessage{}, fmt.Errorf("decode words: missing words: %w", ErrBadRequest)
		}
		words, err := cleanWords(*w.Words)
		if err != nil {
			return ClientMessage{}, fmt.Errorf("decode words: %w", err)
		}
		m.Words = words
	default:
		return ClientMessage{}, fmt.Errorf("decode: unknown type %q: %w", truncate(w.Type, 32), ErrBadRequest)
	}
	return m, nil
}

// EncodeClientMessage marshals a client frame (used by the Go client and tests).
func EncodeClientMessage(m ClientMessage) ([]byte, error) {
	w := wireClient{Type: m.Type}
	switch m.Type {
	case TypeHello:
		if m.HasName {
			name := m.Name
			w.Name = &name
		}
		w.ID = m.ClientID
	case TypeMessage:
		w.Text = m.Text
	case TypeReaction:
		w.Emoji = m.Emoji
	case TypeDelete:
		w.ID = m.Ref
	case TypeBan:
		w.User = m.User
	case TypeTimeout:
		w.User = m.User
		secs := m.Seconds
		w.Seconds = &secs
	case TypeSlow:
		secs := m.Seconds
		w.Seconds = &secs
	case TypeWords:
		words := append([]string{}, m.Words...)
		w.Words = &words
	default:
		return nil, fmt.Errorf("encode client message: unknown type %q: %w", m.Type, ErrBadRequest)
	}
	return marshalText(w)
}

// User identifies the author of a message or reaction. ID is public: it is derived
// from the browser-kept id, so knowing it does not let anyone speak as that user.
type User struct {
	// ID is the public user id, the target of a ban.
	ID string `json:"id"`
	// Name is the display name (empty for a viewer who has not picked one).
	Name string `json:"name"`
	// Mod is true for moderators and for messages the app posts (protocol addition).
	Mod bool `json:"mod,omitempty"`
}

// Message is one chat message as stored in history and relayed to viewers.
type Message struct {
	// ID is the server-assigned message id, the target of a delete.
	ID string `json:"id"`
	// User is the author.
	User User `json:"user"`
	// Text is the verbatim text, control characters stripped.
	Text string `json:"text"`
	// TS is the server timestamp in Unix milliseconds.
	TS int64 `json:"ts"`
}

// ServerMessage is one server → client frame. Only the fields of its Type are
// encoded; see the chat protocol in DESIGN.md.
type ServerMessage struct {
	// Type is welcome, message, reaction, deleted, viewers, slow, words or error.
	Type string `json:"type"`
	// ID is the message id (message, deleted).
	ID string `json:"id,omitempty"`
	// User is the author (message, reaction) or the joining user (welcome).
	User *User `json:"user,omitempty"`
	// Text is the message text (message).
	Text string `json:"text,omitempty"`
	// TS is the server timestamp in Unix milliseconds (message).
	TS int64 `json:"ts,omitempty"`
	// Emoji is the reaction (reaction).
	Emoji string `json:"emoji,omitempty"`
	// Count is the number of viewers (viewers).
	Count int `json:"count,omitempty"`
	// History is the last messages, oldest first (welcome).
	History []Message `json:"history,omitempty"`
	// Moderator tells a welcomed client it has moderator rights (welcome; protocol addition).
	Moderator bool `json:"moderator,omitempty"`
	// Slow is slow mode's interval in seconds, 0 when off (welcome; protocol addition).
	Slow int `json:"slow,omitempty"`
	// Seconds is slow mode's new interval (slow; protocol addition).
	Seconds int `json:"seconds,omitempty"`
	// Words is the blocked-words list, sent to moderators only (welcome, words;
	// protocol addition).
	Words []string `json:"words,omitempty"`
	// Code is the error code (error).
	Code string `json:"code,omitempty"`
	// Message is a human-readable explanation (error).
	Message string `json:"message,omitempty"`
}

// AsMessage returns the chat message carried by a "message" frame.
func (m ServerMessage) AsMessage() Message {
	msg := Message{ID: m.ID, Text: m.Text, TS: m.TS}
	if m.User != nil {
		msg.User = *m.User
	}
	return msg
}

// messageFrame builds the "message" frame for a stored message.
func messageFrame(msg Message) ServerMessage {
	u := msg.User
	return ServerMessage{Type: TypeMessage, ID: msg.ID, User: &u, Text: msg.Text, TS: msg.TS}
}

// EncodeServerMessage marshals a server frame with exactly its type's fields, HTML
// characters left unescaped so text arrives verbatim.
func EncodeServerMessage(m ServerMessage) ([]byte, error) {
	user := func() User {
		if m.User == nil {
			return User{}
		}
		return *m.User
	}
	var v any
	switch m.Type {
	case TypeWelcome:
		h := m.History
		if h == nil {
			h = []Message{}
		}
		v = struct {
			Type      string    `json:"type"`
			User      User      `json:"user"`
			History   []Message `json:"history"`
			Moderator bool      `json:"moderator,omitempty"`
			Slow      int       `json:"slow,omitempty"`
			Words     []string  `json:"words,omitempty"`
		}{m.Type, user(), h, m.Moderator, m.Slow, m.Words}
	case TypeMessage:
		v = struct {
			Type string `json:"type"`
			ID   string `json:"id"`
			User User   `json:"user"`
			Text string `json:"text"`
			TS   int64  `json:"ts"`
		}{m.Type, m.ID, user(), m.Text, m.TS}
	case TypeReaction:
		v = struct {
			Type  string `json:"type"`
			Emoji string `json:"emoji"`
			User  User   `json:"user"`
		}{m.Type, m.Emoji, user()}
	case TypeDeleted:
		v = struct {
			Type string `json:"type"`
			ID   string `json:"id"`
		}{m.Type, m.ID}
	case TypeViewers:
		v = struct {
			Type  string `json:"type"`
			Count int    `json:"count"`
		}{m.Type, m.Count}
	case TypeSlow:
		v = struct {
			Type    string `json:"type"`
			Seconds int    `json:"seconds"`
		}{m.Type, m.Seconds}
	case TypeWords:
		words := m.Words
		if words == nil {
			words = []string{}
		}
		v = struct {
			Type  string   `json:"type"`
			Words []string `json:"words"`
		}{m.Type, words}
	case TypeError:
		v = struct {
			Type    string `json:"type"`
			Code    string `json:"code"`
			Message string `json:"message"`
		}{m.Type, m.Code, m.Message}
	default:
		return nil, fmt.Errorf("encode server message: unknown type %q: %w", m.Type, ErrBadRequest)
	}
	return marshalText(v)
}

// DecodeServerMessage parses one server frame (used by the Go client).
func DecodeServerMessage(data []byte) (ServerMessage, error) {
	var m ServerMessage
	if err := json.Unmarshal(data, &m); err != nil {
		return ServerMessage{}, fmt.Errorf("decode server message: %w", err)
	}
	if m.Type == "" {
		return ServerMessage{}, fmt.Errorf("decode server message: missing type: %w", ErrBadRequest)
	}
	return m, nil
}

// errorFrame builds the error frame for err.
func errorFrame(err error) ServerMessage {
	return ServerMessage{Type: TypeError, Code: ErrorCode(err), Message: err.Error()}
}

// marshalText encodes v as JSON without HTML escaping and without a trailing newline.
func marshalText(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

// StripControl removes control characters (Unicode Cc: C0, DEL, C1, including
// newlines and tabs) and leaves everything else verbatim.
func StripControl(s string) string {
	clean := true
	for _, r := range s {
		if unicode.IsControl(r) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, s)
}

// cleanName strips control characters and surrounding spaces and checks the length.
func cleanName(s string) (string, error) {
	name := strings.TrimSpace(StripControl(s))
	if name == "" {
		return "", fmt.Errorf("name must be 1-%d characters: %w", MaxNameLen, ErrBadRequest)
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLen {
		return "", fmt.Errorf("name is %d characters, limit %d: %w", n, MaxNameLen, ErrTooLong)
	}
	return name, nil
}

// cleanWords cleans a blocked-words list: control characters and surrounding
// spaces stripped, blank entries dropped, entries that fold to the same form
// (see foldName) kept once.
func cleanWords(in []string) ([]string, error) {
	if len(in) > MaxBlockedWords {
		return nil, fmt.Errorf("%d entries, limit %d: %w", len(in), MaxBlockedWords, ErrTooLong)
	}
	out := make([]string, 0, len(in))
	seen := make(map[string]bool, len(in))
	for _, w := range in {
		w = strings.TrimSpace(StripControl(w))
		if w == "" {
			continue
		}
		if n := utf8.RuneCountInString(w); n > MaxBlockedWordLen {
			return nil, fmt.Errorf("entry is %d characters, limit %d: %w", n, MaxBlockedWordLen, ErrTooLong)
		}
		key := foldText(w)
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, w)
	}
	return out, nil
}

// validClientID reports whether s is an acceptable browser-kept id.
func validClientID(s string) bool {
	if len(s) < MinClientIDLen || len(s) > MaxClientIDLen {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// validRef reports whether s can name a message or user id.
func validRef(s string) bool {
	if s == "" || len(s) > maxRefLen {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return false
		}
	}
	return true
}

// validReaction reports whether e is one of Reactions().
func validReaction(e string) bool {
	for _, r := range reactions {
		if e == r {
			return true
		}
	}
	return false
}

// truncate shortens s to at most n runes for error messages.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}
