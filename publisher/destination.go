package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golive/media"
)

// destination is what an RTMP and a WHIP destination share, embedded in
// both: the stage's life (its context, the first connection's outcome,
// Done, Err, Close), the send queue WritePacket fills, the states
// (connecting, live, reconnecting, failed, closed) with the reconnection
// bookkeeping, and the byte counters. The stage's one goroutine (its run)
// drives it; WritePacket, Stats and ReconnectNow come from any goroutine.
type destination struct {
	// Set by setup from the stage's configuration.
	name    string        // "rtmp", "whip": the stage in logs and errors
	clock   Clock         // the stage's Clock
	bound   time.Duration // the queue's bound while connected (QueueDuration)
	retries bool          // a Reconnect policy is set
	// joinLate is set by Multi: a first connection that fails for a
	// reason that may pass is retried with the Reconnect policy.
	joinLate bool
	policy   ReconnectPolicy
	log      *slog.Logger

	ctx       context.Context // cancelled by Close, or when the stage ends
	cancel    context.CancelFunc
	done      chan struct{} // closed when run has returned
	connected chan error    // the first connection's outcome, when the stage goes on
	wake      chan struct{} // WritePacket queued something
	now       chan struct{} // ReconnectNow
	started   atomic.Bool   // the stage runs and WritePacket queues
	sent      atomic.Int64
	packets   atomic.Int64
	meter     media.RateMeter // bytes sent
	pushed    atomic.Int64    // bytes given to WritePacket and queued
	inMeter   media.RateMeter // bytes pushed

	mu       sync.Mutex // guards the fields below
	queue    *Queue
	state    RTMPState
	err      error
	lastErr  error
	attempts int
	recons   int
	next     time.Time
	// What did not reach the peer, set when the stage stops.
	undelivered       time.Duration
	framesUndelivered int64
}

// start runs a stage: configure checks its fields (and calls setup), run
// is its goroutine. It waits for the first connection's outcome (see
// RTMP.InitializeContext).
func (d *destination) start(ctx context.Context, name string, configure func() error, run func(context.Context)) error {
	if d.done != nil {
		return fmt.Errorf("%s: Initialize called twice", name)
	}
	d.done = make(chan struct{})
	d.ctx, d.cancel = context.WithCancel(context.Background())
	if err := configure(); err != nil {
		d.cancel()
		d.fail(err)
		close(d.done)
		return err
	}
	go run(ctx)
	select {
	case err := <-d.connected:
		d.started.Store(true)
		return err
	case <-d.done:
		return d.Err()
	}
}

// setup fills in what configure decided: the stage's name, logger (its
// stage and the masked URL added), clock, live queue bound and reconnect
// policy; the stage shows connecting.
func (d *destination) setup(name, redacted string, log *slog.Logger, clock Clock, bound time.Duration, reconnect *ReconnectPolicy) {
	if log == nil {
		log = slog.Default()
	}
	d.name, d.clock, d.bound = name, clock, bound
	d.log = log.With("stage", name, "url", redacted)
	if reconnect != nil {
		d.retries, d.policy = true, reconnect.withDefaults()
	}
	d.connected = make(chan error)
	d.wake = make(chan struct{}, 1)
	d.now = make(chan struct{}, 1)
	d.queue = NewQueue(bound)
	d.setState(StateConnecting)
}

// accepts reports whether WritePacket may queue pkt: the stage runs.
func (d *destination) accepts(pkt *media.Packet) bool {
	return pkt != nil && d.started.Load() && d.ctx.Err() == nil
}

