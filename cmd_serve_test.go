package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

func TestServeBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--nope"},
		{"--ladder", "480"},
		{"--segment", "banana"},
		{"--part", "2s"},
		{"extra"},
		{"--trusted-proxy", "banana"},
		{"--trusted-proxy", "10.0.0.0/40"},
		{"--chat-nats-creds", "/tmp/x.creds"},
		{"--ice-server", "turn:nocredentials.example.org"},
		{"--webrtc-max-viewers", "0"},
		{"--webrtc-addr", "127.0.0.1:99999"},
	} {
		var stdout, stderr bytes.Buffer
		code := runServe(context.Background(), args, &stdout, &stderr)
		require.Equal(t, exitUsage, code, "%v", args)
		require.Empty(t, stdout.String())
		require.Equal(t, 1, strings.Count(stderr.String(), "\n"), "one line: %q", stderr.String())
		require.True(t, strings.HasPrefix(stderr.String(), "golive serve: "), stderr.String())
	}
}

var serveLinesRE = regexp.MustCompile(`(?m)^rtmp listening on (\S+)\nhttp listening on (\S+)\nstream key: (\S+)\n`)

// startServe runs `golive serve` in-process on free ports and returns its
// HTTP address and stream key once it printed them.
func startServe(t *testing.T, dataDir string) (httpAddr, key string, stop func() int) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr peers.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- runServe(ctx, []string{"--rtmp-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0",
			"--data-dir", dataDir, "--ladder", "480p,240p", "--webrtc-addr", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	var m []string
	require.Eventually(t, func() bool {
		m = serveLinesRE.FindStringSubmatch(stdout.String())
		return m != nil
	}, 20*time.Second, 10*time.Millisecond, "serve prints its addresses and key; stdout %q stderr %q", stdout.String(), stderr.String())
	require.NotContains(t, m[1], ":0\n")
	require.NotRegexp(t, `:0$`, m[1], "real RTMP port")
	require.NotRegexp(t, `:0$`, m[2], "real HTTP port")
	stopped := false
	stop = func() int {
		if stopped {
			return 0
		}
		stopped = true
		cancel()
		select {
		case code := <-done:
			return code
		case <-time.After(20 * time.Second):
			t.Fatal("serve did not stop within 20 s of cancel")
			return -1
		}
	}
	t.Cleanup(func() { stop() })
	return m[2], m[3], stop
}

func TestServePrintsAddressesAndKeepsKey(t *testing.T) {
	dir := t.TempDir()
	addr, key, stop := startServe(t, dir)
	require.Len(t, key, 32)
	resp, err := http.Get("http://" + addr + "/healthz")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, 0, stop())

	saved, err := os.ReadFile(filepath.Join(dir, "stream-key"))
	require.NoError(t, err)
	require.Equal(t, key, strings.TrimSpace(string(saved)))
	fi, err := os.Stat(filepath.Join(dir, "stream-key"))
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	_, again, _ := startServe(t, dir)
	require.Equal(t, key, again, "the key is kept across runs")
}
