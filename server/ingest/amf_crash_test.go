package ingest

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/yutopp/go-amf0"
)

// rawHandshake performs RTMP's simple handshake on c.
func rawHandshake(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err := c.Write(append([]byte{3}, make([]byte, 1536)...))
	require.NoError(t, err)
	s := make([]byte, 1+1536+1536)
	_, err = io.ReadFull(c, s)
	require.NoError(t, err)
	_, err = c.Write(s[1 : 1+1536])
	require.NoError(t, err)
}

// unsafeMessages are RTMP messages (type, body) that go-amf0 v0.1.0 would
// turn into a multi-gigabyte allocation, a fatal error no recover catches.
var unsafeMessages = []struct {
	name string
	typ  byte
	body []byte
}{
	{"data message with a huge strict array", 18, []byte{0x02, 0, 1, 'x', 0x0A, 0x6f, 0x6e, 0x4d, 0x65}},
	{"command with a huge strict array", 20, []byte{0x02, 0, 3, 'f', 'o', 'o', 0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x0A, 0x40, 0, 0, 0}},
	{"AMF3 command", 17, []byte{0, 0x02, 0, 1, 'x'}},
}

func TestServerSurvivesUnsafeAMF(t *testing.T) {
	s, _ := startServer(t)
	for _, m := range unsafeMessages {
		t.Run(m.name, func(t *testing.T) {
			c, err := net.Dial("tcp", s.ListenAddr().String())
			require.NoError(t, err)
			defer c.Close()
			rawHandshake(t, c)
			hdr := []byte{0x03, 0, 0, 0, 0, 0, byte(len(m.body)), m.typ, 0, 0, 0, 0}
			_, err = c.Write(append(hdr, m.body...))
			require.NoError(t, err)
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second)) // < IdleTimeout
			_, err = io.Copy(io.Discard, c)
			var ne net.Error
			require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server must close the connection at once: %v", err)
		})
	}
	// The server is alive and still takes a publisher.
	_, st := publish(t, s.ListenAddr().String(), "live", testKey)
	require.NotNil(t, st)
	eventually(t, "publisher accepted", func() bool { return s.Stats().Live })
}

func TestCheckAMF0AcceptsEncoderBodies(t *testing.T) {
	for _, c := range metadataCases {
		if c.ok {
			require.NoError(t, checkAMF0(c.payload), c.name)
		}
	}
	var b bytes.Buffer
	enc := amf0.NewEncoder(&b)
	require.NoError(t, enc.Encode("connect"))
	require.NoError(t, enc.Encode(1.0))
	require.NoError(t, enc.Encode(map[string]interface{}{"app": "live", "tcUrl": "rtmp://x/live", "fpad": false,
		"nested": map[string]interface{}{"a": []interface{}{1.0, "b", nil}}}))
	require.NoError(t, enc.Encode(nil))
	require.NoError(t, checkAMF0(b.Bytes()))
}

func TestServerBoundsMessagesAndConnections(t *testing.T) {
	s, _ := startServer(t)
	closedSoon := func(c net.Conn) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second)) // < IdleTimeout
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server must close the connection at once: %v", err)
	}
	// A 9 MB video message is refused from its header.
	c, err := net.Dial("tcp", s.ListenAddr().String())
	require.NoError(t, err)
	defer c.Close()
	rawHandshake(t, c)
	_, err = c.Write([]byte{0x04, 0, 0, 0, 0x90, 0, 0, 9, 1, 0, 0, 0, 0x17, 1})
	require.NoError(t, err)
	closedSoon(c)

	// Connections beyond MaxConnections are closed at once.
	var conns []net.Conn
	for range 32 {
		c, err := net.Dial("tcp", s.ListenAddr().String())
		require.NoError(t, err)
		defer c.Close()
		conns = append(conns, c)
	}
	eventually(t, "32 connections open", func() bool { return s.Stats().Connections == 32 })
	extra, err := net.Dial("tcp", s.ListenAddr().String())
	require.NoError(t, err)
	defer extra.Close()
	closedSoon(extra)
	for _, c := range conns {
		_ = c.Close()
	}
	eventually(t, "connections closed", func() bool { return s.Stats().Connections == 0 })
}
