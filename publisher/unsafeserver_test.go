package publisher

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"github.com/yutopp/go-rtmp/handshake"
	"go.uber.org/goleak"

	"golive/media"
)

// unsafeReplies are answers to connect that go-amf0 v0.1.0 would turn
// into a multi-gigabyte allocation (a fatal out-of-memory error no recover
// catches) or that the guard refuses outright, as RTMP messages on chunk
// stream 3: type, then body.
var unsafeReplies = []struct {
	name string
	typ  byte
	body []byte
}{
	// _result, transaction 1, then a strict array announcing 2^30
	// elements in 4 bytes (the ingest's regression bytes, as a reply).
	{"_result with a huge strict array", 20, []byte{0x02, 0, 7, '_', 'r', 'e', 's', 'u', 'l', 't',
		0x00, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x0A, 0x40, 0, 0, 0}},
	{"data message with a huge strict array", 18, []byte{0x02, 0, 1, 'x', 0x0A, 0x6f, 0x6e, 0x4d, 0x65}},
	{"AMF3 command", 17, []byte{0, 0x02, 0, 7, '_', 'r', 'e', 's', 'u', 'l', 't'}},
}

// answerConnectWith plays an RTMP server up to the client's connect
// command and answers it with one message of type typ, then waits for the
// client to hang up.
func answerConnectWith(typ byte, body []byte) func(net.Conn) {
	return func(c net.Conn) {
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(20 * time.Second))
		if handshake.HandshakeWithClient(c, c, &handshake.Config{SkipHandshakeVerification: true}) != nil {
			return
		}
		var got []byte
		buf := make([]byte, 4096)
		for !bytes.Contains(got, []byte("\x02\x00\x07connect")) {
			n, err := c.Read(buf)
			if err != nil {
				return
			}
			got = append(got, buf[:n]...)
		}
		msg := []byte{0x03, 0, 0, 0, 0, 0, byte(len(body)), typ, 0, 0, 0, 0}
		_, _ = c.Write(append(msg, body...))
		_, _ = io.Copy(io.Discard, c)
	}
}

// fakeVideo is enough H.264 parameters to publish; no frame is sent.
var fakeVideo = media.CodecParams{Codec: media.CodecH264, Width: 160, Height: 120, FPS: 25,
	Config: []byte{1, 0x42, 0xC0, 0x1E, 0xFF, 0xE1, 0, 4, 0x67, 0x42, 0xC0, 0x1E, 1, 0, 4, 0x68, 0xCE, 0x3C, 0x80}}

// TestUnsafeServerReply: a server that answers connect with a message
// go-amf0 cannot survive ends the attempt at once with ErrProtocol, and
// the process lives on.
func TestUnsafeServerReply(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	for _, m := range unsafeReplies {
		t.Run(m.name, func(t *testing.T) {
			addr, stop := badServer(t, answerConnectWith(m.typ, m.body))
			defer stop()
			r := &RTMP{URL: "rtmp://" + addr + "/live/secretkey", Video: fakeVideo, Logger: testLogger(t),
				ConnectTimeout: 10 * time.Second}
			start := time.Now()
			err := r.Initialize()
			took := time.Since(start)
			require.ErrorIs(t, err, ErrProtocol)
			require.NotErrorIs(t, err, ErrTimeout)
			require.Contains(t, err.Error(), "unsafe RTMP message")
			require.NotContains(t, err.Error(), "secretkey", "stream key leaked into the error")
			require.Less(t, took, 5*time.Second, "the unsafe reply must end the attempt at once")
			require.Equal(t, StateFailed, r.Stats().State)
			r.Close()
			<-r.Done()
			t.Log(err)
		})
	}
}
