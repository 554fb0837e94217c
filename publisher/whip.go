package publisher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golive/media"
)

// WHIP publishes H.264 and (optionally) Opus packets to one WHIP endpoint
// (RFC 9725): it POSTs a sendonly SDP offer with the stream key as
// "Authorization: Bearer KEY", and once ICE and DTLS are up sends the
// encoder's H.264 as it is (AVCC to RTP, packetization-mode 1, keyframes
// led by SPS and PPS) and the Opus packets, one per RTP packet. It behaves
// as an RTMP destination does — the same queue, states (connecting, live,
// reconnecting), ReconnectPolicy, stats and Multi membership: one
// goroutine (run) owns the session; WritePacket only queues. A session
// whose ICE fails (the link died) is DELETEd where possible and made
// again after the policy's wait. Configure the fields, call Initialize,
// WritePacket from any goroutine, Close when done.
type WHIP struct {
	// URL is http(s)://[KEY@]HOST[:PORT]/PATH: the endpoint, and the
	// bearer token as the user part (see ParseURL).
	URL string
	// Video describes the H.264 stream (Codec media.CodecH264, Config its
	// AVCDecoderConfigurationRecord).
	Video media.CodecParams
	// Audio describes the Opus stream (media.CodecOpus, 48 kHz); nil
	// means no audio.
	Audio *media.CodecParams
	// QueueDuration bounds the send queue in media time [2 s].
	QueueDuration time.Duration
	// ConnectTimeout bounds the offer's POST and the ICE and DTLS
	// exchange [10 s].
	ConnectTimeout time.Duration
	// FlushTimeout bounds how long Close keeps sending what is queued
	// [2 s]; the DELETE may take two seconds more.
	FlushTimeout time.Duration
	// LostAfter is how long the server may stay silent before the session
	// counts as lost (ICE failed) [5 s].
	LostAfter time.Duration
	// Reconnect, when set, makes a lost session come back by itself; nil
	// means a lost session ends the stage with ErrConnectionLost.
	Reconnect *ReconnectPolicy
	// Clock is the time source for reconnect waits, the flush on Close and
	// the bitrate window [wall clock].
	Clock Clock
	// HTTPClient makes the WHIP requests [one with ConnectTimeout and the
	// system's TLS roots].
	HTTPClient *http.Client
	// Logger receives the stage's logs [slog.Default()].
	Logger *slog.Logger

	joinLate bool

	target    Target
	log       *slog.Logger
	policy    ReconnectPolicy
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	connected chan error
	wake      chan struct{}
	now       chan struct{}
	started   atomic.Bool
	sent      atomic.Int64
	packets   atomic.Int64
	meter     media.RateMeter
	pushed    atomic.Int64 // bytes given to WritePacket
	inMeter   media.RateMeter
	ackMeter  media.RateMeter
	cur       atomic.Pointer[whipConn] // the live session, if any
	// What past sessions' receiver reports confirmed, and the frames
	// sent on sessions that broke before a report covered them.
	pastDelivered, pastAcked, lostFrames atomic.Int64

	mu        sync.Mutex
	queue     *Queue
	state     RTMPState
	err       error
	lastErr   error
	attempts  int
	recons    int
	next      time.Time
	congested bool
	// What did not reach the server, set when the stage stops.
	undelivered       time.Duration
	framesUndelivered int64
}

// confirmWait bounds how long Close waits, after the last packet, for the
// server's receiver report that confirms it (they come about once a
// second).
const confirmWait = 1500 * time.Millisecond

// Initialize is InitializeContext(context.Background()).
func (w *WHIP) Initialize() error { return w.InitializeContext(context.Background()) }

// InitializeContext starts the stage and waits for its first session to
// be up. Errors wrap ErrBadURL, ErrRefused (the server answered 4xx:
// wrong key, someone else publishing), ErrUnreachable, ErrTimeout or
// ErrProtocol, and the stage has stopped, but in a Multi (see
// Multi.InitializeContext). Cancelling ctx stops the attempt at once.
func (w *WHIP) InitializeContext(ctx context.Context) error {
	if w.done != nil {
		return errors.New("whip: Initialize called twice")
	}
	w.done = make(chan struct{})
	w.ctx, w.cancel = context.WithCancel(context.Background())
	if err := w.configure(); err != nil {
		w.cancel()
		w.fail(err)
		close(w.done)
		return err
	}
	go w.run(ctx)
	select {
	case err := <-w.connected:
		w.started.Store(true)
		return err
	case <-w.done:
		return w.Err()
	}
}

