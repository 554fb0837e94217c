package studio

import (
	"log/slog"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"golive/broadcast"
	"golive/capture"
	"golive/media"
)

func TestSourceChoices(t *testing.T) {
	var mu sync.Mutex
	devs := capture.Devices{
		Cameras:     []capture.CameraInfo{{Index: 0, Label: "video0", Name: "HD Webcam"}},
		Microphones: []capture.MicrophoneInfo{{Index: 0, Name: "USB Mic", Default: true}},
		Screens:     []capture.ScreenInfo{{Index: 0, Name: "DP-1", Width: 1920, Height: 1080}},
		Windows:     []capture.WindowInfo{{ID: 7, Title: "Slides: intro", Width: 800, Height: 600}, {ID: 8, Title: "a?b=c"}},
	}
	tk := capture.NewManualTicker()
	var cfgs []broadcast.Config
	h := newStudio(t, &memStore{}, false, func(s *Studio) {
		s.Watcher = &capture.Watcher{Ticker: tk.Factory(), List: func() capture.Devices {
			mu.Lock()
			defer mu.Unlock()
			return devs
		}}
		next := s.NewEngine
		s.NewEngine = func(cfg broadcast.Config, onFrame func(*media.VideoFrame), l *slog.Logger) Engine {
			cfgs = append(cfgs, cfg)
			return next(cfg, onFrame, l)
		}
	})
	h.waitFor(t, "the first listing", func() bool { return len(h.SourceChoices().Video) > 2 })
	c := h.SourceChoices()
	require.Equal(t, []SourceOption{
		{Spec: "test", Name: "Test pattern"},
		{Spec: "camera:0", Name: "Camera: HD Webcam"},
		{Spec: "screen:0", Name: "Screen 1 (DP-1, 1920x1080)"},
		{Spec: "window:Slides: intro", Name: "Window: Slides: intro"},
		{Spec: FileSpec, Name: "Media file…"},
	}, c.Video, "a title the spec cannot carry is left out")
	require.Equal(t, []SourceOption{
		{Spec: "test", Name: "Test tone (1 kHz)"},
		{Spec: "mic:0", Name: "Microphone: USB Mic (default)"},
		{Spec: "none", Name: "No audio"},
	}, c.Audio)

	// A camera unplugged and a screen added: the pickers follow.
	mu.Lock()
	devs.Cameras = nil
	devs.Screens = append(devs.Screens, capture.ScreenInfo{Index: 1, Name: "HDMI-1", Width: 1280, Height: 1024})
	mu.Unlock()
	done := make(chan struct{})
	defer close(done)
	tk.Tick(done)
	h.waitFor(t, "the change", func() bool { return len(h.SourceChoices().Video) == 5 && h.SourceChoices().Video[2].Spec == "screen:1" })

	// Audio: a restart of the (fake) pipeline while offline; refused live.
	require.NoError(t, h.SetAudio("mic:0"))
	require.Len(t, cfgs, 2)
	require.Equal(t, "mic:0", cfgs[1].Audio)
	require.Equal(t, "mic:0", h.Settings().Audio)
	require.NoError(t, h.SetAudio("mic:0"), "the same again: nothing to do")
	require.Len(t, cfgs, 2)
	require.ErrorIs(t, h.SetAudio("camera"), media.ErrBadOption)
	require.ErrorIs(t, h.SetSource("mic"), media.ErrBadOption)

	// Video without a scene-composing engine: restarted too.
	require.NoError(t, h.SetSource("screen:1"))
	require.Len(t, cfgs, 3)
	require.Equal(t, "screen:1", cfgs[2].Source)

	h.engine.release <- nil
	require.NoError(t, h.SaveDestination(Destination{Name: "x", URL: "rtmp://example.com/app", Key: "k3y-k3y-k3y", Enabled: true}))
	require.NoError(t, h.GoLive())
	h.waitFor(t, "live", func() bool { return h.Status().State == broadcast.StateLive })
	require.ErrorIs(t, h.SetAudio("none"), ErrBusy)
	require.ErrorIs(t, h.SetSource("test"), ErrBusy)
	require.Equal(t, "screen:1", h.Settings().Source, "a refused change is not kept")
}
