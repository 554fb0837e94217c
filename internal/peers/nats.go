package peers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// NATSOptions changes how StartNATS runs nats-server.
type NATSOptions struct {
	// NoJetStream runs the server without JetStream (it is on by default).
	NoJetStream bool
	// User and Password, if set, are required from clients.
	User, Password string
}

// NATS is a nats-server process (Debian's nats-server package) listening on a
// loopback port, with JetStream on unless NATSOptions.NoJetStream; its
// JetStream store lives in the test's temporary directory, so it survives a
// Stop and Start.
type NATS struct {
	t    testing.TB
	bin  string
	dir  string
	opts NATSOptions
	addr string

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	log     *SyncBuffer
}

// StartNATS starts nats-server on a free 127.0.0.1 port and returns once it is
// ready for clients. It is stopped by t.Cleanup.
func StartNATS(t testing.TB, opts ...NATSOptions) *NATS {
	t.Helper()
	n := &NATS{t: t, bin: natsServerBin(t), dir: t.TempDir()}
	if len(opts) > 0 {
		n.opts = opts[0]
	}
	t.Cleanup(n.Stop)
	if _, err := onFreePort(func(addr string) error { n.addr = addr; return n.start() }, portInUse); err != nil {
		t.Fatalf("nats-server: %v", err)
	}
	return n
}

// natsServerBin finds nats-server: on the PATH, or where Debian's package puts
// it (/usr/sbin, which a user's PATH often lacks).
func natsServerBin(t testing.TB) string {
	if _, err := exec.LookPath("nats-server"); err != nil {
		if fi, err := os.Stat(debianNATSServer); err == nil && !fi.IsDir() {
			return debianNATSServer
		}
	}
	return RequireTool(t, "nats-server")
}

// debianNATSServer is where Debian's nats-server package installs the server.
const debianNATSServer = "/usr/sbin/nats-server"

// Addr returns host:port of the client listener.
func (n *NATS) Addr() string { return n.addr }

// URL returns nats://HOST:PORT, with the user and password if the server wants them.
func (n *NATS) URL() string {
	if n.opts.User != "" {
		return "nats://" + n.opts.User + ":" + n.opts.Password + "@" + n.addr
	}
	return "nats://" + n.addr
}

// Log returns what nats-server has printed so far.
func (n *NATS) Log() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.log == nil {
		return ""
	}
	return n.log.String()
}

// Start starts nats-server again after Stop, on the same port and with the same
// JetStream store.
func (n *NATS) Start() {
	n.t.Helper()
	if err := restartOnPort(n.start, 10*time.Second, portInUse); err != nil {
		n.t.Fatalf("nats-server restart on %s: %v", n.addr, err)
	}
}

// Stop stops nats-server (SIGTERM: clients see the connection close) and waits
// for it to exit. It is idempotent.
func (n *NATS) Stop() {
	n.mu.Lock()
	cmd, exited := n.cmd, n.exited
	n.cmd = nil
	n.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// start runs nats-server and waits until it logs that it is ready and its port
// accepts a connection, or it exits.
func (n *NATS) start() error {
	n.mu.Lock()
	if n.cmd != nil {
		n.mu.Unlock()
		return errors.New("already running")
	}
	n.mu.Unlock()
	host, port, _ := net.SplitHostPort(n.addr)
	args := []string{"-a", host, "-p", port, "-n", "golive-test"}
	if !n.opts.NoJetStream {
		args = append(args, "-js", "-sd", n.dir)
	}
	if n.opts.User != "" {
		args = append(args, "--user", n.opts.User, "--pass", n.opts.Password)
	}
	log := &SyncBuffer{}
	cmd := exec.Command(n.bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		err := cmd.Wait()
		n.mu.Lock()
		n.waitErr = err
		n.mu.Unlock()
		close(exited)
	}()
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case <-exited:
			n.mu.Lock()
			err := n.waitErr
			n.mu.Unlock()
			return fmt.Errorf("exited before listening (%v): %s", err, tail(log.String(), 800))
		default:
		}
		if strings.Contains(log.String(), "Server is ready") {
			if c, err := net.DialTimeout("tcp", n.addr, time.Second); err == nil {
				_ = c.Close()
				break
			}
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("not ready on %s after 15 s: %s", n.addr, tail(log.String(), 800))
		}
		time.Sleep(20 * time.Millisecond)
	}
	n.mu.Lock()
	n.cmd, n.exited, n.log = cmd, exited, log
	n.mu.Unlock()
	return nil
}
