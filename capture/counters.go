package capture

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// counters holds a source's statistics; the owner goroutine writes them
// and Stats reads them from any goroutine.
type counters struct {
	state                                      atomic.Int32
	sent, dropped, skipped, bad, slate, losses atomic.Uint64
	lastPTS                                    atomic.Int64
}

func (c *counters) setState(s SourceState) { c.state.Store(int32(s)) }

func (c *counters) snapshot(device string) SourceStats {
	return SourceStats{
		State:   SourceState(c.state.Load()),
		Sent:    c.sent.Load(),
		Dropped: c.dropped.Load(),
		Skipped: c.skipped.Load(),
		Bad:     c.bad.Load(),
		Slate:   c.slate.Load(),
		Losses:  c.losses.Load(),
		LastPTS: time.Duration(c.lastPTS.Load()),
		Device:  device,
	}
}

// grid maps between a source's step index (frame or block number since the
// clock's zero) and the step's start time: step n starts at floor(n*num/den)
// nanoseconds, computed exactly, so there is no drift however long it runs.
type grid struct {
	num, den uint64 // nanoseconds per step = num/den, reduced
}

// newGrid returns the grid of steps lasting num/den nanoseconds.
func newGrid(num, den uint64) grid {
	a, b := num, den
	for b != 0 {
		a, b = b, a%b
	}
	return grid{num: num / a, den: den / a}
}

// at returns the start time of step n (n >= 0).
func (g grid) at(n int64) time.Duration {
	hi, lo := bits.Mul64(uint64(n), g.num)
	q, _ := bits.Div64(hi%g.den, lo, g.den) // hi is 0 for any run shorter than centuries
	return time.Duration(q)
}

// index returns the last step that has started by d, or -1 when d < 0.
func (g grid) index(d time.Duration) int64 {
	if d < 0 {
		return -1
	}
	// largest n with floor(n*num/den) <= d  <=>  n*num < (d+1)*den.
	hi, lo := bits.Mul64(uint64(d)+1, g.den)
	lo, borrow := bits.Sub64(lo, 1, 0)
	hi -= borrow
	q, _ := bits.Div64(hi%g.num, lo, g.num)
	return int64(q)
}

// ceil returns the first step starting at or after d.
func (g grid) ceil(d time.Duration) int64 {
	n := g.index(d)
	if n < 0 {
		return 0
	}
	if g.at(n) < d {
		n++
	}
	return n
}

// offer hands v to out without blocking and counts the outcome. The
// counters move before the send (and back if nothing was sent), so a
// receiver that has the frame also sees it counted. It reports whether v
// was sent; when done is closed first it reports false without counting a
// drop.
func offer[T any](c *counters, done <-chan struct{}, out chan<- T, v T, pts time.Duration, slate bool) bool {
	prevPTS := c.lastPTS.Swap(int64(pts))
	c.sent.Add(1)
	if slate {
		c.slate.Add(1)
	}
	select {
	case out <- v:
		return true
	case <-done:
	default:
		c.dropped.Add(1)
	}
	c.lastPTS.CompareAndSwap(int64(pts), prevPTS)
	c.sent.Add(^uint64(0))
	if slate {
		c.slate.Add(^uint64(0))
	}
	return false
}
