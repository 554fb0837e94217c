package peers

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// DecodeFrame decodes the frame of file at time at with the ffmpeg
// command line and returns it as RGBA (w×h must be the video's size).
func DecodeFrame(t testing.TB, file string, at time.Duration, w, h int) *image.RGBA {
	t.Helper()
	bin := RequireTool(t, "ffmpeg")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "-v", "error", "-ss", strconv.FormatFloat(at.Seconds(), 'f', 3, 64), "-i", file,
		"-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgba", "-")
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("ffmpeg decoding %s at %v: %v: %s", file, at, err, stderr.String())
	}
	if out.Len() != w*h*4 {
		t.Fatalf("ffmpeg decoded %d bytes at %v, want a %dx%d picture (%d)", out.Len(), at, w, h, w*h*4)
	}
	return &image.RGBA{Pix: out.Bytes(), Stride: 4 * w, Rect: image.Rect(0, 0, w, h)}
}

// NearRGB reports whether the pixel at (x, y) of img is within tol of c
// in each channel; the message says what it is otherwise.
func NearRGB(img *image.RGBA, x, y int, c [3]byte, tol int) (bool, string) {
	i := img.PixOffset(x, y)
	p := img.Pix[i : i+3]
	for k := range 3 {
		if d := int(p[k]) - int(c[k]); d > tol || d < -tol {
			return false, fmt.Sprintf("(%d,%d) is %v, want %v ±%d", x, y, p, c, tol)
		}
	}
	return true, ""
}

// SaveArtifact writes img as a PNG named name into $GOLIVE_ARTIFACTS, when
// it is set, for whoever reads the run's artifacts; else it does nothing.
func SaveArtifact(t testing.TB, name string, img image.Image) {
	t.Helper()
	dir := os.Getenv("GOLIVE_ARTIFACTS")
	if dir == "" {
		return
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	t.Logf("picture: %s", f.Name())
}
