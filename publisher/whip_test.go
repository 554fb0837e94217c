package publisher

import (
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
	"golive/media"
	"golive/server/ingest"
	"golive/server/webrtc"
)

// sinkLog is an ingest.Sink that keeps what a WHIP server received.
type sinkLog struct {
	mu      sync.Mutex
	starts  int
	video   *media.CodecParams
	packets []*media.Packet
}

func (s *sinkLog) StartStream(video, _ *media.CodecParams) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.starts++
	s.video = video
	return nil
}

func (s *sinkLog) WritePacket(p *media.Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.packets = append(s.packets, p)
}

func (s *sinkLog) StopStream() {}

func (s *sinkLog) frames() (n int, firstKey bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.packets {
		if p.Codec.IsVideo() {
			if n == 0 {
				firstKey = p.Keyframe
			}
			n++
		}
	}
	return n, firstKey
}

// whipServer is GoLive's WHIP ingest on loopback (its own transport,
// RTMP ingest for the slot, and HTTP server), on a given HTTP listener.
type whipServer struct {
	sink  *sinkLog
	close func()
}

const whipKey = "whip-test-key"

func startWHIPServer(t *testing.T, ln net.Listener) *whipServer {
	t.Helper()
	log := testLogger(t)
	tr := &webrtc.Transport{Addr: "127.0.0.1:0", DisconnectedTimeout: time.Second, FailedTimeout: time.Second, Logger: log}
	require.NoError(t, tr.Initialize())
	rl, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	sink := &sinkLog{}
	in := &ingest.Server{Listener: rl, StreamKey: whipKey, Sink: sink, Logger: log}
	require.NoError(t, in.Initialize())
	w := &ingest.WHIP{Transport: tr, Ingest: in, Logger: log}
	require.NoError(t, w.Initialize())
	mux := http.NewServeMux()
	mux.Handle("/whip", w)
	mux.Handle("/whip/", w)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	var once sync.Once
	ws := &whipServer{sink: sink, close: func() {
		once.Do(func() {
			_ = srv.Close()
			w.Close()
			in.Close()
			tr.Close()
		})
	}}
	t.Cleanup(ws.close)
	return ws
}

func videoOnly(pkts []*media.Packet) []*media.Packet {
	var out []*media.Packet
	for _, p := range pkts {
		if p.Codec.IsVideo() {
			out = append(out, p)
		}
	}
	return out
}

// TestWHIPPublishes sends a clip to GoLive's WHIP ingest: every frame
// arrives, the first a keyframe, at the clip's size; a wrong key is
// refused with ErrRefused.
func TestWHIPPublishes(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 320, Height: 240, FPS: 30, Duration: 2 * time.Second, NoBFrames: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := startWHIPServer(t, ln)
	url := "http://" + whipKey + "@" + ln.Addr().String() + "/whip"

	bad := &WHIP{URL: "http://nope@" + ln.Addr().String() + "/whip", Video: c.file.Video, Logger: testLogger(t)}
	require.ErrorIs(t, bad.Initialize(), ErrRefused)
	require.Equal(t, StateFailed, bad.Stats().State)

	w := &WHIP{URL: url, Video: c.file.Video, Logger: testLogger(t)}
	require.NoError(t, w.Initialize())
	require.Equal(t, StateLive, w.Stats().State)
	video := videoOnly(c.file.Packets)
	feed(w, c.file.Packets, true, 0) // AAC is not WHIP's: ignored
	live := w.Stats()
	require.True(t, live.Measured, "receiver reports came: %+v", live)
	require.Positive(t, live.FramesDelivered)
	require.Positive(t, live.LinkBitrate)
	require.False(t, live.Congested)
	require.Eventually(t, func() bool { n, _ := s.sink.frames(); return n == len(video) }, 10*time.Second, 20*time.Millisecond,
		"every frame arrives")
	w.Close()
	n, key := s.sink.frames()
	require.True(t, key, "the stream starts at a keyframe")
	require.Equal(t, len(video), n)
	require.Equal(t, 320, s.sink.video.Width)
	st := w.Stats()
	require.Equal(t, StateClosed, st.State)
	require.EqualValues(t, len(video), st.PacketsSent)
	require.Positive(t, st.BytesSent)
	// The server's receiver reports confirm every frame, the last ones
	// while Close waits for them.
	require.EqualValues(t, len(video), st.FramesDelivered, "%+v", st)
	require.Zero(t, st.Undelivered)
	require.Zero(t, st.FramesUndelivered)
	require.Positive(t, st.BytesAcked)
}

// TestWHIPReconnects: the server goes away mid-stream; the destination
// notices (ICE fails), shows reconnecting with the reason, backs off on
// its clock, and once the server is back publishes again from a keyframe.
func TestWHIPReconnects(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, FPS: 25, GOP: 12, Duration: 3 * time.Second, NoBFrames: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	s := startWHIPServer(t, ln)
	clock := newFakeClock()
	w := &WHIP{URL: "http://" + whipKey + "@" + addr + "/whip", Video: c.file.Video, Logger: testLogger(t),
		Clock: clock, LostAfter: time.Second, Reconnect: &ReconnectPolicy{Rand: func() float64 { return 0.5 }}}
	require.NoError(t, w.Initialize())
	defer w.Close()
	video := videoOnly(c.file.Packets)
	third := len(video) / 3
	feed(w, video[:third], true, 0)
	require.Eventually(t, func() bool { n, _ := s.sink.frames(); return n == third }, 10*time.Second, 20*time.Millisecond)

	s.close()
	require.Eventually(t, func() bool { return w.Stats().State == StateReconnecting }, 15*time.Second, 10*time.Millisecond,
		"a server gone must be noticed")
	require.ErrorIs(t, w.Stats().LastError, ErrConnectionLost)
	require.Eventually(t, func() bool { return clock.Waiters() == 1 }, 5*time.Second, time.Millisecond)
	require.Equal(t, clock.Now().Add(2*time.Second), w.Stats().NextAttempt, "first wait is 2 s")
	clock.Advance(2 * time.Second) // the server is still down
	require.Eventually(t, func() bool { return w.Stats().Attempts == 1 && clock.Waiters() == 1 }, 15*time.Second, time.Millisecond)
	require.ErrorIs(t, w.Stats().LastError, ErrUnreachable)

	feed(w, video[third:2*third], true, 0) // kept while away
	ln, err = net.Listen("tcp", addr)
	require.NoError(t, err)
	s = startWHIPServer(t, ln)
	w.ReconnectNow()
	require.Eventually(t, func() bool { return w.Stats().State == StateLive }, 15*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, w.Stats().Reconnects)
	feed(w, video[2*third:], true, 0)
	require.Eventually(t, func() bool { n, _ := s.sink.frames(); return n >= len(video)-2*third }, 10*time.Second, 20*time.Millisecond)
	_, key := s.sink.frames()
	require.True(t, key, "the new session starts at a keyframe")
	w.Close()
	require.Equal(t, StateClosed, w.Stats().State)
}
