package peers

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Xvfb is a virtual X display started for a test.
type Xvfb struct {
	// Display is the DISPLAY value of the server, e.g. ":93".
	Display string
}

// StartXvfb starts Xvfb with one screen of the given geometry
// ("1280x800x24") on a display number it picks itself (-displayfd), and
// returns once the server accepts clients. It is stopped by t.Cleanup.
func StartXvfb(t testing.TB, screen string) *Xvfb {
	t.Helper()
	bin := RequireTool(t, "Xvfb")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", screen, "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w}
	var stderr SyncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		t.Fatalf("Xvfb: %v", err)
	}
	w.Close()
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-exited
	})
	got := make(chan string, 1)
	go func() { // Xvfb writes the display number once it is ready
		line, _ := bufio.NewReader(io.LimitReader(r, 64)).ReadString('\n')
		got <- strings.TrimSpace(line)
	}()
	select {
	case n := <-got:
		if n == "" {
			t.Fatalf("Xvfb exited before it was ready: %s", stderr.String())
		}
		return &Xvfb{Display: ":" + n}
	case <-time.After(30 * time.Second):
		t.Fatalf("Xvfb not ready within 30 s: %s", stderr.String())
	}
	return nil
}