// configure checks the fields and fills in the defaults.
func (w *WHIP) configure() error {
	t, err := ParseURL(w.URL)
	if err != nil {
		return fmt.Errorf("whip: %w", err)
	}
	if !t.IsWHIP() {
		return fmt.Errorf("whip: %w: %s is not an http(s) WHIP endpoint", ErrBadURL, t.Redacted())
	}
	w.target = t
	if w.Video.Codec != media.CodecH264 || len(w.Video.Config) == 0 {
		return fmt.Errorf("whip %s: video must be H.264 with its decoder configuration", t.Redacted())
	}
	if w.Audio != nil && w.Audio.Codec != media.CodecOpus {
		return fmt.Errorf("whip %s: audio must be Opus (got %v)", t.Redacted(), w.Audio.Codec)
	}
	if w.QueueDuration <= 0 {
		w.QueueDuration = 2 * time.Second
	}
	if w.ConnectTimeout <= 0 {
		w.ConnectTimeout = 10 * time.Second
	}
	if w.FlushTimeout <= 0 {
		w.FlushTimeout = 2 * time.Second
	}
	if w.LostAfter <= 0 {
		w.LostAfter = 5 * time.Second
	}
	if w.Clock == nil {
		w.Clock = realClock{}
	}
	if w.HTTPClient == nil {
		w.HTTPClient = &http.Client{Timeout: w.ConnectTimeout}
	}
	if w.Reconnect != nil {
		w.policy = w.Reconnect.withDefaults()
	}
	w.log = w.Logger
	if w.log == nil {
		w.log = slog.Default()
	}
	w.log = w.log.With("stage", "whip", "url", t.Redacted())
	w.connected = make(chan error)
	w.wake = make(chan struct{}, 1)
	w.now = make(chan struct{}, 1)
	w.queue = NewQueue(w.QueueDuration)
	w.setState(StateConnecting)
	return nil
}

func (w *WHIP) setJoinLate() { w.joinLate = true }

