package peers

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/logging"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// WHEPClient is a WebRTC viewer written with pion, independent of the
// server's code: it POSTs a recvonly offer (H.264 and Opus, pion's default
// codecs) to a WHEP endpoint, follows the media it gets (H.264 frames,
// keyframes, the picture size from each SPS, RTP sequence gaps, Opus
// packets) and can send PLIs, DELETE its session, or vanish without a
// word. Its own UDP socket is on 127.0.0.1. Safe for concurrent use.
type WHEPClient struct {
	// URL is the WHEP endpoint ("http://127.0.0.1:8080/whep?rung=480p").
	URL string
	// NoAudio leaves audio out of the offer.
	NoAudio bool
	// Bearer, if set, is sent as Authorization: Bearer.
	Bearer string
	// KeepAudio keeps the Opus payloads received (see Audio).
	KeepAudio bool

	pc       *webrtc.PeerConnection
	conn     net.PacketConn
	location string
	deleted  bool
	answer   string
	start    time.Time

	mu        sync.Mutex
	stats     WHEPStats
	seq       seqTracker
	frameKey  bool
	videoSSRC uint32
	audio     [][]byte
	changed   chan struct{} // closed and replaced on every video frame
}

// WHEPStats is what a WHEPClient received.
type WHEPStats struct {
	// VideoPackets, VideoBytes and Frames (RTP marker bits) count video.
	VideoPackets, VideoBytes, Frames int
	// Keyframes counts frames with an IDR slice; FirstFrameKey reports
	// whether the first frame was one.
	Keyframes     int
	FirstFrameKey bool
	// Width and Height are the last SPS's picture size; Sizes lists each
	// size in the order they came.
	Width, Height int
	Sizes         []string
	// SeqGaps counts video packets missing from the RTP sequence (those
	// a retransmission filled are not missing).
	SeqGaps int
	// AudioPackets counts Opus packets.
	AudioPackets int
	// FirstFrame is the time from Connect's POST to the first whole video
	// frame (0 before).
	FirstFrame time.Duration
}

// Connect posts the offer and waits until the peer connection is up.
func (c *WHEPClient) Connect(ctx context.Context) error {
	c.changed = make(chan struct{})
	pc, conn, err := loopbackPeerConnection(nil)
	if err != nil {
		return err
	}
	c.pc, c.conn = pc, conn
	kinds := []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo}
	if !c.NoAudio {
		kinds = append(kinds, webrtc.RTPCodecTypeAudio)
	}
	for _, k := range kinds {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			return err
		}
	}
	connected := make(chan struct{})
	var once sync.Once
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
	})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if tr.Kind() == webrtc.RTPCodecTypeVideo {
			c.mu.Lock()
			c.videoSSRC = uint32(tr.SSRC())
			c.mu.Unlock()
		}
		for {
			p, _, err := tr.ReadRTP()
			if err != nil {
				return
			}
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				c.video(p)
			} else {
				c.mu.Lock()
				c.stats.AudioPackets++
				if c.KeepAudio {
					c.audio = append(c.audio, append([]byte(nil), p.Payload...))
				}
				c.mu.Unlock()
			}
		}
	})
	offer, err := localOffer(ctx, pc)
	if err != nil {
		return err
	}
	c.start = time.Now()
	status, body, loc, err := c.do(ctx, http.MethodPost, c.URL, "application/sdp", offer)
	if err != nil {
		return err
	}
	if status != http.StatusCreated {
		return &WHEPError{Status: status, Body: body}
	}
	c.answer = body
	if c.location, err = resolve(c.URL, loc); err != nil {
		return err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		return err
	}
	select {
	case <-connected:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("whep client: not connected: %w", ctx.Err())
	}
}

// WHEPError is a WHEP endpoint's refusal.
type WHEPError struct {
	// Status is the HTTP status; Body the response body.
	Status int
	Body   string
}

// Error returns the status and body.
func (e *WHEPError) Error() string { return fmt.Sprintf("whep: status %d: %s", e.Status, e.Body) }

