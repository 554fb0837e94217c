package chat

import (
	"log/slog"
	"time"
)

// Defaults of the Hub's configuration fields.
const (
	defaultHistorySize     = 100
	defaultMaxTextLen      = 500
	defaultRate            = 1.5 // 3 messages / 2 s
	defaultBurst           = 3
	defaultReactionRate    = 4
	defaultReactionBurst   = 8
	defaultFloodLimit      = 10
	defaultMaxMessageBytes = 4096
	defaultSendQueue       = 64
	defaultWriteTimeout    = 10 * time.Second
	defaultWriterLinger    = 2 * time.Second
	defaultHelloTimeout    = 15 * time.Second
	defaultPingInterval    = 20 * time.Second
	defaultPingTimeout     = 10 * time.Second
	defaultViewersInterval = 500 * time.Millisecond
	maxSeenUsers           = 100000
)

// setDefaults gives every unset configuration field its default and sets up
// the logger.
func (h *Hub) setDefaults() {
	if h.HistorySize <= 0 {
		h.HistorySize = defaultHistorySize
	}
	if h.MaxTextLen <= 0 {
		h.MaxTextLen = defaultMaxTextLen
	}
	if h.Rate <= 0 {
		h.Rate = defaultRate
	}
	if h.Burst <= 0 {
		h.Burst = defaultBurst
	}
	if h.ReactionRate <= 0 {
		h.ReactionRate = defaultReactionRate
	}
	if h.ReactionBurst <= 0 {
		h.ReactionBurst = defaultReactionBurst
	}
	if h.FloodLimit <= 0 {
		h.FloodLimit = defaultFloodLimit
	}
	if h.MaxMessageBytes <= 0 {
		h.MaxMessageBytes = defaultMaxMessageBytes
	}
	if h.SendQueue <= 0 {
		h.SendQueue = defaultSendQueue
	}
	if h.WriteTimeout <= 0 {
		h.WriteTimeout = defaultWriteTimeout
	}
	if h.WriterLinger <= 0 {
		h.WriterLinger = defaultWriterLinger
	}
	if h.HelloTimeout <= 0 {
		h.HelloTimeout = defaultHelloTimeout
	}
	if h.PingInterval <= 0 {
		h.PingInterval = defaultPingInterval
	}
	if h.PingTimeout <= 0 {
		h.PingTimeout = defaultPingTimeout
	}
	if h.ViewersInterval <= 0 {
		h.ViewersInterval = defaultViewersInterval
	}
	if h.CreatorName == "" {
		h.CreatorName = "Creator"
	}
	if h.ReservedNames == nil {
		h.ReservedNames = defaultReservedNames[:]
	}
	if h.Clock == nil {
		h.Clock = time.Now
	}
	h.log = h.Logger
	if h.log == nil {
		h.log = slog.Default().With("stage", "chat")
	}
}
