package webrtc

import "time"

// Thresholds of the adapter.
const (
	// lossCongested is the fraction lost in a receiver report that counts
	// as congestion; two such reports in a row step down one rung.
	lossCongested = 0.10
	// lossSevere steps down at once.
	lossSevere = 0.25
	// lossClean is the most a report may lose and still count as clean.
	lossClean = 0.02
	// switchHold is how long after a switch the adapter waits before it
	// judges again (the switch itself waits for a keyframe).
	switchHold = 3 * time.Second
	// upFirst is how long a viewer must go clean before it tries one rung
	// up; each try that fails (a step down within failWindow of it)
	// doubles the wait, up to upMax.
	upFirst, upMax, failWindow = 8 * time.Second, 64 * time.Second, 10 * time.Second
	// rembLow steps down when the receiver's estimate stays below this
	// share of the rung's bitrate; rembHigh is the headroom the estimate
	// must show over the next rung's bitrate before a step up.
	rembLow, rembHigh = 0.8, 1.25
)

// adapter picks the rung a WebRTC viewer should get from the receiver's
// feedback: loss in its receiver reports and its bandwidth estimate
// (REMB). It steps down one rung under loss or a low estimate, and steps
// back up (never above ceiling) after a clean stretch that grows each time
// a step up fails. Rungs are indexed top first. Time is passed in.
type adapter struct {
	rates   []int // bitrate of each rung, top first
	ceiling int   // the highest rung (lowest index) it may pick
	cur     int

	congested  int // congested reports in a row
	lowREMB    int // low estimates in a row
	remb       int // last estimate (0: none seen)
	lastSwitch time.Time
	lastUp     time.Time
	cleanSince time.Time
	upWait     time.Duration
}

// newAdapter starts at rung cur, never above ceiling.
func newAdapter(rates []int, ceiling, cur int, now time.Time) *adapter {
	return &adapter{rates: rates, ceiling: ceiling, cur: cur, cleanSince: now, upWait: upFirst}
}

// lossReport takes the fraction lost (0–1) of one receiver report and
// returns the rung wanted.
func (a *adapter) lossReport(now time.Time, lost float64) int {
	switch {
	case lost >= lossCongested:
		a.congested++
		a.cleanSince = now
		if lost >= lossSevere || a.congested >= 2 {
			a.down(now)
		}
	case lost > lossClean:
		a.congested = 0
		a.cleanSince = now
	default:
		a.congested = 0
		a.maybeUp(now)
	}
	return a.cur
}

// rembReport takes the receiver's bandwidth estimate (bit/s) and returns
// the rung wanted.
func (a *adapter) rembReport(now time.Time, bps int) int {
	a.remb = bps
	if float64(bps) < rembLow*float64(a.rates[a.cur]) {
		a.lowREMB++
		if a.lowREMB >= 3 {
			a.down(now)
		}
		return a.cur
	}
	a.lowREMB = 0
	return a.cur
}

// down steps one rung down, unless the last switch is too recent.
func (a *adapter) down(now time.Time) {
	if now.Sub(a.lastSwitch) < switchHold || a.cur >= len(a.rates)-1 {
		return
	}
	if !a.lastUp.IsZero() && now.Sub(a.lastUp) < failWindow {
		a.upWait = min(2*a.upWait, upMax) // the last step up did not hold
	}
	a.cur++
	a.congested, a.lowREMB = 0, 0
	a.lastSwitch, a.cleanSince = now, now
}

// maybeUp steps one rung up after a clean stretch, when the estimate (if
// any) leaves room for it.
func (a *adapter) maybeUp(now time.Time) {
	if a.cur <= a.ceiling || now.Sub(a.cleanSince) < a.upWait || now.Sub(a.lastSwitch) < switchHold {
		return
	}
	if a.remb > 0 && float64(a.remb) < rembHigh*float64(a.rates[a.cur-1]) {
		return
	}
	a.cur--
	a.lastSwitch, a.lastUp, a.cleanSince = now, now, now
}
