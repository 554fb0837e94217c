package capture

import (
	"sync"
	"time"
)

// Clock is the capture clock: every frame and sample is stamped with its
// Now(), the time since the clock started. It must be monotonic.
type Clock interface {
	Now() time.Duration
}

// NewClock returns a real monotonic clock that starts now. Share one clock
// between the video and audio sources so their timestamps line up.
func NewClock() Clock {
	return &monoClock{start: time.Now()}
}

type monoClock struct{ start time.Time }

// Now returns the time since the clock started (monotonic).
func (c *monoClock) Now() time.Duration { return time.Since(c.start) }

// Epoch returns the wall-clock time of the clock's zero.
func (c *monoClock) Epoch() time.Time { return c.start }

// Epocher is implemented by clocks that know the wall-clock time of their
// zero (NewClock's does); sources use it to burn wall-clock time into
// pictures.
type Epocher interface {
	Epoch() time.Time
}

// epochOf returns the wall-clock time of c's zero: c's own Epoch when it
// has one, otherwise an estimate from time.Now.
func epochOf(c Clock) time.Time {
	if e, ok := c.(Epocher); ok {
		return e.Epoch()
	}
	return time.Now().Add(-c.Now())
}

// Ticker delivers ticks on C until stopped; sources use it to wake up and
// then read the Clock to learn which frames are due.
type Ticker interface {
	C() <-chan time.Time
	Stop()
}

// NewTicker returns a Ticker backed by time.Ticker. It is the default
// ticker factory of the sources.
func NewTicker(d time.Duration) Ticker { return timeTicker{time.NewTicker(d)} }

type timeTicker struct{ t *time.Ticker }

func (t timeTicker) C() <-chan time.Time { return t.t.C }
func (t timeTicker) Stop()               { t.t.Stop() }

// ManualClock is a Clock that only moves when told to; tests drive sources
// with it. It is safe for concurrent use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Duration
}

// Now returns the clock's current time.
func (c *ManualClock) Now() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to d.
func (c *ManualClock) Set(d time.Duration) {
	c.mu.Lock()
	c.now = d
	c.mu.Unlock()
}

// Add moves the clock forward by d.
func (c *ManualClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now += d
	c.mu.Unlock()
}

// ManualTicker is a Ticker fed by hand: Tick blocks until the source has
// taken the tick, so once a second Tick returns the first one has been
// fully handled (sources handle one tick at a time; a second tick at the
// same clock time finds nothing new due). Factory returns it from any period (it ignores the period).
type ManualTicker struct {
	ch chan time.Time
}

// NewManualTicker returns a ManualTicker.
func NewManualTicker() *ManualTicker { return &ManualTicker{ch: make(chan time.Time)} }

// C returns the tick channel.
func (t *ManualTicker) C() <-chan time.Time { return t.ch }

// Stop does nothing: a manual ticker never ticks by itself.
func (t *ManualTicker) Stop() {}

// Tick delivers one tick, blocking until the source receives it or done
// is closed; it reports whether the tick was delivered.
func (t *ManualTicker) Tick(done <-chan struct{}) bool {
	select {
	case t.ch <- time.Time{}:
		return true
	case <-done:
		return false
	}
}

// Factory returns a ticker factory that always hands out t.
func (t *ManualTicker) Factory() func(time.Duration) Ticker {
	return func(time.Duration) Ticker { return t }
}