// WritePacket queues pkt for sending; it never blocks. Audio that is not
// Opus is ignored. pkt must not be changed afterwards.
func (w *WHIP) WritePacket(pkt *media.Packet) {
	if pkt == nil || !w.started.Load() || w.ctx.Err() != nil {
		return
	}
	if !pkt.Codec.IsVideo() && (w.Audio == nil || pkt.Codec != media.CodecOpus) {
		return
	}
	w.pushed.Add(int64(len(pkt.Data)))
	w.mu.Lock()
	w.queue.Push(pkt)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// ReconnectNow skips the current reconnection wait.
func (w *WHIP) ReconnectNow() {
	if w.now == nil {
		return
	}
	select {
	case w.now <- struct{}{}:
	default:
	}
}

// Stats returns a snapshot of the destination. BytesSent counts RTP
// bytes; what the server acknowledged (BytesAcked, LinkBitrate,
// FramesDelivered) comes from its RTCP receiver reports, about once a
// second; QueueDelay is the send queue's media plus the round-trip time
// the reports tell, BaseDelay the least round trip of the session.
func (w *WHIP) Stats() RTMPStats {
	total := w.sent.Load()
	st := RTMPStats{BytesSent: total, PacketsSent: w.packets.Load(), FramesLost: w.lostFrames.Load(),
		FramesDelivered: w.pastDelivered.Load(), BytesAcked: w.pastAcked.Load()}
	var ls linkState
	if c := w.cur.Load(); c != nil {
		ls = c.link.state()
		st.FramesDelivered += ls.delivered
		st.BytesAcked += ls.ackedBytes
		st.FramesUnconfirmed = ls.unconfirmed
		st.Measured = ls.rtt > 0 || ls.delivered > 0
		st.BaseDelay = ls.base
	}
	if w.Clock != nil {
		now := w.Clock.Now()
		st.Bitrate = w.meter.Bitrate(now, total)
		st.InputBitrate = w.inMeter.Bitrate(now, w.pushed.Load())
		st.LinkBitrate = w.ackMeter.Bitrate(now, st.BytesAcked)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	st.State, st.LastError = w.state, w.lastErr
	st.Attempts, st.Reconnects, st.NextAttempt = w.attempts, w.recons, w.next
	st.Undelivered, st.FramesUndelivered = w.undelivered, w.framesUndelivered
	if w.queue != nil {
		st.QueueLen, st.QueueDelay = w.queue.Len(), w.queue.Delay()+ls.rtt
		st.DroppedVideo, st.DroppedAudio = w.queue.Dropped()
	}
	switch wait := st.QueueDelay - st.BaseDelay; {
	case st.State != StateLive:
		w.congested = false
	case wait > congestedAbove:
		w.congested = true
	case wait < congestedBelow:
		w.congested = false
	}
	st.Congested = w.congested
	return st
}

// Done is closed when the stage has stopped.
func (w *WHIP) Done() <-chan struct{} { return w.done }

// Err returns why the stage stopped (nil after a plain Close).
func (w *WHIP) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

// Close sends what is queued (for at most FlushTimeout), DELETEs the
// session and waits for the stage. It is idempotent.
func (w *WHIP) Close() {
	if w.done == nil {
		return
	}
	w.cancel()
	<-w.done
}

func (w *WHIP) setState(s RTMPState) {
	w.mu.Lock()
	w.state = s
	w.mu.Unlock()
}

func (w *WHIP) fail(err error) {
	w.mu.Lock()
	w.state, w.err, w.lastErr = StateFailed, err, err
	w.mu.Unlock()
}

// run is the stage's goroutine: connect → pump → reconnect, as RTMP's.
func (w *WHIP) run(initCtx context.Context) {
	defer func() {
		w.cancel()
		w.mu.Lock()
		w.next = time.Time{}
		if w.state != StateFailed {
			w.state = StateClosed
		}
		w.mu.Unlock()
		close(w.done)
	}()
	conn, err := w.connect(initCtx)
	switch {
	case err == nil:
		w.setLive(false)
	case initCtx.Err() != nil:
		w.fail(fmt.Errorf("whip %s: connecting: %w", w.target.Redacted(), initCtx.Err()))
		return
	case w.joinLate && w.Reconnect != nil && !errors.Is(err, ErrRefused):
		w.goAway(err)
	default:
		w.fail(err)
		return
	}
	w.connected <- err
	wasLive := conn != nil
	for {
		if conn == nil {
			if conn = w.redial(err); conn == nil {
				return
			}
			w.setLive(wasLive)
			wasLive = true
		}
		err = w.pump(conn)
		w.ended(conn, err == nil || w.ctx.Err() != nil)
		conn.close(context.Background())
		if err == nil || w.ctx.Err() != nil {
			w.log.Info("closed", "packets", w.packets.Load(), "bytes", w.sent.Load())
			return
		}
		conn = nil
		w.log.Warn("connection lost", "err", err)
		if w.Reconnect == nil {
			w.fail(err)
			return
		}
		w.goAway(err)
	}
}

// connect makes one session; ctx aborts it.
func (w *WHIP) connect(ctx context.Context) (*whipConn, error) {
	start := w.Clock.Now()
	conn, err := dialWHIP(ctx, whipConnConfig{target: w.target, video: w.Video, audio: w.Audio,
		client: w.HTTPClient, timeout: w.ConnectTimeout, log: w.log, sent: &w.sent,
		disconnected: w.LostAfter / 2, failed: w.LostAfter - w.LostAfter/2})
	if err != nil {
		return nil, fmt.Errorf("whip %s: %w", w.target.Redacted(), err)
	}
	w.log.Info("publishing", "took", w.Clock.Now().Sub(start).Round(time.Millisecond))
	w.cur.Store(conn)
	return conn, nil
}

// ended books what a session delivered once it is over; last says the
// stage stops with it (what is unconfirmed then is undelivered, else
// lost).
func (w *WHIP) ended(conn *whipConn, last bool) {
	ls := conn.link.state()
	w.pastDelivered.Add(ls.delivered)
	w.pastAcked.Add(ls.ackedBytes)
	w.cur.Store(nil)
	if !last {
		w.lostFrames.Add(ls.unconfirmed)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	frames := ls.unconfirmed
	for i := w.queue.head; i < len(w.queue.items); i++ {
		if w.queue.items[i].Codec.IsVideo() {
			frames++
		}
	}
	w.undelivered, w.framesUndelivered = w.queue.Delay()+ls.unconfirmedSpan, frames
}

// pump sends queued packets until the session is lost (its error) or
// Close stopped the stage and the queue is flushed (nil).
func (w *WHIP) pump(conn *whipConn) error {
	for {
		for p, ok := w.pop(); ok; p, ok = w.pop() {
			if err := conn.write(p); err != nil {
				return err
			}
			w.packets.Add(1)
		}
		select {
		case <-w.wake:
		case <-w.ctx.Done():
			return w.flush(conn)
		case <-conn.lost:
			return conn.lostErr()
		}
	}
}

// flush sends what is still queued, for at most FlushTimeout, then waits
// (at most confirmWait, on the wall clock, like a network timeout) for the
// server's report that confirms it.
func (w *WHIP) flush(conn *whipConn) error {
	end := w.Clock.After(w.FlushTimeout)
	for p, ok := w.pop(); ok; p, ok = w.pop() {
		select {
		case <-end:
			return nil
		default:
		}
		if err := conn.write(p); err != nil {
			return err
		}
		w.packets.Add(1)
	}
	confirm := time.NewTimer(confirmWait)
	defer confirm.Stop()
	for conn.link.state().unconfirmed > 0 {
		select {
		case <-conn.reported:
		case <-conn.lost:
			return nil
		case <-confirm.C:
			return nil
		}
	}
	return nil
}

// pop takes the next packet; after a reconnection the away-buffer drains
// back to the live bound as it goes.
func (w *WHIP) pop() (*media.Packet, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, ok := w.queue.Pop()
	if ok && w.queue.Budget > w.QueueDuration {
		w.queue.Budget = max(w.QueueDuration, min(w.queue.Budget, w.queue.Delay()+100*time.Millisecond))
		if w.queue.Budget == w.QueueDuration {
			w.queue.Mode = QueueLive
		}
	}
	return p, ok
}

// goAway shows the stage reconnecting because of cause and makes the
// queue keep what the policy's Buffer allows, from a keyframe.
func (w *WHIP) goAway(cause error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.state, w.lastErr, w.attempts = StateReconnecting, cause, 0
	w.queue.Mode = QueueAway
	w.queue.Budget = w.policy.Buffer
	w.queue.Restart()
}

// setLive shows the stage live; reconnected counts a reconnection.
func (w *WHIP) setLive(reconnected bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.state, w.attempts, w.next = StateLive, 0, time.Time{}
	if reconnected {
		w.recons++
	}
}

// redial waits out the policy's backoff and connects again until a
// session is up, Close is called, or the policy gives up (nil then).
func (w *WHIP) redial(cause error) *whipConn {
	for attempt := 1; ; attempt++ {
		delay := w.policy.Delay(attempt)
		w.mu.Lock()
		w.next = w.Clock.Now().Add(delay)
		w.mu.Unlock()
		w.log.Info("reconnecting", "attempt", attempt, "in", delay.Round(time.Millisecond), "reason", cause)
		select {
		case <-w.Clock.After(delay):
		case <-w.now:
		case <-w.ctx.Done():
			return nil
		}
		conn, err := w.connect(w.ctx)
		if err == nil {
			return conn
		}
		if w.ctx.Err() != nil {
			return nil
		}
		cause = err
		w.mu.Lock()
		w.attempts, w.lastErr = attempt, err
		w.mu.Unlock()
		if w.policy.MaxAttempts > 0 && attempt >= w.policy.MaxAttempts {
			w.fail(fmt.Errorf("gave up after %d attempts: %w", attempt, err))
			return nil
		}
	}
}
