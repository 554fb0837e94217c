package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// streamLine is one line `golive stream` printed, with when it came.
type streamLine struct {
	at   time.Time
	text string
}

// runStreamThrough runs `golive stream` to key on nginx-rtmp behind link
// and calls each(line, serverProgress) for every line as it comes (the
// server's progress read from nginx's recording at that moment). It
// returns the exit code, every line and stderr.
func runStreamThrough(t *testing.T, n *peers.Nginx, link *peers.Proxy, key string, each func(streamLine, peers.FLVProgress), args ...string) (int, []streamLine, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	args = append([]string{"stream", "--to", "rtmp://" + link.Addr() + "/live/" + key}, args...)
	cmd := exec.CommandContext(ctx, golive, args...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	require.NoError(t, cmd.Start())
	var lines []streamLine
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		l := streamLine{time.Now(), sc.Text()}
		lines = append(lines, l)
		prog, err := peers.ReadFLVProgress(n.RecordPath(key))
		require.NoError(t, err)
		if each != nil {
			each(l, prog)
		}
	}
	err = cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("golive stream: %v", err)
	}
	return cmd.ProcessState.ExitCode(), lines, stderr.String()
}

var queueRE = regexp.MustCompile(`^state=(\w+) .* queue=(\d+)ms`)

// TestStreamThroughSlowLink is the first scenario: the test
// pattern through a link that carries less than it makes. Whenever the
// server's recording is more than 2 s behind real time, the status line
// must not say live: it says congested (or the queue shows the wait); at
// the end the command says how much of the stream the server took.
func TestStreamThroughSlowLink(t *testing.T) {
	n := peers.StartNginxRTMP(t)
	link := peers.StartProxy(t, n.Addr(), peers.ProxyOptions{Rate: 100_000, ReadBuffer: 4 << 10})
	var start time.Time
	var congested int
	each := func(l streamLine, prog peers.FLVProgress) {
		if strings.HasPrefix(l.text, "live:") {
			start = l.at
			return
		}
		m := queueRE.FindStringSubmatch(l.text)
		if m == nil || start.IsZero() || prog.Frames == 0 {
			return
		}
		if m[1] == "congested" {
			congested++
		}
		lag := l.at.Sub(start) - prog.Last
		if lag > 2500*time.Millisecond {
			require.NotEqual(t, "live", m[1], "the server is %v behind real time and the status line says: %s", lag, l.text)
		}
	}
	code, lines, stderr := runStreamThrough(t, n, link, "slow", each,
		"--size", "640x360", "--fps", "15", "--bitrate", "1500k", "--audio", "none", "--duration", "20s")
	out := joinLines(lines)
	t.Logf("link carried %d kbit/s\n%s\n%s", link.Carried()/1000, out, stderr)
	require.Equal(t, 0, code, "the server took the stream, if not all of it")
	require.Positive(t, congested, "never congested through a link slower than the stream")
	require.Contains(t, out, "link=")
	require.Regexp(t, `rtmp://127\.0\.0\.1:\d+/live/\*\*\*\*: the server took \d+ of \d+ frames`, out)
}

// TestStreamThroughStalledLink is the second scenario: a link that
// lets the handshake and the publish through, then carries nothing, for
// every connection. The destination shows reconnecting within 6 s (plus
// the machine's load) of the link's last byte, with the reason; the
// command exits 1 saying the server never took the stream.
func TestStreamThroughStalledLink(t *testing.T) {
	n := peers.StartNginxRTMP(t, peers.NginxOptions{DropIdlePublisher: 3 * time.Second})
	const stallAfter = 8 << 10
	link := peers.StartProxy(t, n.Addr(), peers.ProxyOptions{StallAfter: stallAfter, ReadBuffer: 4 << 10})
	var stalledAt, reconnectingAt time.Time
	each := func(l streamLine, _ peers.FLVProgress) {
		if stalledAt.IsZero() && link.Bytes() >= stallAfter {
			stalledAt = l.at
		}
		if reconnectingAt.IsZero() && strings.HasPrefix(l.text, "state=reconnecting") {
			reconnectingAt = l.at
		}
	}
	code, lines, stderr := runStreamThrough(t, n, link, "dead", each,
		"--size", "320x240", "--bitrate", "500k", "--duration", "15s")
	out := joinLines(lines)
	t.Logf("%s\n%s", out, stderr)
	require.False(t, reconnectingAt.IsZero(), "never reconnecting")
	took := reconnectingAt.Sub(stalledAt)
	t.Logf("reconnecting %v after the link carried its last byte (status lines come once a second)", took)
	require.Less(t, took, 8*time.Second)
	require.Contains(t, out, `reason="connection lost: link stalled: the server acknowledged nothing for 5s"`)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "the server never took the stream")
	prog, err := peers.ReadFLVProgress(n.RecordPath("dead"))
	require.NoError(t, err)
	require.Less(t, prog.Frames, 30, "the server got less than a second of it")
}

func joinLines(lines []streamLine) string {
	var sb strings.Builder
	for _, l := range lines {
		sb.WriteString(l.text)
		sb.WriteByte('\n')
	}
	return sb.String()
}
