package publisher

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// BitrateController adapts the encoder's bitrate to what the link
// carries. Every Interval it reads the destination's stats: when queued
// media exceeds HighDelay it lowers the bitrate toward the measured send
// rate (never below Min); after the queue has stayed under LowDelay for
// UpAfter it steps back up by StepUp, never above Max (the user's setting).
// It does nothing while the destination is not live, so reconnection is
// left alone. The queue drops frames only when lowering did not suffice.
type BitrateController struct {
	// Stats reads the destination (e.g. RTMP.Stats, or the worst of a
	// Multi's destinations). Required.
	Stats func() RTMPStats
	// SetBitrate applies a new video bitrate in bits/s (e.g.
	// encoder.H264.SetBitrate). Required.
	SetBitrate func(bps int)
	// Max is the user's bitrate, the start value and the ceiling. Required.
	Max int
	// Min is the floor [Max/8, at least 100 kbit/s unless Max is lower].
	Min int
	// OtherBitrate is the part of the send rate that is not video (audio,
	// RTMP overhead) in bits/s, subtracted before sizing the video [0].
	OtherBitrate int
	// Interval is how often it decides [500 ms].
	Interval time.Duration
	// HighDelay is the queue delay that triggers a decrease [200 ms].
	HighDelay time.Duration
	// LowDelay is the queue delay under which the link counts as idle
	// [50 ms].
	LowDelay time.Duration
	// UpAfter is how long the queue must stay under LowDelay before the
	// bitrate goes up [5 s].
	UpAfter time.Duration
	// DownEvery is the least time between two decreases [1 s].
	DownEvery time.Duration
	// UpEvery is the least time between two increases [2 s].
	UpEvery time.Duration
	// StepUp multiplies the bitrate on each increase [1.1].
	StepUp float64
	// Headroom is the share of the measured send rate the video may take
	// after a decrease, so that the queue drains [0.8].
	Headroom float64
	// Clock is the time source [wall clock].
	Clock Clock
	// Logger receives the controller's logs [slog.Default()].
	Logger *slog.Logger

	mu          sync.Mutex
	current     int
	decreases   int
	increases   int
	calmSince   time.Time
	lastDown    time.Time
	delayAtDown time.Duration
	lastUp      time.Time
	prevDelay   time.Duration
	log         *slog.Logger
	cancel      context.CancelFunc
	done        chan struct{}
}

// BitrateStats is a snapshot of a BitrateController.
type BitrateStats struct {
	// Current is the bitrate last applied, bits/s.
	Current int
	// Decreases and Increases count the changes made.
	Decreases, Increases int
}

// Initialize applies defaults and starts deciding every Interval.
func (c *BitrateController) Initialize() error {
	c.applyDefaults()
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel = cancel
	c.done = make(chan struct{})
	go func() {
		defer close(c.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-c.Clock.After(c.Interval):
				c.Step()
			}
		}
	}()
	return nil
}

func (c *BitrateController) applyDefaults() {
	if c.Min <= 0 {
		c.Min = max(c.Max/8, min(c.Max, 100_000))
	}
	if c.Interval <= 0 {
		c.Interval = 500 * time.Millisecond
	}
	if c.HighDelay <= 0 {
		c.HighDelay = 200 * time.Millisecond
	}
	if c.LowDelay <= 0 {
		c.LowDelay = 50 * time.Millisecond
	}
	if c.UpAfter <= 0 {
		c.UpAfter = 5 * time.Second
	}
	if c.DownEvery <= 0 {
		c.DownEvery = time.Second
	}
	if c.UpEvery <= 0 {
		c.UpEvery = 2 * time.Second
	}
	if c.StepUp <= 1 {
		c.StepUp = 1.1
	}
	if c.Headroom <= 0 || c.Headroom > 1 {
		c.Headroom = 0.8
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	c.log = c.Logger
	if c.log == nil {
		c.log = slog.Default()
	}
	c.log = c.log.With("stage", "bitrate")
	c.mu.Lock()
	if c.current == 0 {
		c.current = c.Max
	}
	c.mu.Unlock()
}

// Step makes one decision now (Initialize calls it every Interval; tests
// may call it directly after applying defaults through Initialize).
func (c *BitrateController) Step() {
	st := c.Stats()
	now := c.Clock.Now()
	c.mu.Lock()
	next := c.decide(st, now)
	changed := next != c.current
	if changed {
		if next < c.current {
			c.decreases++
			c.lastDown = now
		} else {
			c.increases++
		}
		c.log.Info("bitrate", "from", c.current, "to", next, "queue", st.QueueDelay, "send_rate", st.Bitrate)
		c.current = next
	}
	c.mu.Unlock()
	if changed {
		c.SetBitrate(next)
	}
}

// decide returns the bitrate to use given the destination's stats.
func (c *BitrateController) decide(st RTMPStats, now time.Time) int {
	if st.State != StateLive {
		c.calmSince = time.Time{}
		return c.current
	}
	switch {
	case st.QueueDelay > c.HighDelay:
		c.calmSince = time.Time{}
		// Once lowered, give the change DownEvery to act, and lower
		// again only if the queue is then worse than it was.
		if !c.lastDown.IsZero() && (now.Sub(c.lastDown) < c.DownEvery || st.QueueDelay <= c.delayAtDown) {
			return c.current
		}
		// Toward what the link carried: at least 10% and at most 50%
		// down per step (one window of send rate is a noisy measure).
		target := int(float64(st.Bitrate-c.OtherBitrate) * c.Headroom)
		target = max(c.current/2, min(c.current*9/10, target))
		c.lastDown, c.delayAtDown = now, st.QueueDelay
		return max(c.Min, min(c.Max, target))
	case st.QueueDelay < c.LowDelay:
		c.lastDown = time.Time{}
		if c.calmSince.IsZero() {
			c.calmSince = now
			return c.current
		}
		if c.current < c.Max && now.Sub(c.calmSince) >= c.UpAfter && now.Sub(c.lastUp) >= c.UpEvery {
			c.lastUp = now
			return min(c.Max, int(float64(c.current)*c.StepUp))
		}
	default:
		c.calmSince = time.Time{}
	}
	return c.current
}

// SetMax changes the ceiling (the user changed their bitrate while live).
// A current bitrate above the new ceiling comes down at once; a lower one
// climbs back only as far as the new ceiling.
func (c *BitrateController) SetMax(bps int) {
	if bps <= 0 {
		return
	}
	c.mu.Lock()
	c.Max = bps
	c.Min = min(c.Min, bps)
	apply := c.current > bps
	if apply {
		c.current = bps
	}
	c.mu.Unlock()
	if apply {
		c.SetBitrate(bps)
	}
}

// BitrateStats returns a snapshot.
func (c *BitrateController) BitrateStats() BitrateStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return BitrateStats{Current: c.current, Decreases: c.decreases, Increases: c.increases}
}

// Close stops the controller and waits for it; idempotent.
func (c *BitrateController) Close() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	<-c.done
}
