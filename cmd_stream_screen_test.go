package main

import (
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// barAt returns the left edge of xpattern's black bar in the strip between
// x0 and x0+w of row y of img (the darkest w/8-wide run).
func barAt(img *image.RGBA, x0, w, y int) int {
	bw := w / 8
	best, bestX := 1<<30, 0
	for x := x0; x+bw <= x0+w; x += 2 {
		sum := 0
		for k := 0; k < bw; k += 4 {
			p := img.Pix[img.PixOffset(x+k, y):]
			sum += int(p[0]) + int(p[1]) + int(p[2])
		}
		if sum < best {
			best, bestX = sum, x
		}
	}
	return bestX
}

// checkPattern finds xpattern's quadrant colours in the part of img
// showing it (x0, y0, w, h), beside the bar, and reports where the bar is.
func checkPattern(t *testing.T, img *image.RGBA, x0, y0, w, h int) int {
	t.Helper()
	for q, c := range peers.XPatternColors {
		qx, qy := x0+(q%2)*w/2, y0+(q/2)*h/2
		hits := 0
		var why string
		for _, fx := range []int{1, 3, 5, 7} {
			ok, msg := peers.NearRGB(img, qx+fx*w/16, qy+h/4, c, 40)
			if ok {
				hits++
			} else {
				why = msg
			}
		}
		require.GreaterOrEqual(t, hits, 2, "quadrant %d: %s", q, why)
	}
	return barAt(img, x0, w, y0+h/4)
}

// TestStreamScreenAndWindow captures a window with a known moving pattern
// under Xvfb with `golive stream --source screen` and `--source window:`,
// sends it to nginx-rtmp, and checks the recording with ffprobe and the
// pixels ffmpeg decodes: the four colours where they belong, the bar
// moving.
func TestStreamScreenAndWindow(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	x := peers.StartXvfb(t, "1280x720x24")
	t.Setenv("DISPLAY", x.Display)
	ng := peers.StartNginxRTMP(t)

	pat := peers.StartXPattern(t, x, "golive stream pattern", 0, 0, 1280, 720)
	code, out, _ := runCLI(t, "devices")
	require.Equal(t, 0, code)
	require.Contains(t, out, "Screens (--source screen:N")
	require.Regexp(t, `(?m)^  0  \S+, 1280x720 at 0,0`, out)
	require.Contains(t, out, `"golive stream pattern"  1280x720`)
	c := streamCase{size: "640x360", width: 640, height: 360, fps: 15, duration: 4 * time.Second, frameFloor: 0.5}
	code, stdout, stderr := execCLI(t, "stream", "--to", ng.URL("screen"), "--source", "screen", "--size", c.size,
		"--fps", "15", "--bitrate", "1500k", "--audio", "none", "--encoder", "libx264", "--duration", c.duration.String())
	require.Equal(t, 0, code, "stderr: %s\nstdout: %s", stderr, stdout)
	ng.WaitUnpublished("screen", 10*time.Second)
	rec := ng.RecordPath("screen")
	checkRecording(t, rec, c)
	b1 := checkPattern(t, peers.DecodeFrame(t, rec, 1500*time.Millisecond, 640, 360), 0, 0, 640, 360)
	b2 := checkPattern(t, peers.DecodeFrame(t, rec, 2000*time.Millisecond, 640, 360), 0, 0, 640, 360)
	require.NotEqual(t, b1, b2, "the bar moves between 1.5 s and 2 s")

	// A 4:3 window by its title: pillarboxed in the 16:9 stream.
	pat.Close()
	peers.StartXPattern(t, x, "golive window: 4:3", 200, 100, 480, 360)
	code, _, stderr = execCLI(t, "stream", "--to", ng.URL("window"), "--source", "window:golive window: 4:3?cursor=0",
		"--size", c.size, "--fps", "15", "--bitrate", "1500k", "--audio", "none", "--encoder", "libx264", "--duration", c.duration.String())
	require.Equal(t, 0, code, "stderr: %s", stderr)
	ng.WaitUnpublished("window", 10*time.Second)
	rec = ng.RecordPath("window")
	checkRecording(t, rec, c)
	img := peers.DecodeFrame(t, rec, 2*time.Second, 640, 360)
	checkPattern(t, img, 80, 0, 480, 360)
	ok, why := peers.NearRGB(img, 20, 180, [3]byte{0, 0, 0}, 24)
	require.True(t, ok, "black bar at the side: %s", why)

	// A window that is not there: one clear line, exit 1.
	code, _, stderr = execCLI(t, "stream", "--to", ng.URL("none"), "--source", "window:no such window", "--duration", "2s")
	require.Equal(t, 1, code)
	require.Contains(t, stderr, `no window titled "no such window"`)
	require.Equal(t, 1, len(splitLines(stderr)), "one line: %q", stderr)
}

// TestStreamScreenScene is the command line's "done": the screen with a
// picture-in-picture in the corner and a lower third, as a viewer gets it.
func TestStreamScreenScene(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	x := peers.StartXvfb(t, "1280x720x24")
	t.Setenv("DISPLAY", x.Display)
	ng := peers.StartNginxRTMP(t)
	peers.StartXPattern(t, x, "golive scene pattern", 0, 0, 1280, 720)
	dir := t.TempDir()
	logo, err := filepath.Abs(filepath.Join("preview", "scene", "testdata", "logo.png"))
	require.NoError(t, err)
	sceneFile := filepath.Join(dir, "scene.json")
	require.NoError(t, os.WriteFile(sceneFile, []byte(fmt.Sprintf(`{"layers":[
		{"type":"camera","source":"test","corner":"bottom-right","size":0.3,"border":6,"border_color":"#ffff00"},
		{"type":"image","path":%q,"corner":"top-left","size":0.15},
		{"type":"text","text":"Jane Doe","subtitle":"live from the screen","corner":"bottom-left"}]}`, logo)), 0o600))
	c := streamCase{size: "640x360", width: 640, height: 360, fps: 15, duration: 4 * time.Second, frameFloor: 0.5}
	code, _, stderr := execCLI(t, "stream", "--to", ng.URL("scene"), "--source", "screen", "--scene", sceneFile,
		"--size", c.size, "--fps", "15", "--bitrate", "1500k", "--audio", "none", "--encoder", "libx264", "--duration", c.duration.String())
	require.Equal(t, 0, code, "stderr: %s", stderr)
	ng.WaitUnpublished("scene", 10*time.Second)
	rec := ng.RecordPath("scene")
	checkRecording(t, rec, c)
	img := peers.DecodeFrame(t, rec, 2*time.Second, 640, 360)
	peers.SaveArtifact(t, "golive-stream-screen-scene.png", img)
	// The picture-in-picture (192x108 + a yellow border) in the bottom-right
	// corner, 10 px in: its border at the edge, the test pattern's white
	// bar inside; the screen's white quadrant around it.
	ok, why := peers.NearRGB(img, 640-10-3, 360-10-60, [3]byte{255, 255, 0}, 40)
	require.True(t, ok, "PiP border: %s", why)
	ok, why = peers.NearRGB(img, 640-10-6-192+10, 360-10-6-108+20, [3]byte{180, 180, 180}, 40)
	require.True(t, ok, "PiP: the test pattern's grey bar: %s", why)
	// The lower third's orange accent bar at the bottom left.
	ok, why = peers.NearRGB(img, 10+1, 360-10-20, [3]byte{245, 166, 35}, 45)
	require.True(t, ok, "lower third: %s", why)
	// The logo's orange disc at the top left (96 px wide: disc centre 24,24).
	ok, why = peers.NearRGB(img, 10+24, 10+24, [3]byte{240, 120, 20}, 45)
	require.True(t, ok, "logo: %s", why)
	// The screen itself around them: red at the top left, beside the logo.
	ok, why = peers.NearRGB(img, 250, 60, [3]byte{255, 0, 0}, 40)
	if !ok { // the bar may be there
		ok, why = peers.NearRGB(img, 200, 140, [3]byte{255, 0, 0}, 40)
	}
	require.True(t, ok, "the screen: %s", why)
}

func splitLines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) != "" {
			out = append(out, l)
		}
	}
	return out
}
