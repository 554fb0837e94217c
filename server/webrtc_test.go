package server

import (
	"net"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestServerWebRTCPort opens the WebRTC media port where asked and refuses
// to start when an address asked for is taken.
func TestServerWebRTCPort(t *testing.T) {
	s := testServer(t, "240p")
	a, ok := s.WebRTCAddress().(*net.UDPAddr)
	require.True(t, ok, "%v", s.WebRTCAddress())
	require.Equal(t, "127.0.0.1", a.IP.String())
	require.NotZero(t, a.Port)
	require.NotNil(t, s.WebRTC())

	taken := &Server{WebRTCAddr: a.String()}
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	taken.RTMPListener, taken.HTTPListener, taken.StreamKey, taken.Logger = rl, hl, testKey, s.Logger
	require.Error(t, taken.Initialize(), "an address asked for must open")
	_ = rl.Close()
	_ = hl.Close()
}
