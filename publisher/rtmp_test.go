package publisher

import (
	"io"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rtmp "github.com/yutopp/go-rtmp"
	rtmpmsg "github.com/yutopp/go-rtmp/message"
	"go.uber.org/goleak"

	"golive/internal/peers"
	"golive/media"
)

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// clip is a test clip encoded by the ffmpeg command line and read back as
// packets.
type clip struct {
	src    peers.TestSource
	file   peers.FLVFile
	frames int
}

func makeClip(t *testing.T, s peers.TestSource) clip {
	f := peers.ReadFLV(t, peers.MakeTestFile(t, s))
	n := 0
	for _, p := range f.Packets {
		if p.Codec.IsVideo() {
			n++
		}
	}
	return clip{src: s, file: f, frames: n}
}

// feed writes packets, in real time from the first one when pace is set.
func feed(r interface{ WritePacket(*media.Packet) }, pkts []*media.Packet, pace bool, offset time.Duration) {
	start := time.Now()
	for _, p := range pkts {
		if pace {
			if d := time.Until(start.Add(p.DTS - pkts[0].DTS)); d > 0 {
				time.Sleep(d) // pacing like a live encoder, not synchronisation
			}
		}
		q := *p
		q.DTS += offset
		q.PTS += offset
		r.WritePacket(&q)
	}
}

// checkReceived probes what a peer received and checks it against the clip.
func checkReceived(t *testing.T, file string, c clip) {
	t.Helper()
	info := peers.FFprobe(t, file)
	require.Empty(t, strings.TrimSpace(info.Stderr), "decode errors")
	v, ok := info.Video()
	require.True(t, ok, "no video in %s: %+v", file, info)
	require.Equal(t, "h264", v.CodecName)
	require.Contains(t, []string{"High", "Main"}, v.Profile)
	require.Equal(t, c.src.Width, v.Width)
	require.Equal(t, c.src.Height, v.Height)
	require.InDelta(t, float64(c.src.FPS), v.FPS(), 0.5, "frame rate")
	want := c.src.Duration.Seconds() * float64(c.src.FPS)
	require.InDelta(t, want, float64(v.Frames()), math.Max(1, want*0.02), "frame count")
	a, ok := info.Audio()
	require.True(t, ok, "no audio")
	require.Equal(t, "aac", a.CodecName)
	require.Equal(t, 48000, a.Rate())
	require.Equal(t, 2, a.Channels)
	first := peers.FirstPTS(peers.ProbePackets(t, file))
	require.InDelta(t, first["video"], first["audio"], 0.1, "A/V start alignment")
}

func newRTMP(t *testing.T, url string, c clip) *RTMP {
	return &RTMP{URL: url, Video: c.file.Video, Audio: c.file.Audio, Logger: testLogger(t), ConnectTimeout: 5 * time.Second}
}

func TestRTMPToNginx(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 320, Height: 240, FPS: 30, Duration: 3 * time.Second})
	n := peers.StartNginxRTMP(t)
	r := newRTMP(t, n.URL("cam"), c)
	r.QueueDuration = time.Minute // fed faster than real time
	require.NoError(t, r.Initialize())
	require.Equal(t, StateLive, r.Stats().State)
	feed(r, c.file.Packets, false, 0)
	r.Close()
	st := r.Stats()
	require.Equal(t, StateClosed, st.State)
	require.Equal(t, int64(len(c.file.Packets)), st.PacketsSent)
	require.Zero(t, st.DroppedVideo+st.DroppedAudio)
	require.NoError(t, r.Err())
	n.WaitUnpublished("cam", 10*time.Second)
	checkReceived(t, n.RecordPath("cam"), c)
}

func TestRTMPToFFmpegListenPaced(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 256, Height: 144, FPS: 25, Duration: 2 * time.Second})
	l := peers.StartFFmpegListen(t, filepath.Join(t.TempDir(), "out.flv"))
	r := newRTMP(t, l.URL(), c)
	require.NoError(t, r.Initialize())
	// Timestamps start at 0 whatever the capture clock says.
	feed(r, c.file.Packets, true, 7*time.Second)
	r.Close()
	l.Wait(20 * time.Second)
	st := r.Stats()
	require.Zero(t, st.DroppedVideo+st.DroppedAudio)
	require.Greater(t, st.BytesSent, int64(10000))
	checkReceived(t, l.Output(), c)
	pkts := peers.ProbePackets(t, l.Output())
	require.Less(t, peers.FirstPTS(pkts)["video"], 0.2, "timestamps rebased to 0")
}

// refuseHandler is a go-rtmp server handler that refuses every publish.
type refuseHandler struct{ rtmp.DefaultHandler }

func (refuseHandler) OnPublish(*rtmp.StreamContext, uint32, *rtmpmsg.NetStreamPublish) error {
	return io.ErrUnexpectedEOF // any error refuses
}

