package peers

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// startEcho is a TCP server on 127.0.0.1 that sends back whatever it
// receives.
func startEcho(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Add(1)
			go func() { defer wg.Done(); _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

func dialProxy(t *testing.T, p *Proxy) net.Conn {
	c, err := net.DialTimeout("tcp", p.Addr(), 5*time.Second)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// roundTrip writes data through c from another goroutine and reads its
// echo back, failing after timeout; it returns how long that took.
func roundTrip(t *testing.T, c net.Conn, data []byte, timeout time.Duration) time.Duration {
	start := time.Now()
	require.NoError(t, c.SetDeadline(start.Add(timeout)))
	werr := make(chan error, 1)
	go func() { _, err := c.Write(data); werr <- err }()
	got := make([]byte, len(data))
	_, err := io.ReadFull(c, got)
	took := time.Since(start)
	require.NoError(t, err, "echo of %d bytes through the proxy not back within %v", len(data), timeout)
	require.NoError(t, <-werr)
	require.True(t, bytes.Equal(data, got), "the proxy changed the bytes")
	require.NoError(t, c.SetDeadline(time.Time{}))
	return took
}

func randomBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return b
}

// TestProxyRate: at 800 kbit/s, 100 kB take at least their share of
// time (a lower bound only, which a loaded machine cannot break); lifting
// the limit lets 4 MB through in far less than the 40 s they would take
// at that rate.
func TestProxyRate(t *testing.T) {
	const rate = 800_000
	p := StartProxy(t, startEcho(t), ProxyOptions{Rate: rate})
	c := dialProxy(t, p)

	const n = 100_000
	took := roundTrip(t, c, randomBytes(t, n), 30*time.Second)
	share := time.Duration(float64(n*8) / rate * float64(time.Second)) // 1 s
	require.GreaterOrEqual(t, took, share*8/10, "the rate limit let %d bytes through too fast", n)
	// The echo may come back before the proxy counts what it wrote.
	require.Eventually(t, func() bool { return p.Bytes() == n }, 10*time.Second, time.Millisecond,
		"the proxy did not count the %d bytes it carried", n)
	t.Logf("%d bytes at %d bit/s took %v (share %v), carried %d bit/s", n, rate, took, share, p.Carried())
	require.LessOrEqual(t, p.Carried(), rate*5/4)

	p.SetRate(0)
	const big = 4 << 20
	took = roundTrip(t, c, randomBytes(t, big), 20*time.Second)
	t.Logf("%d bytes unlimited took %v", big, took)
	require.Eventually(t, func() bool { return p.Bytes() == n+big }, 10*time.Second, time.Millisecond,
		"the proxy did not count the %d bytes it carried", n+big)
}

// TestProxyStall: a stalled connection stops carrying client bytes (a
// large write cannot complete) while a connection made afterwards works,
// and Close ends the stalled one.
func TestProxyStall(t *testing.T) {
	p := StartProxy(t, startEcho(t), ProxyOptions{})
	stalled := dialProxy(t, p)
	roundTrip(t, stalled, []byte("before"), 10*time.Second)

	p.Stall()
	require.NoError(t, stalled.(*net.TCPConn).SetWriteBuffer(64<<10)) // no autotuning up to tcp_wmem's 4 MB
	require.NoError(t, stalled.SetWriteDeadline(time.Now().Add(time.Second)))
	const n = 8 << 20 // far more than the socket buffers of both sides hold
	wrote, err := stalled.Write(make([]byte, n))
	require.ErrorIs(t, err, os.ErrDeadlineExceeded, "a write of %d bytes completed through a stalled proxy", n)
	require.Less(t, wrote, n)
	t.Logf("stalled after %d of %d bytes written, %d carried", wrote, n, p.Bytes())
	require.Less(t, p.Bytes(), int64(6+unlimitedChunk+1), "the stalled connection kept carrying bytes")

	fresh := dialProxy(t, p)
	roundTrip(t, fresh, []byte("after the stall"), 10*time.Second)

	p.Close()
	require.NoError(t, stalled.SetReadDeadline(time.Now().Add(10*time.Second)))
	_, err = io.ReadAll(stalled)
	require.False(t, errors.Is(err, os.ErrDeadlineExceeded), "Close left the stalled connection open")
	p.Close() // idempotent
}

// TestProxyStallAfter: every connection carries StallAfter bytes, then
// nothing more, either way.
func TestProxyStallAfter(t *testing.T) {
	p := StartProxy(t, startEcho(t), ProxyOptions{StallAfter: 2000})
	for i := range 2 {
		c := dialProxy(t, p)
		roundTrip(t, c, randomBytes(t, 1000), 10*time.Second)
		require.NoError(t, c.SetWriteDeadline(time.Now().Add(time.Second)))
		const n = 8 << 20
		_, err := c.Write(make([]byte, n))
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "connection %d went on after StallAfter", i)
		require.Equal(t, int64(2000*(i+1)), p.Bytes())
		require.NoError(t, c.SetReadDeadline(time.Now().Add(500*time.Millisecond)))
		_, err = io.ReadFull(c, make([]byte, 1000))
		require.ErrorIs(t, err, os.ErrDeadlineExceeded, "the echo of what went through after the stall came back")
	}
	require.Equal(t, 2, p.Connections())
}
