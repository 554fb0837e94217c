package peers

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// NginxModule is where Debian's libnginx-mod-rtmp installs the RTMP module.
const NginxModule = "/usr/lib/nginx/modules/ngx_rtmp_module.so"

// NginxOptions changes the configuration StartNginxRTMP writes.
type NginxOptions struct {
	// RecordAppend makes a restarted nginx append to an existing recording
	// instead of overwriting it (record_append on).
	RecordAppend bool
	// ExtraApplication is inserted verbatim into the rtmp server block,
	// e.g. another `application name { ... }`.
	ExtraApplication string
	// DropIdlePublisher makes application "live" drop a publisher that
	// has sent no media for this long (drop_idle_publisher; 0: never), so
	// that a publisher whose link died can publish again.
	DropIdlePublisher time.Duration
}

// Nginx is an nginx process with the RTMP module, listening on a loopback
// port, whose application "live" records every published stream into
// RecordPath(key).
type Nginx struct {
	t    testing.TB
	bin  string
	dir  string
	conf string
	opts NginxOptions
	addr string
	proc processSlot
}

// StartNginxRTMP starts nginx-rtmp on a free 127.0.0.1 port and returns once
// the port accepts connections. nginx is stopped by t.Cleanup.
func StartNginxRTMP(t testing.TB, opts ...NginxOptions) *Nginx {
	t.Helper()
	bin := RequireTool(t, "nginx")
	if _, err := os.Stat(NginxModule); err != nil {
		Missing(t, "nginx RTMP module (apt-get install libnginx-mod-rtmp): %v", err)
	}
	n := &Nginx{t: t, bin: bin, dir: t.TempDir()}
	if len(opts) > 0 {
		n.opts = opts[0]
	}
	t.Cleanup(n.Stop)
	start := func(addr string) error {
		n.addr = addr
		if err := n.writeConfig(); err != nil {
			return fmt.Errorf("write config: %w", err)
		}
		return n.start()
	}
	if _, err := onFreePort(start, portInUse); err != nil {
		t.Fatalf("nginx: %v", err)
	}
	return n
}

// Addr returns host:port of the RTMP listener.
func (n *Nginx) Addr() string { return n.addr }

// URL returns the publish/play URL of key in application "live".
func (n *Nginx) URL(key string) string { return "rtmp://" + n.addr + "/live/" + key }

// AppURL returns the URL of key in any application, for refusal tests.
func (n *Nginx) AppURL(app, key string) string { return "rtmp://" + n.addr + "/" + app + "/" + key }

// RecordPath returns the FLV file nginx records a stream published as key to.
func (n *Nginx) RecordPath(key string) string { return filepath.Join(n.dir, "rec", key+".flv") }

// ErrorLog returns what nginx has written to its error log so far.
func (n *Nginx) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(n.dir, "error.log"))
	return string(b)
}

// WaitUnpublished waits until the connection that published key has
// ended its stream (deleteStream or disconnect in nginx's log), so that
// everything it sent has been processed and recorded. It fails the test
// after timeout.
func (n *Nginx) WaitUnpublished(key string, timeout time.Duration) {
	n.t.Helper()
	re := regexp.MustCompile(`(\*\d+) publish: name='` + regexp.QuoteMeta(key) + `'`)
	deadline := time.Now().Add(timeout)
	for {
		// Connection numbers restart with nginx: look after the last
		// publish of key only.
		log := n.ErrorLog()
		if all := re.FindAllStringSubmatchIndex(log, -1); len(all) > 0 {
			m := all[len(all)-1]
			id := log[m[2]:m[3]]
			rest := log[m[1]:]
			if strings.Contains(rest, id+" deleteStream") || strings.Contains(rest, id+" disconnect") {
				return
			}
		}
		if time.Now().After(deadline) {
			n.t.Fatalf("nginx: stream %q still published after %v: %s", key, timeout, tail(log, 1500))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Start starts nginx again after Stop, on the same port.
func (n *Nginx) Start() {
	n.t.Helper()
	// TIME_WAIT is not a problem: nginx sets SO_REUSEADDR.
	if err := restartOnPort(n.start, 10*time.Second, portInUse); err != nil {
		n.t.Fatalf("nginx restart on %s: %v", n.addr, err)
	}
}

// Stop stops nginx (fast shutdown, closing every connection) and waits for
// it to exit; the recordings are complete afterwards. It is idempotent.
func (n *Nginx) Stop() {
	n.proc.stop()
}

func (n *Nginx) writeConfig() error {
	rec := filepath.Join(n.dir, "rec")
	if err := os.MkdirAll(rec, 0o755); err != nil {
		return err
	}
	appendRec := "off"
	if n.opts.RecordAppend {
		appendRec = "on"
	}
	idle := ""
	if n.opts.DropIdlePublisher > 0 {
		idle = fmt.Sprintf("drop_idle_publisher %dms;", n.opts.DropIdlePublisher.Milliseconds())
	}
	conf := fmt.Sprintf(`load_module %s;
daemon off;
master_process off;
worker_processes 1;
error_log %s info;
pid %s;
events { worker_connections 128; }
rtmp {
    server {
        listen %s;
        chunk_size 4096;
        application live {
            live on;
            record all;
            record_path %s;
            record_unique off;
            record_append %s;
            %s
        }
        %s
    }
}
`, NginxModule, filepath.Join(n.dir, "error.log"), filepath.Join(n.dir, "nginx.pid"),
		n.addr, rec, appendRec, idle, n.opts.ExtraApplication)
	n.conf = filepath.Join(n.dir, "nginx.conf")
	return os.WriteFile(n.conf, []byte(conf), 0o644)
}

// start runs nginx and waits until the port accepts a connection or the
// process exits.
func (n *Nginx) start() error {
	if n.proc.running() {
		return errors.New("already running")
	}
	var stderr SyncBuffer
	cmd := exec.Command(n.bin, "-p", n.dir, "-e", filepath.Join(n.dir, "error.log"), "-c", n.conf)
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	p, err := startProcess(cmd)
	if err != nil {
		return err
	}
	logs := func() string { return stderr.String() + " " + n.ErrorLog() }
	if err := p.waitReady(func() bool { return accepts(n.addr) }, 15*time.Second, logs); err != nil {
		return fmt.Errorf("nginx on %s: %w", n.addr, err)
	}
	n.proc.set(p)
	return nil
}
