package publisher

import (
	"context"
	"fmt"
	"time"

	"golive/internal/tcpstat"
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
		r.stopped()
	}()

	conn, err := r.connect(initCtx)
	if !r.begin(initCtx, err, r.target.Redacted()) {
		return
	}
	wasLive := conn != nil
	for {
		if conn == nil {
			var ok bool
			if conn, ok = redial(&r.destination, err, r.connect); !ok {
				return
			}
			r.setLive(wasLive)
			wasLive = true
		}
		if err = r.pump(sendCtx, conn); err == nil { // stopped, flushed, unpublished
			r.closeConn(conn, true)
			r.log.Info("closed", "packets", r.packets.Load(), "bytes", r.sent.Load())
			return
		}
		r.closeConn(conn, false)
		conn = nil
		if !r.lost(err) {
			return
		}
	}
}

// connect dials a connection and sends metadata and sequence headers; ctx
// aborts it.
func (r *RTMP) connect(ctx context.Context) (*rtmpConn, error) {
	start := r.Clock.Now()
	conn, err := dialRTMP(ctx, rtmpConnConfig{
		target: r.target, timeout: r.ConnectTimeout, writeTimeout: r.WriteTimeout,
		tls: r.TLSConfig, log: r.log, sent: &r.sent, sendBuffer: r.sendBuffer(),
	})
	if err != nil {
		return nil, fmt.Errorf("rtmp %s: %w", r.target.Redacted(), err)
	}
	r.link.start(r.Clock.Now())
	if err := r.sendHeaders(ctx, conn); err != nil {
		conn.close()
		r.link.end()
		return nil, fmt.Errorf("rtmp %s: send headers: %w", r.target.Redacted(), err)
	}
	conn.helpers.Add(1)
	go r.watch(conn)
	r.log.Info("publishing", "took", r.Clock.Now().Sub(start).Round(time.Millisecond))
	return conn, nil
}

// sendBuffer is the SO_SNDBUF of the next connection: SendBuffer when set;
// where the kernel does not report what the peer acknowledged, about a
// second of media at the current input rate (at least 32 KiB), so that a
// slow link shows in the queue; otherwise the system's default (0).
func (r *RTMP) sendBuffer() int {
	if r.SendBuffer > 0 || tcpstat.Supported() {
		return r.SendBuffer
	}
	rate := r.inMeter.Bitrate(r.Clock.Now(), r.pushed.Load())
	if rate == 0 {
		rate = r.Video.Bitrate
		if r.Audio != nil {
			rate += r.Audio.Bitrate
		}
	}
	return max(32<<10, rate/8)
}

// closeConn closes a connection the stage is done with and closes the
// link's books on it. At the end of the stage (final), what the peer has
// not acknowledged is reported as undelivered.
func (r *RTMP) closeConn(conn *rtmpConn, final bool) {
	r.sampleLink(conn)
	conn.close()
	if final {
		ls := r.link.stats()
		r.mu.Lock()
		if newest, ok := r.queue.Newest(); ok && ls.hasOldest {
			r.undelivered = newest - ls.oldest
		}
		r.framesUndelivered = ls.unacked
		r.mu.Unlock()
	}
	r.link.end()
}

// watch samples the connection's link every linkSampleEvery until the
// connection closes, and breaks it with ErrStalled when the peer has
// acknowledged nothing for StallTimeout while media waited.
func (r *RTMP) watch(conn *rtmpConn) {
	defer conn.helpers.Done()
	tick := time.NewTicker(linkSampleEvery)
	defer tick.Stop()
	for {
		select {
		case <-conn.closing:
			return
		case <-tick.C:
		}
		if idle := r.sampleLink(conn); idle >= r.StallTimeout {
			r.log.Warn("link stalled", "acknowledged_nothing_for", idle.Round(time.Millisecond))
			conn.breakWith(fmt.Errorf("%w: %w: the server acknowledged nothing for %v", ErrConnectionLost, ErrStalled, r.StallTimeout))
			return
		}
	}
}

// sampleLink reads the connection's link (the kernel's counters, or what
// was written where it has none) into the link meter and returns how long
// the peer has acknowledged nothing while media waited.
func (r *RTMP) sampleLink(conn *rtmpConn) time.Duration {
	s := linkSample{kernel: tcpstat.Sample{Acked: conn.raw.Load(), Unsent: -1}}
	if tcpstat.Supported() {
		k, err := tcpstat.Read(conn.tcp, conn.raw.Load())
		if err != nil {
			return 0 // the socket is closing
		}
		s.kernel, s.measured = k, true
	}
	r.mu.Lock()
	s.waiting = r.queue.Len() > 0 || r.writing.Load()
	newest, ok := r.queue.Newest()
	r.mu.Unlock()
	return r.link.observe(r.Clock.Now(), s, newest, ok)
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

// flush sends what is still queued, unpublishes, and waits until the peer
// has acknowledged everything (where the kernel tells), all within
// FlushTimeout; unpublishing may take a second more (ctx).
func (r *RTMP) flush(ctx context.Context, conn *rtmpConn) error {
	window, stop := withGrace(r.ctx, r.Clock, r.FlushTimeout) // r.ctx has ended: FlushTimeout from now
	defer stop()
	for window.Err() == nil {
		p, ok := r.pop()
		if !ok {
			break
		}
		if err := r.send(ctx, conn, p); err != nil {
			return err
		}
	}
	if err := conn.unpublish(ctx); err != nil {
		r.log.Debug("unpublish", "err", err)
	}
	r.awaitAcks(window, conn)
	return nil
}

// awaitAcks waits until the kernel has nothing left unacknowledged on the
// connection, window ends or the connection breaks. The kernel is polled:
// it tells no one when the peer acknowledges.
func (r *RTMP) awaitAcks(window context.Context, conn *rtmpConn) {
	if !tcpstat.Supported() {
		return
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		r.sampleLink(conn)
		if r.link.stats().queued == 0 {
			return
		}
		select {
		case <-window.Done():
			return
		case <-conn.readDone:
			return
		case <-conn.cs.Done():
			return
		case <-tick.C:
		}
	}
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
	// The packet leaves the queue for the link: from now on the link
	// meter follows it until the peer acknowledges it.
	r.link.add(p, len(body))
	r.writing.Store(true)
	err := conn.writeMedia(ctx, p.Codec.IsVideo(), ts, body)
	r.writing.Store(false)
	if err != nil {
		return err
	}
	if ts > r.lastTS {
		r.lastTS = ts
	}
	r.packets.Add(1)
	return nil
}
