package ingest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/stretchr/testify/require"
	"github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"

	"golive/media"
)

// recSink records what the ingest hands over.
type recSink struct {
	mu      sync.Mutex
	starts  int
	stops   int
	packets int
	video   *media.CodecParams
	dts     []time.Duration // of the video packets
}

func (s *recSink) StartStream(v, _ *media.CodecParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	s.video = v
	return nil
}
func (s *recSink) WritePacket(p *media.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.packets++
	if p.Codec.IsVideo() {
		s.dts = append(s.dts, p.DTS)
	}
}

// videoDTS returns the DTS of every video packet so far.
func (s *recSink) videoDTS() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.dts...)
}
func (s *recSink) StopStream() { s.mu.Lock(); s.stops++; s.mu.Unlock() }
func (s *recSink) counts() (int, int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.starts, s.stops, s.packets
}

const testKey = "0123456789abcdef"

func startServer(t *testing.T, configure ...func(*Server)) (*Server, *recSink) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sink := &recSink{}
	s := &Server{Listener: l, StreamKey: testKey, Sink: sink, IdleTimeout: 3 * time.Second,
		Logger: slog.New(slog.NewTextHandler(testLogOut(), nil))}
	for _, c := range configure {
		c(s)
	}
	require.NoError(t, s.Initialize())
	t.Cleanup(s.Close)
	return s, sink
}

// publish connects with go-rtmp's client and asks to publish key.
func publish(t *testing.T, addr, app, key string) (*rtmp.ClientConn, *rtmp.Stream) {
	t.Helper()
	lg := logrus.New()
	lg.Out = io.Discard
	c, err := rtmp.Dial("rtmp", addr, &rtmp.ConnConfig{Logger: lg})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	err = c.Connect(&rtmpmsg.NetConnectionConnect{Command: rtmpmsg.NetConnectionConnectCommand{
		App: app, Type: "nonprivate", TCURL: "rtmp://" + addr + "/" + app}})
	if err != nil {
		return c, nil
	}
	st, err := c.CreateStream(nil, 4096)
	require.NoError(t, err)
	require.NoError(t, st.Publish(&rtmpmsg.NetStreamPublish{PublishingName: key, PublishingType: "live"}))
	return c, st
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 10*time.Second, 10*time.Millisecond, what)
}

func TestServerAcceptsAndRefuses(t *testing.T) {
	s, sink := startServer(t)
	addr := s.ListenAddr().String()

	_, st := publish(t, addr, "live", testKey)
	require.NotNil(t, st)
	eventually(t, "publisher accepted", func() bool { return s.Stats().Live })
	rec := avcRecord(t)
	require.NoError(t, st.Write(4, 0, &rtmpmsg.VideoMessage{Payload: bytes.NewReader(videoTag(1, 0, 0, rec))}))
	require.NoError(t, st.Write(4, 0, &rtmpmsg.AudioMessage{Payload: bytes.NewReader(audioTag(0, testASC))}))
	require.NoError(t, st.Write(4, 0, &rtmpmsg.VideoMessage{Payload: bytes.NewReader(videoTag(1, 1, 0, idrAVCC))}))
	eventually(t, "stream started with a packet", func() bool { a, _, p := sink.counts(); return a == 1 && p == 1 })
	require.Equal(t, 320, s.Stats().Video.Width)

	// A second publisher with the right key is refused while one is live.
	_, st2 := publish(t, addr, "live", testKey)
	require.NotNil(t, st2)
	eventually(t, "second publisher refused", func() bool { return s.Stats().Refused == 1 })

	// A wrong key and a wrong application are refused.
	publish(t, addr, "live", "nope")
	eventually(t, "wrong key refused", func() bool { return s.Stats().Refused == 2 })
	publish(t, addr, "other", testKey)
	eventually(t, "wrong app refused", func() bool { return s.Stats().Refused == 3 })
	require.Equal(t, uint64(1), s.Stats().Accepted)
	require.True(t, s.Stats().Live, "the first publisher stays live")
}

func TestServerSurvivesBadPeers(t *testing.T) {
	s, sink := startServer(t)
	addr := s.ListenAddr().String()

	waitClosed := func(c net.Conn) {
		t.Helper()
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, c)
		var ne net.Error
		require.False(t, errors.As(err, &ne) && ne.Timeout(), "the server must close the connection, not leave it open: %v", err)
	}
	// Garbage instead of a handshake.
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	junk := make([]byte, 8192)
	_, _ = rand.Read(junk)
	junk[0] = 3
	_, _ = c.Write(junk)
	waitClosed(c)
	_ = c.Close()

	// A 100 MB chunk size after a proper connect.
	cc, st := publish(t, addr, "live", testKey)
	require.NotNil(t, st)
	eventually(t, "publisher accepted", func() bool { return s.Stats().Live })
	require.NoError(t, st.WriteSetChunkSize(100<<20))
	eventually(t, "connection closed", func() bool { return s.Stats().Connections == 0 && !s.Stats().Live })
	_ = cc.Close()

	// A chunk stream cut in the middle of a message.
	c, err = net.Dial("tcp", addr)
	require.NoError(t, err)
	go func() { _, _ = io.Copy(io.Discard, c) }()
	_, _ = c.Write(append([]byte{3}, make([]byte, 1536)...)) // C0+C1
	_, _ = c.Write(make([]byte, 1536))                       // C2
	_, _ = c.Write([]byte{0x03, 0, 0, 0, 0, 0x10, 0, 0x14, 0, 0, 0, 0, 1, 2})
	_ = c.Close()

	// The server still works.
	_, st = publish(t, addr, "live", testKey)
	require.NotNil(t, st)
	eventually(t, "publisher accepted after bad peers", func() bool { return s.Stats().Live })
	_, stops, _ := sink.counts()
	require.Zero(t, stops, "no stream had started, so none stopped")
}

func testLogOut() io.Writer {
	if os.Getenv("INGEST_TEST_LOG") != "" {
		return os.Stderr
	}
	return io.Discard
}
