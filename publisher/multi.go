package publisher

import (
	"errors"
	"fmt"
	"sync"

	"golive/media"
)

// ErrNoDestination is returned by Multi.Initialize when no destination
// could be started (it wraps each destination's error).
var ErrNoDestination = errors.New("no destination accepted the stream")

// Multi fans one encoded stream out to several RTMP destinations. Each
// destination keeps its own queue, reconnect loop and stats, and
// WritePacket never blocks, so one slow or dead destination never stalls
// the others.
type Multi struct {
	// Destinations are configured but not yet initialized stages.
	Destinations []*RTMP

	live []*RTMP
	errs []error
	done chan struct{}
	once sync.Once
}

// Initialize starts every destination at once. Destinations that fail are
// left out (see Errors); it fails only when none starts, with an error
// wrapping ErrNoDestination and every destination's error.
func (m *Multi) Initialize() error {
	m.errs = make([]error, len(m.Destinations))
	var wg sync.WaitGroup
	for i, d := range m.Destinations {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.errs[i] = d.Initialize()
		}()
	}
	wg.Wait()
	for i, d := range m.Destinations {
		if m.errs[i] == nil {
			m.live = append(m.live, d)
		}
	}
	m.done = make(chan struct{})
	if len(m.live) == 0 {
		close(m.done)
		return fmt.Errorf("%w: %w", ErrNoDestination, errors.Join(m.errs...))
	}
	go func() {
		for _, d := range m.live {
			<-d.Done()
		}
		close(m.done)
	}()
	return nil
}

// Errors returns each destination's Initialize error (nil for those that
// started), in the order of Destinations.
func (m *Multi) Errors() []error { return append([]error(nil), m.errs...) }

// WritePacket queues pkt on every started destination; it never blocks.
func (m *Multi) WritePacket(pkt *media.Packet) {
	for _, d := range m.live {
		d.WritePacket(pkt)
	}
}

// Stats returns every destination's stats, in the order of Destinations
// (a destination that did not start reports StateFailed).
func (m *Multi) Stats() []RTMPStats {
	out := make([]RTMPStats, len(m.Destinations))
	for i, d := range m.Destinations {
		out[i] = d.Stats()
	}
	return out
}

// Done is closed once every started destination has stopped.
func (m *Multi) Done() <-chan struct{} { return m.done }

// Close closes every destination in parallel (each flushes for at most
// its FlushTimeout) and waits. It is idempotent.
func (m *Multi) Close() {
	m.once.Do(func() {
		var wg sync.WaitGroup
		for _, d := range m.Destinations {
			wg.Add(1)
			go func() { defer wg.Done(); d.Close() }()
		}
		wg.Wait()
	})
}
