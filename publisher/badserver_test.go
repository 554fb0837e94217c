package publisher

import (
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rtmp "github.com/yutopp/go-rtmp"
	"go.uber.org/goleak"

	"golive/internal/peers"
)

// turncoat is a server whose first connection is proxied to a real RTMP
// server and whose later connections misbehave with behave. Kill breaks
// the proxied connection.
type turncoat struct {
	ln     net.Listener
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
	accept int
}

func newTurncoat(t *testing.T, upstream string, behave func(net.Conn)) *turncoat {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	tc := &turncoat{ln: ln}
	tc.wg.Add(1)
	go func() {
		defer tc.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			tc.mu.Lock()
			tc.conns = append(tc.conns, c)
			n := tc.accept
			tc.accept++
			tc.mu.Unlock()
			tc.wg.Add(1)
			go func() {
				defer tc.wg.Done()
				if n > 0 {
					behave(c)
					return
				}
				up, err := net.Dial("tcp", upstream)
				if err != nil {
					c.Close()
					return
				}
				tc.mu.Lock()
				tc.conns = append(tc.conns, up)
				tc.mu.Unlock()
				done := make(chan struct{})
				go func() { _, _ = io.Copy(up, c); up.Close(); close(done) }()
				_, _ = io.Copy(c, up)
				c.Close()
				<-done
			}()
		}
	}()
	return tc
}

func (tc *turncoat) URL() string { return "rtmp://" + tc.ln.Addr().String() + "/live/key" }

// Kill closes every open connection (the proxied one included).
func (tc *turncoat) Kill() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, c := range tc.conns {
		_ = c.Close()
	}
	tc.conns = nil
}

func (tc *turncoat) Close() {
	_ = tc.ln.Close()
	tc.Kill()
	tc.wg.Wait()
}

// TestBadServerWhileReconnecting: live on a good server, then the server
// turns silent, speaks garbage, hangs up during the handshake or answers
// connect with a message go-amf0 cannot survive. The publisher ends in
// reconnecting with a clear reason, keeps its memory bounded, and leaks
// no goroutine once closed.
func TestBadServerWhileReconnecting(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 160, Height: 120, FPS: 25, GOP: 25, Duration: 8 * time.Second})
	cases := []struct {
		name   string
		behave func(net.Conn)
		want   error
		text   string
	}{
		{"silent after accept", func(c net.Conn) { _, _ = io.Copy(io.Discard, c) }, ErrTimeout, "handshake"},
		{"garbage", func(c net.Conn) {
			_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
			_, _ = io.Copy(io.Discard, c)
		}, ErrProtocol, "'S'"},
		{"close during handshake", func(c net.Conn) {
			_, _ = io.ReadFull(c, make([]byte, 200))
			_ = c.Close()
		}, ErrRefused, "closed the connection"},
		{"unsafe reply to connect", answerConnectWith(unsafeReplies[0].typ, unsafeReplies[0].body), ErrProtocol, "unsafe RTMP message"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			upstream, stopUpstream := startGoRTMPServer(t, func() rtmp.Handler { return &rtmp.DefaultHandler{} })
			defer stopUpstream()
			srv := newTurncoat(t, upstream, tc.behave)
			defer srv.Close()

			clock := newFakeClock()
			r := newRTMP(t, srv.URL(), c)
			r.Clock = clock
			r.ConnectTimeout = 500 * time.Millisecond
			r.Reconnect = &ReconnectPolicy{Buffer: 2 * time.Second}
			require.NoError(t, r.Initialize())
			defer r.Close()
			feed(r, c.file.Packets[:20], false, 0)
			require.Eventually(t, func() bool { return r.Stats().PacketsSent == 20 }, 5*time.Second, time.Millisecond)

			srv.Kill()
			require.Eventually(t, func() bool { return r.Stats().State == StateReconnecting }, 5*time.Second, time.Millisecond)
			// Media keeps coming while away: the queue stays bounded.
			feed(r, c.file.Packets[20:], false, 0)
			st := r.Stats()
			require.LessOrEqual(t, st.QueueDelay, 2*time.Second)
			require.Positive(t, st.DroppedVideo)

			for attempt := 1; attempt <= 2; attempt++ {
				require.Eventually(t, func() bool { return clock.Waiters() == 1 }, 5*time.Second, time.Millisecond)
				clock.Advance(time.Minute)
				require.Eventually(t, func() bool { return r.Stats().Attempts == attempt }, 5*time.Second, time.Millisecond)
			}
			st = r.Stats()
			require.Equal(t, StateReconnecting, st.State)
			require.ErrorIs(t, st.LastError, tc.want)
			require.Contains(t, st.LastError.Error(), tc.text)
			require.False(t, strings.Contains(st.LastError.Error(), "/key"), "stream key in the reason")
			t.Log("reason:", st.LastError)
			r.Close()
			require.Equal(t, StateClosed, r.Stats().State)
		})
	}
}
