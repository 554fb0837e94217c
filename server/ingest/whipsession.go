package ingest

import (
	"context"
	"encoding/base64"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"golive/media"
	"golive/server/webrtc"
)

// opusRate is Opus's RTP clock rate and sample rate over WebRTC.
const opusRate = 48000

// pliInterval is how often a keyframe is asked for while one is awaited.
const pliInterval = 500 * time.Millisecond

// keyframeLead is how long before KeyframeInterval is up the next
// keyframe is asked for (the request's way there and the encoder's
// reaction).
const keyframeLead = 150 * time.Millisecond

// whipSession is one WHIP publisher: the media side of its WebRTC session.
// A reader goroutine per track (blocking on pion) puts the RTP back in
// order, depacketizes and stamps it and hands TagResults to the session's
// own goroutine (run), which alone drives the publication and so the Sink.
type whipSession struct {
	w      *WHIP
	s      *webrtc.Session
	remote string
	log    *slog.Logger
	epoch  time.Time // media time 0

	ctx    context.Context
	cancel context.CancelFunc
	// lastMedia is when the publisher last sent media (or was accepted),
	// Unix ns.
	lastMedia atomic.Int64
	items     chan TagResult
	done      chan struct{}
	once      sync.Once

	// Owned by run.
	pub          *publication
	video, audio *media.CodecParams

	mu         sync.Mutex // guards the copies for Stats
	statsVideo *media.CodecParams
	statsAudio *media.CodecParams
}

func newWHIPSession(w *WHIP, s *webrtc.Session, remote string) *whipSession {
	p := &whipSession{w: w, s: s, remote: remote, epoch: time.Now(),
		items: make(chan TagResult, 64), done: make(chan struct{})}
	p.log = w.Logger.With("remote", remote, "session", s.ID[:8], "via", "whip")
	p.ctx, p.cancel = context.WithCancel(context.Background())
	p.pub = &publication{sink: w.Ingest.Sink, log: p.log, src: p}
	if len(s.Offer.Media("audio")) == 0 {
		p.pub.metadata(Metadata{HasVideo: true}) // no audio is coming: start without waiting for it
	}
	return p
}

// VideoParams returns the stream's video parameters (run only).
func (p *whipSession) VideoParams() *media.CodecParams { return p.video }

// AudioParams returns the stream's audio parameters (run only).
func (p *whipSession) AudioParams() *media.CodecParams { return p.audio }

// params returns copies of the parameters for Stats.
func (p *whipSession) params() (video, audio *media.CodecParams) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return clone(p.statsVideo), clone(p.statsAudio)
}

