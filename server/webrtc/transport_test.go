package webrtc

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pion/turn/v5"
	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// iceServerCases drive TestParseICEServer and seed FuzzParseICEServer.
var iceServerCases = []struct {
	in   string
	want ICEServer
	ok   bool
}{
	{"stun:stun.example.org", ICEServer{URL: "stun:stun.example.org"}, true},
	{"stun:stun.example.org:19302", ICEServer{URL: "stun:stun.example.org:19302"}, true},
	{"STUN:10.0.0.1:3478", ICEServer{URL: "stun:10.0.0.1:3478"}, true},
	{"turn:alice:s3cret@turn.example.org:3478?transport=udp",
		ICEServer{URL: "turn:turn.example.org:3478?transport=udp", Username: "alice", Credential: "s3cret"}, true},
	{"turns://bob:pw@turn.example.org", ICEServer{URL: "turns:turn.example.org", Username: "bob", Credential: "pw"}, true},
	{"turn:turn.example.org", ICEServer{}, false},             // TURN without credentials
	{"stun:alice:pw@stun.example.org", ICEServer{}, false},    // STUN with credentials
	{"turn:alice@turn.example.org", ICEServer{}, false},       // no password
	{"http://stun.example.org", ICEServer{}, false},           // not STUN/TURN
	{"stun:", ICEServer{}, false},                             // no host
	{"stun.example.org", ICEServer{}, false},                  // no scheme
	{"turn:a:b@host:3478?transport=sctp", ICEServer{}, false}, // unknown transport
	{"stun:host:99999", ICEServer{}, false},                   // bad port
	{"", ICEServer{}, false},
}

func TestParseICEServer(t *testing.T) {
	for _, tc := range iceServerCases {
		got, err := ParseICEServer(tc.in)
		if !tc.ok {
			require.ErrorIs(t, err, ErrBadConfig, "%q", tc.in)
			continue
		}
		require.NoError(t, err, "%q", tc.in)
		require.Equal(t, tc.want, got, "%q", tc.in)
		require.NotContains(t, got.String(), "s3cret", "String hides the password")
	}
	s, err := ParseICEServer("turn:alice:s3cret@turn.example.org:3478")
	require.NoError(t, err)
	require.True(t, s.IsTURN())
	require.Equal(t, `<turn:turn.example.org:3478>; rel="ice-server"; username="alice"; credential="s3cret"; credential-type="password"`, s.Link())
	require.Equal(t, "turn:alice:****@turn.example.org:3478", s.String())
}

func FuzzParseICEServer(f *testing.F) {
	for _, tc := range iceServerCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, in string) {
		s, err := ParseICEServer(in)
		if err != nil {
			require.ErrorIs(t, err, ErrBadConfig)
			return
		}
		again, err := ParseICEServer(strings.Replace(s.URL, ":", ":"+credentials(s), 1))
		require.NoError(t, err, "%q → %+v", in, s)
		require.Equal(t, s, again)
	})
}

func credentials(s ICEServer) string {
	if s.Username == "" {
		return ""
	}
	return s.Username + ":" + s.Credential + "@"
}

// turnServer starts pion's TURN server (which answers STUN too) on
// loopback with one user.
func turnServer(t *testing.T, user, pass string) string {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	srv, err := turn.NewServer(turn.ServerConfig{
		Realm: "golive",
		AuthHandler: func(ra *turn.RequestAttributes) (string, []byte, bool) {
			if ra.Username != user {
				return "", nil, false
			}
			return user, turn.GenerateAuthKey(user, "golive", pass), true
		},
		PacketConnConfigs: []turn.PacketConnConfig{{PacketConn: conn,
			RelayAddressGenerator: &turn.RelayAddressGeneratorStatic{RelayAddress: net.IPv4(127, 0, 0, 1), Address: "127.0.0.1"}}},
	})
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close() })
	return conn.LocalAddr().String()
}

// TestTransportICEServers has the transport learn its public address from
// a STUN server and allocate a relay candidate on a TURN server, and the
// endpoint advertise both as Link headers.
func TestTransportICEServers(t *testing.T) {
	addr := turnServer(t, "alice", "s3cret")
	stunS, err := ParseICEServer("stun:" + addr)
	require.NoError(t, err)
	turnS, err := ParseICEServer("turn:alice:s3cret@" + addr + "?transport=udp")
	require.NoError(t, err)
	tr := testTransport(t, func(tr *Transport) {
		tr.ICEServers = []ICEServer{stunS, turnS}
		tr.STUNTimeout = 15 * time.Second // a busy machine may be slow to answer; the answer is what counts
	})
	require.Equal(t, "127.0.0.1", tr.PublicIP().String(), "the STUN server saw the media port on loopback")
	require.Len(t, tr.Links(), 2)

	te := newTestEndpoint(t, tr)
	c := connect(t, te)
	var relay bool
	for _, cand := range candidates(c.Answer()) {
		f := strings.Fields(cand)
		if f[7] == "relay" {
			relay = true
		}
	}
	require.True(t, relay, "a relay candidate from the TURN server: %v", candidates(c.Answer()))

	resp, _ := request(t, "OPTIONS", te.url("/whep"), "", "")
	links := resp.Header.Values("Link")
	require.Len(t, links, 2)
	require.Contains(t, links[0], `<stun:`+addr+`>; rel="ice-server"`)
	require.Contains(t, links[1], `username="alice"; credential="s3cret"`)
}

// TestTransportAllInterfaces listens on every interface: one port for all,
// and the answer's host candidates are exactly the addresses listened on.
func TestTransportAllInterfaces(t *testing.T) {
	tr := testTransport(t, func(tr *Transport) { tr.Addr = "0.0.0.0:0" })
	addrs := tr.Addresses()
	require.NotEmpty(t, addrs)
	port := addrs[0].(*net.UDPAddr).Port
	want := map[string]bool{}
	for _, a := range addrs {
		ua := a.(*net.UDPAddr)
		require.Equal(t, port, ua.Port, "one port on every interface")
		require.NotNil(t, ua.IP.To4(), "0.0.0.0 listens on IPv4 only")
		want[ua.IP.String()] = true
	}
	require.True(t, want["127.0.0.1"], "loopback is listened on: %v", addrs)
	te := newTestEndpoint(t, tr)
	c := connect(t, te)
	got := map[string]bool{}
	for _, cand := range candidates(c.Answer()) {
		f := strings.Fields(cand)
		require.Equal(t, strconv.Itoa(port), f[5], cand)
		got[f[4]] = true
	}
	require.Equal(t, want, got)
}

func TestTransportErrors(t *testing.T) {
	for _, tr := range []*Transport{
		{Addr: "nonsense"},
		{Addr: "127.0.0.1:70000"},
		{Addr: "127.0.0.1:0", NACKBuffer: 300},
	} {
		tr.Logger = testLogger()
		require.ErrorIs(t, tr.Initialize(), ErrBadConfig, tr.Addr)
	}
	taken := testTransport(t)
	again := &Transport{Addr: taken.Address().String(), Logger: testLogger()}
	require.Error(t, again.Initialize(), "the port is taken")

	tr := testTransport(t)
	tr.Close()
	tr.Close()
	_, err := tr.NewPeerConnection()
	require.ErrorIs(t, err, ErrClosed)
	c := &peers.WHEPClient{URL: "http://127.0.0.1:1/whep"}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.Error(t, c.Connect(ctx))
	c.Vanish()
}
