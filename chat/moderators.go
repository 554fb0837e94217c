package chat

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// ModeratorCookie is the HttpOnly cookie a moderator's browser keeps its token in
// (see Hub.MoveTokenToCookie); /chat/ws accepts it like ?token=.
const ModeratorCookie = "golive_mod"

// Moderator is a minted moderator token as listed: who it is for, never the token.
type Moderator struct {
	// ID names the token, to revoke it.
	ID string `json:"id"`
	// Name is the moderator's name; no viewer may chat under it.
	Name string `json:"name"`
	// Created is when the token was minted.
	Created time.Time `json:"created"`
}

// ModeratorToken is a freshly minted token: the only time its secret is seen.
type ModeratorToken struct {
	Moderator
	// Token is the secret: /?token=TOKEN on the player page, or ?token= on /chat/ws.
	Token string `json:"token"`
}

// modRecord is a moderator token as the room keeps and shares it: the SHA-256
// of the token, never the token.
type modRecord struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Hash    string `json:"hash"`
	Created int64  `json:"created"` // Unix ms
}

// valid reports whether m is well-formed (it may come from another instance).
func (m modRecord) valid() bool {
	if !validRef(m.ID) || m.Created < 0 || len(m.Hash) != 2*sha256.Size {
		return false
	}
	if _, err := hex.DecodeString(m.Hash); err != nil {
		return false
	}
	name, err := cleanName(m.Name)
	return err == nil && name == m.Name
}

// tokenTable maps token hashes to moderator ids. The hub replaces it whole on
// every change, so ServeHTTP reads it without a lock.
type tokenTable struct {
	byHash map[string]string
}

// hashToken returns the hex SHA-256 of a token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// moderatorFor tells whether token grants moderator rights, and the id of the
// minted token it is ("" for ModeratorToken).
func (h *Hub) moderatorFor(token string) (bool, string) {
	if token == "" {
		return false, ""
	}
	if h.ModeratorToken != "" && subtle.ConstantTimeCompare([]byte(token), []byte(h.ModeratorToken)) == 1 {
		return true, ""
	}
	if t := h.tokens.Load(); t != nil {
		if id, ok := t.byHash[hashToken(token)]; ok {
			return true, id
		}
	}
	return false, ""
}

// authenticate tells whether r comes from a moderator: its ?token=, or else its
// moderator cookie, is ModeratorToken or a minted token.
func (h *Hub) authenticate(r *http.Request) (moderator bool, modID string) {
	token := r.URL.Query().Get("token")
	if token == "" {
		if ck, err := r.Cookie(ModeratorCookie); err == nil {
			token = ck.Value
		}
	}
	return h.moderatorFor(token)
}

// MintModerator makes a moderator token for name: one per moderator, shared
// with every instance of the room, kept hashed in TokenFile, revocable with
// RevokeModerator. Name becomes reserved. Errors wrap ErrBadRequest, ErrTooLong
// or ErrClosed.
func (h *Hub) MintModerator(name string) (ModeratorToken, error) {
	n, err := cleanName(name)
	if err != nil {
		return ModeratorToken{}, fmt.Errorf("chat mint moderator: %w", err)
	}
	secret := make([]byte, 16)
	id := make([]byte, 4)
	if _, err := rand.Read(secret); err != nil {
		return ModeratorToken{}, fmt.Errorf("chat mint moderator: %w", err)
	}
	if _, err := rand.Read(id); err != nil {
		return ModeratorToken{}, fmt.Errorf("chat mint moderator: %w", err)
	}
	tok := ModeratorToken{Moderator: Moderator{ID: "m" + hex.EncodeToString(id), Name: n}, Token: hex.EncodeToString(secret)}
	err = h.call(h.ctx, func() {
		now := h.Clock()
		tok.Created = time.UnixMilli(now.UnixMilli())
		h.emit(event{Type: evModAdd, Mod: &modRecord{ID: tok.ID, Name: n, Hash: hashToken(tok.Token), Created: now.UnixMilli()}})
	})
	if err != nil {
		return ModeratorToken{}, fmt.Errorf("chat mint moderator: %w", err)
	}
	return tok, nil
}

