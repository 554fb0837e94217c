package chat

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

// rawWSConn is a WebSocket client written by hand on a TCP connection: it does
// the upgrade and sends frames, and never answers a ping unless the test reads
// and answers. It stands for a viewer whose network vanished.
type rawWSConn struct {
	conn net.Conn
	br   *bufio.Reader
}

func dialRawWS(t *testing.T, e *testEnv) *rawWSConn {
	t.Helper()
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	conn, err := net.DialTimeout("tcp", addr, waitTimeout)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(waitTimeout)))
	_, err = io.WriteString(conn, "GET /chat/ws HTTP/1.1\r\nHost: "+addr+"\r\nUpgrade: websocket\r\n"+
		"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	return &rawWSConn{conn: conn, br: br}
}

// sendText writes one masked text frame (payload < 126 bytes).
func (r *rawWSConn) sendText(t *testing.T, payload string) {
	t.Helper()
	require.Less(t, len(payload), 126)
	mask := [4]byte{1, 2, 3, 4}
	frame := []byte{0x81, 0x80 | byte(len(payload)), mask[0], mask[1], mask[2], mask[3]}
	for i := 0; i < len(payload); i++ {
		frame = append(frame, payload[i]^mask[i%4])
	}
	_, err := r.conn.Write(frame)
	require.NoError(t, err)
}

// readUntilClose reads server frames (unmasked) until a close frame and returns
// its status code and reason, and how many pings came before it.
func (r *rawWSConn) readUntilClose(t *testing.T) (websocket.StatusCode, string, int) {
	t.Helper()
	pings := 0
	for {
		var hdr [2]byte
		_, err := io.ReadFull(r.br, hdr[:])
		require.NoError(t, err, "reading frames until the close frame")
		n := int(hdr[1] & 0x7f)
		switch n {
		case 126:
			var ext [2]byte
			_, err = io.ReadFull(r.br, ext[:])
			n = int(binary.BigEndian.Uint16(ext[:]))
		case 127:
			var ext [8]byte
			_, err = io.ReadFull(r.br, ext[:])
			n = int(binary.BigEndian.Uint64(ext[:]))
		}
		require.NoError(t, err)
		payload := make([]byte, n)
		_, err = io.ReadFull(r.br, payload)
		require.NoError(t, err)
		switch hdr[0] & 0x0f {
		case 0x9:
			pings++
		case 0x8:
			require.GreaterOrEqual(t, len(payload), 2, "close frame without a status")
			return websocket.StatusCode(binary.BigEndian.Uint16(payload)), string(payload[2:]), pings
		}
	}
}

// closeError reads until c's connection ends and returns its close frame.
func (c *rawClient) closeError() websocket.CloseError {
	c.t.Helper()
	for {
		if _, err := c.readRaw(); err != nil {
			var ce websocket.CloseError
			require.True(c.t, errors.As(err, &ce), "connection ended without a close frame: %v", err)
			return ce
		}
	}
}

func TestHubDropsViewerThatStopsAnsweringPings(t *testing.T) {
	e := newEnv(t, func(h *Hub) {
		h.PingInterval = 50 * time.Millisecond
		h.PingTimeout = time.Second // generous: the live viewer must pong in time under -race
	})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()

	// A live viewer: the Go client reads all the time, so it answers pings.
	alive := &Client{URL: e.url, Name: "alive", PingInterval: time.Hour}
	require.NoError(t, alive.Dial(ctx))
	defer alive.Close()

	gone := dialRawWS(t, e)
	gone.sendText(t, `{"type":"hello","name":"gone"}`)
	require.Eventually(t, func() bool { return e.hub.Stats().Viewers == 2 }, waitTimeout, 5*time.Millisecond)

	// The hand-made client never answers; the hub drops it after PingTimeout.
	require.Eventually(t, func() bool { return e.hub.Stats().Viewers == 1 }, waitTimeout, 5*time.Millisecond,
		"a viewer that answers no ping must stop counting")
	st := e.hub.Stats()
	require.Equal(t, uint64(1), st.PingTimeouts)
	require.Equal(t, 0, st.Moderators)

	code, reason, pings := gone.readUntilClose(t)
	require.Equal(t, websocket.StatusPolicyViolation, code)
	require.Equal(t, "ping timeout", reason)
	require.GreaterOrEqual(t, pings, 1)

	// The live viewer is unaffected: it sees the new count and new messages.
	waitClientEvent(t, ctx, alive, func(m ServerMessage) bool { return m.Type == TypeViewers && m.Count == 1 })
	require.NoError(t, e.hub.Post("creator", "still live"))
	waitClientEvent(t, ctx, alive, isText("still live"))
	require.NoError(t, alive.Err())
	require.Equal(t, uint64(1), e.hub.Stats().PingTimeouts, "the live viewer was never timed out")
}

