package peers

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// FFmpegListen is `ffmpeg -listen 1` acting as a one-shot RTMP server: it
// accepts one publisher and copies its stream into a file.
type FFmpegListen struct {
	t      testing.TB
	url    string
	out    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	exited chan struct{}
	err    error
}

// StartFFmpegListen starts ffmpeg listening on a free 127.0.0.1 port,
// writing what it receives to outFile (container chosen by extension:
// .flv, .mkv, ...), and returns once the port is listening. ffmpeg is
// killed by t.Cleanup if it is still running.
func StartFFmpegListen(t testing.TB, outFile string) *FFmpegListen {
	t.Helper()
	bin := RequireTool(t, "ffmpeg")
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("ffmpeg listen: pick a free port: %v", err)
		}
		f := &FFmpegListen{
			t:      t,
			url:    fmt.Sprintf("rtmp://127.0.0.1:%d/live/x", port),
			out:    outFile,
			stderr: &lockedBuffer{},
			exited: make(chan struct{}),
		}
		f.cmd = exec.Command(bin, "-hide_banner", "-nostdin", "-loglevel", "error",
			"-listen", "1", "-i", f.url, "-c", "copy", "-y", outFile)
		f.cmd.Stderr = f.stderr
		if err := f.cmd.Start(); err != nil {
			t.Fatalf("ffmpeg listen: %v", err)
		}
		go func() {
			f.err = f.cmd.Wait()
			close(f.exited)
		}()
		t.Cleanup(func() {
			_ = f.cmd.Process.Kill()
			<-f.exited
		})
		// Dialing the port would consume ffmpeg's only connection, so
		// watch the kernel's socket table for the listener instead.
		deadline := time.Now().Add(15 * time.Second)
		for {
			select {
			case <-f.exited:
				lastErr = fmt.Errorf("exited before listening (%v): %s", f.err, f.stderr.String())
			default:
				if listening(port) {
					return f
				}
				if time.Now().After(deadline) {
					t.Fatalf("ffmpeg listen: not listening on port %d after 15 s: %s", port, f.stderr.String())
				}
				time.Sleep(20 * time.Millisecond)
				continue
			}
			break
		}
	}
	t.Fatalf("ffmpeg listen: %v", lastErr)
	return nil
}

// URL returns the URL to publish to.
func (f *FFmpegListen) URL() string { return f.url }

// Output returns the file ffmpeg writes.
func (f *FFmpegListen) Output() string { return f.out }

// Stderr returns ffmpeg's error output so far.
func (f *FFmpegListen) Stderr() string { return f.stderr.String() }

// Wait waits for ffmpeg to exit (it does once the publisher closes) and
// fails the test if it does not within timeout or exits with an error.
func (f *FFmpegListen) Wait(timeout time.Duration) {
	f.t.Helper()
	select {
	case <-f.exited:
	case <-time.After(timeout):
		_ = f.cmd.Process.Kill()
		<-f.exited
		f.t.Fatalf("ffmpeg listen did not exit within %v after the publisher closed: %s", timeout, f.stderr.String())
	}
	if f.err != nil {
		f.t.Fatalf("ffmpeg listen exited with %v: %s", f.err, f.stderr.String())
	}
}

// listening reports whether a TCP socket listens on 127.0.0.1:port or
// on any address, according to /proc/net/tcp.
func listening(port int) bool {
	for _, file := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		fh, err := os.Open(file)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(fh)
		for sc.Scan() {
			fields := strings.Fields(sc.Text())
			if len(fields) < 4 || fields[3] != "0A" { // 0A = LISTEN
				continue
			}
			i := strings.LastIndexByte(fields[1], ':')
			if i < 0 {
				continue
			}
			p, err := strconv.ParseUint(fields[1][i+1:], 16, 16)
			if err == nil && int(p) == port {
				fh.Close()
				return true
			}
		}
		fh.Close()
	}
	// Without /proc (not Linux) a dial would use up ffmpeg's only
	// connection: give it a grace period instead.
	if _, err := os.Stat("/proc/net/tcp"); err != nil {
		time.Sleep(time.Second)
		return true
	}
	return false
}

// lockedBuffer is a bytes.Buffer safe for a writer process and readers.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
