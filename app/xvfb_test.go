package app

import (
	"bufio"
	"context"
	"fmt"
	"image"
	_ "image/png"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"fyne.io/fyne/v2"
	"github.com/stretchr/testify/require"

	"golive/broadcast"
	"golive/internal/peers"
	"golive/server/ladder"
	"golive/studio"
)

// childEnv marks the test binary re-run as the app under Xvfb.
const childEnv = "GOLIVE_XVFB_CHILD"

// TestMain runs the real window on the main goroutine when the test
// binary is re-executed by TestXvfbScreenshot (GLFW needs the main thread).
func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

// runChild opens the app, reports where the preview is once it shows
// images, goes live to the bundled server, and runs until SIGTERM.
func runChild() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	dir := os.Getenv("GOLIVE_XVFB_DIR")
	r, err := Start(&studio.Studio{Secrets: &studio.MemorySecrets{}, RTMPAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		NewServer: studio.BundledServer([]ladder.Spec{}, dir),
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))}, Options{})
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	defer r.Close()
	go func() {
		deadline := time.Now().Add(60 * time.Second)
		for time.Now().Before(deadline) {
			var rect string
			fyne.DoAndWait(func() {
				img, ok := r.UI.PreviewImage().(*image.RGBA)
				if !ok || img.Bounds().Dx() < 100 {
					return
				}
				obj := r.UI.PreviewArea()
				c := r.UI.Window().Canvas()
				pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(obj)
				sc := c.Scale()
				rect = fmt.Sprintf("%d %d %d %d", int(pos.X*sc), int(pos.Y*sc), int(obj.Size().Width*sc), int(obj.Size().Height*sc))
			})
			if rect != "" {
				// Chat burned into the video, so the screenshot shows the overlay too.
				for _, m := range []string{"hello from the Xvfb test", "the chat overlay is on"} {
					if err := r.Studio.SendChat(m); err != nil {
						fmt.Println("ERROR chat:", err)
					}
				}
				r.Studio.SetOverlay(true)
				if err := r.Studio.GoLive(); err != nil {
					fmt.Println("ERROR go live:", err)
				}
				// Let the live state and a few stats seconds reach the window.
				liveBy := time.Now().Add(15 * time.Second)
				for time.Now().Before(liveBy) && r.Studio.Status().State != broadcast.StateLive {
					time.Sleep(50 * time.Millisecond)
				}
				time.Sleep(2500 * time.Millisecond)
				fmt.Println("READY", rect)
				// Then show the tabs the parent asks for, one per line.
				sc := bufio.NewScanner(os.Stdin)
				for sc.Scan() {
					var ok bool
					fyne.DoAndWait(func() {
						if sc.Text() == "Add" {
							r.UI.ShowAddDestination()
							ok = true
							return
						}
						ok = r.UI.SelectTab(sc.Text())
					})
					time.Sleep(1500 * time.Millisecond) // let the GL loop paint it
					fmt.Println("TAB", ok)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
		fmt.Println("ERROR no preview image within 60 s")
	}()
	stopQuit := context.AfterFunc(ctx, func() { fyne.Do(r.App.Quit) })
	defer stopQuit()
	r.App.Run()
	return 0
}

// TestXvfbScreenshot opens the real window under Xvfb, screenshots the
// screen with ImageMagick's import into the artifacts directory
// ($GOLIVE_ARTIFACTS, else a temp dir) and checks the preview area shows
// a picture (non-uniform pixels).
func TestXvfbScreenshot(t *testing.T) {
	imp := peers.RequireTool(t, "import")
	if testing.Short() {
		t.Skip("short mode")
	}
	artifacts := os.Getenv("GOLIVE_ARTIFACTS")
	if artifacts == "" {
		artifacts = t.TempDir()
	}
	require.NoError(t, os.MkdirAll(artifacts, 0o755))

	display := peers.StartXvfb(t, "1280x800x24").Display

	dir := t.TempDir()
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=1", "DISPLAY="+display, "GOLIVE_XVFB_DIR="+dir,
		"HOME="+dir, "XDG_CONFIG_HOME="+filepath.Join(dir, "config"), "LANG=en_US.UTF-8", "LIBGL_ALWAYS_SOFTWARE=1")
	in, err := child.StdinPipe()
	require.NoError(t, err)
	defer in.Close()
	out, err := child.StdoutPipe()
	require.NoError(t, err)
	var stderr strings.Builder
	child.Stderr = &stderr
	require.NoError(t, child.Start())
	childDone := make(chan error, 1)
	go func() { childDone <- child.Wait() }()
	defer func() {
		_ = child.Process.Signal(syscall.SIGTERM)
		select {
		case <-childDone:
		case <-time.After(20 * time.Second):
			_ = child.Process.Kill()
			<-childDone
		}
	}()

	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var x, y, w, h int
	for ready := false; !ready; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the app exited before showing the preview; stderr:\n%s", tail(stderr.String()))
			}
			if strings.HasPrefix(l, "ERROR") {
				t.Fatalf("app: %s; stderr:\n%s", l, tail(stderr.String()))
			}
			if _, err := fmt.Sscanf(l, "READY %d %d %d %d", &x, &y, &w, &h); err == nil {
				ready = true
			}
		case <-time.After(120 * time.Second):
			t.Fatalf("no preview within 120 s; stderr:\n%s", tail(stderr.String()))
		}
	}

	shot := filepath.Join(artifacts, "golive-window.png")
	cmd := exec.Command(imp, "-display", display, "-window", "root", shot)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("import: %v: %s", err, b)
	}
	t.Logf("screenshot: %s (preview at %d,%d %dx%d in the window)", shot, x, y, w, h)
	f, err := os.Open(shot)
	require.NoError(t, err)
	defer f.Close()
	img, _, err := image.Decode(f)
	require.NoError(t, err)

	// The window is centred on the 1280x800 screen (no window manager).
	b := img.Bounds()
	win := image.Rect(0, 0, 1200, 760).Add(image.Pt((b.Dx()-1200)/2, (b.Dy()-760)/2))
	area := image.Rect(x, y, x+w, y+h).Add(win.Min).Intersect(b)
	require.False(t, area.Empty(), "preview area %v off screen %v", area, b)
	colours := map[uint32]bool{}
	var sum, sumSq float64
	n := 0
	for py := area.Min.Y; py < area.Max.Y; py += 2 {
		for px := area.Min.X; px < area.Max.X; px += 2 {
			r, g, bl, _ := img.At(px, py).RGBA()
			colours[(r>>11)<<10|(g>>11)<<5|bl>>11] = true
			l := 0.299*float64(r>>8) + 0.587*float64(g>>8) + 0.114*float64(bl>>8)
			sum += l
			sumSq += l * l
			n++
		}
	}
	mean := sum / float64(n)
	std := sumSq/float64(n) - mean*mean
	t.Logf("preview area %v: %d colours, luma mean %.1f variance %.1f", area, len(colours), mean, std)
	require.Greater(t, len(colours), 8, "the preview area looks uniform: no picture")
	require.Greater(t, std, 100.0, "the preview area has almost no contrast")

	// The other tabs, for whoever reads the artifacts.
	for _, tab := range []string{"Scene", "Destinations", "Chat", "Settings", "Add"} {
		fmt.Fprintln(in, tab)
		select {
		case l := <-lines:
			require.Equal(t, "TAB true", l, tab)
		case <-time.After(30 * time.Second):
			t.Fatalf("the app did not switch to %s", tab)
		}
		p := filepath.Join(artifacts, "golive-"+strings.ToLower(tab)+".png")
		if b, err := exec.Command(imp, "-display", display, "-window", "root", p).CombinedOutput(); err != nil {
			t.Fatalf("import: %v: %s", err, b)
		}
		t.Logf("screenshot: %s", p)
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}
