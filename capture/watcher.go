package capture

import (
	"context"
	"log/slog"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gen2brain/malgo"
	"github.com/pion/mediadevices/pkg/driver/camera"
)

// Devices is what can be captured right now, as the source pickers show
// it.
type Devices struct {
	// Cameras are listed without being opened (no Modes).
	Cameras     []CameraInfo
	Microphones []MicrophoneInfo
	Screens     []ScreenInfo
	Windows     []WindowInfo
}

// ListDevices lists every kind of source without opening any: cameras by
// name, the microphones of backends (nil: malgo's defaults), screens and
// windows. A kind that cannot be listed here is left empty.
func ListDevices(backends []malgo.Backend) Devices {
	var d Devices
	for i, dr := range cameraDrivers() {
		d.Cameras = append(d.Cameras, CameraInfo{Index: i, ID: dr.ID(), Label: dr.Info().Label, Name: strings.Trim(dr.Info().Name, camera.LabelSeparator)})
	}
	d.Microphones, _ = ListMicrophones(backends)
	d.Screens, _ = ListScreens()
	d.Windows, _ = ListWindows()
	return d
}

// WatcherStats is a snapshot of a Watcher's counters.
type WatcherStats struct {
	// Polls counts the listings made; Changes those that differed from
	// the one before (the first included).
	Polls, Changes uint64
}

// Watcher lists the devices every Interval and reports when the list
// changes — a camera or microphone plugged in or out, a screen added, a
// window opened, closed or retitled — so pickers refresh without a
// restart. On Linux a change of /dev/video* makes the camera driver look
// for cameras again first (it enumerates them only once by itself).
type Watcher struct {
	// Interval between listings; default 2 s.
	Interval time.Duration
	// List lists the devices; default ListDevices(MicBackends).
	List func() Devices
	// MicBackends are the miniaudio backends the default List asks.
	MicBackends []malgo.Backend
	// OnChange receives each new list (the first one included) on the
	// watcher's goroutine; it must not block for long.
	OnChange func(Devices)
	// Ticker makes the ticker between listings; default NewTicker.
	Ticker func(time.Duration) Ticker
	// Logger defaults to slog.Default().
	Logger *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	mu     sync.Mutex
	last   Devices
	polls  atomic.Uint64
	change atomic.Uint64
	nodes  []string // the camera device nodes at the last listing
}

// Initialize starts watching; the first listing happens at once on the
// watcher's goroutine.
func (w *Watcher) Initialize() error {
	if w.Interval <= 0 {
		w.Interval = 2 * time.Second
	}
	if w.Ticker == nil {
		w.Ticker = NewTicker
	}
	if w.Logger == nil {
		w.Logger = slog.Default()
	}
	w.Logger = w.Logger.With("stage", "capture", "source", "device watcher")
	if w.List == nil {
		w.nodes = cameraNodes()
		w.List = func() Devices {
			if nodes := cameraNodes(); !reflect.DeepEqual(nodes, w.nodes) {
				w.Logger.Info("camera devices changed; rescanning", "devices", nodes)
				w.nodes = nodes
				RescanCameras()
			}
			return ListDevices(w.MicBackends)
		}
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.wg.Add(1)
	go w.run()
	return nil
}

// cameraNodes returns the V4L2 device nodes on Linux (nil elsewhere).
func cameraNodes() []string {
	if runtime.GOOS != "linux" {
		return nil
	}
	nodes, _ := filepath.Glob("/dev/video*")
	return nodes
}

func (w *Watcher) run() {
	defer w.wg.Done()
	t := w.Ticker(w.Interval)
	defer t.Stop()
	first := true
	for {
		d := w.List()
		w.polls.Add(1)
		w.mu.Lock()
		changed := first || !reflect.DeepEqual(d, w.last)
		w.last = d
		w.mu.Unlock()
		if changed {
			w.change.Add(1)
			if !first {
				w.Logger.Info("devices changed", "cameras", len(d.Cameras), "microphones", len(d.Microphones),
					"screens", len(d.Screens), "windows", len(d.Windows))
			}
			if w.OnChange != nil {
				w.OnChange(d)
			}
		}
		first = false
		select {
		case <-w.ctx.Done():
			return
		case <-t.C():
		}
	}
}

// Devices returns the last listing (empty before the first).
func (w *Watcher) Devices() Devices {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.last
}

// Stats returns the watcher's counters.
func (w *Watcher) Stats() WatcherStats {
	return WatcherStats{Polls: w.polls.Load(), Changes: w.change.Load()}
}

// Close stops watching and waits for the goroutine; idempotent.
func (w *Watcher) Close() {
	w.once.Do(func() {
		if w.cancel != nil {
			w.cancel()
			w.wg.Wait()
		}
	})
}