// receive adds the receiving transceivers and starts the session's
// goroutine.
func (p *whipSession) receive() error {
	for _, kind := range whipKinds {
		if kind == pion.RTPCodecTypeAudio && !p.offersOpus() {
			continue
		}
		if _, err := p.s.PC.AddTransceiverFromKind(kind,
			pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	p.s.PC.OnTrack(func(track *pion.TrackRemote, _ *pion.RTPReceiver) {
		switch {
		case track.Kind() == pion.RTPCodecTypeVideo && strings.EqualFold(track.Codec().MimeType, pion.MimeTypeH264):
			p.w.goTrack(func() { p.readVideo(track) })
		case track.Kind() == pion.RTPCodecTypeAudio && strings.EqualFold(track.Codec().MimeType, pion.MimeTypeOpus):
			p.w.goTrack(func() { p.readAudio(track) })
		default:
			p.log.Warn("whip: ignoring a track", "kind", track.Kind().String(), "codec", track.Codec().MimeType)
		}
	})
	go p.run()
	return nil
}

// offersOpus reports whether the offer sends Opus audio.
func (p *whipSession) offersOpus() bool {
	for _, md := range p.s.Offer.Media("audio") {
		if webrtc.HasOpus(md) && webrtc.Sends(md) {
			return true
		}
	}
	return false
}

// Start is called once the session's ICE and DTLS are up.
func (p *whipSession) Start() { p.log.Info("whip publisher connected") }

// Close ends the stream and frees the publisher slot. It is idempotent.
func (p *whipSession) Close() {
	p.once.Do(func() {
		p.cancel()
		<-p.done
		p.w.Ingest.releaseWHIP(p)
		p.log.Info("publisher left")
	})
}

// run drives the publication from what the track readers deliver, until
// the session ends; then it stops the stream.
func (p *whipSession) run() {
	defer close(p.done)
	defer p.pub.stop()
	failed := false
	for {
		var r TagResult
		select {
		case <-p.ctx.Done():
			return
		case r = <-p.items:
		}
		if failed {
			continue
		}
		if r.Params != nil {
			p.mu.Lock()
			if r.Params.Codec.IsVideo() {
				p.video, p.statsVideo = r.Params, r.Params
			} else {
				p.audio, p.statsAudio = r.Params, r.Params
			}
			p.mu.Unlock()
		}
		if err := p.pub.handle(r); err != nil {
			// The sink refused the stream: the publisher is let go.
			p.log.Warn("whip publisher refused: the stream could not start", "err", err)
			failed = true
			go func() { _ = p.s.PC.Close() }() // the endpoint then ends the session
		}
	}
}

// deliver hands one result to run; false once the session ended.
func (p *whipSession) deliver(r TagResult) bool {
	select {
	case p.items <- r:
		return true
	case <-p.ctx.Done():
		return false
	}
}

// idle returns how long the publisher has sent no media.
func (p *whipSession) idle() time.Duration { return time.Since(time.Unix(0, p.lastMedia.Load())) }

// arrival returns now in media time.
func (p *whipSession) arrival(now time.Time) time.Duration { return now.Sub(p.epoch) }

// readVideo reads the H.264 track until the peer connection closes.
func (p *whipSession) readVideo(track *pion.TrackRemote) {
	v := videoTrack{p: p, ssrc: uint32(track.SSRC()), reo: reorder{wait: p.w.ReorderWait},
		clock: rtpTimeline{rate: 90000}, waitKey: true}
	v.sprop(track.Codec().SDPFmtpLine)
	v.askKeyframe(time.Now())
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		if !v.packet(pkt, time.Now()) {
			return
		}
	}
}

// videoTrack is the state of the H.264 track's reader.
type videoTrack struct {
	p        *whipSession
	ssrc     uint32
	reo      reorder
	dep      h264Depacketizer
	clock    rtpTimeline
	config   []byte // the AVCDecoderConfigurationRecord last handed on
	waitKey  bool   // frames are dropped until a keyframe
	lastKey  time.Time
	lastPLI  time.Time
	lastDTS  time.Duration
	haveDTS  bool
	lastWarn time.Time
}

// packet takes one RTP packet; false once the session ended.
func (v *videoTrack) packet(pkt *rtp.Packet, now time.Time) bool {
	w := v.p.w
	w.Ingest.bytesIn.Add(uint64(len(pkt.Payload)))
	v.p.lastMedia.Store(now.UnixNano())
	res := v.reo.push(pkt, now)
	if res.late {
		w.late.Add(1)
	}
	if res.lost > 0 {
		w.lost.Add(uint64(res.lost))
		v.dep.reset()
		v.lose(now)
	}
	for _, q := range res.out {
		if len(q.Payload) == 0 {
			continue // padding (bandwidth probing)
		}
		got, err := v.dep.push(q)
		if err != nil {
			w.bad.Add(1)
			if now.Sub(v.lastWarn) >= time.Second {
				v.lastWarn = now
				v.p.log.Warn("whip: dropped a bad RTP packet", "err", err)
			}
		}
		if got.dropped > 0 {
			v.lose(now) // a frame is gone: the next ones wait for a keyframe
		}
		for _, au := range got.aus {
			r, ok := v.accessUnit(au, now)
			if !ok {
				continue
			}
			if !v.p.deliver(r) {
				return false
			}
		}
	}
	return true
}

// lose notes that a frame was lost: the next ones wait for a keyframe.
func (v *videoTrack) lose(now time.Time) {
	v.waitKey = true
	v.askKeyframe(now)
}

// askKeyframe sends a PLI, at most once per pliInterval.
func (v *videoTrack) askKeyframe(now time.Time) {
	if !v.lastPLI.IsZero() && now.Sub(v.lastPLI) < pliInterval {
		return
	}
	v.lastPLI = now
	v.p.w.plis.Add(1)
	_ = v.p.s.PC.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: v.ssrc}})
}

