package peers

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
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

	proc processSlot
	mu   sync.Mutex // guards log
	log  *SyncBuffer
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
	n.proc.stop()
}

// start runs nats-server and waits until it logs that it is ready and its port
// accepts a connection, or it exits.
func (n *NATS) start() error {
	if n.proc.running() {
		return errors.New("already running")
	}
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
	p, err := startProcess(cmd)
	if err != nil {
		return err
	}
	ready := func() bool { return strings.Contains(log.String(), "Server is ready") && accepts(n.addr) }
	if err := p.waitReady(ready, 15*time.Second, log.String); err != nil {
		return fmt.Errorf("nats-server on %s: %w", n.addr, err)
	}
	n.mu.Lock()
	n.log = log
	n.mu.Unlock()
	n.proc.set(p)
	return nil
}
