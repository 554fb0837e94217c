package publisher

import (
	"context"
	"errors"
	"fmt"
	"time"

	"golive/media"
)

// run is the RTMP stage's goroutine: dial → publish → pump → reconnect.
// It owns the connection, the reconnection state and the timestamps, and
// tells InitializeContext the first connection's outcome.
func (r *RTMP) run(initCtx context.Context) {
	// Sends outlive Close by the flush and the unpublish, then are
	// aborted even when a write makes no progress.
	sendCtx, stopSending := withGrace(r.ctx, r.Clock, r.FlushTimeout+time.Second)
	defer func() {
		stopSending()
		r.cancel()
		r.mu.Lock()
		r.next = time.Time{}
		if r.state != StateFailed {
			r.state = StateClosed
		}
		r.mu.Unlock()
		close(r.done)
	}()

	conn, err := r.connect(initCtx)
	switch {
	case err == nil:
		r.setLive(false)
	case initCtx.Err() != nil:
		r.fail(fmt.Errorf("rtmp %s: connecting: %w", r.target.Redacted(), initCtx.Err()))
		return
	case r.joinLate && r.Reconnect != nil && !errors.Is(err, ErrRefused):
		r.goAway(err) // in a Multi, a failure that may pass is retried
	default:
		r.fail(err)
		return
	}
	r.connected <- err
	wasLive := conn != nil
	for {
		if conn == nil {
			if conn = r.redial(err); conn == nil {
				return
			}
			r.setLive(wasLive)
			wasLive = true
		}
		if err = r.pump(sendCtx, conn); err == nil { // stopped and flushed
			r.unpublish(sendCtx, conn)
			return
		}
		conn.close()
		conn = nil
		if r.ctx.Err() != nil {
			return
		}
		r.log.Warn("connection lost", "err", err)
		if r.Reconnect == nil {
			r.fail(err)
			return
		}
		r.goAway(err)
	}
}

// connect dials a connection and sends metadata and sequence headers; ctx
// aborts it.
func (r *RTMP) connect(ctx context.Context) (*rtmpConn, error) {
	start := r.Clock.Now()
	conn, err := dialRTMP(ctx, rtmpConnConfig{
		target: r.target, timeout: r.ConnectTimeout, writeTimeout: r.WriteTimeout,
		tls: r.TLSConfig, log: r.log, sent: &r.sent, sendBuffer: r.SendBuffer,
	})
	if err != nil {
		return nil, fmt.Errorf("rtmp %s: %w", r.target.Redacted(), err)
	}
	if err := r.sendHeaders(ctx, conn); err != nil {
		conn.close()
		return nil, fmt.Errorf("rtmp %s: send headers: %w", r.target.Redacted(), err)
	}
	r.log.Info("publishing", "took", r.Clock.Now().Sub(start).Round(time.Millisecond))
	return conn, nil
}

// sendHeaders sends @setDataFrame onMetaData and the AVC and AAC sequence
// headers, at the timestamp the stream continues from.
func (r *RTMP) sendHeaders(ctx context.Context, c *rtmpConn) error {
	if err := c.writeMetadata(ctx, onMetaData(r.Video, r.Audio)); err != nil {
		return err
	}
	if err := c.writeMedia(ctx, true, r.lastTS, avcSequenceHeader(r.Video.Config)); err != nil {
		return err
	}
	if r.Audio != nil {
		if err := c.writeMedia(ctx, false, r.lastTS, aacSequenceHeader(r.Audio)); err != nil {
			return err
		}
	}
	return nil
}

// pump sends queued packets until the connection fails (its error) or
// Close stopped the stage and the queue is flushed (nil).
func (r *RTMP) pump(ctx context.Context, conn *rtmpConn) error {
	for {
		for p, ok := r.pop(); ok; p, ok = r.pop() {
			if err := r.send(ctx, conn, p); err != nil {
				return err
			}
		}
		select {
		case <-r.wake:
		case <-r.ctx.Done():
			return r.flush(ctx, conn)
		case <-conn.readDone:
			return conn.lostErr()
		case <-conn.cs.Done():
			return conn.lostErr()
		}
	}
}

