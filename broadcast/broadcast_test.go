package broadcast

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gen2brain/malgo"
	_ "github.com/pion/mediadevices/pkg/driver/videotest" // registers the "VideoTest" camera
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"golive/capture"
	"golive/internal/peers"
	"golive/media"
	"golive/publisher"
)

func TestBroadcastLifecycle(t *testing.T) {
	verifyNoLeaks(t)
	ng := peers.StartNginxRTMP(t)

	var frames atomic.Int64
	b := &Broadcast{
		Config:  Config{Width: 320, Height: 240, FPS: 15, Bitrate: 300_000, Encoder: "libx264"},
		OnFrame: func(*media.VideoFrame) { frames.Add(1) },
	}
	require.NoError(t, b.Initialize())
	defer b.Close()
	var blocks atomic.Int64
	b.SetOnAudio(func(f *media.AudioFrame) { blocks.Add(int64(f.NumSamples())) })
	require.Eventually(t, func() bool { return frames.Load() > 3 }, 10*time.Second, 10*time.Millisecond, "preview frames while offline")
	require.Eventually(t, func() bool { return blocks.Load() >= 4800 }, 10*time.Second, 10*time.Millisecond, "audio tap while offline")
	require.Equal(t, StateOffline, b.Stats().State)
	require.Nil(t, b.LiveDone())

	for round := range 2 { // a second Go Live after Stop works the same
		ctx := context.Background()
		require.NoError(t, b.GoLive(ctx, []string{ng.URL("k")}), "round %d", round)
		require.ErrorIs(t, b.GoLive(ctx, []string{ng.URL("k")}), ErrAlreadyLive)
		require.Eventually(t, func() bool {
			st := b.Stats()
			return st.State == StateLive && st.FPS > 10 && st.Bitrate > 0
		}, 10*time.Second, 50*time.Millisecond, "live with frames flowing: %+v", b.Stats())
		st := b.Stats()
		require.Equal(t, "libx264", st.Encoder)
		require.False(t, st.Hardware)
		require.Equal(t, 15, st.TargetFPS)
		require.Len(t, st.Destinations, 1)
		require.Equal(t, "live", st.Destinations[0].State)
		require.Contains(t, st.Destinations[0].URL, "/live/****")
		require.NotEmpty(t, st.BitrateHistory)
		require.Equal(t, 300_000, st.TargetBitrate)
		b.SetBitrate(200_000)
		require.Equal(t, 200_000, b.Config.Bitrate)
		require.Eventually(t, func() bool { return b.Stats().TargetBitrate == 200_000 }, 5*time.Second, 20*time.Millisecond)
		b.ReconnectNow() // a no-op while connected
		b.SetBitrate(300_000)
		done := b.LiveDone()
		b.StopLive()
		<-done
		require.NoError(t, b.Err())
		require.Equal(t, StateOffline, b.Stats().State)
	}
}

func TestBroadcastRefused(t *testing.T) {
	verifyNoLeaks(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	require.NoError(t, l.Close())

	b := &Broadcast{Config: Config{Width: 160, Height: 120, FPS: 10, Audio: "none", Encoder: "libx264"}}
	require.ErrorIs(t, b.GoLive(context.Background(), nil), ErrNotInitialized)
	require.NoError(t, b.Initialize())
	defer b.Close()
	err = b.GoLive(context.Background(), []string{"rtmp://" + addr + "/live/secret"})
	require.ErrorIs(t, err, publisher.ErrNoDestination)
	require.ErrorIs(t, err, publisher.ErrUnreachable)
	require.NotContains(t, err.Error(), "secret")
	require.ErrorIs(t, b.GoLive(context.Background(), []string{"ftp://x/live/k"}), media.ErrBadOption) // http(s) is WHIP
	require.Equal(t, StateOffline, b.Stats().State)
}

func TestBroadcastBadSource(t *testing.T) {
	for _, c := range []Config{{Source: "telescope"}, {Audio: "kazoo"}, {Audio: "file"},
		{Source: "file:" + t.TempDir() + "/missing.mp4"}, {Source: "file:/dev/null", Audio: "file"}} {
		b := &Broadcast{Config: c}
		require.ErrorIs(t, b.Initialize(), media.ErrBadOption, "%+v", c)
		b.Close()
		c.Destinations = []string{"rtmp://127.0.0.1/live/k"}
		if c.Source != "" && !strings.HasPrefix(c.Source, "file:") || c.Audio == "file" && c.Source == "" {
			require.ErrorIs(t, c.Validate(), media.ErrBadOption, "%+v", c)
		}
	}
	require.NoError(t, Config{Destinations: []string{"rtmp://h/live/k"}, Source: "file:x.mp4?loop=0", Audio: "file"}.Validate())
	require.ErrorIs(t, Config{Destinations: []string{"rtmp://h/live/k"}, Source: "file:x.mp4", Audio: "file:y.mp4"}.Validate(), media.ErrBadOption)
}

// TestBroadcastMediaFile plays a media file once, its audio with it, to
// nginx-rtmp: going live starts it from its first frame, the end of the
// file ends capture (SourceDone), and the recording holds every frame and
// the file's audio, in step.
func TestBroadcastMediaFile(t *testing.T) {
	verifyNoLeaks(t)
	ffmpeg := peers.RequireTool(t, "ffmpeg")
	clip := t.TempDir() + "/clip.mp4"
	out, err := exec.Command(ffmpeg, "-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25",
		"-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=44100", "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p",
		"-c:a", "aac", clip).CombinedOutput()
	require.NoError(t, err, "%s", out)
	ng := peers.StartNginxRTMP(t)
	b := &Broadcast{Config: Config{Source: "file:" + clip + "?loop=0", Audio: "file", Width: 320, Height: 240, FPS: 25,
		Bitrate: 400_000, Encoder: "libx264"}, Logger: slog.New(slog.DiscardHandler)}
	require.NoError(t, b.Initialize())
	defer b.Close()
	time.Sleep(500 * time.Millisecond) // capture plays while offline: going live starts the file again
	require.NoError(t, b.GoLive(context.Background(), []string{ng.URL("file")}))
	select {
	case <-b.SourceDone():
	case <-time.After(30 * time.Second):
		t.Fatal("the file played once did not end capture")
	}
	b.StopLive()
	skipped := int(b.video.Stats().Skipped) // frames the loaded machine could not decode in time
	ng.WaitUnpublished("file", 10*time.Second)
	info := peers.FFprobe(t, ng.RecordPath("file"))
	v, ok := info.Video()
	require.True(t, ok)
	require.LessOrEqual(t, v.Frames(), 50, "the file once, from its first frame")
	require.GreaterOrEqual(t, v.Frames(), 50-skipped, "every frame of the file but those skipped (%d)", skipped)
	a, ok := info.Audio()
	require.True(t, ok)
	require.Equal(t, 48000, a.Rate())
	first := map[string]float64{}
	for _, p := range peers.ProbePackets(t, ng.RecordPath("file")) {
		if _, seen := first[p.CodecType]; !seen {
			first[p.CodecType] = p.PTS
		}
	}
	// In step, give or take a frame (and the frames skipped, if the first were).
	require.InDelta(t, 0, first["audio"]-first["video"], 0.040+float64(skipped)/25, "A/V start")
}

// verifyNoLeaks checks, after every other cleanup (peers included), that the
// test left no goroutine behind.
func verifyNoLeaks(t *testing.T) {
	opt := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, opt) })
}

