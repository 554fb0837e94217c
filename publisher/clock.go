package publisher

import (
	"context"
	"time"
)

// Clock is the time source of the publisher's timed behaviour (reconnect
// waits, bitrate windows), injected so tests need not sleep.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// After returns a channel that receives once d has passed.
	After(d time.Duration) <-chan time.Time
}

// realClock is the wall clock.
type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// withGrace returns a context that ends grace after parent has ended, as
// measured by c, and a stop function that ends it at once and waits for
// the goroutine that watches the clock.
func withGrace(parent context.Context, c Clock, grace time.Duration) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.WithoutCancel(parent))
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		select {
		case <-parent.Done():
		case <-ctx.Done():
			return
		}
		select {
		case <-c.After(grace):
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(); <-watched }
}
