package publisher

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
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

	destination // life, queue, states, reconnection, counters
	target      Target
	ackMeter    media.RateMeter
	cur         atomic.Pointer[whipConn] // the live session, if any
	// What past sessions' receiver reports confirmed, and the frames
	// sent on sessions that broke before a report covered them.
	pastDelivered, pastAcked, lostFrames atomic.Int64
	congested                            bool // guarded by mu
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
	return w.start(ctx, "whip", w.configure, w.run)
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
	w.setup("whip", t.Redacted(), w.Logger, w.Clock, w.QueueDuration, w.Reconnect)
	return nil
}

// WritePacket queues pkt for sending; it never blocks. Audio that is not
// Opus is ignored. pkt must not be changed afterwards.
func (w *WHIP) WritePacket(pkt *media.Packet) {
	if !w.accepts(pkt) {
		return
	}
	if !pkt.Codec.IsVideo() && (w.Audio == nil || pkt.Codec != media.CodecOpus) {
		return
	}
	w.push(pkt)
}

// Stats returns a snapshot of the destination. BytesSent counts RTP
// bytes; what the server acknowledged (BytesAcked, LinkBitrate,
// FramesDelivered) comes from its RTCP receiver reports, about once a
// second; QueueDelay is the send queue's media plus the round-trip time
// the reports tell, BaseDelay the least round trip of the session.
func (w *WHIP) Stats() RTMPStats {
	st := RTMPStats{FramesLost: w.lostFrames.Load(), FramesDelivered: w.pastDelivered.Load(), BytesAcked: w.pastAcked.Load()}
	var ls linkState
	if c := w.cur.Load(); c != nil {
		ls = c.link.state()
		st.FramesDelivered += ls.delivered
		st.BytesAcked += ls.ackedBytes
		st.FramesUnconfirmed = ls.unconfirmed
		st.Measured = ls.rtt > 0 || ls.delivered > 0
		st.BaseDelay = ls.base
	}
	w.fill(&st)
	st.QueueDelay += ls.rtt
	if w.Clock != nil {
		st.LinkBitrate = w.ackMeter.Bitrate(w.Clock.Now(), st.BytesAcked)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
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

// run is the stage's goroutine: connect → pump → reconnect, as RTMP's.
func (w *WHIP) run(initCtx context.Context) {
	defer w.stopped()
	conn, err := w.connect(initCtx)
	if !w.begin(initCtx, err, w.target.Redacted()) {
		return
	}
	wasLive := conn != nil
	for {
		if conn == nil {
			var ok bool
			if conn, ok = redial(&w.destination, err, w.connect); !ok {
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
		if !w.lost(err) {
			return
		}
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
	// stopped adds what the queue still holds.
	w.undelivered, w.framesUndelivered = ls.unconfirmedSpan, ls.unconfirmed
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
