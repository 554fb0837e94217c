package bench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golive/internal/peers"
)

// goliveServe is a `golive serve` process started for a benchmark.
type goliveServe struct {
	rtmp, http, key string
	cmd             *exec.Cmd
	log             *peers.SyncBuffer
	exited          chan struct{}
	stopped         bool
}

// startServe runs `golive serve` on free loopback ports with the stream
// key "bench", its data in a temporary directory, the ladder encoded with
// libx264 (plus args), and returns once it printed its addresses.
func startServe(t testing.TB, bin string, args ...string) *goliveServe {
	t.Helper()
	args = append([]string{"serve", "--rtmp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
		"--stream-key", "bench", "--encoder", "libx264", "--data-dir", t.TempDir()}, args...)
	cmd := exec.Command(bin, args...)
	s := &goliveServe{cmd: cmd, log: &peers.SyncBuffer{}, exited: make(chan struct{})}
	cmd.Stderr = s.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("golive serve: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			_, _ = s.log.Write([]byte(line + "\n"))
			if v, ok := strings.CutPrefix(line, "rtmp listening on "); ok {
				s.rtmp = v
			} else if v, ok := strings.CutPrefix(line, "http listening on "); ok {
				s.http = v
			} else if v, ok := strings.CutPrefix(line, "stream key: "); ok {
				s.key = v
				close(ready)
			}
		}
		_, _ = io.Copy(io.Discard, stdout)
		_ = cmd.Wait()
		close(s.exited)
	}()
	t.Cleanup(func() { s.stop(t) })
	select {
	case <-ready:
	case <-s.exited:
		t.Fatalf("golive serve exited before it was ready:\n%s", s.log)
	case <-time.After(60 * time.Second):
		t.Fatalf("golive serve not ready within 60 s:\n%s", s.log)
	}
	return s
}

// url returns the server's HTTP URL for path.
func (s *goliveServe) url(path string) string { return "http://" + s.http + path }

// publishURL is the RTMP URL to publish to, through host:port when it is
// not "" (a proxy in front of the server).
func (s *goliveServe) publishURL(via string) string {
	if via == "" {
		via = s.rtmp
	}
	return fmt.Sprintf("rtmp://%s/live/%s", via, s.key)
}

// stop interrupts the server, waits for it and returns its CPU time
// (user + system); it is idempotent.
func (s *goliveServe) stop(t testing.TB) time.Duration {
	if !s.stopped {
		s.stopped = true
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(20 * time.Second):
			_ = s.cmd.Process.Signal(syscall.SIGKILL)
			<-s.exited
			t.Errorf("golive serve did not stop within 20 s of SIGINT:\n%s", s.log)
		}
	}
	if ps := s.cmd.ProcessState; ps != nil {
		return ps.UserTime() + ps.SystemTime()
	}
	return 0
}

// droppedRungs asks /api/status which rungs the server dropped because the
// machine could not keep up.
func (s *goliveServe) droppedRungs() []string {
	resp, err := http.Get(s.url("/api/status"))
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var st struct {
		Dropped []string `json:"dropped_rungs"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&st)
	return st.Dropped
}
