package publisher

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golive/media"
)

// RTMPState is where an RTMP destination stands.
type RTMPState int

// The states of an RTMP destination.
const (
	StateOffline RTMPState = iota
	StateConnecting
	StateLive
	StateReconnecting
	StateFailed
	StateClosed
)

// String returns the state's lower-case name.
func (s RTMPState) String() string {
	switch s {
	case StateConnecting:
		return "connecting"
	case StateLive:
		return "live"
	case StateReconnecting:
		return "reconnecting"
	case StateFailed:
		return "failed"
	case StateClosed:
		return "closed"
	}
	return "offline"
}

// RTMPStats is a snapshot of an RTMP destination.
type RTMPStats struct {
	State RTMPState
	// BytesSent counts bytes written to the socket(s), RTMP overhead
	// included.
	BytesSent int64
	// Bitrate is the send rate over about the last second, bits/s.
	Bitrate int
	// QueueLen and QueueDelay describe the send queue: packets, and media
	// time between the newest packet in and the oldest waiting.
	QueueLen   int
	QueueDelay time.Duration
	// DroppedVideo and DroppedAudio count frames the queue dropped.
	DroppedVideo, DroppedAudio int
	// PacketsSent counts media packets handed to the connection.
	PacketsSent int64
	// Attempts counts failed reconnection attempts since the last loss;
	// Reconnects counts successful reconnections.
	Attempts, Reconnects int
	// NextAttempt is when the next reconnection attempt is due (zero when
	// not reconnecting).
	NextAttempt time.Time
	// LastError is the most recent connection error (nil if none).
	LastError error
}

// RTMP publishes H.264 (and optionally AAC) packets to one RTMP or RTMPS
// destination. Configure the fields, call Initialize, then WritePacket
// from any goroutine; Close when done.
type RTMP struct {
	// URL is rtmp://host[:port]/app/key or rtmps://host[:port]/app/key.
	URL string
	// Video describes the H.264 stream (Codec must be media.CodecH264 and
	// Config its AVCDecoderConfigurationRecord).
	Video media.CodecParams
	// Audio describes the AAC stream; nil means no audio.
	Audio *media.CodecParams
	// QueueDuration bounds the send queue in media time [2 s].
	QueueDuration time.Duration
	// Logger receives the stage's logs [slog.Default()].
	Logger *slog.Logger
	// ConnectTimeout bounds dial, handshake and the publish exchange
	// [10 s].
	ConnectTimeout time.Duration
	// WriteTimeout breaks a connection on which a write makes no progress
	// for this long [10 s].
	WriteTimeout time.Duration
	// FlushTimeout bounds how long Close keeps sending what is queued
	// [2 s].
	FlushTimeout time.Duration
	// SendBuffer sets the socket's send buffer (SO_SNDBUF) in bytes; 0
	// keeps the system's default. A small buffer makes congestion show in
	// the queue (and to a BitrateController) sooner.
	SendBuffer int
	// TLSConfig is used for rtmps:// (nil: system roots, server name from
	// the URL).
	TLSConfig *tls.Config
	// Reconnect, when set, makes a lost connection come back by itself
	// (see ReconnectPolicy); nil means a lost connection ends the stage
	// with ErrConnectionLost.
	Reconnect *ReconnectPolicy
	// Clock is the time source for reconnect waits and the bitrate window
	// [wall clock].
	Clock Clock

	target   Target
	log      *slog.Logger
	policy   ReconnectPolicy
	ctx      context.Context
	cancel   context.CancelFunc
	closing  chan struct{}
	done     chan struct{}
	wake     chan struct{}
	now      chan struct{} // ReconnectNow
	closeMu  sync.Once
	started  atomic.Bool
	sent     atomic.Int64
	packets  atomic.Int64
	meter    rateMeter
	mu       sync.Mutex // guards the fields below
	queue    *Queue
	state    RTMPState
	err      error
	lastErr  error
	attempts int
	recons   int
	next     time.Time

	// connectFailed is set by Initialize when everything but the
	// connection itself was ready (see retryInBackground).
	connectFailed bool

	// Owned by the writer goroutine.
	base    time.Duration
	hasBase bool
	lastTS  uint32
}

