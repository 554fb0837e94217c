package studio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/broadcast"
	"golive/capture"
	"golive/chat"
	"golive/media"
)

// memStore is a Store in memory.
type memStore struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memStore) String(k string) string { s.mu.Lock(); defer s.mu.Unlock(); return s.m[k] }

func (s *memStore) SetString(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[k] = v
}

// fakeEngine is a Engine whose GoLive waits for the test.
type fakeEngine struct {
	onFrame func(*media.VideoFrame)
	release chan error // GoLive returns what is sent here

	mu    sync.Mutex
	dests []string
	live  chan struct{}
	err   error
}

func (e *fakeEngine) Initialize() error { return nil }

func (e *fakeEngine) GoLive(ctx context.Context, d []string) error {
	select {
	case err := <-e.release:
		if err != nil {
			return err
		}
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.dests, e.live = d, make(chan struct{})
	return nil
}

func (e *fakeEngine) StopLive() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live != nil {
		close(e.live)
		e.live = nil
	}
}

func (e *fakeEngine) LiveDone() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.live
}

func (e *fakeEngine) Err() error { e.mu.Lock(); defer e.mu.Unlock(); return e.err }

func (e *fakeEngine) Stats() broadcast.Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live != nil {
		return broadcast.Stats{State: broadcast.StateLive, TargetFPS: 30}
	}
	return broadcast.Stats{TargetFPS: 30}
}

func (e *fakeEngine) Close() { e.StopLive() }

// fakeServer serves the chat on HTTPAddr and pretends to take RTMP.
type fakeServer struct {
	cfg    ServerConfig
	busy   bool // Initialize fails with EADDRINUSE
	rtmp   net.Listener
	http   net.Listener
	srv    *http.Server
	served chan struct{}
}

