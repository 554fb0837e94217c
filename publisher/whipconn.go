package publisher

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	pion "github.com/pion/webrtc/v4"

	"golive/media"
	"golive/server/webrtc"
)

// Payload types the WHIP output offers.
const (
	whipH264PT = 102
	whipOpusPT = 111
)

// maxAnswerSize bounds the SDP answer read from a WHIP server.
const maxAnswerSize = 64 << 10

// whipConnConfig is what one WHIP connection attempt needs.
type whipConnConfig struct {
	target  Target
	video   media.CodecParams
	audio   *media.CodecParams
	client  *http.Client
	timeout time.Duration // POST + ICE + DTLS
	log     *slog.Logger
	sent    *atomic.Int64 // RTP bytes written, shared across connections
	// ICE timeouts: silence for disconnected, then failed.
	disconnected, failed time.Duration
}

// whipConn is one WHIP session in publishing state (see dialWHIP): a
// sendonly peer connection with an H.264 track and, with audio, an Opus
// track, and the Location to DELETE when done. Writes come from one
// goroutine.
type whipConn struct {
	cfg      whipConnConfig
	pc       *pion.PeerConnection
	video    *pion.TrackLocalStaticRTP
	audio    *pion.TrackLocalStaticRTP
	pk       *webrtc.H264Packetizer
	location string
	link     whipLink      // what the server reported receiving
	reported chan struct{} // a receiver report came (capacity 1)

	lost     chan struct{} // closed when ICE failed or the peer closed
	lostOnce sync.Once

	// RTP state, owned by the writer.
	vExt         uint32 // the video's extended sequence number
	aSeq         uint16
	vBase, aBase uint32 // random timestamp origins
	base         time.Duration
	hasBase      bool
}

// dialWHIP makes a peer connection, POSTs its offer to the endpoint with
// the bearer token and waits until ICE and DTLS are up. Errors wrap
// ErrRefused (the server answered 4xx: wrong key, busy, not WHIP),
// ErrUnreachable, ErrTimeout or ErrProtocol; ctx aborts it.
func dialWHIP(ctx context.Context, cfg whipConnConfig) (_ *whipConn, err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	c := &whipConn{cfg: cfg, lost: make(chan struct{}), reported: make(chan struct{}, 1)}
	if c.pk, err = webrtc.NewH264Packetizer(cfg.video.Config); err != nil {
		return nil, fmt.Errorf("%w: video configuration: %w", ErrProtocol, err)
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	c.vBase, c.aBase = binary.BigEndian.Uint32(b[:4]), binary.BigEndian.Uint32(b[4:])
	c.vExt, c.aSeq = uint32(b[0])<<8|uint32(b[5]), uint16(b[6])<<8|uint16(b[3])
	defer func() {
		if err != nil {
			c.close(context.Background())
		}
	}()
	if err := c.peerConnection(); err != nil {
		return nil, err
	}
	connected := make(chan struct{})
	var once sync.Once
	c.pc.OnConnectionStateChange(func(s pion.PeerConnectionState) {
		switch s {
		case pion.PeerConnectionStateConnected:
			once.Do(func() { close(connected) })
		case pion.PeerConnectionStateFailed, pion.PeerConnectionStateClosed:
			c.lostOnce.Do(func() { close(c.lost) })
		}
	})
	offer, err := c.pc.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("%w: offer: %w", ErrProtocol, err)
	}
	gathered := pion.GatheringCompletePromise(c.pc)
	if err := c.pc.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("%w: offer: %w", ErrProtocol, err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, c.ctxErr(ctx, "gathering candidates")
	}
	answer, err := c.post(ctx, c.pc.LocalDescription().SDP)
	if err != nil {
		return nil, err
	}
	if err := c.pc.SetRemoteDescription(pion.SessionDescription{Type: pion.SDPTypeAnswer, SDP: answer}); err != nil {
		return nil, fmt.Errorf("%w: answer: %w", ErrProtocol, err)
	}
	select {
	case <-connected:
		return c, nil
	case <-c.lost:
		return nil, fmt.Errorf("%w: ICE failed", ErrUnreachable)
	case <-ctx.Done():
		return nil, c.ctxErr(ctx, "connecting (ICE and DTLS)")
	}
}

