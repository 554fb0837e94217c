package publisher

import (
	"context"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"golive/internal/peers"
)

// silentAfter returns a server behaviour that optionally completes the
// RTMP handshake, then says nothing; hung gets how many bytes followed
// once the client's socket closes (EOF or error on read).
func silentAfter(handshake bool, hung chan<- int64) func(net.Conn) {
	return func(c net.Conn) {
		var n int64
		defer func() { hung <- n }()
		if handshake {
			if _, err := io.ReadFull(c, make([]byte, 1537)); err != nil { // C0+C1
				return
			}
			s := make([]byte, 1+1536+1536) // S0 S1 S2
			s[0] = 3
			if _, err := c.Write(s); err != nil {
				return
			}
		}
		n, _ = io.Copy(io.Discard, c)
	}
}

// TestInitializeContextCancel cancels Initialize while the server says
// nothing (during the handshake, and during the connect/publish exchange
// after a completed handshake), for one RTMP and for a Multi: it returns
// at once with context.Canceled, the socket is closed and no goroutine is
// left.
func TestInitializeContextCancel(t *testing.T) {
	c := makeClip(t, peers.TestSource{Duration: 200 * time.Millisecond, NoAudio: true})
	cases := []struct {
		name      string
		handshake bool
		multi     bool
	}{
		{"silent during handshake", false, false},
		{"silent after handshake", true, false},
		{"multi, both silent", false, true},
		{"multi, silent after handshake", true, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
			n := 1
			if tc.multi {
				n = 2
			}
			hung := make(chan int64, n)
			var urls []string
			for range n {
				addr, stop := badServer(t, silentAfter(tc.handshake, hung))
				defer stop()
				urls = append(urls, "rtmp://"+addr+"/live/key")
			}
			var dests []*RTMP
			for _, u := range urls {
				r := newRTMP(t, u, c)
				r.ConnectTimeout = 10 * time.Second
				r.Reconnect = DefaultReconnect() // a cancelled attempt must not retry
				dests = append(dests, r)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			timer := time.AfterFunc(100*time.Millisecond, cancel)
			defer timer.Stop()

			start := time.Now()
			var err error
			if tc.multi {
				m := &Multi{}
				for _, d := range dests {
					m.Destinations = append(m.Destinations, d)
				}
				err = m.InitializeContext(ctx)
				defer m.Close()
				select {
				case <-m.Done():
				default:
					t.Fatal("Multi.Done not closed after a cancelled Initialize")
				}
			} else {
				err = dests[0].InitializeContext(ctx)
				defer dests[0].Close()
			}
			took := time.Since(start)
			t.Logf("returned after %v: %v", took, err)
			require.ErrorIs(t, err, context.Canceled)
			require.False(t, errors.Is(err, ErrTimeout), "a cancel is not a timeout")
			require.Less(t, took, time.Second, "Initialize must return at once when cancelled")
			for i, d := range dests {
				st := d.Stats()
				require.Equal(t, StateFailed, st.State, "destination %d", i)
				require.ErrorIs(t, st.LastError, context.Canceled)
				require.NotContains(t, st.LastError.Error(), "/key", "stream key in the error")
				select {
				case <-d.Done():
				default:
					t.Fatalf("destination %d: Done not closed", i)
				}
			}
			for i := range n {
				select {
				case got := <-hung:
					if tc.handshake {
						// C2 and then the connect command: the cancel
						// came while waiting for its answer.
						require.Greater(t, got, int64(1536), "server %d: the client did not get past the handshake", i)
					}
				case <-time.After(2 * time.Second):
					t.Fatalf("server %d: the client's socket was not closed", i)
				}
			}
		})
	}
}
