package publisher

import (
	"math"
	"math/rand/v2"
	"time"
)

// ReconnectPolicy says how an RTMP destination comes back after losing its
// connection: exponential backoff with jitter, and how much media is kept
// while away. Zero fields take the defaults in brackets.
type ReconnectPolicy struct {
	// Initial is the wait before the first attempt [2 s].
	Initial time.Duration
	// Factor multiplies the wait after each failed attempt [1.5].
	Factor float64
	// Max caps the wait [60 s].
	Max time.Duration
	// Jitter spreads each wait by ± this fraction [0.1].
	Jitter float64
	// MaxAttempts gives up after this many failed attempts in a row
	// (0: never give up) [0].
	MaxAttempts int
	// Buffer is the media kept while away; older whole GOPs are dropped
	// [5 s].
	Buffer time.Duration
	// Rand returns a number in [0,1) for the jitter [math/rand/v2].
	Rand func() float64
}

// DefaultReconnect is the policy issue 4 asks for: 2 s, ×1.5, jitter,
// 60 s cap, unlimited attempts, 5 s of media kept.
func DefaultReconnect() *ReconnectPolicy { return &ReconnectPolicy{} }

func (p ReconnectPolicy) withDefaults() ReconnectPolicy {
	if p.Initial <= 0 {
		p.Initial = 2 * time.Second
	}
	if p.Factor < 1 {
		p.Factor = 1.5
	}
	if p.Max <= 0 {
		p.Max = 60 * time.Second
	}
	if p.Jitter < 0 || p.Jitter >= 1 {
		p.Jitter = 0
	} else if p.Jitter == 0 {
		p.Jitter = 0.1
	}
	if p.Buffer <= 0 {
		p.Buffer = 5 * time.Second
	}
	if p.Rand == nil {
		p.Rand = rand.Float64
	}
	return p
}

// Delay returns the wait before attempt n (1 = first attempt after the
// loss).
func (p ReconnectPolicy) Delay(n int) time.Duration {
	p = p.withDefaults()
	if n < 1 {
		n = 1
	}
	d := float64(p.Initial) * math.Pow(p.Factor, float64(n-1))
	if d > float64(p.Max) {
		d = float64(p.Max)
	}
	d *= 1 + p.Jitter*(2*p.Rand()-1)
	if d > float64(p.Max) {
		d = float64(p.Max)
	}
	return time.Duration(d)
}
