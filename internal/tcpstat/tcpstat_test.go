package tcpstat

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// pair returns a loopback TCP connection and the server's end of it.
func pair(t *testing.T, rcvbuf int) (client *net.TCPConn, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	if rcvbuf > 0 {
		// The listening socket's buffer is inherited by what it accepts,
		// before the window is advertised.
		rc, err := ln.(*net.TCPListener).SyscallConn()
		require.NoError(t, err)
		require.NoError(t, rc.Control(func(fd uintptr) { setRcvbuf(fd, rcvbuf) }))
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	require.NoError(t, err)
	s, err := ln.Accept()
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close(); _ = s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// TestReadAcked: what a reading peer took is acknowledged, nothing waits.
func TestReadAcked(t *testing.T) {
	defer goleak.VerifyNone(t)
	if !Supported() {
		_, err := Read(&net.TCPConn{}, 0)
		require.ErrorIs(t, err, ErrUnsupported)
		t.Skip("no kernel send-queue report on this system")
	}
	c, s := pair(t, 0)
	got := make(chan int64)
	go func() { n, _ := io.Copy(io.Discard, s); got <- n }() // ends when c closes
	data := make([]byte, 300<<10)
	n, err := c.Write(data)
	require.NoError(t, err)
	var smp Sample
	require.Eventually(t, func() bool {
		smp, err = Read(c, int64(n))
		return err == nil && smp.Acked == int64(n) && smp.Queued == 0 && smp.Unsent <= 0
	}, 5*time.Second, time.Millisecond, "%+v %v", smp, err)
	require.NoError(t, c.Close())
	require.Equal(t, int64(n), <-got)
}

// TestReadStalled: a peer that stops reading stops acknowledging once its
// receive buffer is full; what was written waits in the socket, and with
// LimitUnsent little of it is unsent.
func TestReadStalled(t *testing.T) {
	defer goleak.VerifyNone(t)
	if !Supported() {
		require.ErrorIs(t, LimitUnsent(&net.TCPConn{}, 1), ErrUnsupported)
		t.Skip("no kernel send-queue report on this system")
	}
	c, _ := pair(t, 16<<10)
	const lowat = 16 << 10
	require.NoError(t, LimitUnsent(c, lowat))
	var written int64
	chunk := make([]byte, 4<<10)
	for {
		require.NoError(t, c.SetWriteDeadline(time.Now().Add(200*time.Millisecond)))
		n, err := c.Write(chunk)
		written += int64(n)
		if err != nil {
			require.True(t, errors.Is(err, errTimeout()), "%v", err)
			break
		}
		require.Less(t, written, int64(64<<20), "writes never blocked")
	}
	smp, err := Read(c, written)
	require.NoError(t, err)
	t.Logf("written %d, sample %+v", written, smp)
	require.Positive(t, smp.Queued)
	require.Equal(t, written, smp.Acked+smp.Queued, "every byte written is acknowledged or queued")
	require.Less(t, smp.Acked, written, "the peer took less than was written")
	if smp.Unsent >= 0 {
		require.LessOrEqual(t, smp.Unsent, int64(lowat+len(chunk)), "TCP_NOTSENT_LOWAT bounds the unsent bytes")
	}
	// Nothing moves while the peer does not read.
	again, err := Read(c, written)
	require.NoError(t, err)
	require.Equal(t, smp.Acked, again.Acked)
}
