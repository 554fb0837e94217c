package publisher

import (
	"io"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rtmp "github.com/yutopp/go-rtmp"

	"golive/internal/peers"
)

// stallHandler accepts the publish, then stops reading at the first video
// message until release is closed: the TCP window fills up.
type stallHandler struct {
	rtmp.DefaultHandler
	release chan struct{}
}

func (h *stallHandler) OnVideo(uint32, io.Reader) error {
	<-h.release
	return io.EOF
}

// TestMultiOneDeadDestination streams to nginx, ffmpeg -listen, a refused
// address and a server that stalls: the first two receive complete
// streams; the stalled one loses its connection without holding up the
// others.
func TestMultiOneDeadDestination(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 320, Height: 240, FPS: 25, Duration: 3 * time.Second})
	n := peers.StartNginxRTMP(t)
	l := peers.StartFFmpegListen(t, filepath.Join(t.TempDir(), "out.flv"))
	refused := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		return "rtmp://" + ln.Addr().String() + "/live/x"
	}()
	release := make(chan struct{})
	stalled, stop := startGoRTMPServer(t, func() rtmp.Handler { return &stallHandler{release: release} }, 4096)
	defer stop()
	defer close(release)

	m := &Multi{}
	for _, u := range []string{n.URL("multi"), l.URL(), refused, "rtmp://" + stalled + "/live/x"} {
		r := newRTMP(t, u, c)
		r.WriteTimeout = 500 * time.Millisecond
		r.SendBuffer = 16 << 10
		m.Destinations = append(m.Destinations, r)
	}
	require.NoError(t, m.Initialize())
	errs := m.Errors()
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.ErrorIs(t, errs[2], ErrUnreachable)
	require.NoError(t, errs[3])

	start := time.Now()
	feed(m, c.file.Packets, true, 0)
	require.Less(t, time.Since(start), c.src.Duration+time.Second, "feeding was held up")
	// The stalled destination's socket buffers are small next to 3 s of
	// video; its writes time out.
	m.Close()
	n.WaitUnpublished("multi", 10*time.Second)
	l.Wait(20 * time.Second)
	checkReceived(t, n.RecordPath("multi"), c)
	checkReceived(t, l.Output(), c)
	st := m.Stats()
	require.Equal(t, StateClosed, st[0].State)
	require.Zero(t, st[0].DroppedVideo)
	require.Zero(t, st[1].DroppedVideo)
	require.Equal(t, StateFailed, st[2].State)
	t.Logf("stalled destination: %+v", st[3])
	require.Equal(t, StateFailed, st[3].State, "the stalled destination must give up its connection")
	require.ErrorIs(t, st[3].LastError, ErrConnectionLost)
	<-m.Done()
}
