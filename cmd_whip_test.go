package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

// liveStatus reads /api/status of a running `golive serve`.
func liveStatus(t *testing.T, addr string) (live bool, audioCodec string, width int) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/api/status")
	require.NoError(t, err)
	defer resp.Body.Close()
	var st struct {
		Live   bool `json:"live"`
		Ingest *struct {
			Width      int    `json:"width"`
			AudioCodec string `json:"audio_codec"`
		} `json:"ingest"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&st))
	if st.Ingest == nil {
		return st.Live, "", 0
	}
	return st.Live, st.Ingest.AudioCodec, st.Ingest.Width
}

// TestStreamOverWHIP runs `golive stream --to http://KEY@HOST/whip` into
// `golive serve`, multistreamed with an RTMP destination (nginx-rtmp) from
// the same encode: the server gets H.264 and Opus over WebRTC and serves
// LL-HLS that ffprobe reads as H.264 with AAC, while nginx records the
// same H.264 with AAC; the status lines mask the key.
func TestStreamOverWHIP(t *testing.T) {
	peers.RequireTool(t, "ffprobe")
	addr, key, _ := startServe(t, t.TempDir())
	ng := peers.StartNginxRTMP(t)
	whip := "http://" + key + "@" + addr + "/whip"

	// A wrong key is refused at once, with one line and the key masked.
	code, _, stderr := execCLI(t, "stream", "--to", "http://wrong-key@"+addr+"/whip", "--size", "320x240", "--duration", "3s")
	require.Equal(t, 1, code, stderr)
	require.Contains(t, stderr, "wrong stream key")
	require.NotContains(t, stderr, "wrong-key")

	c := streamCase{size: "640x360", width: 640, height: 360, duration: 8 * time.Second}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, golive, "stream", "--to", whip, "--to", ng.URL("multi"), "--size", c.size,
		"--bitrate", "800k", "--duration", c.duration.String())
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	var errOut bytes.Buffer
	cmd.Stderr = &errOut
	require.NoError(t, cmd.Start())
	var out strings.Builder
	lines := make(chan struct{})
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			out.WriteString(sc.Text() + "\n")
		}
	}()

	require.Eventually(t, func() bool {
		live, audio, width := liveStatus(t, addr)
		return live && audio == "opus" && width == c.width
	}, 30*time.Second, 100*time.Millisecond, "the server gets H.264 and Opus over WHIP")
	// ffprobe reads the LL-HLS stream (again while the audio rendition
	// has no segment yet).
	var info peers.ProbeInfo
	for deadline := time.Now().Add(20 * time.Second); ; {
		info = peers.ProbeStreams(t, "http://"+addr+"/hls/index.m3u8")
		if _, ok := info.Audio(); ok || time.Now().After(deadline) {
			break
		}
	}
	v, ok := info.Video()
	require.True(t, ok)
	require.Equal(t, "h264", v.CodecName)
	require.Equal(t, c.width, v.Width)
	a, ok := info.Audio()
	require.True(t, ok, "LL-HLS has audio")
	require.Equal(t, "aac", a.CodecName)

	<-lines
	require.NoError(t, cmd.Wait(), "stderr: %s", errOut.String())
	text := out.String()
	t.Logf("golive stream:\n%s", text)
	require.Contains(t, text, "state=live")
	require.Contains(t, text, "****@"+addr+"/whip live", "the WHIP destination, key masked, in the status line")
	require.NotContains(t, text, key)
	require.NotContains(t, errOut.String(), key)
	require.Eventually(t, func() bool { live, _, _ := liveStatus(t, addr); return !live }, 10*time.Second, 50*time.Millisecond,
		"the session was DELETEd at the end")

	// Both servers took every frame encoded (under load the broadcaster
	// may encode fewer than 30 a second: what counts is that none is lost).
	took := regexp.MustCompile(`(?m)^(\S+): the server took (\d+) of (\d+) frames`).FindAllStringSubmatch(text, -1)
	require.Len(t, took, 2, text)
	for _, m := range took {
		require.Equal(t, m[3], m[2], "%s took every frame", m[1])
	}
	ng.WaitUnpublished("multi", 10*time.Second)
	ng.Stop()
	// The RTMP destination keeps AAC, from the same encode.
	rec := peers.FFprobe(t, ng.RecordPath("multi"))
	require.Empty(t, strings.TrimSpace(rec.Stderr), "no decode errors")
	rv, ok := rec.Video()
	require.True(t, ok)
	require.Equal(t, c.width, rv.Width)
	require.Equal(t, took[1][2], strconv.Itoa(rv.Frames()), "nginx recorded every frame")
	ra, ok := rec.Audio()
	require.True(t, ok)
	require.Equal(t, "aac", ra.CodecName)
}