// ctxErr says why ctx ended: the caller cancelled, or the timeout.
func (c *whipConn) ctxErr(ctx context.Context, what string) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: %s took longer than %v", ErrTimeout, what, c.cfg.timeout)
	}
	return ctx.Err()
}

// peerConnection makes the sendonly peer connection with its tracks.
func (c *whipConn) peerConnection() error {
	var cfg media.AVCConfig
	if err := cfg.Unmarshal(c.cfg.video.Config); err != nil || len(cfg.SPS) == 0 {
		return fmt.Errorf("%w: video configuration: no SPS", ErrProtocol)
	}
	m := &pion.MediaEngine{}
	h264 := pion.RTPCodecCapability{MimeType: pion.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine:  "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=" + webrtc.ProfileLevelID(cfg.SPS[0]),
		RTCPFeedback: []pion.RTCPFeedback{{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}}}
	opus := pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2,
		SDPFmtpLine: "minptime=10;useinbandfec=1"}
	if err := m.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: h264, PayloadType: whipH264PT}, pion.RTPCodecTypeVideo); err != nil {
		return err
	}
	if err := m.RegisterCodec(pion.RTPCodecParameters{RTPCodecCapability: opus, PayloadType: whipOpusPT}, pion.RTPCodecTypeAudio); err != nil {
		return err
	}
	reg := &interceptor.Registry{}
	if err := pion.RegisterDefaultInterceptors(m, reg); err != nil {
		return err
	}
	se := pion.SettingEngine{LoggerFactory: &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled}}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4, pion.NetworkTypeUDP6})
	se.SetICETimeouts(c.cfg.disconnected, c.cfg.failed, time.Second)
	api := pion.NewAPI(pion.WithMediaEngine(m), pion.WithInterceptorRegistry(reg), pion.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(pion.Configuration{})
	if err != nil {
		return fmt.Errorf("%w: peer connection: %w", ErrProtocol, err)
	}
	c.pc = pc
	var tracks []*pion.TrackLocalStaticRTP
	if c.video, err = pion.NewTrackLocalStaticRTP(h264, "video", "golive"); err != nil {
		return err
	}
	tracks = append(tracks, c.video)
	if c.cfg.audio != nil {
		if c.audio, err = pion.NewTrackLocalStaticRTP(opus, "audio", "golive"); err != nil {
			return err
		}
		tracks = append(tracks, c.audio)
	}
	for i, tr := range tracks {
		tx, err := pc.AddTransceiverFromTrack(tr, pion.RTPTransceiverInit{Direction: pion.RTPTransceiverDirectionSendonly})
		if err != nil {
			return fmt.Errorf("%w: track: %w", ErrProtocol, err)
		}
		if i == 0 {
			if enc := tx.Sender().GetParameters().Encodings; len(enc) > 0 {
				c.link.ssrc = uint32(enc[0].SSRC)
			}
		}
		go c.readRTCP(tx.Sender(), i == 0)
	}
	return nil
}

// readRTCP reads a sender's RTCP until its peer connection closes (which
// also lets the interceptors answer NACKs); the video's receiver reports
// go to the link.
func (c *whipConn) readRTCP(s *pion.RTPSender, video bool) {
	buf := make([]byte, 1500)
	for {
		n, _, err := s.Read(buf)
		if err != nil {
			return
		}
		if !video {
			continue
		}
		if pkts, err := rtcp.Unmarshal(buf[:n]); err == nil {
			c.link.report(pkts, time.Now())
			select {
			case c.reported <- struct{}{}:
			default:
			}
		}
	}
}