func (f *fakeServer) Initialize() error {
	if f.busy {
		return fmt.Errorf("listen: %w", syscall.EADDRINUSE)
	}
	var err error
	if f.rtmp, err = net.Listen("tcp", f.cfg.RTMPAddr); err != nil {
		return err
	}
	if f.http, err = net.Listen("tcp", f.cfg.HTTPAddr); err != nil {
		f.rtmp.Close()
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/chat/ws", f.cfg.Chat)
	f.srv = &http.Server{Handler: mux}
	f.served = make(chan struct{})
	go func() { defer close(f.served); _ = f.srv.Serve(f.http) }()
	return nil
}

func (f *fakeServer) Close() { f.srv.Close(); <-f.served; f.rtmp.Close() }

func (f *fakeServer) RTMPAddress() net.Addr { return f.rtmp.Addr() }

func (f *fakeServer) HTTPAddress() net.Addr { return f.http.Addr() }

type harness struct {
	*Studio
	engine  *fakeEngine
	changes chan struct{}
	logs    *bytes.Buffer
}

// newStudio starts a Studio on a fake engine and, with server, a fake
// bundled server whose first attempt finds its ports busy; opts change the
// Studio before Initialize.
func newStudio(t *testing.T, store Store, server bool, opts ...func(*Studio)) *harness {
	t.Helper()
	h := &harness{engine: &fakeEngine{release: make(chan error, 1)}, changes: make(chan struct{}, 1), logs: &bytes.Buffer{}}
	var logMu sync.Mutex
	h.Studio = &Studio{
		Store:      store,
		Logger:     slog.New(slog.NewTextHandler(lockedWriter{&logMu, h.logs}, nil)),
		RTMPAddr:   "127.0.0.1:0",
		HTTPAddr:   "127.0.0.1:0",
		LANAddress: "192.0.2.7",
		NewEngine: func(cfg broadcast.Config, onFrame func(*media.VideoFrame), _ *slog.Logger) Engine {
			h.engine.onFrame = onFrame
			return h.engine
		},
		OnChange: func() {
			select {
			case h.changes <- struct{}{}:
			default:
			}
		},
		Watcher: &capture.Watcher{List: func() capture.Devices { return capture.Devices{} }},
	}
	if server {
		attempts := 0
		h.Studio.NewServer = func(cfg ServerConfig) Server {
			attempts++
			return &fakeServer{cfg: cfg, busy: attempts == 1}
		}
	}
	for _, o := range opts {
		o(h.Studio)
	}
	require.NoError(t, h.Initialize())
	t.Cleanup(h.Close)
	return h
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// waitFor polls cond after each change notification, up to a deadline.
func (h *harness) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-h.changes:
		case <-time.After(20 * time.Millisecond):
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func TestGoLiveStates(t *testing.T) {
	h := newStudio(t, nil, true)
	require.Equal(t, "http://192.0.2.7:"+portOf(h.server.HTTPAddress())+"/", h.ViewerURL())
	require.Equal(t, broadcast.StateOffline, h.Status().State)

	require.NoError(t, h.GoLive())
	require.ErrorIs(t, h.GoLive(), ErrBusy)
	require.Equal(t, broadcast.StateConnecting, h.Status().State)
	h.engine.release <- nil
	h.waitFor(t, "live", func() bool { return h.Status().State == broadcast.StateLive })
	h.engine.mu.Lock()
	require.Equal(t, []string{"rtmp://127.0.0.1:" + portOf(h.server.RTMPAddress()) + "/live/" + h.StreamKey()}, h.engine.dests)
	h.engine.mu.Unlock()
	h.StopLive()
	require.Equal(t, broadcast.StateOffline, h.Status().State)
	require.Empty(t, h.Status().LastError)
	require.Equal(t, -1.0, h.Status().AudioPeak, "the fake engine has no audio level")

	// A refused Go Live returns to offline with the reason.
	require.NoError(t, h.GoLive())
	h.engine.release <- errors.New("destination refused: bad key")
	h.waitFor(t, "error", func() bool { return h.Status().LastError != "" })
	require.Equal(t, broadcast.StateOffline, h.Status().State)
	require.Contains(t, h.Status().LastError, "bad key")

	// Stop while connecting cancels it.
	require.NoError(t, h.GoLive())
	h.StopLive()
	h.waitFor(t, "cancelled", func() bool { return h.Status().State == broadcast.StateOffline })

	// Nothing ticked.
	require.NoError(t, h.SetEnabled(DestBundled, false))
	require.ErrorIs(t, h.GoLive(), ErrNoDestination)
}

func portOf(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }

func TestPreviewImages(t *testing.T) {
	images := make(chan image.Rectangle, 4)
	h := &harness{engine: &fakeEngine{release: make(chan error, 1)}}
	h.Studio = &Studio{PreviewWidth: 320, PreviewHeight: 320,
		NewEngine: func(cfg broadcast.Config, onFrame func(*media.VideoFrame), _ *slog.Logger) Engine {
			h.engine.onFrame = onFrame
			return h.engine
		},
		OnImage: func(img *image.RGBA) {
			select {
			case images <- img.Bounds():
			default:
			}
		}}
	require.NoError(t, h.Initialize())
	defer h.Close()
	require.Empty(t, h.ViewerURL(), "no bundled server")
	require.ErrorIs(t, h.DeleteChat("x"), chat.ErrBadRequest, "moderation reaches the hub without a bundled server")
	h.engine.onFrame(media.NewVideoFrame(1280, 720))
	select {
	case b := <-images:
		require.Equal(t, image.Rect(0, 0, 320, 180), b)
	case <-time.After(10 * time.Second):
		t.Fatal("no preview image")
	}
}

// audioEngine is a fakeEngine that hands audio blocks to the studio.
type audioEngine struct {
	*fakeEngine
	onAudio func(*media.AudioFrame)
}

func (e *audioEngine) SetOnAudio(f func(*media.AudioFrame)) { e.onAudio = f }

func TestAudioLevel(t *testing.T) {
	e := &audioEngine{fakeEngine: &fakeEngine{release: make(chan error, 1)}}
	s := &Studio{NewEngine: func(broadcast.Config, func(*media.VideoFrame), *slog.Logger) Engine { return e }}
	require.NoError(t, s.Initialize())
	defer s.Close()
	require.NotNil(t, e.onAudio)
	block := &media.AudioFrame{SampleRate: 48000, Channels: 1, Samples: []int16{0, 8192, 0, -8192}}
	e.onAudio(block)
	require.InDelta(t, 0.25, s.Status().AudioPeak, 0.001)
}

// failingEngine fails Initialize for any source but the test pattern.
type failingEngine struct {
	*fakeEngine
	cfg broadcast.Config
}

func (e *failingEngine) Initialize() error {
	if e.cfg.Source != "test" {
		return errors.New("camera:3: no such device")
	}
	return nil
}

func TestCaptureFallback(t *testing.T) {
	store := &memStore{m: map[string]string{storeSettings: `{"source":"camera:3","width":640,"height":360}`}}
	var cfgs []broadcast.Config
	s := &Studio{Store: store, NewEngine: func(cfg broadcast.Config, _ func(*media.VideoFrame), _ *slog.Logger) Engine {
		cfgs = append(cfgs, cfg)
		return &failingEngine{fakeEngine: &fakeEngine{release: make(chan error, 1)}, cfg: cfg}
	}}
	require.NoError(t, s.Initialize())
	defer s.Close()
	require.Len(t, cfgs, 2)
	require.Equal(t, "camera:3", cfgs[0].Source)
	require.Equal(t, "test", cfgs[1].Source)
	require.Equal(t, 640, cfgs[1].Width, "the size is kept")
	require.Contains(t, s.Status().LastError, "no such device")
}