// flush sends what is still queued, for at most FlushTimeout.
func (r *RTMP) flush(ctx context.Context, conn *rtmpConn) error {
	end := r.Clock.After(r.FlushTimeout)
	for p, ok := r.pop(); ok; p, ok = r.pop() {
		select {
		case <-end:
			return nil
		default:
		}
		if err := r.send(ctx, conn, p); err != nil {
			return err
		}
	}
	return nil
}

// pop takes the next packet from the queue. After a reconnection the
// away-buffer drains back to the live bound as it goes.
func (r *RTMP) pop() (*media.Packet, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p, ok := r.queue.Pop()
	if ok && r.queue.Budget > r.QueueDuration {
		r.queue.Budget = max(r.QueueDuration, min(r.queue.Budget, r.queue.Delay()+100*time.Millisecond))
		if r.queue.Budget == r.QueueDuration {
			r.queue.Mode = QueueLive
		}
	}
	return p, ok
}

// send writes one packet.
func (r *RTMP) send(ctx context.Context, conn *rtmpConn, p *media.Packet) error {
	if !r.hasBase {
		r.base, r.hasBase = p.DTS, true
	}
	ts := flvTimestamp(p.DTS, r.base)
	var body []byte
	if p.Codec.IsVideo() {
		body = videoTag(p)
	} else {
		body = audioTag(r.Audio, p)
	}
	if err := conn.writeMedia(ctx, p.Codec.IsVideo(), ts, body); err != nil {
		return err
	}
	if ts > r.lastTS {
		r.lastTS = ts
	}
	r.packets.Add(1)
	return nil
}

// unpublish ends a flushed connection.
func (r *RTMP) unpublish(ctx context.Context, conn *rtmpConn) {
	if err := conn.unpublish(ctx); err != nil {
		r.log.Debug("unpublish", "err", err)
	}
	conn.close()
	r.log.Info("closed", "packets", r.packets.Load(), "bytes", r.sent.Load())
}

// goAway shows the stage reconnecting because of cause and makes the
// queue keep what the policy's Buffer allows, from a keyframe.
func (r *RTMP) goAway(cause error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state, r.lastErr, r.attempts = StateReconnecting, cause, 0
	r.queue.Mode = QueueAway
	r.queue.Budget = r.policy.Buffer
	r.queue.Restart()
}

// setLive shows the stage live; reconnected counts a reconnection.
func (r *RTMP) setLive(reconnected bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state, r.attempts, r.next = StateLive, 0, time.Time{}
	if reconnected {
		r.recons++
	}
}

// redial waits out the policy's backoff and dials again until a
// connection is up, Close is called, or the policy gives up (nil then).
func (r *RTMP) redial(cause error) *rtmpConn {
	for attempt := 1; ; attempt++ {
		delay := r.policy.Delay(attempt)
		r.mu.Lock()
		r.next = r.Clock.Now().Add(delay)
		r.mu.Unlock()
		r.log.Info("reconnecting", "attempt", attempt, "in", delay.Round(time.Millisecond), "reason", cause)
		select {
		case <-r.Clock.After(delay):
		case <-r.now:
		case <-r.ctx.Done():
			return nil
		}
		conn, err := r.connect(r.ctx)
		if err == nil {
			return conn
		}
		if r.ctx.Err() != nil {
			return nil
		}
		cause = err
		r.mu.Lock()
		r.attempts, r.lastErr = attempt, err
		r.mu.Unlock()
		if r.policy.MaxAttempts > 0 && attempt >= r.policy.MaxAttempts {
			r.fail(fmt.Errorf("gave up after %d attempts: %w", attempt, err))
			return nil
		}
	}
}
