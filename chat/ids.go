package chat

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
)

// publicID derives the public user id from a browser-kept id.
func (h *Hub) publicID(clientID string) string {
	mac := hmac.New(sha256.New, h.room.secret)
	mac.Write([]byte(clientID))
	return hex.EncodeToString(mac.Sum(nil)[:8])
}

// randomID returns a fresh public id for a connection without a browser-kept id.
func randomID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
