package publisher

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"golive/media"
)

// RTMP publishes H.264 (and optionally AAC) packets to one RTMP or RTMPS
// destination. Configure the fields, call Initialize, then WritePacket
// from any goroutine; Close when done.
//
// One goroutine owns the connection for the stage's whole life (see run):
// it dials and publishes, pumps the send queue into the connection and,
// when the connection is lost and Reconnect is set, waits out the backoff
// and dials again, until Close or a failure it cannot recover from.
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
	// [2 s]; unpublishing may take a second more.
	FlushTimeout time.Duration
	// SendBuffer sets the socket's send buffer (SO_SNDBUF) in bytes. 0:
	// where the kernel reports what the peer acknowledged (Linux, macOS)
	// the system's default, with at most 16 KiB left unsent in it
	// (TCP_NOTSENT_LOWAT); elsewhere about a second of media at the
	// current bitrate (at least 32 KiB), so that a slow link shows in the
	// queue within a second.
	SendBuffer int
	// StallTimeout: when the peer acknowledges nothing for this long while
	// media waits to go, the link is stalled, and the connection is
	// dropped with an error wrapping ErrStalled: with Reconnect the
	// destination shows StateReconnecting with that reason and dials
	// again [5 s]. It is timed on Clock.
	StallTimeout time.Duration
	// TLSConfig is used for rtmps:// (nil: system roots, server name from
	// the URL).
	TLSConfig *tls.Config
	// Reconnect, when set, makes a lost connection come back by itself
	// (see ReconnectPolicy); nil means a lost connection ends the stage
	// with ErrConnectionLost.
	Reconnect *ReconnectPolicy
	// Clock is the time source for reconnect waits, the flush on Close
	// and the bitrate window [wall clock]. Socket timeouts
	// (ConnectTimeout, WriteTimeout) are on the wall clock.
	Clock Clock

	// joinLate is set by Multi: a first connection that fails for a
	// reason that may pass is retried with the Reconnect policy.
	joinLate bool

	target    Target
	log       *slog.Logger
	policy    ReconnectPolicy
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
	writing   atomic.Bool     // a packet is being handed to the connection
	link      linkMeter

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

	// Owned by the run goroutine.
	base    time.Duration
	hasBase bool
	lastTS  uint32
}

// Initialize is InitializeContext(context.Background()).
func (r *RTMP) Initialize() error { return r.InitializeContext(context.Background()) }

// InitializeContext starts the stage and waits for its first connection
// to publish: the server's NetStream.Publish.Start, metadata and sequence
// headers sent. Errors wrap ErrBadURL, ErrUnreachable, ErrRefused,
// ErrTimeout or ErrProtocol, and the stage has then stopped
// (StateFailed), but in a Multi (see Multi.InitializeContext).
//
// Cancelling ctx stops the dial, handshake or publish exchange at once,
// closes the socket and returns an error wrapping ctx.Err(). ctx bounds
// only the first connection, not the stage's life after it.
func (r *RTMP) InitializeContext(ctx context.Context) error {
	if r.done != nil {
		return fmt.Errorf("rtmp: Initialize called twice")
	}
	r.done = make(chan struct{})
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if err := r.configure(); err != nil {
		r.cancel()
		r.fail(err)
		close(r.done)
		return err
	}
	go r.run(ctx)
	select {
	case err := <-r.connected:
		r.started.Store(true)
		return err
	case <-r.done:
		return r.Err()
	}
}

// configure checks the fields and fills in the defaults.
func (r *RTMP) configure() error {
	t, err := ParseURL(r.URL)
	if err != nil {
		return fmt.Errorf("rtmp: %w", err)
	}
	if t.IsWHIP() {
		return fmt.Errorf("rtmp: %w: %s is a WHIP endpoint (see WHIP)", ErrBadURL, t.Redacted())
	}
	r.target = t
	if r.Video.Codec != media.CodecH264 || len(r.Video.Config) == 0 {
		return fmt.Errorf("rtmp %s: video must be H.264 with its decoder configuration (got %v, %d config bytes)",
			t.Redacted(), r.Video.Codec, len(r.Video.Config))
	}
	if r.Audio != nil && (r.Audio.Codec != media.CodecAAC || len(r.Audio.Config) == 0) {
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
	if r.StallTimeout <= 0 {
		r.StallTimeout = 5 * time.Second
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
	r.connected = make(chan error)
	r.wake = make(chan struct{}, 1)
	r.now = make(chan struct{}, 1)
	r.queue = NewQueue(r.QueueDuration)
	r.setState(StateConnecting)
	return nil
}

// WritePacket queues pkt for sending; it never blocks. pkt and its Data
// must not be changed afterwards. Packets written before Initialize
// returned, after a failed Initialize or after Close are ignored.
func (r *RTMP) WritePacket(pkt *media.Packet) {
	if pkt == nil || !r.started.Load() || r.ctx.Err() != nil {
		return
	}
	if !pkt.Codec.IsVideo() && (r.Audio == nil || pkt.Codec != media.CodecAAC) {
		return // no audio, or another destination's (Opus for WHIP)
	}
	r.pushed.Add(int64(len(pkt.Data)))
	r.mu.Lock()
	r.queue.Push(pkt)
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

func (r *RTMP) setJoinLate() { r.joinLate = true }

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
	ls := r.link.stats()
	st := RTMPStats{
		BytesSent:         total,
		PacketsSent:       r.packets.Load(),
		BytesAcked:        ls.acked,
		LinkBitrate:       ls.bitrate,
		KernelQueued:      ls.queued,
		KernelDelay:       ls.kernelWait,
		BaseDelay:         ls.baseDelay,
		Measured:          ls.measured,
		FramesDelivered:   ls.delivered,
		FramesLost:        ls.lost,
		FramesUnconfirmed: ls.unacked,
	}
	if r.Clock != nil {
		now := r.Clock.Now()
		st.Bitrate = r.meter.Bitrate(now, total)
		st.InputBitrate = r.inMeter.Bitrate(now, r.pushed.Load())
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	st.State, st.LastError = r.state, r.lastErr
	st.Attempts, st.Reconnects, st.NextAttempt = r.attempts, r.recons, r.next
	st.Congested = ls.congested && r.state == StateLive
	st.Undelivered, st.FramesUndelivered = r.undelivered, r.framesUndelivered
	if r.queue != nil {
		st.QueueLen, st.QueueDelay = r.queue.Len(), r.queue.Delay()
		st.DroppedVideo, st.DroppedAudio = r.queue.Dropped()
		// The link's part as of its last sample (a tenth of a second
		// at most): newest and acknowledged from the same moment.
		st.QueueDelay = max(st.QueueDelay, ls.delay)
	}
	return st
}

// Done is closed when the stage has stopped: after Close, when the first
// connection failed, or when the connection was lost and cannot come back.
func (r *RTMP) Done() <-chan struct{} { return r.done }

// Err returns why the stage stopped (nil after a plain Close).
func (r *RTMP) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// Close stops the stage and waits for it. A live connection first sends
// what is queued (for at most FlushTimeout) and unpublishes; a connection
// attempt or a reconnection wait ends at once. It is idempotent.
func (r *RTMP) Close() {
	if r.done == nil {
		return
	}
	r.cancel()
	<-r.done
}

func (r *RTMP) setState(s RTMPState) {
	r.mu.Lock()
	r.state = s
	r.mu.Unlock()
}

// fail records why the stage stops.
func (r *RTMP) fail(err error) {
	r.mu.Lock()
	r.state, r.err, r.lastErr = StateFailed, err, err
	r.mu.Unlock()
}