// TestBroadcastCameraAndMic streams mediadevices' test camera and a
// microphone on malgo's null backend (no sound card needed) through the
// whole pipeline to nginx-rtmp for two minutes, and checks with ffprobe
// that audio and video start together and that their offset moves by less
// than 40 ms from start to end.
func TestBroadcastCameraAndMic(t *testing.T) {
	verifyNoLeaks(t)
	peers.RequireTool(t, "ffprobe")
	dur := 2 * time.Minute
	if testing.Short() {
		dur = 10 * time.Second
	}
	cam := -1
	for _, c := range capture.ListCameras() {
		if c.Label == "VideoTest" {
			cam = c.Index
		}
	}
	require.GreaterOrEqual(t, cam, 0, "mediadevices' VideoTest camera is not listed")
	ng := peers.StartNginxRTMP(t)
	b := &Broadcast{
		Config:      Config{Source: fmt.Sprintf("camera:%d", cam), Audio: "mic", Width: 640, Height: 480, FPS: 30, Bitrate: 600_000, Encoder: "libx264"},
		MicBackends: []malgo.Backend{capture.NullBackend},
		Logger:      slog.New(slog.DiscardHandler),
	}
	require.NoError(t, b.Initialize())
	defer b.Close()
	require.NoError(t, b.GoLive(context.Background(), []string{ng.URL("cam")}))
	select {
	case <-time.After(dur):
	case <-b.LiveDone():
		t.Fatalf("onAir ended: %v", b.Err())
	}
	st := b.Stats()
	b.StopLive()
	require.Equal(t, StateOffline, b.Stats().State)
	require.Zero(t, st.Dropped, "nothing dropped on loopback: %+v", st)
	ng.WaitUnpublished("cam", 10*time.Second)
	ng.Stop()

	info := peers.FFprobe(t, ng.RecordPath("cam"))
	require.Empty(t, strings.TrimSpace(info.Stderr))
	v, ok := info.Video()
	require.True(t, ok)
	require.Equal(t, 640, v.Width)
	a, ok := info.Audio()
	require.True(t, ok)
	require.Equal(t, 48000, a.Rate())
	first, last := map[string]float64{}, map[string]float64{}
	for _, p := range peers.ProbePackets(t, ng.RecordPath("cam")) {
		if _, seen := first[p.CodecType]; !seen {
			first[p.CodecType] = p.PTS
		}
		last[p.CodecType] = max(last[p.CodecType], p.PTS)
	}
	// Where each stream starts and where its last packet ends (a video
	// frame lasts 1/30 s, an AAC packet 1024 samples).
	startOffset := first["audio"] - first["video"]
	endOffset := (last["audio"] + 1024.0/48000) - (last["video"] + 1.0/30)
	// The microphone's first buffer comes a device period or two after it
	// opens (more under -race on a busy machine): the streams may start a
	// little apart, but what was captured together stays together.
	require.InDelta(t, 0, startOffset, 0.25, "A/V start")
	require.InDelta(t, startOffset, endOffset, 0.040, "A/V drift over %v (offset at start %.3f s, at end %.3f s)", dur, startOffset, endOffset)
	require.InDelta(t, dur.Seconds(), last["video"]-first["video"], 1.0, "video spans the run")
}
