package chat

import "sync/atomic"

// HubStats is a snapshot of the Hub's counters.
type HubStats struct {
	// Viewers is the room's viewer count: connections that said hello and are
	// still connected, moderators (the app, the creator's pages) not counted,
	// summed over every instance of the room.
	Viewers int
	// LocalViewers is the part of Viewers connected to this instance.
	LocalViewers int
	// Moderators is the number of moderator connections on this instance that said hello.
	Moderators int
	// Connections counts accepted WebSocket connections since Initialize.
	Connections uint64
	// Messages counts chat messages relayed (including Post and other instances').
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
	// Bans counts bans applied.
	Bans uint64
	// Timeouts counts timeouts applied (given or lifted).
	Timeouts uint64
	// BannedRejected counts hellos refused because the user id or address was banned.
	BannedRejected uint64
	// SlowRefused counts messages refused by slow mode.
	SlowRefused uint64
	// MutedRefused counts messages and reactions refused during a timeout.
	MutedRefused uint64
	// Blocked counts messages refused for a blocked word.
	Blocked uint64
	// NamesRefused counts viewers refused the creator's or a moderator's name.
	NamesRefused uint64
	// Suppressed counts messages from other instances not shown because they
	// were deleted or their author banned before they arrived.
	Suppressed uint64
	// BadRequests counts frames answered with bad_request, forbidden, too_long
	// or one of the moderation codes.
	BadRequests uint64
	// TooBig counts connections closed for a frame larger than MaxMessageBytes.
	TooBig uint64
	// SubscriberDrops counts events dropped because a Subscribe channel was full.
	SubscriberDrops uint64
	// PingTimeouts counts connections closed because a ping got no pong in time.
	PingTimeouts uint64
	// HelloTimeouts counts connections closed for sending no valid hello in time.
	HelloTimeouts uint64
	// NATS is the link to the other instances (State "off" without one).
	NATS NATSStats
}

// hubCounters are the atomically updated counters behind HubStats.
type hubCounters struct {
	viewers, localViewers, moderators, connections, messages, reactions, deleted, rateLimited, flooders,
	droppedSlow, bans, timeouts, bannedRejected, slowRefused, mutedRefused, blocked, namesRefused,
	suppressed, badRequests, tooBig, subscriberDrops, pingTimeouts, helloTimeouts,
	peers, duplicates, replayed, lost atomic.Uint64
	synced atomic.Bool
}

// Stats returns a snapshot of the hub's counters; safe from any goroutine.
func (h *Hub) Stats() HubStats {
	s := &h.stats
	st := HubStats{
		Viewers:         int(s.viewers.Load()),
		LocalViewers:    int(s.localViewers.Load()),
		Moderators:      int(s.moderators.Load()),
		Connections:     s.connections.Load(),
		Messages:        s.messages.Load(),
		Reactions:       s.reactions.Load(),
		Deleted:         s.deleted.Load(),
		RateLimited:     s.rateLimited.Load(),
		Flooders:        s.flooders.Load(),
		DroppedSlow:     s.droppedSlow.Load(),
		Bans:            s.bans.Load(),
		Timeouts:        s.timeouts.Load(),
		BannedRejected:  s.bannedRejected.Load(),
		SlowRefused:     s.slowRefused.Load(),
		MutedRefused:    s.mutedRefused.Load(),
		Blocked:         s.blocked.Load(),
		NamesRefused:    s.namesRefused.Load(),
		Suppressed:      s.suppressed.Load(),
		BadRequests:     s.badRequests.Load(),
		TooBig:          s.tooBig.Load(),
		SubscriberDrops: s.subscriberDrops.Load(),
		PingTimeouts:    s.pingTimeouts.Load(),
		HelloTimeouts:   s.helloTimeouts.Load(),
		NATS:            h.NATS.Stats(),
	}
	st.NATS.Peers = int(s.peers.Load())
	st.NATS.Duplicates = s.duplicates.Load()
	st.NATS.Replayed = s.replayed.Load()
	st.NATS.Lost = s.lost.Load()
	st.NATS.Synced = h.NATS != nil && s.synced.Load()
	return st
}
