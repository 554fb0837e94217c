package peers

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// XPattern is a window showing xpattern's known moving pattern (see
// internal/peers/xpattern): red, green, blue and white quadrants and a
// black bar, an eighth of the width wide, crossing left to right once per
// second.
type XPattern struct {
	// ID is the X11 window's ID.
	ID uint64
	// Title is the window's title.
	Title string
	// X, Y, Width and Height are where it is on the screen.
	X, Y, Width, Height int
	cmd                 *exec.Cmd
}

// XPatternColors are the quadrants' colours, top-left, top-right,
// bottom-left, bottom-right, as RGB.
var XPatternColors = [4][3]byte{{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}}

// StartXPattern builds and starts xpattern on the X display of x, a window
// titled title of w×h at (px, py), and returns once it is mapped. It is
// stopped by t.Cleanup (Close stops it earlier: a window that vanishes).
func StartXPattern(t testing.TB, x *Xvfb, title string, px, py, w, h int) *XPattern {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "xpattern")
	build := exec.Command("go", "build", "-o", bin, "golive/internal/peers/xpattern")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building xpattern: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-title", title, "-size", strconv.Itoa(w)+"x"+strconv.Itoa(h),
		"-x", strconv.Itoa(px), "-y", strconv.Itoa(py))
	cmd.Env = append(os.Environ(), "DISPLAY="+x.Display)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("xpattern: %v", err)
	}
	p := &XPattern{Title: title, X: px, Y: py, Width: w, Height: h, cmd: cmd}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() { p.Close(); <-exited })
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		got <- strings.TrimSpace(line)
		_, _ = bufio.NewReader(out).WriteTo(discard{}) // keep the pipe drained
	}()
	select {
	case line := <-got:
		id, err := strconv.ParseUint(line, 10, 32)
		if err != nil {
			t.Fatalf("xpattern did not start: %q %s", line, stderr.String())
		}
		p.ID = id
	case <-time.After(30 * time.Second):
		t.Fatalf("xpattern not up within 30 s: %s", stderr.String())
	}
	return p
}

// Close kills the pattern's window (a window that goes away).
func (p *XPattern) Close() {
	if p.cmd.Process != nil {
		_ = p.cmd.Process.Kill()
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error) { return len(b), nil }