// RevokeModerator revokes moderator token id on every instance; connections
// made with it are closed (StatusPolicyViolation "moderator token revoked").
// Errors wrap ErrBadRequest (no such token) or ErrClosed.
func (h *Hub) RevokeModerator(id string) error {
	found := make(chan bool, 1)
	err := h.do(h.ctx, func() {
		_, ok := h.room.mods[id]
		found <- ok
		if ok {
			h.emit(event{Type: evModRevoke, Target: id})
		}
	})
	if err != nil {
		return fmt.Errorf("chat revoke moderator: %w", err)
	}
	if !<-found {
		return fmt.Errorf("chat revoke moderator: no moderator %q: %w", id, ErrBadRequest)
	}
	return nil
}

// Moderators lists the minted moderator tokens, oldest first. Errors wrap ErrClosed.
func (h *Hub) Moderators() ([]Moderator, error) {
	out := make(chan []Moderator, 1)
	if err := h.do(h.ctx, func() { out <- h.moderatorList() }); err != nil {
		return nil, fmt.Errorf("chat moderators: %w", err)
	}
	return <-out, nil
}

// moderatorList lists the room's tokens, oldest first.
func (h *Hub) moderatorList() []Moderator {
	list := make([]Moderator, 0, len(h.room.mods))
	for _, m := range h.room.mods {
		list = append(list, Moderator{ID: m.ID, Name: m.Name, Created: time.UnixMilli(m.Created)})
	}
	sort.Slice(list, func(i, j int) bool {
		if !list[i].Created.Equal(list[j].Created) {
			return list[i].Created.Before(list[j].Created)
		}
		return list[i].ID < list[j].ID
	})
	return list
}

// publishTokens rebuilds the table ServeHTTP checks tokens against.
func (h *Hub) publishTokens() {
	t := &tokenTable{byHash: make(map[string]string, len(h.room.mods))}
	for _, m := range h.room.mods {
		t.byHash[m.Hash] = m.ID
	}
	h.tokens.Store(t)
}

// tokensChanged publishes and saves the room's tokens after a change.
func (h *Hub) tokensChanged() {
	h.publishTokens()
	if err := h.saveTokens(); err != nil {
		h.log.Error("saving moderator tokens", "file", h.TokenFile, "error", err)
	}
}

// tokenFile is TokenFile's content.
type tokenFile struct {
	Moderators []modRecord      `json:"moderators"`
	Revoked    map[string]int64 `json:"revoked,omitempty"`
}

// loadTokens reads TokenFile into the room; a missing file is an empty one.
func (h *Hub) loadTokens() error {
	if h.TokenFile == "" {
		return nil
	}
	data, err := os.ReadFile(h.TokenFile)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("moderator tokens: %w", err)
	}
	var f tokenFile
	if err := json.Unmarshal(data, &f); err != nil {
		return fmt.Errorf("moderator tokens: %s: %w", h.TokenFile, err)
	}
	for id, at := range f.Revoked {
		if validRef(id) {
			h.room.revokeMod(id, at)
		}
	}
	for _, m := range f.Moderators {
		if !m.valid() {
			return fmt.Errorf("moderator tokens: %s: invalid entry %q", h.TokenFile, truncate(m.ID, 16))
		}
		h.room.addMod(m)
	}
	return nil
}

// saveTokens writes the room's tokens to TokenFile (0600, replaced atomically).
func (h *Hub) saveTokens() error {
	if h.TokenFile == "" {
		return nil
	}
	f := tokenFile{Moderators: make([]modRecord, 0, len(h.room.mods)), Revoked: h.room.revoked}
	for _, m := range h.room.mods {
		f.Moderators = append(f.Moderators, m)
	}
	sort.Slice(f.Moderators, func(i, j int) bool { return f.Moderators[i].ID < f.Moderators[j].ID })
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(h.TokenFile), 0o700); err != nil {
		return err
	}
	tmp := h.TokenFile + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, h.TokenFile)
}