// waitClientEvent reads c's events until one matches.
func waitClientEvent(t *testing.T, ctx context.Context, c *Client, match func(ServerMessage) bool) ServerMessage {
	t.Helper()
	for {
		select {
		case m, ok := <-c.Events():
			require.True(t, ok, "connection ended: %v", c.Err())
			if match(m) {
				return m
			}
		case <-ctx.Done():
			t.Fatal("timed out waiting for an event")
		}
	}
}

func TestHubHelloTimeoutAppliesUntilValidHello(t *testing.T) {
	const helloTimeout = time.Second
	e := newEnv(t, func(h *Hub) { h.HelloTimeout = helloTimeout })
	joined, _ := e.join(t, "", `{"type":"hello","name":"joined"}`)

	cases := []struct {
		name   string
		frames []string
	}{
		{"silent", nil},
		{"only other frames", []string{`{"type":"message","text":"no hello"}`, `{"type":"reaction","emoji":"🔥"}`}},
		{"invalid hello", []string{`{"type":"hello","name":"` + strings.Repeat("n", 40) + `"}`, `not json`}},
	}
	type result struct {
		ce      websocket.CloseError
		elapsed time.Duration
	}
	results := make([]result, len(cases))
	var wg sync.WaitGroup
	for i, tc := range cases {
		c := e.dial(t, "")
		start := time.Now()
		for _, f := range tc.frames {
			c.send(f)
			require.Equal(t, TypeError, c.next().Type, "%s: %s answered with an error frame", tc.name, f)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = result{c.closeError(), time.Since(start)}
		}()
	}
	wg.Wait()
	for i, tc := range cases {
		require.Equal(t, websocket.StatusPolicyViolation, results[i].ce.Code, tc.name)
		require.Equal(t, "hello timeout", results[i].ce.Reason, tc.name)
		require.Greater(t, results[i].elapsed, helloTimeout/2, "%s closed before its hello timeout", tc.name)
	}
	st := e.hub.Stats()
	require.Equal(t, uint64(len(cases)), st.HelloTimeouts)
	require.Equal(t, 1, st.Viewers)

	// The connection that said hello stays, though it has been idle past the timeout.
	require.NoError(t, e.hub.Post("creator", "you stay"))
	joined.waitFor(isText("you stay"))
}

// blackholeProxy forwards TCP between clients and a server until cut (both
// sockets closed, no close frame) or frozen (bytes both ways are read and
// dropped while the sockets stay open, as when a server's network vanishes).
type blackholeProxy struct {
	ln     net.Listener
	target string
	frozen atomic.Bool
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
}

func newBlackholeProxy(t *testing.T, target string) *blackholeProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &blackholeProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.cut)
	return p
}

func (p *blackholeProxy) accept() {
	defer p.wg.Done()
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = in.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		p.wg.Add(2)
		go p.pipe(in, out)
		go p.pipe(out, in)
	}
}

func (p *blackholeProxy) pipe(dst, src net.Conn) {
	defer p.wg.Done()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !p.frozen.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// cut closes the listener and every connection abruptly and waits for the pipes.
func (p *blackholeProxy) cut() {
	_ = p.ln.Close()
	p.mu.Lock()
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func TestClientNoticesDeadServer(t *testing.T) {
	cases := []struct {
		name     string
		kill     func(p *blackholeProxy)
		pingOnly bool // only the keepalive can notice this death
	}{
		{"network vanished", func(p *blackholeProxy) { p.frozen.Store(true) }, true},
		{"connection cut without close frame", (*blackholeProxy).cut, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil)
			p := newBlackholeProxy(t, strings.TrimPrefix(e.srv.URL, "http://"))
			ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
			defer cancel()
			c := &Client{URL: "ws://" + p.ln.Addr().String() + "/chat/ws", Name: "app", Token: testToken,
				PingInterval: 50 * time.Millisecond, PingTimeout: 500 * time.Millisecond}
			require.NoError(t, c.Dial(ctx))
			defer c.Close()
			require.NoError(t, e.hub.Post("creator", "live"))
			waitClientEvent(t, ctx, c, isText("live"))
			time.Sleep(200 * time.Millisecond) // not synchronisation: lets several pings succeed first
			require.NoError(t, c.Err(), "pings answered while the server is alive")

			tc.kill(p)
			for {
				select {
				case _, ok := <-c.Events():
					if ok {
						continue
					}
				case <-ctx.Done():
					t.Fatal("Events never closed after the server died")
				}
				break
			}
			require.Error(t, c.Err())
			if tc.pingOnly {
				require.ErrorIs(t, c.Err(), ErrPingTimeout)
			}
			require.NoError(t, c.Close())
			require.NoError(t, c.Close(), "idempotent")
		})
	}
}