func resolve(base, loc string) (string, error) {
	if loc == "" {
		return "", errors.New("whep client: no Location")
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", err
	}
	l, err := url.Parse(loc)
	if err != nil {
		return "", err
	}
	return b.ResolveReference(l).String(), nil
}

func (c *WHEPClient) do(ctx context.Context, method, u, ctype, body string) (int, string, string, error) {
	return request(ctx, method, u, ctype, body, c.Bearer)
}

// loopbackPeerConnection makes a pion peer connection with pion's default
// codecs and interceptors whose media goes through one UDP socket on
// 127.0.0.1 (closing it makes the peer vanish); wrap, if set, stands
// between pion and the socket.
func loopbackPeerConnection(wrap func(net.PacketConn) net.PacketConn) (*webrtc.PeerConnection, net.PacketConn, error) {
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	if uc, ok := conn.(*net.UDPConn); ok {
		_ = uc.SetReadBuffer(4 << 20) // many clients in one busy process: room for a keyframe burst
	}
	if wrap != nil {
		conn = wrap(conn)
	}
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	// NACKs and receiver/sender reports, as a browser sends them; no stats
	// or transport-wide feedback, so that a hundred clients stay light.
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureNack(m, reg); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	quiet := &logging.DefaultLoggerFactory{DefaultLogLevel: logging.LogLevelDisabled}
	se := webrtc.SettingEngine{LoggerFactory: quiet}
	se.SetICEUDPMux(ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: conn, Logger: quiet.NewLogger("udpmux")}))
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	return pc, conn, nil
}

// localOffer makes the peer connection's offer and returns it with every
// candidate gathered (no trickle).
func localOffer(ctx context.Context, pc *webrtc.PeerConnection) (string, error) {
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return "", err
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return "", err
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return "", ctx.Err()
	}
	return pc.LocalDescription().SDP, nil
}

// request sends one WHIP/WHEP request (with the bearer token, if any) and
// returns the status, body and Location.
func request(ctx context.Context, method, u, ctype, body, bearer string) (int, string, string, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewBufferString(body))
	if err != nil {
		return 0, "", "", err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("Location"), err
}

// video follows one H.264 RTP packet (packetization-mode 1).
func (c *WHEPClient) video(p *rtp.Packet) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := &c.stats
	st.VideoPackets++
	st.VideoBytes += len(p.Payload)
	st.SeqGaps = c.seq.add(p.SequenceNumber)
	for _, nalu := range nalus(p.Payload) {
		switch h264.NALUType(nalu[0] & 0x1f) {
		case h264.NALUTypeIDR:
			c.frameKey = true
		case h264.NALUTypeSPS:
			var sps h264.SPS
			if sps.Unmarshal(nalu) == nil {
				if sps.Width() != st.Width || sps.Height() != st.Height {
					st.Sizes = append(st.Sizes, fmt.Sprintf("%dx%d", sps.Width(), sps.Height()))
				}
				st.Width, st.Height = sps.Width(), sps.Height()
			}
		}
	}
	if !p.Marker {
		return
	}
	if st.Frames == 0 {
		st.FirstFrameKey = c.frameKey
		st.FirstFrame = time.Since(c.start)
	}
	st.Frames++
	if c.frameKey {
		st.Keyframes++
	}
	c.frameKey = false
	close(c.changed)
	c.changed = make(chan struct{})
}

// nalus returns the NAL units (or, for a fragment, the first byte of the
// unit with its reconstructed header when it starts one) of a payload.
func nalus(b []byte) [][]byte {
	if len(b) == 0 {
		return nil
	}
	switch t := b[0] & 0x1f; t {
	case 24: // STAP-A
		var out [][]byte
		for i := 1; i+2 <= len(b); {
			n := int(b[i])<<8 | int(b[i+1])
			i += 2
			if n == 0 || i+n > len(b) {
				break
			}
			out = append(out, b[i:i+n])
			i += n
		}
		return out
	case 28: // FU-A
		if len(b) < 2 || b[1]&0x80 == 0 {
			return nil
		}
		return [][]byte{{b[0]&0xe0 | b[1]&0x1f}}
	default:
		return [][]byte{b}
	}
}

