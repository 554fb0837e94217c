package app

import (
	"encoding/json"
	"image"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
	"github.com/stretchr/testify/require"

	"golive/broadcast"
	"golive/media"
	"golive/server/ingest"
	"golive/server/ladder"
	"golive/studio"
)

// eventually polls cond on the test goroutine until it holds.
func eventually(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestGoLiveAgainstBundledServer taps Go Live in the window (Fyne's test
// driver) with the real pipeline streaming to the bundled server in
// process: Connecting → Live, the server sees the stream, tap again →
// Offline.
func TestGoLiveAgainstBundledServer(t *testing.T) {
	a := test.NewTempApp(t)
	var images atomic.Int64
	// The preferred RTMP port is taken: the studio moves to a free one.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	secrets := &studio.MemorySecrets{}
	r, err := Start(&studio.Studio{Secrets: secrets, RTMPAddr: busy.Addr().String(), HTTPAddr: "127.0.0.1:0",
		NewServer: studio.BundledServer([]ladder.Spec{}, t.TempDir()), OnImage: func(img *image.RGBA) {
			if img.Bounds().Dx() > 100 {
				images.Add(1)
			}
		},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, Options{App: a, Refresh: -1})
	require.NoError(t, err)
	defer r.Close()
	ctl := r.Studio
	key, err := secrets.Get("server")
	require.NoError(t, err)
	require.Equal(t, ctl.StreamKey(), key, "the stream key is in the keychain")
	require.Empty(t, a.Preferences().String("golive.server.key"), "not in the app's preferences")
	dests := ctl.Destinations()
	require.Len(t, dests, 1)
	require.True(t, dests[0].Kind == studio.DestBundled && dests[0].Enabled)
	require.NotContains(t, dests[0].URL, busy.Addr().String(), "moved off the busy port")
	btn := r.UI.GoLiveButton()
	require.Equal(t, "Go Live", btn.Text)

	// The preview runs while offline.
	eventually(t, "a preview image", 20*time.Second, func() bool { return images.Load() > 0 })

	// A second, custom destination: multistream to another RTMP server.
	sink := &countSink{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	other := &ingest.Server{Listener: ln, StreamKey: "otherkey", Sink: sink, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	require.NoError(t, other.Initialize())
	defer other.Close()
	require.NoError(t, ctl.SaveDestination(studio.Destination{Kind: "custom", Name: "Other", URL: "rtmp://" + ln.Addr().String() + "/live", Key: "otherkey", Enabled: true}))
	r.UI.Reload()
	require.Len(t, ctl.Destinations(), 2)

	test.Tap(btn)
	first := ctl.Status().State
	require.Contains(t, []broadcast.State{broadcast.StateConnecting, broadcast.StateLive}, first)
	if first == broadcast.StateConnecting {
		require.True(t, strings.HasPrefix(btn.Text, "Connecting"), btn.Text)
	}
	eventually(t, "live", 30*time.Second, func() bool { return ctl.Status().State == broadcast.StateLive })
	r.UI.Reload()
	require.Equal(t, "End stream", btn.Text)

	// The bundled server says it is live.
	u, err := url.Parse(ctl.ViewerURL())
	require.NoError(t, err)
	status := "http://127.0.0.1:" + u.Port() + "/api/status"
	eventually(t, "server live", 20*time.Second, func() bool {
		resp, err := http.Get(status)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		var s struct {
			Live bool `json:"live"`
		}
		return json.NewDecoder(resp.Body).Decode(&s) == nil && s.Live
	})
	eventually(t, "packets at the second destination", 20*time.Second, func() bool { return sink.packets.Load() > 10 })
	st := ctl.Status()
	require.NotEmpty(t, st.Encoder)
	require.Len(t, st.Destinations, 2)
	for _, d := range st.Destinations {
		require.NotContains(t, d.URL, r.Studio.StreamKey())
		require.NotContains(t, d.URL, "otherkey")
	}

	test.Tap(btn)
	require.Equal(t, broadcast.StateOffline, ctl.Status().State)
	require.Equal(t, "Go Live", btn.Text)
	require.Empty(t, ctl.Status().LastError)
}

// countSink counts the packets an ingest receives.
type countSink struct{ packets atomic.Int64 }

func (s *countSink) StartStream(_, _ *media.CodecParams) error { return nil }
func (s *countSink) WritePacket(*media.Packet)                 { s.packets.Add(1) }
func (s *countSink) StopStream()                               {}