// sprop takes the parameter sets an fmtp line may carry
// (sprop-parameter-sets), for publishers that send them only there.
func (v *videoTrack) sprop(fmtp string) {
	var nalus [][]byte
	for _, s := range strings.Split(webrtc.FmtpValue(fmtp, "sprop-parameter-sets"), ",") {
		if b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s)); err == nil && len(b) > 0 {
			nalus = append(nalus, b)
		}
	}
	if r, ok := v.params(nalus); ok {
		v.p.deliver(r)
	}
}

// params returns new codec parameters when nalus carry an SPS and a PPS
// that differ from the last ones.
func (v *videoTrack) params(nalus [][]byte) (TagResult, bool) {
	c := media.ParamsFromNALUs(nalus)
	if len(c.SPS) == 0 || len(c.PPS) == 0 {
		return TagResult{}, false
	}
	rec, err := c.Marshal()
	if err != nil {
		return TagResult{}, false
	}
	cp, err := parseAVCSequenceHeader(rec)
	if err != nil || string(cp.Config) == string(v.config) {
		return TagResult{}, false
	}
	v.config = cp.Config
	return TagResult{Params: cp}, true
}

// accessUnit turns a whole access unit into a packet (and new parameters
// when it carries them); false when there is nothing to hand on.
func (v *videoTrack) accessUnit(au accessUnit, now time.Time) (TagResult, bool) {
	pts := v.clock.at(au.ts, v.p.arrival(now))
	r, _ := v.params(au.nalus)
	key := false
	for _, n := range au.nalus {
		key = key || h264.NALUType(n[0]&0x1F) == h264.NALUTypeIDR
	}
	if v.waitKey && !key {
		v.p.w.dropped.Add(1)
		v.askKeyframe(now)
		return r, r.Params != nil
	}
	data, err := media.NALUsToAVCC(au.nalus, true)
	if err != nil { // parameter sets only
		return r, r.Params != nil
	}
	v.waitKey = false
	if key {
		v.lastKey = now
	} else if every := v.p.w.KeyframeInterval; every > 0 && now.Sub(v.lastKey) >= every-keyframeLead {
		v.askKeyframe(now) // WebRTC encoders send keyframes only when asked
	}
	dts := pts
	if v.haveDTS && dts <= v.lastDTS {
		dts = v.lastDTS + time.Millisecond // a sender that repeats or steps back its clock
		pts = max(pts, dts)
	}
	v.lastDTS, v.haveDTS = dts, true
	r.Packet = &media.Packet{Codec: media.CodecH264, Data: data, PTS: pts, DTS: dts, Keyframe: key}
	return r, true
}

// readAudio reads the Opus track until the peer connection closes.
func (p *whipSession) readAudio(track *pion.TrackRemote) {
	reo := reorder{wait: p.w.ReorderWait}
	clock := rtpTimeline{rate: opusRate}
	channels := int(track.Codec().Channels)
	if channels != 1 {
		channels = 2
	}
	first := true
	for {
		pkt, _, err := track.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		p.w.Ingest.bytesIn.Add(uint64(len(pkt.Payload)))
		p.lastMedia.Store(now.UnixNano())
		res := reo.push(pkt, now)
		if res.late {
			p.w.late.Add(1)
		}
		p.w.lost.Add(uint64(res.lost))
		for _, q := range res.out {
			if len(q.Payload) == 0 {
				continue
			}
			t := clock.at(q.Timestamp, p.arrival(now))
			r := TagResult{Packet: &media.Packet{Codec: media.CodecOpus, Data: q.Payload, PTS: t, DTS: t, Keyframe: true}}
			if first {
				first = false
				r.Params = &media.CodecParams{Codec: media.CodecOpus, SampleRate: opusRate, Channels: channels}
			}
			if !p.deliver(r) {
				return
			}
		}
	}
}

// rtpTimeline maps one track's RTP timestamps to media time: its first
// packet is placed at its arrival, the next ones by their timestamps'
// distance from it (unwrapped), so audio and video line up as they came.
type rtpTimeline struct {
	rate    int64
	started bool
	last    uint32
	ticks   int64 // since the first packet
	origin  time.Duration
}

// at returns the media time of timestamp ts arriving at arrival.
func (c *rtpTimeline) at(ts uint32, arrival time.Duration) time.Duration {
	if !c.started {
		c.started, c.last, c.origin = true, ts, arrival
		return arrival
	}
	c.ticks += int64(int32(ts - c.last))
	c.last = ts
	return c.origin + media.FromTicks(c.ticks, c.rate)
}