// Stats returns what the client received so far.
func (c *WHEPClient) Stats() WHEPStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.stats
	st.Sizes = append([]string(nil), c.stats.Sizes...)
	return st
}

// WaitFrames waits until n more video frames came after the call, or ctx
// ends; it returns the stats then.
func (c *WHEPClient) WaitFrames(ctx context.Context, n int) (WHEPStats, error) {
	c.mu.Lock()
	want := c.stats.Frames + n
	c.mu.Unlock()
	for {
		c.mu.Lock()
		st, ch := c.stats, c.changed
		c.mu.Unlock()
		if st.Frames >= want {
			return c.Stats(), nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return c.Stats(), fmt.Errorf("whep client: %d of %d frames: %w", st.Frames-(want-n), n, ctx.Err())
		}
	}
}

// Audio returns the Opus payloads received so far (with KeepAudio).
func (c *WHEPClient) Audio() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.audio...)
}

// Answer returns the server's SDP answer.
func (c *WHEPClient) Answer() string { return c.answer }

// Location returns the session's URL.
func (c *WHEPClient) Location() string { return c.location }

// PeerConnection returns the client's peer connection.
func (c *WHEPClient) PeerConnection() *webrtc.PeerConnection { return c.pc }

// SendPLI asks the server for a keyframe.
func (c *WHEPClient) SendPLI() error {
	c.mu.Lock()
	ssrc := c.videoSSRC
	c.mu.Unlock()
	return c.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}})
}

// SendRTCP sends RTCP packets (reports, REMB) to the server.
func (c *WHEPClient) SendRTCP(pkts ...rtcp.Packet) error { return c.pc.WriteRTCP(pkts) }

// VideoSSRC returns the SSRC of the video the server sends.
func (c *WHEPClient) VideoSSRC() uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.videoSSRC
}

// Close DELETEs the session and closes the peer connection; it returns
// the DELETE's status (0 if it could not be sent).
func (c *WHEPClient) Close() int {
	status := 0
	if c.location != "" && !c.deleted {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		status, _, _, _ = c.do(ctx, http.MethodDelete, c.location, "", "")
		cancel()
		c.deleted = true
	}
	c.Vanish()
	return status
}

// Vanish drops the client without a DELETE or a DTLS goodbye: its socket
// closes first, as when a viewer's network goes away.
func (c *WHEPClient) Vanish() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
	if c.pc != nil {
		_ = c.pc.Close()
	}
}

// seqTracker counts the RTP sequence numbers missing between the first and
// the highest received, a late (retransmitted) packet filling its hole.
type seqTracker struct {
	started    bool
	first, max uint64 // extended sequence numbers
	unique     uint64
	seen       [1 << 16 / 64]uint64 // bit per sequence number in the last 65536
}

// add notes one packet and returns how many are missing.
func (s *seqTracker) add(seq uint16) int {
	if !s.started {
		s.started, s.first, s.max = true, uint64(seq)+1<<16, uint64(seq)+1<<16
		s.mark(seq)
		s.unique = 1
		return 0
	}
	ext := s.max&^0xffff | uint64(seq)
	switch {
	case ext > s.max+0x8000:
		ext -= 1 << 16
	case ext+0x8000 < s.max:
		ext += 1 << 16
	}
	if ext+0xffff < s.max || ext < s.first {
		return int(s.max - s.first + 1 - s.unique) // too old to tell
	}
	for s.max < ext { // new ground: forget what those bits meant 65536 ago
		s.max++
		s.seen[uint16(s.max)/64] &^= 1 << (uint16(s.max) % 64)
	}
	if !s.isMarked(seq) {
		s.mark(seq)
		s.unique++
	}
	return int(s.max - s.first + 1 - s.unique)
}

func (s *seqTracker) mark(seq uint16)          { s.seen[seq/64] |= 1 << (seq % 64) }
func (s *seqTracker) isMarked(seq uint16) bool { return s.seen[seq/64]&(1<<(seq%64)) != 0 }
