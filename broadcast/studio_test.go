package broadcast

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/chat"
	"golive/media"
)

// studioMemStore is a StudioStore in memory.
type studioMemStore struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *studioMemStore) String(k string) string { s.mu.Lock(); defer s.mu.Unlock(); return s.m[k] }
func (s *studioMemStore) SetString(k, v string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	s.m[k] = v
}

// studioFakeEngine is a StudioEngine whose GoLive waits for the test.
type studioFakeEngine struct {
	onFrame func(*media.VideoFrame)
	release chan error // GoLive returns what is sent here

	mu    sync.Mutex
	dests []string
	live  chan struct{}
	err   error
}

func (e *studioFakeEngine) Initialize() error { return nil }
func (e *studioFakeEngine) GoLive(ctx context.Context, d []string) error {
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
func (e *studioFakeEngine) StopLive() {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live != nil {
		close(e.live)
		e.live = nil
	}
}
func (e *studioFakeEngine) LiveDone() <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.live
}
func (e *studioFakeEngine) Err() error { e.mu.Lock(); defer e.mu.Unlock(); return e.err }
func (e *studioFakeEngine) Stats() Stats {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.live != nil {
		return Stats{State: StateLive, TargetFPS: 30}
	}
	return Stats{TargetFPS: 30}
}
func (e *studioFakeEngine) Close() { e.StopLive() }

// studioFakeServer serves the chat on HTTPAddr and pretends to take RTMP.
type studioFakeServer struct {
	cfg    StudioServerConfig
	busy   bool // Initialize fails with EADDRINUSE
	rtmp   net.Listener
	http   net.Listener
	srv    *http.Server
	served chan struct{}
}

