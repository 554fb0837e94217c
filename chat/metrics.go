package chat

import "github.com/prometheus/client_golang/prometheus"

// hubCollector exports a Hub's Stats as Prometheus metrics.
type hubCollector struct {
	h     *Hub
	descs []metricDesc
}

// metricDesc is one exported metric and how to read it from HubStats.
type metricDesc struct {
	desc  *prometheus.Desc
	kind  prometheus.ValueType
	value func(HubStats) float64
}

// Collector returns a prometheus.Collector for this hub's counters (register it
// on your own registry; nothing is registered globally).
func (h *Hub) Collector() prometheus.Collector {
	d := func(name, help string, kind prometheus.ValueType, v func(HubStats) float64) metricDesc {
		return metricDesc{desc: prometheus.NewDesc("golive_chat_"+name, help, nil, nil), kind: kind, value: v}
	}
	c, g := prometheus.CounterValue, prometheus.GaugeValue
	return &hubCollector{h: h, descs: []metricDesc{
		d("viewers", "Chat viewers of the room (all instances): connections that said hello, moderators not counted.", g, func(s HubStats) float64 { return float64(s.Viewers) }),
		d("local_viewers", "Chat viewers connected to this instance.", g, func(s HubStats) float64 { return float64(s.LocalViewers) }),
		d("moderators", "Moderator connections on this instance.", g, func(s HubStats) float64 { return float64(s.Moderators) }),
		d("connections_total", "WebSocket connections accepted.", c, func(s HubStats) float64 { return float64(s.Connections) }),
		d("messages_total", "Chat messages relayed.", c, func(s HubStats) float64 { return float64(s.Messages) }),
		d("reactions_total", "Reactions relayed.", c, func(s HubStats) float64 { return float64(s.Reactions) }),
		d("deleted_total", "Messages deleted by moderators or purged by bans.", c, func(s HubStats) float64 { return float64(s.Deleted) }),
		d("rate_limited_total", "Frames dropped by the per-connection rate limit.", c, func(s HubStats) float64 { return float64(s.RateLimited) }),
		d("flooders_total", "Connections closed for flooding.", c, func(s HubStats) float64 { return float64(s.Flooders) }),
		d("dropped_slow_total", "Connections dropped because their send queue was full.", c, func(s HubStats) float64 { return float64(s.DroppedSlow) }),
		d("bans_total", "Ban actions by moderators.", c, func(s HubStats) float64 { return float64(s.Bans) }),
		d("banned_rejected_total", "Hellos refused because the user or address is banned.", c, func(s HubStats) float64 { return float64(s.BannedRejected) }),
		d("bad_requests_total", "Frames answered with bad_request, too_long or forbidden.", c, func(s HubStats) float64 { return float64(s.BadRequests) }),
		d("too_big_total", "Connections closed for a frame over the read limit.", c, func(s HubStats) float64 { return float64(s.TooBig) }),
		d("subscriber_drops_total", "Events dropped for slow in-process subscribers.", c, func(s HubStats) float64 { return float64(s.SubscriberDrops) }),
		d("ping_timeouts_total", "Connections closed because a ping got no pong in time.", c, func(s HubStats) float64 { return float64(s.PingTimeouts) }),
		d("hello_timeouts_total", "Connections closed for sending no valid hello in time.", c, func(s HubStats) float64 { return float64(s.HelloTimeouts) }),
		d("timeouts_total", "Timeouts applied (given or lifted).", c, func(s HubStats) float64 { return float64(s.Timeouts) }),
		d("slow_refused_total", "Messages refused by slow mode.", c, func(s HubStats) float64 { return float64(s.SlowRefused) }),
		d("muted_refused_total", "Messages and reactions refused during a timeout.", c, func(s HubStats) float64 { return float64(s.MutedRefused) }),
		d("blocked_total", "Messages refused for a blocked word.", c, func(s HubStats) float64 { return float64(s.Blocked) }),
		d("names_refused_total", "Viewers refused the creator's or a moderator's name.", c, func(s HubStats) float64 { return float64(s.NamesRefused) }),
		d("nats_connected", "1 while the NATS link to the other instances is up (0 without a link).", g, func(s HubStats) float64 {
			if s.NATS.State == "connected" {
				return 1
			}
			return 0
		}),
		d("nats_jetstream", "1 when the NATS server keeps the room's state in JetStream.", g, func(s HubStats) float64 {
			if s.NATS.JetStream {
				return 1
			}
			return 0
		}),
		d("nats_peers", "Other instances of the room heard from.", g, func(s HubStats) float64 { return float64(s.NATS.Peers) }),
		d("nats_reconnects_total", "Reconnections of the NATS link.", c, func(s HubStats) float64 { return float64(s.NATS.Reconnects) }),
		d("nats_published_total", "Events published to the room.", c, func(s HubStats) float64 { return float64(s.NATS.Published) }),
		d("nats_received_total", "Events received from other instances.", c, func(s HubStats) float64 { return float64(s.NATS.Received) }),
		d("nats_dropped_total", "Malformed or oversized input from NATS, dropped.", c, func(s HubStats) float64 { return float64(s.NATS.Dropped) }),
		d("nats_duplicates_total", "Events that arrived again and were not applied again.", c, func(s HubStats) float64 { return float64(s.NATS.Duplicates) }),
		d("nats_replayed_total", "Events fetched again from their origin after being missed.", c, func(s HubStats) float64 { return float64(s.NATS.Replayed) }),
		d("nats_lost_total", "Events missed and no longer available from their origin.", c, func(s HubStats) float64 { return float64(s.NATS.Lost) }),
		d("nats_publish_errors_total", "Events NATS refused to take (kept for replay).", c, func(s HubStats) float64 { return float64(s.NATS.PublishErrors) }),
	}}
}

// Describe sends every metric's descriptor.
func (c *hubCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, m := range c.descs {
		ch <- m.desc
	}
}

// Collect sends one sample per metric from a single Stats snapshot.
func (c *hubCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.h.Stats()
	for _, m := range c.descs {
		if metric, err := prometheus.NewConstMetric(m.desc, m.kind, m.value(s)); err == nil {
			ch <- metric
		}
	}
}
