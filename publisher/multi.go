package publisher

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"golive/media"
)

// ErrNoDestination is returned by Multi.Initialize when no destination
// could be started (it wraps each destination's error).
var ErrNoDestination = errors.New("no destination accepted the stream")

// Destination is one output of a Multi: an *RTMP or a *WHIP.
type Destination interface {
	// InitializeContext starts the destination and waits for its first
	// connection (see RTMP.InitializeContext).
	InitializeContext(ctx context.Context) error
	// WritePacket queues a packet; it never blocks.
	WritePacket(pkt *media.Packet)
	// ReconnectNow skips the current reconnection wait.
	ReconnectNow()
	// Stats returns a snapshot of the destination.
	Stats() RTMPStats
	// Done is closed when the destination has stopped; Err says why.
	Done() <-chan struct{}
	Err() error
	// Close flushes and stops the destination; it is idempotent.
	Close()
	// setJoinLate makes a first connection that failed for a reason that
	// may pass retry with the Reconnect policy.
	setJoinLate()
}

// Multi fans one encoded stream out to several destinations (RTMP, WHIP).
// Each destination keeps its own queue, reconnect loop and stats, and
// WritePacket never blocks, so one slow or dead destination never stalls
// the others. A destination that was down at Initialize joins later when
// it has a Reconnect policy (see Initialize).
type Multi struct {
	// Destinations are configured but not yet initialized stages (RTMP
	// or WHIP, mixed as they come).
	Destinations []Destination

	errs []error
	done chan struct{}
	once sync.Once
}

// Initialize is InitializeContext(context.Background()).
func (m *Multi) Initialize() error { return m.InitializeContext(context.Background()) }

// InitializeContext starts every destination at once. It fails only when
// none starts, with an error wrapping ErrNoDestination and every
// destination's error, or when ctx is cancelled while connecting: then
// every connection attempt stops at once, whatever started is closed, and
// the error wraps ctx.Err().
//
// A destination that fails is reported by Errors. When at least one
// destination started, a failed destination with a Reconnect policy whose
// failure may be transient (anything but ErrRefused and ErrBadURL: the
// server unreachable, a timeout, a protocol error) keeps trying in the
// background with that policy, showing StateReconnecting in Stats, and
// receives the stream from a keyframe once it connects. The others are
// left out for the whole broadcast.
func (m *Multi) InitializeContext(ctx context.Context) error {
	m.errs = make([]error, len(m.Destinations))
	var wg sync.WaitGroup
	for i, d := range m.Destinations {
		d.setJoinLate()
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.errs[i] = d.InitializeContext(ctx)
		}()
	}
	wg.Wait()
	m.done = make(chan struct{})
	go func() {
		for _, d := range m.Destinations {
			<-d.Done()
		}
		close(m.done)
	}()
	var err error
	if ctx.Err() != nil {
		err = fmt.Errorf("multi: connecting: %w", ctx.Err())
	} else if !slices.Contains(m.errs, nil) {
		err = fmt.Errorf("%w: %w", ErrNoDestination, errors.Join(m.errs...))
	}
	if err != nil {
		m.Close() // stops the destinations retrying in the background
		<-m.done
	}
	return err
}

// Errors returns each destination's Initialize error (nil for those that
// started), in the order of Destinations. A destination retrying in the
// background keeps its first error here; Stats tells where it stands.
func (m *Multi) Errors() []error { return append([]error(nil), m.errs...) }

// WritePacket queues pkt on every started or retrying destination (the
// others ignore it); it never blocks.
func (m *Multi) WritePacket(pkt *media.Packet) {
	for _, d := range m.Destinations {
		d.WritePacket(pkt)
	}
}

// Stats returns every destination's stats, in the order of Destinations
// (a destination left out reports StateFailed, one retrying in the
// background StateReconnecting).
func (m *Multi) Stats() []RTMPStats {
	out := make([]RTMPStats, len(m.Destinations))
	for i, d := range m.Destinations {
		out[i] = d.Stats()
	}
	return out
}

// Done is closed once every destination has stopped.
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