func (f *studioFakeServer) Initialize() error {
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
func (f *studioFakeServer) Close()             { f.srv.Close(); <-f.served; f.rtmp.Close() }
func (f *studioFakeServer) RTMPAddr() net.Addr { return f.rtmp.Addr() }
func (f *studioFakeServer) HTTPAddr() net.Addr { return f.http.Addr() }

type studioHarness struct {
	*Studio
	engine  *studioFakeEngine
	changes chan struct{}
	logs    *bytes.Buffer
}

// newStudio starts a Studio on a fake engine and, with server, a fake
// bundled server whose first attempt finds its ports busy.
func newStudio(t *testing.T, store StudioStore, server bool) *studioHarness {
	t.Helper()
	h := &studioHarness{engine: &studioFakeEngine{release: make(chan error, 1)}, changes: make(chan struct{}, 1), logs: &bytes.Buffer{}}
	var logMu sync.Mutex
	h.Studio = &Studio{
		Store:      store,
		Logger:     slog.New(slog.NewTextHandler(studioLockedWriter{&logMu, h.logs}, nil)),
		RTMPAddr:   "127.0.0.1:0",
		HTTPAddr:   "127.0.0.1:0",
		LANAddress: "192.0.2.7",
		NewEngine: func(cfg Config, onFrame func(*media.VideoFrame), _ *slog.Logger) StudioEngine {
			h.engine.onFrame = onFrame
			return h.engine
		},
		OnChange: func() {
			select {
			case h.changes <- struct{}{}:
			default:
			}
		},
	}
	if server {
		attempts := 0
		h.Studio.NewServer = func(cfg StudioServerConfig) (StudioServer, error) {
			attempts++
			return &studioFakeServer{cfg: cfg, busy: attempts == 1}, nil
		}
	}
	require.NoError(t, h.Initialize())
	t.Cleanup(h.Close)
	return h
}

type studioLockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l studioLockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// waitFor polls cond after each change notification, up to a deadline.
func (h *studioHarness) waitFor(t *testing.T, what string, cond func() bool) {
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

func TestStudioDestinations(t *testing.T) {
	store := &studioMemStore{}
	h := newStudio(t, store, true)
	ds := h.Destinations()
	require.Len(t, ds, 1)
	require.Equal(t, DestBundled, ds[0].Kind)
	require.True(t, ds[0].Enabled, "the bundled server is ticked by default")
	require.Contains(t, ds[0].URL, "rtmp://127.0.0.1:")
	require.Equal(t, h.StreamKey(), ds[0].Key)

	cases := []struct {
		name string
		d    StudioDestination
		err  bool
	}{
		{"youtube", StudioDestination{Kind: DestYouTube, Name: "YouTube", URL: "rtmp://a.rtmp.youtube.com/live2", Key: "abcd-efgh-ijkl-mnop", Enabled: true}, false},
		{"twitch", StudioDestination{Kind: DestTwitch, Name: "Twitch", URL: "rtmp://live.twitch.tv/app", Key: "live_123456_secretsecret"}, false},
		{"custom rtmps", StudioDestination{Name: "Mine", URL: "rtmps://example.com:443/app", Key: "k3y-k3y-k3y"}, false},
		{"no key", StudioDestination{Kind: DestYouTube, URL: "rtmp://a.rtmp.youtube.com/live2"}, true},
		{"http URL", StudioDestination{URL: "http://example.com/app", Key: "abcdefgh"}, true},
		{"key with slash", StudioDestination{URL: "rtmp://example.com/app", Key: "a/b"}, true},
	}
	for _, tc := range cases {
		_, err := h.SaveDestination(tc.d)
		if tc.err {
			require.ErrorIs(t, err, ErrBadOption, tc.name)
		} else {
			require.NoError(t, err, tc.name)
		}
	}
	ds = h.Destinations()
	require.Len(t, ds, 4)
	yt := ds[1]
	require.Equal(t, MaskURL(yt.PublishURL()), yt.Masked())
	require.True(t, strings.HasSuffix(yt.Masked(), "/live2/****"), yt.Masked())
	require.NotContains(t, yt.Masked(), yt.Key)
	require.Equal(t, "****op", yt.MaskedKey())
	require.Equal(t, "rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl-mnop", yt.PublishURL())

	// Edit, untick the bundled server, remove one.
	yt.Key = "new-key-123456"
	_, err := h.SaveDestination(yt)
	require.NoError(t, err)
	require.NoError(t, h.SetEnabled(DestBundled, false))
	h.RemoveDestination(ds[3].ID)
	require.ErrorIs(t, h.SetEnabled("nope", true), ErrBadOption)
	require.Len(t, h.publishURLs(), 1, "only YouTube is ticked now")

	// Keys never reach the log.
	for _, d := range cases {
		if d.d.Key != "" && len(d.d.Key) > 4 {
			require.NotContains(t, h.logs.String(), d.d.Key)
		}
	}
	require.NotContains(t, h.logs.String(), "new-key-123456")

	// A new Studio on the same store sees the same list and key.
	key := h.StreamKey()
	h.Close()
	h2 := newStudio(t, store, true)
	require.Equal(t, key, h2.StreamKey())
	ds2 := h2.Destinations()
	require.Len(t, ds2, 3)
	require.False(t, ds2[0].Enabled)
	require.Equal(t, "new-key-123456", ds2[1].Key)
	require.Equal(t, "Twitch", ds2[2].Name)
}

func TestStudioGoLiveStates(t *testing.T) {
	h := newStudio(t, nil, true)
	require.Equal(t, "http://192.0.2.7:"+studioPortOf(h.server.HTTPAddr())+"/", h.ViewerURL())
	require.Equal(t, StateOffline, h.Status().Stats.State)

	require.NoError(t, h.GoLive())
	require.ErrorIs(t, h.GoLive(), ErrStudioBusy)
	require.Equal(t, StateConnecting, h.Status().Stats.State)
	h.engine.release <- nil
	h.waitFor(t, "live", func() bool { return h.Status().Stats.State == StateLive })
	h.engine.mu.Lock()
	require.Equal(t, []string{"rtmp://127.0.0.1:" + studioPortOf(h.server.RTMPAddr()) + "/live/" + h.StreamKey()}, h.engine.dests)
	h.engine.mu.Unlock()
	h.StopLive()
	require.Equal(t, StateOffline, h.Status().Stats.State)
	require.Empty(t, h.Status().LastError)
	require.Equal(t, -1.0, h.Status().AudioPeak, "the fake engine has no audio level")

	// A refused Go Live returns to offline with the reason.
	require.NoError(t, h.GoLive())
	h.engine.release <- errors.New("destination refused: bad key")
	h.waitFor(t, "error", func() bool { return h.Status().LastError != "" })
	require.Equal(t, StateOffline, h.Status().Stats.State)
	require.Contains(t, h.Status().LastError, "bad key")

	// Stop while connecting cancels it.
	require.NoError(t, h.GoLive())
	h.StopLive()
	h.waitFor(t, "cancelled", func() bool { return h.Status().Stats.State == StateOffline })

	// Nothing ticked.
	require.NoError(t, h.SetEnabled(DestBundled, false))
	require.ErrorIs(t, h.GoLive(), ErrNoDestination)
}

func studioPortOf(a net.Addr) string { _, p, _ := net.SplitHostPort(a.String()); return p }

func TestStudioChatAndOverlay(t *testing.T) {
	h := newStudio(t, nil, true)
	require.NoError(t, h.SendChat("hello from the studio"))
	h.waitFor(t, "own message", func() bool { return len(h.Chat()) == 1 })
	require.Equal(t, "Creator", h.Chat()[0].User.Name)

	// A viewer joins over the WebSocket and writes.
	viewer := &chat.Client{URL: h.chatURL(), Name: "viewer"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, viewer.Dial(ctx))
	defer viewer.Close()
	require.NoError(t, viewer.Send(ctx, "spam spam"))
	h.waitFor(t, "viewer message", func() bool { return len(h.Chat()) == 2 })
	msg := h.Chat()[1]
	require.Equal(t, "spam spam", msg.Text)

	// Moderation through the bundled server.
	require.NoError(t, h.DeleteChat(msg.ID))
	h.waitFor(t, "deleted", func() bool { return len(h.Chat()) == 1 })
	require.NoError(t, h.BanChat(msg.User.ID))

	// Overlay: off leaves frames alone; on burns the chat in.
	frame := func() *media.VideoFrame {
		f := media.NewVideoFrame(1280, 720)
		for i := range f.Y {
			f.Y[i] = 100
		}
		return f
	}
	f := frame()
	h.engine.onFrame(f)
	require.Equal(t, frame().Y, f.Y)
	h.SetOverlay(true)
	require.True(t, h.Status().Overlay)
	f = frame()
	h.engine.onFrame(f)
	box := h.overlay.Bounds()
	require.False(t, box.Empty())
	require.True(t, box.In(image.Rect(0, 0, 1280, 720)))
	changed := 0
	for i, v := range f.Y {
		if v != 100 {
			changed++
			x, y := i%1280, i/1280
			require.True(t, image.Pt(x, y).In(box), "pixel %d,%d outside the overlay box changed", x, y)
		}
	}
	require.Greater(t, changed, 1000)
	h.SetOverlay(false)
	f = frame()
	h.engine.onFrame(f)
	require.Equal(t, frame().Y, f.Y)
}

func TestStudioPreviewImages(t *testing.T) {
	images := make(chan image.Rectangle, 4)
	h := &studioHarness{engine: &studioFakeEngine{release: make(chan error, 1)}}
	h.Studio = &Studio{PreviewWidth: 320, PreviewHeight: 320,
		NewEngine: func(cfg Config, onFrame func(*media.VideoFrame), _ *slog.Logger) StudioEngine {
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
	require.ErrorIs(t, h.DeleteChat("x"), ErrNoModeration)
	h.engine.onFrame(media.NewVideoFrame(1280, 720))
	select {
	case b := <-images:
		require.Equal(t, image.Rect(0, 0, 320, 180), b)
	case <-time.After(10 * time.Second):
		t.Fatal("no preview image")
	}
}

func TestLANAddress(t *testing.T) {
	ipnet := func(s string) net.Addr { ip, n, _ := net.ParseCIDR(s); n.IP = ip; return n }
	for _, tc := range []struct {
		addrs []net.Addr
		want  string
	}{
		{nil, "127.0.0.1"},
		{[]net.Addr{ipnet("127.0.0.1/8"), ipnet("::1/128")}, "127.0.0.1"},
		{[]net.Addr{ipnet("127.0.0.1/8"), ipnet("fe80::1/64"), ipnet("169.254.1.2/16"), ipnet("192.168.1.20/24"), ipnet("10.0.0.2/8")}, "192.168.1.20"},
		{[]net.Addr{&net.IPAddr{IP: net.ParseIP("10.1.2.3")}}, "10.1.2.3"},
	} {
		require.Equal(t, tc.want, LANAddress(tc.addrs))
	}
}

func TestProcTicks(t *testing.T) {
	for _, tc := range []struct {
		line string
		want int64
		ok   bool
	}{
		{"1234 (golive) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 12 0 100 1000 100", 300, true},
		{"1234 (my prog) R 1 1 1 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 1 1 1", 15, true},
		{"1234 (x) S 1", 0, false},
		{"garbage", 0, false},
	} {
		got, ok := procTicks([]byte(tc.line))
		require.Equal(t, tc.ok, ok, tc.line)
		require.Equal(t, tc.want, got, tc.line)
	}
	var c studioCPU
	now := time.Now()
	c.sample(now)
	require.GreaterOrEqual(t, c.sample(now.Add(time.Second)), 0.0)
}

func TestStudioSettings(t *testing.T) {
	store := &studioMemStore{}
	h := newStudio(t, store, false)
	st := h.Settings()
	require.Equal(t, StudioSettings{Source: "test", Audio: "test", Width: 1280, Height: 720, FPS: 30, Bitrate: 3_000_000,
		AudioBitrate: 128_000, Encoder: "auto", ChatName: "Creator"}, st, "defaults filled in")
	st.Width, st.Height, st.FPS, st.Bitrate = 854, 480, 25, 1_500_000
	require.NoError(t, h.SetSettings(st))
	bad := st
	bad.Width = 853
	require.ErrorIs(t, h.SetSettings(bad), ErrBadOption)
	h.Close()
	h2 := newStudio(t, store, false)
	require.Equal(t, st, h2.Settings())
	require.Equal(t, 854, h2.config().Width)
	require.Equal(t, h.StreamKey(), h2.StreamKey())
}

// studioAudioEngine is a studioFakeEngine that hands audio blocks to the studio.
type studioAudioEngine struct {
	*studioFakeEngine
	onAudio func(*media.AudioFrame)
}

func (e *studioAudioEngine) SetOnAudio(f func(*media.AudioFrame)) { e.onAudio = f }

func TestStudioAudioLevel(t *testing.T) {
	e := &studioAudioEngine{studioFakeEngine: &studioFakeEngine{release: make(chan error, 1)}}
	s := &Studio{NewEngine: func(Config, func(*media.VideoFrame), *slog.Logger) StudioEngine { return e }}
	require.NoError(t, s.Initialize())
	defer s.Close()
	require.NotNil(t, e.onAudio)
	block := &media.AudioFrame{SampleRate: 48000, Channels: 1, Samples: []int16{0, 8192, 0, -8192}}
	e.onAudio(block)
	require.InDelta(t, 0.25, s.Status().AudioPeak, 0.001)
}

// studioStoredDestinations are stored lists as the store may hold them (also
// the fuzz seeds).
var studioStoredDestinations = []struct {
	stored string
	want   int
}{
	{``, 0},
	{`not json`, 0},
	{`[]`, 0},
	{`[{"id":"a","kind":"youtube","name":"YouTube","url":"rtmp://a.rtmp.youtube.com/live2","key":"k","enabled":true}]`, 1},
	{`[{"id":"b","kind":"bundled"},{"id":"","kind":"custom"},{"id":"c","kind":"custom","url":"rtmps://x/app"}]`, 1},
	{`[{"id":1}]`, 0},
}

func TestDecodeDestinations(t *testing.T) {
	for _, tc := range studioStoredDestinations {
		require.Len(t, decodeDestinations(tc.stored), tc.want, tc.stored)
	}
}

// FuzzStudioStore loads arbitrary stored settings and destinations: a
// damaged store must never stop the studio, and never yield a bundled or
// ID-less entry.
func FuzzStudioStore(f *testing.F) {
	for _, tc := range studioStoredDestinations {
		f.Add(tc.stored, `{"width":1280,"height":720}`)
	}
	f.Add(`[]`, `{"fps":"x"}`)
	f.Fuzz(func(t *testing.T, dests, settings string) {
		for _, d := range decodeDestinations(dests) {
			if d.ID == "" || d.Kind == DestBundled {
				t.Fatalf("bad entry %+v", d)
			}
			_ = d.Masked()
			_ = d.MaskedKey()
			_ = d.Validate()
		}
		s := &Studio{Store: &studioMemStore{m: map[string]string{storeDestinations: dests, storeSettings: settings}},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
		s.log = s.Logger
		s.mem = map[string]string{}
		s.load()
		if err := validateSettings(s.Settings()); err != nil {
			t.Fatalf("loaded unusable settings %+v: %v", s.Settings(), err)
		}
	})
}

// studioFailingEngine fails Initialize for any source but the test pattern.
type studioFailingEngine struct {
	*studioFakeEngine
	cfg Config
}

func (e *studioFailingEngine) Initialize() error {
	if e.cfg.Source != "test" {
		return errors.New("camera:3: no such device")
	}
	return nil
}

func TestStudioCaptureFallback(t *testing.T) {
	store := &studioMemStore{m: map[string]string{storeSettings: `{"source":"camera:3","width":640,"height":360}`}}
	var cfgs []Config
	s := &Studio{Store: store, NewEngine: func(cfg Config, _ func(*media.VideoFrame), _ *slog.Logger) StudioEngine {
		cfgs = append(cfgs, cfg)
		return &studioFailingEngine{studioFakeEngine: &studioFakeEngine{release: make(chan error, 1)}, cfg: cfg}
	}}
	require.NoError(t, s.Initialize())
	defer s.Close()
	require.Len(t, cfgs, 2)
	require.Equal(t, "camera:3", cfgs[0].Source)
	require.Equal(t, "test", cfgs[1].Source)
	require.Equal(t, 640, cfgs[1].Width, "the size is kept")
	require.Contains(t, s.Status().LastError, "no such device")
}