// startGoRTMPServer runs a go-rtmp server with handler h on 127.0.0.1:0.
// A readBuffer > 0 shrinks each connection's receive buffer.
func startGoRTMPServer(t *testing.T, h func() rtmp.Handler, readBuffer ...int) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := rtmp.NewServer(&rtmp.ServerConfig{
		OnConnect: func(conn net.Conn) (io.ReadWriteCloser, *rtmp.ConnConfig) {
			if len(readBuffer) > 0 {
				_ = conn.(*net.TCPConn).SetReadBuffer(readBuffer[0])
			}
			return conn, &rtmp.ConnConfig{Handler: h(), Logger: NewLogrus(testLogger(t))}
		},
	})
	served := make(chan struct{})
	go func() { _ = srv.Serve(ln); close(served) }()
	return ln.Addr().String(), func() { _ = srv.Close(); <-served }
}

// badServer accepts connections and runs behave on each; stop closes the
// listener and every connection and waits for the goroutines.
func badServer(t *testing.T, behave func(net.Conn)) (addr string, stop func()) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	conns := make(chan net.Conn, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		var handlers []chan struct{}
		defer func() {
			for _, h := range handlers {
				<-h
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns <- c
			h := make(chan struct{})
			handlers = append(handlers, h)
			go func() { defer close(h); behave(c) }()
		}
	}()
	return ln.Addr().String(), func() {
		_ = ln.Close()
		for {
			select {
			case c := <-conns:
				_ = c.Close()
				continue
			default:
			}
			break
		}
		<-done
	}
}

// closedAddr returns an address on which nothing listens.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

func TestRTMPInitializeErrors(t *testing.T) {
	c := makeClip(t, peers.TestSource{Duration: 200 * time.Millisecond, NoAudio: true})
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	closed := closedAddr(t)
	refuser, stopRefuser := startGoRTMPServer(t, func() rtmp.Handler { return &refuseHandler{} })
	defer stopRefuser()
	silent, stopSilent := badServer(t, func(c net.Conn) { _, _ = io.Copy(io.Discard, c) })
	defer stopSilent()
	httpServer, stopHTTP := badServer(t, func(c net.Conn) {
		_, _ = c.Write([]byte("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"))
		_, _ = io.Copy(io.Discard, c)
	})
	defer stopHTTP()
	garbage, stopGarbage := badServer(t, func(c net.Conn) {
		buf := make([]byte, 1537)
		_, _ = io.ReadFull(c, buf) // C0+C1
		// A valid S0-S2, then well-framed messages of a type that does
		// not exist (0x42).
		msg := "\x03\x00\x00\x00\x00\x00\x04\x42\x00\x00\x00\x00junk"
		junk := []byte("\x03" + strings.Repeat("\x00", 3072) + strings.Repeat(msg, 40))
		_, _ = c.Write(junk)
		_, _ = io.Copy(io.Discard, c)
	})
	defer stopGarbage()
	hangup, stopHangup := badServer(t, func(c net.Conn) {
		buf := make([]byte, 100)
		_, _ = io.ReadFull(c, buf)
		_ = c.Close()
	})
	defer stopHangup()

	cases := []struct {
		name string
		url  string
		want error
		text string
	}{
		{"bad scheme", "http://127.0.0.1/live/x", ErrBadURL, "scheme"},
		{"no key", "rtmp://127.0.0.1/live", ErrBadURL, "streamkey"},
		{"nothing listening", "rtmp://" + closed + "/live/x", ErrUnreachable, "refused"},
		{"publish refused by go-rtmp server", "rtmp://" + refuser + "/live/wrongkey", ErrRefused, "NetStream.Publish.Failed"},
		{"silent server", "rtmp://" + silent + "/live/x", ErrTimeout, "handshake"},
		{"HTTP server", "rtmp://" + httpServer + "/live/x", ErrProtocol, "'H'"},
		{"garbage after the handshake", "rtmp://" + garbage + "/live/x", ErrProtocol, "Unexpected message type"},
		{"close during handshake", "rtmp://" + hangup + "/live/x", ErrRefused, "closed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRTMP(t, tc.url, c)
			r.ConnectTimeout = 700 * time.Millisecond
			err := r.Initialize()
			require.ErrorIs(t, err, tc.want)
			require.Contains(t, err.Error(), tc.text)
			require.NotContains(t, err.Error(), "wrongkey", "stream key leaked into the error")
			require.Equal(t, StateFailed, r.Stats().State)
			r.Close()
			<-r.Done()
			t.Log(err)
		})
	}
}

func TestRTMPNginxRefusesUnknownApp(t *testing.T) {
	c := makeClip(t, peers.TestSource{Duration: 200 * time.Millisecond, NoAudio: true})
	n := peers.StartNginxRTMP(t)
	r := newRTMP(t, n.AppURL("nosuchapp", "key"), c)
	err := r.Initialize()
	require.ErrorIs(t, err, ErrRefused)
	t.Log(err)
}
