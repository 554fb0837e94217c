package capture

import (
	"errors"
	"fmt"
	"image"
	"math"
	"sort"
	"strings"

	"github.com/gen2brain/malgo"
	"github.com/pion/mediadevices/pkg/driver"
	"github.com/pion/mediadevices/pkg/driver/camera"
	"github.com/pion/mediadevices/pkg/frame"
	"github.com/pion/mediadevices/pkg/io/video"
	"github.com/pion/mediadevices/pkg/prop"
)

// CameraInfo describes one camera for `golive devices` and the GUI.
type CameraInfo struct {
	// Index is the camera's position in the list ("camera:N").
	Index int
	// ID is the driver's ID for Camera.DeviceID; it changes between runs.
	ID string
	// Label is the driver's stable label (e.g. "video0;video0" on Linux).
	Label string
	// Name is the device's human name when the driver knows it.
	Name string
	// Modes are the sizes, rates and formats it offers (empty when it
	// could not be opened to ask, see Err).
	Modes []CameraMode
	// Err says why Modes is empty (device busy or gone), else "".
	Err string
}

// ListCameras returns the cameras pion/mediadevices knows, sorted by label
// so indexes are stable, with their modes. No camera gives an empty list
// and no error. (A camera driver needs cgo; without it none is found.)
func ListCameras() []CameraInfo {
	drivers := cameraDrivers()
	out := make([]CameraInfo, 0, len(drivers))
	for i, d := range drivers {
		info := CameraInfo{Index: i, ID: d.ID(), Label: d.Info().Label, Name: strings.Trim(d.Info().Name, camera.LabelSeparator)}
		if err := d.Open(); err != nil {
			info.Err = fmt.Sprintf("cannot open: %v", err)
		} else {
			for _, p := range d.Properties() {
				if m, ok := modeOf(p); ok {
					info.Modes = append(info.Modes, m)
				}
			}
			_ = d.Close()
		}
		out = append(out, info)
	}
	return out
}

// RescanCameras asks the camera driver to look for devices again (cameras
// are enumerated once at start). It drops every registered video driver,
// mediadevices' test drivers included, so IDs change.
func RescanCameras() { camera.Initialize() }

// cameraDrivers returns the video drivers of camera type, sorted by label.
func cameraDrivers() []driver.Driver {
	ds := driver.GetManager().Query(driver.FilterAnd(driver.FilterVideoRecorder(), driver.FilterDeviceType(driver.Camera)))
	sort.Slice(ds, func(i, j int) bool {
		if ds[i].Info().Label != ds[j].Info().Label {
			return ds[i].Info().Label < ds[j].Info().Label
		}
		return ds[i].ID() < ds[j].ID()
	})
	return ds
}

// mdFormats maps mediadevices' formats to ours (the ones we can take).
var mdFormats = map[frame.Format]PixelFormat{
	frame.FormatI420:  FormatI420,
	frame.FormatNV12:  FormatNV12,
	frame.FormatNV21:  FormatNV21,
	frame.FormatYUYV:  FormatYUYV,
	frame.FormatYUY2:  FormatYUYV,
	frame.FormatUYVY:  FormatUYVY,
	frame.FormatMJPEG: FormatMJPEG,
}

func modeOf(p prop.Media) (CameraMode, bool) {
	f, ok := mdFormats[p.FrameFormat]
	if !ok || p.Width <= 0 || p.Height <= 0 {
		return CameraMode{}, false
	}
	return CameraMode{Width: p.Width, Height: p.Height, FPS: float64(p.FrameRate), Format: f}, true
}

// ChooseMode returns the index of the mode closest to w×h@fps: size first
// (by the log of the ratio, so 1280×720 beats 1920×1080 for 1280×720),
// then rate, then raw formats over MJPEG. It returns -1 for no modes.
func ChooseMode(modes []CameraMode, w, h, fps int) int {
	best, bestScore := -1, math.Inf(1)
	for i, m := range modes {
		if m.Width <= 0 || m.Height <= 0 {
			continue
		}
		score := 10 * (math.Abs(math.Log(float64(m.Width)/float64(w))) + math.Abs(math.Log(float64(m.Height)/float64(h))))
		if m.FPS > 0 {
			score += math.Abs(m.FPS-float64(fps)) / float64(fps)
		} else {
			score += 0.5
		}
		if m.Format == FormatMJPEG {
			score += 0.05
		}
		if score < bestScore {
			best, bestScore = i, score
		}
	}
	return best
}

// mdCamera opens a mediadevices camera for Camera; it remembers the
// driver's label so a reopen after a loss finds the same device even when
// a rescan gave it a new ID.
type mdCamera struct {
	id         string
	index      int
	w, h, fps  int
	label      string
	rescanNext bool
}

