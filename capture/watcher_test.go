package capture

import (
	"sync"
	"testing"
	"time"

	"github.com/gen2brain/malgo"
	"github.com/stretchr/testify/require"
)

func TestWatcher(t *testing.T) {
	lists := []Devices{
		{Cameras: []CameraInfo{{Index: 0, Label: "video0", Name: "Cam"}}},
		{Cameras: []CameraInfo{{Index: 0, Label: "video0", Name: "Cam"}}}, // the same: no change
		{Cameras: []CameraInfo{{Index: 0, Label: "video0", Name: "Cam"}}, Screens: []ScreenInfo{{Name: "HDMI-1", Width: 1920, Height: 1080}}},
		{}, // everything unplugged
	}
	var mu sync.Mutex
	n := 0
	changes := make(chan Devices, 10)
	tk := NewManualTicker()
	w := &Watcher{Interval: time.Hour, Ticker: tk.Factory(), Logger: quietLog,
		List: func() Devices {
			mu.Lock()
			defer mu.Unlock()
			d := lists[min(n, len(lists)-1)]
			n++
			return d
		},
		OnChange: func(d Devices) { changes <- d }}
	require.NoError(t, w.Initialize())
	defer w.Close()
	next := func() Devices {
		t.Helper()
		select {
		case d := <-changes:
			return d
		case <-time.After(10 * time.Second):
			t.Fatal("no change reported")
		}
		return Devices{}
	}
	require.Equal(t, lists[0], next(), "the first listing is reported")
	done := make(chan struct{})
	defer close(done)
	require.True(t, tk.Tick(done))
	require.True(t, tk.Tick(done)) // the second listing, the same, was made
	require.Equal(t, lists[2], next())
	require.True(t, tk.Tick(done))
	require.Equal(t, lists[3], next())
	require.Equal(t, lists[3], w.Devices())
	require.True(t, tk.Tick(done))
	require.True(t, tk.Tick(done)) // the fifth listing was made
	st := w.Stats()
	require.GreaterOrEqual(t, st.Polls, uint64(5))
	require.Equal(t, uint64(3), st.Changes)
	w.Close()
	w.Close()
}

// TestWatcherDefault lists the real devices: the VideoTest camera of the
// test binary, the null microphone backend.
func TestWatcherDefault(t *testing.T) {
	got := make(chan Devices, 1)
	w := &Watcher{MicBackends: []malgo.Backend{NullBackend}, Logger: quietLog, OnChange: func(d Devices) {
		select {
		case got <- d:
		default:
		}
	}}
	require.NoError(t, w.Initialize())
	defer w.Close()
	select {
	case d := <-got:
		found := false
		for _, c := range d.Cameras {
			found = found || c.Label == "VideoTest"
			require.Empty(t, c.Modes, "listed without being opened")
		}
		require.True(t, found, "%+v", d.Cameras)
		require.NotEmpty(t, d.Microphones)
	case <-time.After(20 * time.Second):
		t.Fatal("no listing")
	}
}
