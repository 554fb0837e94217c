package webrtc

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	pion "github.com/pion/webrtc/v4"
)

// DefaultAddr is the default WebRTC media address (`serve --webrtc-addr`).
const DefaultAddr = ":8189"

// H.264 and Opus as the Transport negotiates them: H.264 only in
// packetization-mode 1 (what browsers send and receive), in the profiles
// browsers offer; Opus stereo at 48 kHz.
const (
	h264Fmtp = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id="
	opusFmtp = "minptime=10;useinbandfec=1"
	// OpusPayloadType is the payload type offered for Opus.
	OpusPayloadType = 111
)

// h264Profiles are the profile-level-ids registered, each with its own
// payload type (an answer keeps the offer's payload types).
var h264Profiles = []struct {
	id string
	pt pion.PayloadType
}{{"42e01f", 102}, {"42001f", 104}, {"4d001f", 106}, {"64001f", 108}}

// Transport is the server's one WebRTC transport: one pion API (codecs,
// interceptors, ICE settings) and one UDP port that every session's media
// goes through, for WHEP viewers and WHIP publishers alike. Set the
// fields, call Initialize, make peer connections with NewPeerConnection,
// and Close.
type Transport struct {
	// Addr is the UDP address of the media port (default DefaultAddr,
	// ":8189"). A specific host offers host candidates on that address
	// only; an unspecified one on every address of the interfaces that are
	// up, all on the one port.
	Addr string
	// Conn, if set, is the media port instead of listening on Addr
	// (tests, embedding).
	Conn net.PacketConn
	// ICEServers are STUN and TURN servers. The server asks the STUN
	// servers at start-up for its public address, which it then offers on
	// its media port as well (a router forwarding that port keeps its
	// number); it allocates relay candidates on the TURN servers; and
	// endpoints advertise them all to clients (RFC 9725 Link headers).
	ICEServers []ICEServer
	// DisconnectedTimeout is how long a session may go without hearing
	// from its peer before it counts as disconnected (default 4 s), and
	// FailedTimeout how long after that before it has failed and is closed
	// (default 6 s).
	DisconnectedTimeout, FailedTimeout time.Duration
	// STUNTimeout is how long start-up waits for each STUN server's answer,
	// retrying the request meanwhile (default 3 s).
	STUNTimeout time.Duration
	// NACKBuffer is how many sent video packets each sender keeps for
	// retransmission (default 512, about 1.5 s at 3 Mbit/s).
	NACKBuffer int
	// Logger receives the stage's logs (default slog.Default()).
	Logger *slog.Logger

	api    *pion.API
	port   *udpPort
	config pion.Configuration
	links  []string
	public net.IP

	mu     sync.Mutex
	closed bool
}

// Initialize opens the media port and builds the API. On error nothing is
// left open.
func (t *Transport) Initialize() error {
	if t.Logger == nil {
		t.Logger = slog.Default()
	}
	if t.Addr == "" {
		t.Addr = DefaultAddr
	}
	if t.DisconnectedTimeout <= 0 {
		t.DisconnectedTimeout = 4 * time.Second
	}
	if t.STUNTimeout <= 0 {
		t.STUNTimeout = 3 * time.Second
	}
	if t.FailedTimeout <= 0 {
		t.FailedTimeout = 6 * time.Second
	}
	if t.NACKBuffer <= 0 {
		t.NACKBuffer = 512
	}
	if t.NACKBuffer&(t.NACKBuffer-1) != 0 || t.NACKBuffer > 1<<15 {
		return fmt.Errorf("webrtc transport: %w: NACKBuffer %d (a power of two up to 32768)", ErrBadConfig, t.NACKBuffer)
	}
	logs := pionLogs{log: t.Logger}
	port, err := listenUDPPort(t.Addr, t.Conn, logs)
	if err != nil {
		return fmt.Errorf("webrtc transport: %w", err)
	}
	t.port = port
	if err := t.build(logs); err != nil {
		port.close()
		return fmt.Errorf("webrtc transport: %w", err)
	}
	t.Logger.Info("webrtc listening", "addr", t.Address().String(), "ice_servers", len(t.ICEServers))
	return nil
}