// Initialize connects, publishes and waits for the server's
// NetStream.Publish.Start. Errors wrap ErrBadURL, ErrUnreachable,
// ErrRefused, ErrTimeout or ErrProtocol. It is
// InitializeContext(context.Background()).
func (r *RTMP) Initialize() error { return r.InitializeContext(context.Background()) }

// InitializeContext is Initialize that ctx can abort: cancelling it stops
// the dial, handshake or publish exchange at once, closes the socket and
// returns an error wrapping ctx.Err(). ctx bounds only the connection
// attempt, not the stage's life after it.
func (r *RTMP) InitializeContext(ctx context.Context) error {
	if err := r.init(ctx); err != nil {
		r.mu.Lock()
		r.state, r.err, r.lastErr = StateFailed, err, err
		r.mu.Unlock()
		return err
	}
	return nil
}

func (r *RTMP) init(ctx context.Context) error {
	if r.done != nil {
		return fmt.Errorf("rtmp: Initialize called twice")
	}
	r.done = make(chan struct{})
	r.closing = make(chan struct{})
	t, err := ParseURL(r.URL)
	if err != nil {
		close(r.done)
		return fmt.Errorf("rtmp: %w", err)
	}
	r.target = t
	if r.Video.Codec != media.CodecH264 || len(r.Video.Config) == 0 {
		close(r.done)
		return fmt.Errorf("rtmp %s: video must be H.264 with its decoder configuration (got %v, %d config bytes)",
			t.Redacted(), r.Video.Codec, len(r.Video.Config))
	}
	if r.Audio != nil && (r.Audio.Codec != media.CodecAAC || len(r.Audio.Config) == 0) {
		close(r.done)
		return fmt.Errorf("rtmp %s: audio must be AAC with its AudioSpecificConfig (got %v)", t.Redacted(), r.Audio.Codec)
	}
	if r.QueueDuration <= 0 {
		r.QueueDuration = 2 * time.Second
	}
	if r.ConnectTimeout <= 0 {
		r.ConnectTimeout = 10 * time.Second
	}
	if r.WriteTimeout <= 0 {
		r.WriteTimeout = 10 * time.Second
	}
	if r.FlushTimeout <= 0 {
		r.FlushTimeout = 2 * time.Second
	}
	if r.Clock == nil {
		r.Clock = realClock{}
	}
	if r.Reconnect != nil {
		r.policy = r.Reconnect.withDefaults()
	}
	r.log = r.Logger
	if r.log == nil {
		r.log = slog.Default()
	}
	r.log = r.log.With("stage", "rtmp", "url", t.Redacted())
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.wake = make(chan struct{}, 1)
	r.now = make(chan struct{}, 1)
	r.queue = NewQueue(r.QueueDuration)
	r.setState(StateConnecting)

	sess, err := r.connect(ctx)
	if err != nil {
		r.cancel()
		close(r.done)
		if ctx.Err() != nil {
			return fmt.Errorf("rtmp %s: connecting: %w", t.Redacted(), ctx.Err())
		}
		r.connectFailed = true
		return err
	}
	r.setState(StateLive)
	r.started.Store(true)
	go r.run(sess)
	return nil
}

// connect dials a session and sends metadata and sequence headers; ctx
// aborts it.
func (r *RTMP) connect(ctx context.Context) (*session, error) {
	start := r.Clock.Now()
	sess, err := dialSession(ctx, sessionConfig{
		target: r.target, timeout: r.ConnectTimeout, writeTimeout: r.WriteTimeout,
		tls: r.TLSConfig, log: r.log, sent: &r.sent, sendBuffer: r.SendBuffer,
	})
	if err != nil {
		return nil, fmt.Errorf("rtmp %s: %w", r.target.Redacted(), err)
	}
	if err := r.sendHeaders(ctx, sess); err != nil {
		sess.close()
		return nil, fmt.Errorf("rtmp %s: send headers: %w", r.target.Redacted(), err)
	}
	r.log.Info("publishing", "took", r.Clock.Now().Sub(start).Round(time.Millisecond))
	return sess, nil
}

// sendHeaders sends @setDataFrame onMetaData and the AVC and AAC sequence
// headers, at the timestamp the stream continues from.
func (r *RTMP) sendHeaders(ctx context.Context, s *session) error {
	if err := s.writeMetadata(ctx, onMetaData(r.Video, r.Audio)); err != nil {
		return err
	}
	if err := s.writeMedia(ctx, true, r.lastTS, avcSequenceHeader(r.Video.Config)); err != nil {
		return err
	}
	if r.Audio != nil {
		if err := s.writeMedia(ctx, false, r.lastTS, aacSequenceHeader(r.Audio)); err != nil {
			return err
		}
	}
	return nil
}

