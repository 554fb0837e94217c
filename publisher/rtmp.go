package publisher

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
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

	destination // life, queue, states, reconnection, counters
	target      Target
	writing     atomic.Bool // a packet is being handed to the connection
	link        linkMeter

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
	return r.start(ctx, "rtmp", r.configure, r.run)
}

// configure checks the fields and fills in the defaults.
func (r *RTMP) configure() error {
	t, err := ParseURL(r.URL)
	if err != nil {
		return fmt.Errorf("rtmp: %w", err)
	}
	if t.IsWHIP() {
		return fmt.Errorf("rtmp: %w: scheme %q is a WHIP endpoint's (see WHIP): %s", ErrBadURL, t.Scheme, t.Redacted())
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
	r.setup("rtmp", t.Redacted(), r.Logger, r.Clock, r.QueueDuration, r.Reconnect)
	return nil
}

// WritePacket queues pkt for sending; it never blocks. pkt and its Data
// must not be changed afterwards. Packets written before Initialize
// returned, after a failed Initialize or after Close are ignored.
func (r *RTMP) WritePacket(pkt *media.Packet) {
	if !r.accepts(pkt) {
		return
	}
	if !pkt.Codec.IsVideo() && (r.Audio == nil || pkt.Codec != media.CodecAAC) {
		return // no audio, or another destination's (Opus for WHIP)
	}
	r.push(pkt)
}

// Stats returns a snapshot of the destination.
func (r *RTMP) Stats() RTMPStats {
	ls := r.link.stats()
	st := RTMPStats{
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
	r.fill(&st)
	st.Congested = ls.congested && st.State == StateLive
	// The link's part as of its last sample (a tenth of a second at
	// most): newest and acknowledged from the same moment.
	st.QueueDelay = max(st.QueueDelay, ls.delay)
	return st
}
