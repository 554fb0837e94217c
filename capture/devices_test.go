package capture

import (
	"testing"
	"time"

	_ "github.com/pion/mediadevices/pkg/driver/videotest" // registers the "VideoTest" camera
	"github.com/stretchr/testify/require"
)

// videoTestCamera finds mediadevices' test camera in ListCameras.
func videoTestCamera(t *testing.T) CameraInfo {
	t.Helper()
	for _, c := range ListCameras() {
		if c.Label == "VideoTest" {
			return c
		}
	}
	t.Fatal("mediadevices' VideoTest driver is not listed")
	return CameraInfo{}
}

func TestListCamerasVideoTest(t *testing.T) {
	c := videoTestCamera(t)
	require.NotEmpty(t, c.ID)
	require.Empty(t, c.Err)
	require.Equal(t, []CameraMode{{Width: 640, Height: 480, FPS: 30, Format: FormatYUYV}}, c.Modes)
	for i, cam := range ListCameras() {
		require.Equal(t, i, cam.Index)
	}
}

func TestCameraThroughMediadevices(t *testing.T) {
	leakCheck(t)
	info := videoTestCamera(t)
	cam := &Camera{DeviceID: info.ID, Width: 1280, Height: 720, FPS: 30, Logger: quietLog}
	require.NoError(t, cam.Initialize())
	t.Cleanup(cam.Close)
	require.Equal(t, CameraMode{Width: 640, Height: 480, FPS: 30, Format: FormatYUYV}, cam.Mode())
	var last time.Duration = -1
	for range 3 {
		f := recvFrame(t, cam.Frames())
		// 640×480 is scaled to the asked 1280×720: 960×720 pillarboxed.
		require.Equal(t, 1280, f.Width)
		require.Equal(t, 720, f.Height)
		require.Greater(t, f.PTS, last)
		last = f.PTS
		require.Equal(t, byte(16), f.Y[10*f.StrideY+10], "black bar")
		// The driver's first bar is 75% white: Y = 235*75/100.
		require.Equal(t, byte(176), f.Y[10*f.StrideY+170])
		require.Equal(t, byte(128), f.U[5*f.StrideU+85])
	}
	s := cam.Stats()
	require.Equal(t, StateRunning, s.State)
	require.Equal(t, "VideoTest", s.Device)
	require.Zero(t, s.Bad)
	cam.Close()
	for range cam.Frames() {
	}
}

func TestCameraCloseWhileDriverReads(t *testing.T) {
	leakCheck(t)
	// mediadevices' test driver never returns from a Read once closed:
	// Close must still return, and the same device must open again.
	info := videoTestCamera(t)
	for range 3 {
		cam := &Camera{DeviceID: info.ID, Width: 640, Height: 480, Logger: quietLog}
		require.NoError(t, cam.Initialize())
		recvFrame(t, cam.Frames())
		closed := make(chan struct{})
		go func() { cam.Close(); close(closed) }()
		select {
		case <-closed:
		case <-time.After(10 * time.Second):
			t.Fatal("Close did not return within 10 s")
		}
	}
}
