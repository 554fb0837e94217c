package peers

import (
	"errors"
	"fmt"
	"go/build"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// VersityGWModule is what `make deps` installs: the S3 server peer.
const VersityGWModule = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// VersityGW is a versitygw S3 server process with its posix backend in a
// temp dir, listening on a free loopback port. Each directory under its
// root is a bucket.
type VersityGW struct {
	// AccessKey and SecretKey are the root user's credentials.
	AccessKey, SecretKey string

	t    testing.TB
	bin  string
	root string
	addr string
	logf string
	proc processSlot
}

// versityBin returns the versitygw binary: on the PATH, or where `go
// install` put it.
func versityBin(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	for _, dir := range []string{os.Getenv("GOBIN"), filepath.Join(build.Default.GOPATH, "bin")} {
		if dir == "" {
			continue
		}
		if p := filepath.Join(dir, "versitygw"); isExecutable(p) {
			return p
		}
	}
	Missing(t, "versitygw is not installed (make deps runs go install %s)", VersityGWModule)
	return ""
}

func isExecutable(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// StartVersityGW starts versitygw with the given buckets (made as
// directories of its root) and returns once it answers. It is stopped by
// t.Cleanup.
func StartVersityGW(t testing.TB, buckets ...string) *VersityGW {
	t.Helper()
	g := &VersityGW{AccessKey: "GOLIVETESTKEY", SecretKey: "golive-test-secret-0123456789",
		t: t, bin: versityBin(t), root: filepath.Join(t.TempDir(), "root")}
	g.logf = filepath.Join(filepath.Dir(g.root), "versitygw.log")
	for _, b := range buckets {
		if err := os.MkdirAll(filepath.Join(g.root, b), 0o755); err != nil {
			t.Fatalf("versitygw: bucket dir: %v", err)
		}
	}
	t.Cleanup(g.Stop)
	if _, err := onFreePort(func(addr string) error { g.addr = addr; return g.start() }, anyError); err != nil {
		t.Fatalf("versitygw: %v", err)
	}
	return g
}

// Endpoint returns the server's URL (http://127.0.0.1:PORT).
func (g *VersityGW) Endpoint() string { return "http://" + g.addr }

// Region returns the region the server answers for.
func (g *VersityGW) Region() string { return "us-east-1" }

// URL returns the path-style URL of an object.
func (g *VersityGW) URL(bucket, key string) string { return g.Endpoint() + "/" + bucket + "/" + key }

// ObjectPath returns where the posix backend keeps an object.
func (g *VersityGW) ObjectPath(bucket, key string) string {
	return filepath.Join(g.root, bucket, filepath.FromSlash(key))
}

// Env returns the AWS environment variables that give the root user's
// credentials, with the instance metadata lookup off (tests never leave
// the machine).
func (g *VersityGW) Env() []string {
	return []string{"AWS_ACCESS_KEY_ID=" + g.AccessKey, "AWS_SECRET_ACCESS_KEY=" + g.SecretKey,
		"AWS_REGION=" + g.Region(), "AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null"}
}

// Log returns what versitygw wrote so far.
func (g *VersityGW) Log() string {
	b, _ := os.ReadFile(g.logf)
	return string(b)
}

// Start starts the server again after Stop, on the same port.
func (g *VersityGW) Start() {
	g.t.Helper()
	if err := restartOnPort(g.start, 15*time.Second, anyError); err != nil {
		g.t.Fatalf("versitygw restart on %s: %v", g.addr, err)
	}
}

// Stop stops the server and waits for it to exit. It is idempotent.
func (g *VersityGW) Stop() {
	g.proc.stop()
}

// start runs versitygw and waits until its health route answers or it
// exits.
func (g *VersityGW) start() error {
	if g.proc.running() {
		return errors.New("already running")
	}
	logf, err := os.OpenFile(g.logf, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(g.bin, "--port", g.addr, "--access", g.AccessKey, "--secret", g.SecretKey,
		"--region", g.Region(), "--health", "/healthz", "--quiet", "posix", g.root)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	p, err := startProcess(cmd)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: time.Second}
	healthy := func() bool {
		resp, err := client.Get(g.Endpoint() + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	if err := p.waitReady(healthy, 20*time.Second, g.Log); err != nil {
		return fmt.Errorf("versitygw on %s: %w", g.addr, err)
	}
	g.proc.set(p)
	return nil
}
