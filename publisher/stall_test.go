package publisher

import (
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rtmp "github.com/yutopp/go-rtmp"

	"golive/internal/peers"
)

// stallProxy forwards to upstream; Stall makes every current connection
// stop reading from the client (the server "hangs" with the socket open).
type stallProxy struct {
	ln      net.Listener
	mu      sync.Mutex
	conns   []net.Conn
	stalled chan struct{} // closed by Stall for the connections of the moment
	done    chan struct{} // closed at cleanup
	wg      sync.WaitGroup
}

func newStallProxy(t *testing.T, upstream string) *stallProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &stallProxy{ln: ln, stalled: make(chan struct{}), done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			_ = c.(*net.TCPConn).SetReadBuffer(32 << 10) // smaller windows stall on zero-window probes
			up, err := net.Dial("tcp", upstream)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			stall := p.stalled
			p.mu.Unlock()
			p.wg.Add(2)
			go func() { defer p.wg.Done(); _, _ = io.Copy(c, up); c.Close() }()
			go func() {
				defer p.wg.Done()
				defer up.Close()
				buf := make([]byte, 4096)
				for {
					select {
					case <-stall:
						<-p.done // hang with the socket open until cleanup
						return
					default:
					}
					n, err := c.Read(buf)
					if n > 0 {
						if _, err := up.Write(buf[:n]); err != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		close(p.done)
		p.mu.Lock()
		for _, c := range p.conns {
			_ = c.Close()
		}
		p.mu.Unlock()
		p.wg.Wait()
	})
	return p
}

// Stall stops the current connections from reading; new ones work.
func (p *stallProxy) Stall() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.stalled)
	p.stalled = make(chan struct{})
}

// TestStallThenReconnect: the server stops reading while live; the
// publisher notices through WriteTimeout, goes to reconnecting with the
// reason, and comes back on a fresh connection.
func TestStallThenReconnect(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 320, Height: 240, FPS: 25, Duration: 4 * time.Second, Bitrate: "800k"})
	upstream, stop := startGoRTMPServer(t, func() rtmp.Handler { return &rtmp.DefaultHandler{} })
	defer stop()
	p := newStallProxy(t, upstream)
	clock := newFakeClock()
	r := newRTMP(t, "rtmp://"+p.ln.Addr().String()+"/live/stall", c)
	r.Clock = clock
	r.WriteTimeout = time.Second
	r.SendBuffer = 16 << 10
	r.QueueDuration = time.Minute
	r.Reconnect = &ReconnectPolicy{Buffer: time.Minute}
	require.NoError(t, r.Initialize())
	defer r.Close()

	half := len(c.file.Packets) / 2
	feed(r, c.file.Packets[:10], false, 0)
	require.Eventually(t, func() bool { return r.Stats().PacketsSent == 10 }, 5*time.Second, time.Millisecond)
	p.Stall()
	feed(r, c.file.Packets[10:half], false, 0) // far more than the socket buffers hold
	require.Eventually(t, func() bool { return r.Stats().State == StateReconnecting }, 10*time.Second, 5*time.Millisecond,
		"a server that stops reading must be noticed: %+v", r.Stats())
	st := r.Stats()
	require.ErrorIs(t, st.LastError, ErrConnectionLost)
	require.Contains(t, st.LastError.Error(), "timeout")
	t.Log("reason:", st.LastError)

	require.Eventually(t, func() bool { return clock.Waiters() == 1 }, 5*time.Second, time.Millisecond)
	clock.Advance(time.Minute)
	require.Eventually(t, func() bool { return r.Stats().State == StateLive }, 10*time.Second, 5*time.Millisecond)
	t.Logf("live again: %+v", r.Stats())
	feed(r, c.file.Packets[half:], false, 0)
	t.Logf("fed: %+v", r.Stats())
	r.Close()
	st = r.Stats()
	require.Equal(t, 1, st.Reconnects)
	require.NoError(t, r.Err())
	t.Logf("after: sent %d packets, dropped %d video %d audio", st.PacketsSent, st.DroppedVideo, st.DroppedAudio)
	require.Greater(t, st.PacketsSent, int64(len(c.file.Packets)-half))
}
