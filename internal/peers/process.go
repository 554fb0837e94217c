package peers

import (
	"fmt"
	"net"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is a peer's program once started; its exit is watched, so that
// waiting for it to be ready tells "not yet" from "gone".
type process struct {
	cmd    *exec.Cmd
	exited chan struct{}
	err    error // what cmd.Wait returned; read once exited is closed
}

// startProcess starts cmd and watches for its exit.
func startProcess(cmd *exec.Cmd) (*process, error) {
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start: %w", err)
	}
	p := &process{cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// processSlot holds a peer's process while it runs; Start and Stop may
// come from any goroutine.
type processSlot struct {
	mu   sync.Mutex
	proc *process // nil while stopped
}

// running reports whether a process is in the slot.
func (s *processSlot) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// set puts a started process in the slot.
func (s *processSlot) set(p *process) {
	s.mu.Lock()
	s.proc = p
	s.mu.Unlock()
}

// stop stops the process in the slot, if any, and empties it. It is
// idempotent.
func (s *processSlot) stop() {
	s.mu.Lock()
	p := s.proc
	s.proc = nil
	s.mu.Unlock()
	if p != nil {
		p.stop()
	}
}

// waitReady asks ready every 20 ms until it says yes. It fails when the
// process exits first, or after timeout (and kills it then); logs gives
// the peer's own words for the error.
func (p *process) waitReady(ready func() bool, timeout time.Duration, logs func() string) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-p.exited:
			return fmt.Errorf("exited before it was ready (%v): %s", p.err, tail(logs(), 800))
		default:
		}
		if ready() {
			return nil
		}
		if time.Now().After(deadline) {
			_ = p.cmd.Process.Kill()
			<-p.exited
			return fmt.Errorf("not ready after %v: %s", timeout, tail(logs(), 800))
		}
		time.Sleep(20 * time.Millisecond) // polling another process
	}
}

// stop asks the process to stop (SIGTERM) and waits for it to exit,
// killing it after 10 s.
func (p *process) stop() {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
}

// accepts reports whether addr accepts a TCP connection.
func accepts(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