// push queues pkt and wakes the stage; it never blocks.
func (d *destination) push(pkt *media.Packet) {
	d.pushed.Add(int64(len(pkt.Data)))
	d.mu.Lock()
	d.queue.Push(pkt)
	d.mu.Unlock()
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// ReconnectNow skips the current reconnection wait.
func (d *destination) ReconnectNow() {
	if d.now == nil {
		return
	}
	select {
	case d.now <- struct{}{}:
	default:
	}
}

// fill sets the shared part of a Stats snapshot: bytes and packets sent,
// the rates, the state with its reconnection bookkeeping, the queue.
func (d *destination) fill(st *RTMPStats) {
	total := d.sent.Load()
	st.BytesSent, st.PacketsSent = total, d.packets.Load()
	if d.clock != nil {
		now := d.clock.Now()
		st.Bitrate = d.meter.Bitrate(now, total)
		st.InputBitrate = d.inMeter.Bitrate(now, d.pushed.Load())
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	st.State, st.LastError = d.state, d.lastErr
	st.Attempts, st.Reconnects, st.NextAttempt = d.attempts, d.recons, d.next
	st.Undelivered, st.FramesUndelivered = d.undelivered, d.framesUndelivered
	if d.queue != nil {
		st.QueueLen, st.QueueDelay = d.queue.Len(), d.queue.Delay()
		st.DroppedVideo, st.DroppedAudio = d.queue.Dropped()
	}
}

// Done is closed when the stage has stopped: after Close, when the first
// connection failed, or when the connection was lost and cannot come back.
func (d *destination) Done() <-chan struct{} { return d.done }

// Err returns why the stage stopped (nil after a plain Close).
func (d *destination) Err() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.err
}

// Close stops the stage and waits for it. A live connection first sends
// what is queued (for at most FlushTimeout) and ends its session; a
// connection attempt or a reconnection wait ends at once. It is
// idempotent.
func (d *destination) Close() {
	if d.done == nil {
		return
	}
	d.cancel()
	<-d.done
}

func (d *destination) setState(s RTMPState) {
	d.mu.Lock()
	d.state = s
	d.mu.Unlock()
}

// fail records why the stage stops.
func (d *destination) fail(err error) {
	d.mu.Lock()
	d.state, d.err, d.lastErr = StateFailed, err, err
	d.mu.Unlock()
}

func (d *destination) setJoinLate() { d.joinLate = true }

// begin takes the first connection's outcome (err): the stage goes on
// live, or, in a Multi (joinLate) with a Reconnect policy after a failure
// that may pass, reconnecting; otherwise it has failed and begin returns
// false. When it goes on, InitializeContext is told.
func (d *destination) begin(initCtx context.Context, err error, redacted string) bool {
	switch {
	case err == nil:
		d.setLive(false)
	case initCtx.Err() != nil:
		d.fail(fmt.Errorf("%s %s: connecting: %w", d.name, redacted, initCtx.Err()))
		return false
	case d.joinLate && d.retries && !errors.Is(err, ErrRefused):
		d.goAway(err) // in a Multi, a failure that may pass is retried
	default:
		d.fail(err)
		return false
	}
	d.connected <- err
	return true
}

// lost takes a lost connection: true when the stage reconnects, false
// when it stops (Close, or no Reconnect policy: then it has failed).
func (d *destination) lost(err error) bool {
	if d.ctx.Err() != nil {
		return false
	}
	d.log.Warn("connection lost", "err", err)
	if !d.retries {
		d.fail(err)
		return false
	}
	d.goAway(err)
	return true
}

// stopped ends the stage's goroutine: the state is closed (unless it
// failed), what the queue still held did not make it, and Done closes.
func (d *destination) stopped() {
	d.cancel()
	d.mu.Lock()
	d.next = time.Time{}
	if d.state != StateFailed {
		d.state = StateClosed
	}
	// The queue's leftovers did not make it either (what the connection
	// had not confirmed was counted when it ended).
	if newest, ok := d.queue.Newest(); ok {
		if oldest, ok := d.queue.Oldest(); ok {
			d.undelivered = max(d.undelivered, newest-oldest)
		}
	}
	d.framesUndelivered += int64(d.queue.VideoLen())
	d.mu.Unlock()
	close(d.done)
}

// pop takes the next packet from the queue. After a reconnection the
// away-buffer drains back to the live bound as it goes.
func (d *destination) pop() (*media.Packet, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	p, ok := d.queue.Pop()
	if ok && d.queue.Budget > d.bound {
		d.queue.Budget = max(d.bound, min(d.queue.Budget, d.queue.Delay()+100*time.Millisecond))
		if d.queue.Budget == d.bound {
			d.queue.Mode = QueueLive
		}
	}
	return p, ok
}

// goAway shows the stage reconnecting because of cause and makes the
// queue keep what the policy's Buffer allows, from a keyframe.
func (d *destination) goAway(cause error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state, d.lastErr, d.attempts = StateReconnecting, cause, 0
	d.queue.Mode = QueueAway
	d.queue.Budget = d.policy.Buffer
	d.queue.Restart()
}

// setLive shows the stage live; reconnected counts a reconnection.
func (d *destination) setLive(reconnected bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.state, d.attempts, d.next = StateLive, 0, time.Time{}
	if reconnected {
		d.recons++
	}
}

// redial waits out the policy's backoff and connects again until a
// connection is up, Close is called, or the policy gives up (false then).
func redial[C any](d *destination, cause error, connect func(context.Context) (C, error)) (C, bool) {
	var none C
	for attempt := 1; ; attempt++ {
		delay := d.policy.Delay(attempt)
		d.mu.Lock()
		d.next = d.clock.Now().Add(delay)
		d.mu.Unlock()
		d.log.Info("reconnecting", "attempt", attempt, "in", delay.Round(time.Millisecond), "reason", cause)
		select {
		case <-d.clock.After(delay):
		case <-d.now:
		case <-d.ctx.Done():
			return none, false
		}
		conn, err := connect(d.ctx)
		if err == nil {
			return conn, true
		}
		if d.ctx.Err() != nil {
			return none, false
		}
		cause = err
		d.mu.Lock()
		d.attempts, d.lastErr = attempt, err
		d.mu.Unlock()
		if d.policy.MaxAttempts > 0 && attempt >= d.policy.MaxAttempts {
			d.fail(fmt.Errorf("gave up after %d attempts: %w", attempt, err))
			return none, false
		}
	}
}