func (m *mdCamera) find() (driver.Driver, error) {
	ds := cameraDrivers()
	for _, d := range ds {
		if (m.label != "" && d.Info().Label == m.label) || (m.label == "" && m.id != "" && d.ID() == m.id) {
			return d, nil
		}
	}
	if m.label == "" && m.id == "" && m.index >= 0 && m.index < len(ds) {
		return ds[m.index], nil
	}
	if m.id != "" || m.label != "" {
		return nil, fmt.Errorf("%w: no camera with ID %q / label %q (%d cameras)", ErrNoCamera, m.id, m.label, len(ds))
	}
	return nil, fmt.Errorf("%w: no camera %d (%d cameras)", ErrNoCamera, m.index, len(ds))
}

func (m *mdCamera) open(retry bool) (CameraDevice, CameraMode, error) {
	if retry && m.rescanNext {
		RescanCameras()
	}
	m.rescanNext = true // if this attempt fails, look for devices again next time
	d, err := m.find()
	if err != nil {
		return nil, CameraMode{}, err
	}
	m.label = d.Info().Label
	if err := d.Open(); err != nil {
		return nil, CameraMode{}, fmt.Errorf("%w: open %s: %w", ErrNoCamera, m.label, err)
	}
	props := d.Properties()
	var modes []CameraMode
	var mprops []prop.Media
	for _, p := range props {
		if md, ok := modeOf(p); ok {
			modes = append(modes, md)
			mprops = append(mprops, p)
		}
	}
	i := ChooseMode(modes, m.w, m.h, m.fps)
	if i < 0 {
		_ = d.Close()
		return nil, CameraMode{}, fmt.Errorf("%w: %s offers no usable mode", ErrNoCamera, m.label)
	}
	rec, ok := d.(driver.VideoRecorder)
	if !ok {
		_ = d.Close()
		return nil, CameraMode{}, fmt.Errorf("%w: %s is not a video recorder", ErrNoCamera, m.label)
	}
	r, err := rec.VideoRecord(mprops[i])
	if err != nil {
		_ = d.Close()
		return nil, CameraMode{}, fmt.Errorf("%w: start %s: %w", ErrNoCamera, m.label, err)
	}
	m.rescanNext = false
	return &mdDevice{d: d, r: r}, modes[i], nil
}

// mdDevice is an opened mediadevices camera.
type mdDevice struct {
	d driver.Driver
	r video.Reader
}

func (m *mdDevice) Read() (image.Image, func(), error) { return m.r.Read() }
func (m *mdDevice) Close() error                       { return m.d.Close() }

// ErrNoAudioSystem is returned by ListMicrophones with an empty list when
// no audio backend could start here (no sound server or card); callers
// should report "no microphones" rather than fail.
var ErrNoAudioSystem = errors.New("capture: no audio system")

// MicrophoneInfo describes one capture device.
type MicrophoneInfo struct {
	// Index is the device's position in the list ("mic:N").
	Index int
	// Name is the device's human name.
	Name string
	// Default is true for the system's default capture device.
	Default bool
	// Formats lists the device's native formats ("48000 Hz 2 ch s16"),
	// when the backend reports them.
	Formats []string
}

// ListMicrophones returns the capture devices of malgo's default backends
// (nil: malgo's own list); pass []malgo.Backend{NullBackend} for the null
// device. No device gives an empty list; no audio system at all gives an
// empty list and ErrNoAudioSystem.
func ListMicrophones(backends []malgo.Backend) ([]MicrophoneInfo, error) {
	mctx, err := malgo.InitContext(backends, malgo.ContextConfig{}, nil)
	if err != nil {
		return []MicrophoneInfo{}, fmt.Errorf("%w: %w", ErrNoAudioSystem, err)
	}
	defer func() {
		_ = mctx.Uninit()
		mctx.Free()
	}()
	infos, err := mctx.Devices(malgo.Capture)
	if err != nil {
		return []MicrophoneInfo{}, fmt.Errorf("capture: list microphones: %w", err)
	}
	out := make([]MicrophoneInfo, 0, len(infos))
	for i, in := range infos {
		mi := MicrophoneInfo{Index: i, Name: in.Name(), Default: in.IsDefault != 0}
		for _, f := range in.Formats {
			mi.Formats = append(mi.Formats, fmt.Sprintf("%d Hz %d ch %s", f.SampleRate, f.Channels, sampleFormatName(f.Format)))
		}
		out = append(out, mi)
	}
	return out, nil
}

func sampleFormatName(f malgo.FormatType) string {
	switch f {
	case malgo.FormatU8:
		return "u8"
	case malgo.FormatS16:
		return "s16"
	case malgo.FormatS24:
		return "s24"
	case malgo.FormatS32:
		return "s32"
	case malgo.FormatF32:
		return "f32"
	}
	return "any"
}