// post sends the offer and returns the answer; the Location is kept.
func (c *whipConn) post(ctx context.Context, offer string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.target.Endpoint, strings.NewReader(offer))
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadURL, err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	c.authorize(req)
	resp, err := c.cfg.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return "", c.ctxErr(ctx, "the WHIP request")
		}
		var nerr net.Error
		if errors.As(err, &nerr) && nerr.Timeout() || errors.Is(err, os.ErrDeadlineExceeded) {
			return "", fmt.Errorf("%w: %w", ErrTimeout, err)
		}
		return "", fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswerSize+1))
	if err != nil {
		return "", fmt.Errorf("%w: reading the answer: %w", ErrProtocol, err)
	}
	if resp.StatusCode != http.StatusCreated && resp.StatusCode != http.StatusOK {
		why := strings.TrimSpace(string(bytes.ToValidUTF8(body[:min(len(body), 200)], nil)))
		err := fmt.Errorf("HTTP %d %s", resp.StatusCode, why)
		switch {
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			return "", fmt.Errorf("%w: wrong stream key (%w)", ErrRefused, err)
		case resp.StatusCode == http.StatusConflict:
			return "", fmt.Errorf("%w: someone else is publishing (%w)", ErrRefused, err)
		case resp.StatusCode >= 400 && resp.StatusCode < 500:
			return "", fmt.Errorf("%w: %w", ErrRefused, err)
		}
		return "", fmt.Errorf("%w: the server cannot take the stream now (%w)", ErrUnreachable, err)
	}
	if len(body) > maxAnswerSize || !bytes.HasPrefix(bytes.TrimSpace(body), []byte("v=0")) {
		return "", fmt.Errorf("%w: the answer is not SDP", ErrProtocol)
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := resp.Request.URL.Parse(loc); err == nil {
			c.location = u.String()
		}
	}
	return string(body), nil
}

// authorize adds the bearer token, if any.
func (c *whipConn) authorize(req *http.Request) {
	if c.cfg.target.Key != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.target.Key)
	}
}

// lostErr says why the connection is broken (nil while it is not).
func (c *whipConn) lostErr() error {
	select {
	case <-c.lost:
		return fmt.Errorf("%w: ICE failed or the server closed the session", ErrConnectionLost)
	default:
		return nil
	}
}

// write sends one packet as RTP.
func (c *whipConn) write(p *media.Packet) error {
	if err := c.lostErr(); err != nil {
		return err
	}
	if !c.hasBase {
		c.base, c.hasBase = p.PTS, true
	}
	if p.Codec.IsVideo() {
		payloads, err := c.pk.Packetize(p.Data, p.Keyframe)
		if err != nil {
			return nil //nolint:nilerr // a bad frame is skipped, the stream goes on
		}
		ts := c.vBase + uint32(media.ToTicks(p.PTS-c.base, 90000))
		var bytes int64
		for i, pl := range payloads {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == len(payloads)-1, SequenceNumber: uint16(c.vExt),
				Timestamp: ts}, Payload: pl}
			if err := c.send(c.video, pkt); err != nil {
				return err
			}
			bytes += int64(pkt.MarshalSize())
			c.vExt++
		}
		c.link.sent(c.vExt-1, p.PTS, bytes)
		return nil
	}
	if c.audio == nil || p.Codec != media.CodecOpus {
		return nil
	}
	ts := c.aBase + uint32(media.ToTicks(p.PTS-c.base, 48000))
	pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: false, SequenceNumber: c.aSeq, Timestamp: ts}, Payload: p.Data}
	c.aSeq++
	return c.send(c.audio, pkt)
}

// send writes one RTP packet to a track.
func (c *whipConn) send(tr *pion.TrackLocalStaticRTP, p *rtp.Packet) error {
	if err := tr.WriteRTP(p); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		return fmt.Errorf("%w: %w", ErrConnectionLost, err)
	}
	c.cfg.sent.Add(int64(p.MarshalSize()))
	return nil
}

// close ends the session on the server (DELETE, bounded by ctx and a
// couple of seconds) and closes the peer connection.
func (c *whipConn) close(ctx context.Context) {
	if c.location != "" {
		ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		if req, err := http.NewRequestWithContext(ctx, http.MethodDelete, c.location, nil); err == nil {
			if sameOrigin(req.URL, c.cfg.target) {
				c.authorize(req)
			}
			if resp, err := c.cfg.client.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
				resp.Body.Close()
			} else {
				c.cfg.log.Debug("whip: DELETE", "err", err)
			}
		}
		cancel()
		c.location = ""
	}
	if c.pc != nil {
		_ = c.pc.Close()
	}
}

// sameOrigin reports whether u is on the endpoint's scheme, host and port
// (the bearer token is sent only there).
func sameOrigin(u *url.URL, t Target) bool {
	return strings.EqualFold(u.Scheme, t.Scheme) && u.Hostname() == t.Host
}
