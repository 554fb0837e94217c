package chat

import "sync/atomic"

// HubStats is a snapshot of the Hub's counters.
type HubStats struct {
	// Viewers is the number of connections that said hello and are still
	// connected, moderators (the app, the creator's pages) not counted.
	Viewers int
	// Moderators is the number of connected moderator connections that said hello.
	Moderators int
	// Connections counts accepted WebSocket connections since Initialize.
	Connections uint64
	// Messages counts chat messages relayed (including Post).
	Messages uint64
	// Reactions counts reactions relayed.
	Reactions uint64
	// Deleted counts messages deleted by moderators or purged by bans.
	Deleted uint64
	// RateLimited counts frames dropped by the token buckets.
	RateLimited uint64
	// Flooders counts connections closed for flooding after warnings.
	Flooders uint64
	// DroppedSlow counts connections dropped because their send queue was full.
	DroppedSlow uint64
	// Bans counts ban actions.
	Bans uint64
	// BannedRejected counts hellos refused because the user id or address was banned.
	BannedRejected uint64
	// BadRequests counts frames answered with bad_request, forbidden or too_long.
	BadRequests uint64
	// TooBig counts connections closed for a frame larger than MaxMessageBytes.
	TooBig uint64
	// SubscriberDrops counts events dropped because a Subscribe channel was full.
	SubscriberDrops uint64
	// PingTimeouts counts connections closed because a ping got no pong in time.
	PingTimeouts uint64
	// HelloTimeouts counts connections closed for sending no valid hello in time.
	HelloTimeouts uint64
}

// hubCounters are the atomically updated counters behind HubStats.
type hubCounters struct {
	viewers, moderators, connections, messages, reactions, deleted, rateLimited, flooders,
	droppedSlow, bans, bannedRejected, badRequests, tooBig, subscriberDrops, pingTimeouts,
	helloTimeouts atomic.Uint64
}

// Stats returns a snapshot of the hub's counters; safe from any goroutine.
func (h *Hub) Stats() HubStats {
	s := &h.stats
	return HubStats{
		Viewers:         int(s.viewers.Load()),
		Moderators:      int(s.moderators.Load()),
		Connections:     s.connections.Load(),
		Messages:        s.messages.Load(),
		Reactions:       s.reactions.Load(),
		Deleted:         s.deleted.Load(),
		RateLimited:     s.rateLimited.Load(),
		Flooders:        s.flooders.Load(),
		DroppedSlow:     s.droppedSlow.Load(),
		Bans:            s.bans.Load(),
		BannedRejected:  s.bannedRejected.Load(),
		BadRequests:     s.badRequests.Load(),
		TooBig:          s.tooBig.Load(),
		SubscriberDrops: s.subscriberDrops.Load(),
		PingTimeouts:    s.pingTimeouts.Load(),
		HelloTimeouts:   s.helloTimeouts.Load(),
	}
}
