package publisher

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// BitrateController adapts the encoder's bitrate to what the link
// carries. Every Interval it reads the destination's stats: when media
// waits longer than HighDelay to be acknowledged (QueueDelay beyond
// BaseDelay: our queue and the kernel's) it lowers the bitrate toward the
// link's measured throughput (LinkBitrate), starting from what the encoder
// really makes, never below Min; after the delay has stayed under LowDelay
// for UpAfter it steps back up by StepUp, never above Max (the user's
// setting). It does nothing while the destination is not live, so
// reconnection is left alone. The queue drops frames only when lowering
// did not suffice.
//
// With several destinations fed by one encode (Destinations), the live
// destination furthest behind steers, but only while it is worth keeping:
// one that stays congested for LeaveBehind with the bitrate already at Min
// cannot keep up at any bitrate, and holding the others at the floor would
// not save it. It is left behind: it stops steering (and gets what its
// link carries, its own queue dropping frames) until it is no longer
// congested.
type BitrateController struct {
	// Stats reads the destination (e.g. RTMP.Stats). Required unless
	// Destinations is set.
	Stats func() RTMPStats
	// Destinations reads every destination the encoder feeds (e.g.
	// Multi.Stats); when set, it is used instead of Stats.
	Destinations func() []RTMPStats
	// LeaveBehind is how long a destination may stay congested with the
	// bitrate at Min before it no longer steers, when there are others
	// [10 s].
	LeaveBehind time.Duration
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
	// LowDelay is the delay under which the link counts as idle [100 ms]:
	// the frame on its way counts in the delay.
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
	behind      map[int]bool      // destinations left behind
	floorSince  map[int]time.Time // congested with the bitrate at Min since
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
	// LeftBehind lists the destinations (indexes into Destinations) that
	// no longer steer: congested at Min for LeaveBehind.
	LeftBehind []int
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
		c.LowDelay = 100 * time.Millisecond
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
	if c.LeaveBehind <= 0 {
		c.LeaveBehind = 10 * time.Second
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
	c.behind, c.floorSince = map[int]bool{}, map[int]time.Time{}
	c.mu.Unlock()
}

// Step makes one decision now (Initialize calls it every Interval; tests
// may call it directly after applying defaults through Initialize).
func (c *BitrateController) Step() {
	var all []RTMPStats
	if c.Destinations != nil {
		all = c.Destinations()
	} else {
		all = []RTMPStats{c.Stats()}
	}
	now := c.Clock.Now()
	c.mu.Lock()
	st := c.steering(all, now)
	next := c.decide(st, now)
	changed := next != c.current
	if changed {
		if next < c.current {
			c.decreases++
			c.lastDown = now
		} else {
			c.increases++
		}
		c.log.Info("bitrate", "from", c.current, "to", next, "delay", st.QueueDelay, "base_delay", st.BaseDelay,
			"link_rate", st.LinkBitrate, "input_rate", st.InputBitrate)
		c.current = next
	}
	c.mu.Unlock()
	if changed {
		c.SetBitrate(next)
	}
}

// steering picks the destination whose stats steer the bitrate: the live
// one furthest behind among those worth keeping (see BitrateController).
// Its State is not StateLive when no destination is live.
func (c *BitrateController) steering(all []RTMPStats, now time.Time) RTMPStats {
	var worst, worstAny RTMPStats
	for i, st := range all {
		if st.State != StateLive {
			delete(c.floorSince, i)
			delete(c.behind, i)
			continue
		}
		if worstAny.State != StateLive || waiting(st) > waiting(worstAny) {
			worstAny = st
		}
		if len(all) > 1 && c.leftBehind(i, st, now) {
			continue
		}
		if worst.State != StateLive || waiting(st) > waiting(worst) {
			worst = st
		}
	}
	if worst.State != StateLive {
		return worstAny // every live one is behind: no one else to spare
	}
	return worst
}

// leftBehind updates and reports whether live destination i is left behind.
func (c *BitrateController) leftBehind(i int, st RTMPStats, now time.Time) bool {
	if c.behind[i] {
		if st.Congested {
			return true
		}
		c.log.Info("destination caught up: it steers the bitrate again", "destination", i)
		delete(c.behind, i)
	}
	if !st.Congested || c.current > c.Min {
		delete(c.floorSince, i)
		return false
	}
	since, ok := c.floorSince[i]
	if !ok {
		c.floorSince[i] = now
		return false
	}
	if now.Sub(since) < c.LeaveBehind {
		return false
	}
	c.log.Warn("destination cannot keep up even at the lowest bitrate: left behind, it no longer steers the bitrate",
		"destination", i, "link_rate", st.LinkBitrate, "min", c.Min)
	c.behind[i] = true
	delete(c.floorSince, i)
	return true
}

// waiting is how long media waits beyond the link's base delay.
func waiting(st RTMPStats) time.Duration { return max(0, st.QueueDelay-st.BaseDelay) }

// decide returns the bitrate to use given the destination's stats.
func (c *BitrateController) decide(st RTMPStats, now time.Time) int {
	if st.State != StateLive {
		c.calmSince = time.Time{}
		return c.current
	}
	delay := waiting(st)
	switch {
	case delay > c.HighDelay:
		c.calmSince = time.Time{}
		// Once lowered, give the change DownEvery to act, and lower
		// again only if the delay is then worse than it was.
		if !c.lastDown.IsZero() && (now.Sub(c.lastDown) < c.DownEvery || delay <= c.delayAtDown) {
			return c.current
		}
		// From what the encoder really makes (a target above it changes
		// nothing), toward what the link carried: at least 10% and at
		// most 50% down per step.
		from := c.current
		if st.InputBitrate > 0 {
			from = min(from, max(c.Min, st.InputBitrate-c.OtherBitrate))
		}
		link := st.LinkBitrate
		if link <= 0 {
			link = st.Bitrate
		}
		target := int(float64(link-c.OtherBitrate) * c.Headroom)
		target = max(from/2, min(from*9/10, target))
		c.lastDown, c.delayAtDown = now, delay
		return max(c.Min, min(c.Max, c.current, target))
	case delay < c.LowDelay:
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
	st := BitrateStats{Current: c.current, Decreases: c.decreases, Increases: c.increases}
	for i := range c.behind {
		st.LeftBehind = append(st.LeftBehind, i)
	}
	slices.Sort(st.LeftBehind)
	return st
}

// Floor returns the lowest bitrate the controller goes to (Min).
func (c *BitrateController) Floor() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.Min
}

// Close stops the controller and waits for it; idempotent.
func (c *BitrateController) Close() {
	if c.cancel == nil {
		return
	}
	c.cancel()
	<-c.done
}