// WritePacket queues pkt for sending; it never blocks. pkt and its Data
// must not be changed afterwards. Packets written before Initialize
// succeeded or after Close are ignored.
func (r *RTMP) WritePacket(pkt *media.Packet) {
	if !r.started.Load() || pkt == nil {
		return
	}
	if pkt.Codec == media.CodecAAC && r.Audio == nil {
		return
	}
	select {
	case <-r.closing:
		return
	default:
	}
	r.mu.Lock()
	r.queue.Push(pkt)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// ReconnectNow skips the current reconnection wait.
func (r *RTMP) ReconnectNow() {
	if r.now == nil {
		return
	}
	select {
	case r.now <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the destination.
func (r *RTMP) Stats() RTMPStats {
	total := r.sent.Load()
	st := RTMPStats{
		BytesSent:   total,
		PacketsSent: r.packets.Load(),
	}
	if r.Clock != nil {
		st.Bitrate = r.meter.rate(r.Clock.Now(), total)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st.State, st.LastError = r.state, r.lastErr
	st.Attempts, st.Reconnects, st.NextAttempt = r.attempts, r.recons, r.next
	if r.queue != nil {
		st.QueueLen, st.QueueDelay = r.queue.Len(), r.queue.Delay()
		st.DroppedVideo, st.DroppedAudio = r.queue.Dropped()
	}
	return st
}

// Done is closed when the stage has stopped: after Close, or when the
// connection was lost and cannot come back.
func (r *RTMP) Done() <-chan struct{} { return r.done }

// Err returns why the stage stopped (nil after a plain Close).
func (r *RTMP) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close sends what is queued (for at most FlushTimeout), unpublishes and
// closes the connection, and waits for the writer goroutine. It is
// idempotent.
func (r *RTMP) Close() {
	if r.done == nil {
		return
	}
	r.closeMu.Do(func() {
		close(r.closing)
		if r.started.Load() {
			select {
			case <-r.done:
			case <-time.After(r.FlushTimeout + time.Second):
				// The writer is stuck in a write: abort it.
				r.cancel()
			}
		}
		<-r.done
		if r.cancel != nil {
			r.cancel()
		}
		r.mu.Lock()
		if r.state != StateFailed {
			r.state = StateClosed
		}
		r.mu.Unlock()
	})
}

func (r *RTMP) setState(s RTMPState) {
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
}

// run is the writer goroutine: it owns the session.
func (r *RTMP) run(sess *session) {
	defer close(r.done)
	for {
		err := r.pump(sess)
		if err == nil { // closing: flushed
			r.finish(sess)
			return
		}
		sess.close()
		if r.ctx.Err() != nil {
			return
		}
		r.log.Warn("connection lost", "err", err)
		if r.Reconnect == nil {
			r.mu.Lock()
			r.state, r.err, r.lastErr = StateFailed, err, err
			r.mu.Unlock()
			return
		}
		if sess = r.reconnect(err, false); sess == nil {
			return
		}
	}
}

// pump sends queued packets until the connection fails (error) or Close
// asks to stop and the queue is flushed (nil).
func (r *RTMP) pump(sess *session) error {
	var flushDeadline <-chan time.Time
	closing := r.closing
	for {
		for {
			r.mu.Lock()
			p, ok := r.queue.Pop()
			if ok && r.queue.Budget > r.QueueDuration {
				// After a reconnection the away-buffer drains back
				// to the live bound.
				r.queue.Budget = max(r.QueueDuration, min(r.queue.Budget, r.queue.Delay()+100*time.Millisecond))
				if r.queue.Budget == r.QueueDuration {
					r.queue.Mode = QueueLive
				}
			}
			r.mu.Unlock()
			if !ok {
				break
			}
			if err := r.send(sess, p); err != nil {
				return err
			}
			if flushDeadline != nil {
				select {
				case <-flushDeadline:
					return nil
				default:
				}
			}
		}
		if flushDeadline != nil {
			return nil // flushed
		}
		select {
		case <-r.wake:
		case <-closing:
			closing = nil
			flushDeadline = time.After(r.FlushTimeout)
		case <-sess.readDone:
			return sess.lostErr()
		case <-sess.cs.Done():
			if err := sess.lostErr(); err != nil {
				return err
			}
			return fmt.Errorf("%w: writer stopped", ErrConnectionLost)
		case <-r.ctx.Done():
			return r.ctx.Err()
		}
	}
}

// send writes one packet.
func (r *RTMP) send(sess *session, p *media.Packet) error {
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
	if err := sess.writeMedia(r.ctx, p.Codec.IsVideo(), ts, body); err != nil {
		return err
	}
	if ts > r.lastTS {
		r.lastTS = ts
	}
	r.packets.Add(1)
	return nil
}

// finish unpublishes and closes after a flush.
func (r *RTMP) finish(sess *session) {
	ctx, cancel := context.WithTimeout(r.ctx, time.Second)
	defer cancel()
	if err := sess.finish(ctx); err != nil {
		r.log.Debug("unpublish", "err", err)
	}
	sess.close()
	r.log.Info("closed", "packets", r.packets.Load(), "bytes", r.sent.Load())
}

// retryInBackground makes a destination whose Initialize failed to
// connect keep trying in the background with its ReconnectPolicy, as if a
// live connection had been lost: WritePacket queues meanwhile (up to the
// policy's Buffer, starting at a keyframe), Stats shows StateReconnecting,
// and once connected it sends like a reconnected stage. It reports false,
// leaving the stage failed, when there is no Reconnect policy, when the
// failure was not a connection failure, or when retrying cannot help: the
// server refused the stream (ErrRefused) or the URL is bad. It must be
// called after Initialize failed and before Close.
func (r *RTMP) retryInBackground() bool {
	r.mu.Lock()
	cause := r.err
	r.mu.Unlock()
	if r.Reconnect == nil || !r.connectFailed || cause == nil ||
		errors.Is(cause, ErrRefused) || errors.Is(cause, ErrBadURL) {
		return false
	}
	r.connectFailed = false
	r.done = make(chan struct{})
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.mu.Lock()
	r.err = nil
	r.state, r.attempts = StateReconnecting, 0
	r.queue.Mode = QueueAway
	r.queue.Budget = r.policy.Buffer
	r.mu.Unlock()
	r.started.Store(true)
	go func() {
		sess := r.reconnect(cause, true)
		if sess == nil {
			close(r.done)
			return
		}
		r.run(sess)
	}()
	return true
}

// reconnect waits and retries until a session is up again, Close is
// called, or the policy gives up (nil). joining says the stage never
// connected (see retryInBackground): success then does not count as a
// reconnection.
func (r *RTMP) reconnect(cause error, joining bool) *session {
	r.mu.Lock()
	r.state, r.lastErr, r.attempts = StateReconnecting, cause, 0
	r.queue.Mode = QueueAway
	r.queue.Budget = r.policy.Buffer
	r.queue.Restart()
	r.mu.Unlock()
	for attempt := 1; ; attempt++ {
		delay := r.policy.Delay(attempt)
		r.mu.Lock()
		r.next = r.Clock.Now().Add(delay)
		r.mu.Unlock()
		r.log.Info("reconnecting", "joining", joining, "attempt", attempt, "in", delay.Round(time.Millisecond), "reason", cause)
		select {
		case <-r.Clock.After(delay):
		case <-r.now:
		case <-r.closing:
			r.stopReconnecting(nil)
			return nil
		case <-r.ctx.Done():
			r.stopReconnecting(nil)
			return nil
		}
		sess, err := r.connect(r.ctx)
		if err == nil {
			r.mu.Lock()
			r.state, r.attempts, r.next = StateLive, 0, time.Time{}
			if !joining {
				r.recons++
			}
			r.mu.Unlock()
			return sess
		}
		if errors.Is(err, ErrClosed) {
			r.stopReconnecting(nil)
			return nil
		}
		cause = err
		r.mu.Lock()
		r.attempts, r.lastErr = attempt, err
		r.mu.Unlock()
		if r.policy.MaxAttempts > 0 && attempt >= r.policy.MaxAttempts {
			r.stopReconnecting(fmt.Errorf("gave up after %d attempts: %w", attempt, err))
			return nil
		}
	}
}

func (r *RTMP) stopReconnecting(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.next = time.Time{}
	if err != nil {
		r.state, r.err = StateFailed, err
	}
}
