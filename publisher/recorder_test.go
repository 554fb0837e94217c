package publisher

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/internal/peers"
)

func TestRecorder(t *testing.T) {
	c := makeClip(t, peers.TestSource{Width: 320, Height: 240, FPS: 25, Duration: 2 * time.Second})
	for _, ext := range []string{".mp4", ".mkv"} {
		t.Run(ext, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "rec"+ext)
			rec := &Recorder{Path: path, Video: c.file.Video, Audio: c.file.Audio, Logger: testLogger(t)}
			require.NoError(t, rec.Initialize())
			feed(rec, c.file.Packets, false, 3*time.Second)
			rec.Close()
			rec.Close()
			require.NoError(t, rec.Err())
			st := rec.Stats()
			require.Equal(t, int64(len(c.file.Packets)), st.Packets)
			require.Zero(t, st.Dropped)
			info := peers.FFprobe(t, path)
			require.Empty(t, strings.TrimSpace(info.Stderr))
			v, ok := info.Video()
			require.True(t, ok)
			require.Equal(t, 320, v.Width)
			require.Equal(t, c.frames, v.Frames())
			a, ok := info.Audio()
			require.True(t, ok)
			require.Equal(t, 48000, a.Rate())
			require.InDelta(t, 2.0, info.Format.Seconds(), 0.15)
			first := peers.FirstPTS(peers.ProbePackets(t, path))
			require.InDelta(t, first["video"], first["audio"], 0.1)
		})
	}
}

func TestRecorderBadPath(t *testing.T) {
	c := makeClip(t, peers.TestSource{Duration: 200 * time.Millisecond, NoAudio: true})
	rec := &Recorder{Path: filepath.Join(t.TempDir(), "no", "such", "dir", "x.mp4"), Video: c.file.Video, Logger: testLogger(t)}
	require.ErrorIs(t, rec.Initialize(), ErrRecorder)
	rec.Close()
}

// TestRecorderKill9 records in a child process, kills it with SIGKILL
// mid-recording and checks that ffprobe reads the file up to within 2 s
// of the kill.
func TestRecorderKill9(t *testing.T) {
	src := peers.MakeTestFile(t, peers.TestSource{Width: 320, Height: 240, FPS: 25, GOP: 50, Duration: 6 * time.Second})
	out := filepath.Join(t.TempDir(), "killed.mp4")
	cmd := exec.Command(os.Args[0], "-test.run=^TestRecorderChild$", "-test.v")
	cmd.Env = append(os.Environ(), "GOLIVE_RECORDER_CHILD="+src+"|"+out)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	killed := false
	defer func() {
		if !killed {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	}()
	var written time.Duration
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if ms, ok := strings.CutPrefix(line, "recorded-ms "); ok {
			n, err := strconv.Atoi(ms)
			require.NoError(t, err)
			written = time.Duration(n) * time.Millisecond
			if written >= 2500*time.Millisecond {
				break
			}
		}
	}
	require.GreaterOrEqual(t, written, 2500*time.Millisecond, "child did not record: %v", sc.Err())
	require.NoError(t, cmd.Process.Kill()) // SIGKILL
	killed = true
	_ = cmd.Wait()

	info := peers.FFprobe(t, out)
	v, ok := info.Video()
	require.True(t, ok, "killed recording unreadable: %+v", info)
	last := 0.0
	for _, p := range peers.ProbePackets(t, out) {
		if p.CodecType == "video" {
			last = max(last, p.PTS)
		}
	}
	t.Logf("killed at %v of media written; file plays to %.2f s (%d frames)", written, last, v.Frames())
	require.Greater(t, last, written.Seconds()-2, "more than 2 s lost at the kill")
}

// TestRecorderChild is the child of TestRecorderKill9.
func TestRecorderChild(t *testing.T) {
	env := os.Getenv("GOLIVE_RECORDER_CHILD")
	if env == "" {
		t.Skip("child process of TestRecorderKill9")
	}
	src, out, _ := strings.Cut(env, "|")
	f := peers.ReadFLV(t, src)
	rec := &Recorder{Path: out, Video: f.Video, Audio: f.Audio, Logger: testLogger(t)}
	require.NoError(t, rec.Initialize())
	start := time.Now()
	for _, p := range f.Packets {
		if d := time.Until(start.Add(p.DTS)); d > 0 {
			time.Sleep(d) // live pacing
		}
		rec.WritePacket(p)
		if p.Codec.IsVideo() {
			fmt.Printf("recorded-ms %d\n", rec.Stats().Duration.Milliseconds())
		}
	}
	rec.Close()
}