// build asks the STUN servers for the public address and makes the API.
func (t *Transport) build(logs pionLogs) error {
	var turn []pion.ICEServer
	for _, s := range t.ICEServers {
		t.links = append(t.links, s.Link())
		if s.IsTURN() {
			turn = append(turn, s.pion())
			continue
		}
		if t.public != nil || t.Conn != nil {
			continue
		}
		ip, err := publicAddress(t.port.conns[0], s, t.STUNTimeout)
		if err != nil {
			t.Logger.Warn("webrtc: STUN server did not tell the public address", "server", s.URL, "err", err)
			continue
		}
		t.public = ip
		t.Logger.Info("webrtc: public address", "ip", ip.String(), "server", s.URL)
	}
	// Only TURN servers go to pion: it would ask STUN servers from new
	// sockets, and every session's media must stay on the one port.
	t.config = pion.Configuration{ICEServers: turn}

	m := &pion.MediaEngine{}
	fb := []pion.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}}
	for _, p := range h264Profiles {
		if err := m.RegisterCodec(pion.RTPCodecParameters{
			RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeH264, ClockRate: 90000,
				SDPFmtpLine: h264Fmtp + p.id, RTCPFeedback: fb},
			PayloadType: p.pt,
		}, pion.RTPCodecTypeVideo); err != nil {
			return err
		}
	}
	if err := m.RegisterCodec(pion.RTPCodecParameters{
		RTPCodecCapability: pion.RTPCodecCapability{MimeType: pion.MimeTypeOpus, ClockRate: 48000, Channels: 2,
			SDPFmtpLine: opusFmtp},
		PayloadType: OpusPayloadType,
	}, pion.RTPCodecTypeAudio); err != nil {
		return err
	}
	reg := &interceptor.Registry{}
	// NACKs both ways (answered from a buffer when sending, sent when
	// receiving), sender and receiver reports (lip sync, loss), and
	// transport-wide congestion feedback for publishers' bandwidth
	// estimation.
	if err := pion.ConfigureNackWithOptions(m, reg, nil, nack.ResponderSize(uint16(t.NACKBuffer))); err != nil {
		return err
	}
	if err := pion.ConfigureRTCPReports(reg); err != nil {
		return err
	}
	if err := pion.ConfigureTWCCSender(m, reg); err != nil {
		return err
	}

	se := pion.SettingEngine{LoggerFactory: logs}
	se.SetICEUDPMux(t.port.mux)
	se.SetNetworkTypes([]pion.NetworkType{pion.NetworkTypeUDP4, pion.NetworkTypeUDP6})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetIncludeLoopbackCandidate(true)
	se.SetICETimeouts(t.DisconnectedTimeout, t.FailedTimeout, time.Second)
	if t.public != nil {
		rule := pion.ICEAddressRewriteRule{External: []string{t.public.String()},
			AsCandidateType: pion.ICECandidateTypeHost, Mode: pion.ICEAddressRewriteAppend}
		if la, ok := t.port.conns[0].LocalAddr().(*net.UDPAddr); ok && !la.IP.IsUnspecified() {
			rule.Local = la.IP.String()
		}
		if err := se.SetICEAddressRewriteRules(rule); err != nil {
			return err
		}
	}
	t.api = pion.NewAPI(pion.WithMediaEngine(m), pion.WithInterceptorRegistry(reg), pion.WithSettingEngine(se))
	return nil
}

// Address returns the media port's address (the first socket's, with the
// real port when port 0 was asked for).
func (t *Transport) Address() net.Addr { return t.port.addrs()[0] }

// Addresses returns every address the media port listens on.
func (t *Transport) Addresses() []net.Addr { return t.port.addrs() }

// PublicIP returns the public address the STUN servers told, or nil.
func (t *Transport) PublicIP() net.IP { return t.public }

// Links returns the ICE servers as RFC 9725 Link header values.
func (t *Transport) Links() []string { return append([]string(nil), t.links...) }

// NewPeerConnection returns a peer connection on the shared API and port.
// It returns ErrClosed after Close.
func (t *Transport) NewPeerConnection() (*pion.PeerConnection, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed || t.api == nil {
		return nil, ErrClosed
	}
	pc, err := t.api.NewPeerConnection(t.config)
	if err != nil {
		return nil, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	return pc, nil
}

// Close closes the media port. Peer connections still open lose their
// media; close them first. It is idempotent.
func (t *Transport) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	t.closed = true
	if t.port != nil {
		t.port.close()
	}
}

// errIsClosed reports a pion error that only says the connection is gone.
func errIsClosed(err error) bool {
	return errors.Is(err, pion.ErrConnectionClosed) || errors.Is(err, net.ErrClosed)
}
