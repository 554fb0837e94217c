package peers

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"golive/media"
)

func TestNginxAcceptsFFmpegPublish(t *testing.T) {
	src := MakeTestFile(t, TestSource{Duration: time.Second})
	n := StartNginxRTMP(t)
	PublishFile(t, src, n.URL("abc"))
	n.WaitUnpublished("abc", 10*time.Second)
	n.Stop()
	info := FFprobe(t, n.RecordPath("abc"))
	v, ok := info.Video()
	require.True(t, ok, "no video stream in the recording: %+v", info)
	require.Equal(t, "h264", v.CodecName)
	require.Equal(t, 320, v.Width)
	require.InDelta(t, 30, v.Frames(), 3)
	a, ok := info.Audio()
	require.True(t, ok)
	require.Equal(t, "aac", a.CodecName)
	require.Equal(t, 48000, a.Rate())
	require.Empty(t, info.Stderr)

	// Restart on the same port.
	addr := n.Addr()
	n.Start()
	require.Equal(t, addr, n.Addr())
	c, err := net.DialTimeout("tcp", addr, 2*time.Second)
	require.NoError(t, err)
	c.Close()
	n.Stop()
	n.Stop() // idempotent
	_, err = net.DialTimeout("tcp", addr, time.Second)
	require.Error(t, err, "nginx still listening after Stop")
}

func TestFFmpegListenReceives(t *testing.T) {
	src := MakeTestFile(t, TestSource{Duration: time.Second, NoAudio: true})
	out := filepath.Join(t.TempDir(), "out.flv")
	l := StartFFmpegListen(t, out)
	PublishFile(t, src, l.URL())
	l.Wait(20 * time.Second)
	info := FFprobe(t, out)
	v, ok := info.Video()
	require.True(t, ok)
	require.InDelta(t, 30, v.Frames(), 3)
	_, ok = info.Audio()
	require.False(t, ok)

	pkts := ProbePackets(t, out)
	require.NotEmpty(t, pkts)
	require.True(t, pkts[0].Keyframe)
	require.Contains(t, FirstPTS(pkts), "video")
}

func TestParseProbe(t *testing.T) {
	info, err := ParseProbe([]byte(`{"streams":[{"index":0,"codec_name":"h264","codec_type":"video","profile":"High",
		"width":1280,"height":720,"avg_frame_rate":"30000/1001","r_frame_rate":"30/1","nb_read_frames":"300","start_time":"0.000"},
		{"index":1,"codec_type":"audio","codec_name":"aac","sample_rate":"48000","channels":2,"start_time":"0.021"}],
		"format":{"format_name":"flv","duration":"10.01"}}`))
	require.NoError(t, err)
	v, ok := info.Video()
	require.True(t, ok)
	require.Equal(t, "High", v.Profile)
	require.InDelta(t, 29.97, v.FPS(), 0.01)
	require.Equal(t, 300, v.Frames())
	a, _ := info.Audio()
	require.Equal(t, 48000, a.Rate())
	require.InDelta(t, 0.021, a.Start(), 1e-9)
	require.InDelta(t, 10.01, info.Format.Seconds(), 1e-9)

	pkts, err := ParseProbePackets([]byte(`{"packets":[{"codec_type":"video","stream_index":0,"pts_time":"0.066","dts_time":"0.000","flags":"K_"},
		{"codec_type":"audio","stream_index":1,"pts_time":"0.010","dts_time":"0.010","flags":"K_"},
		{"codec_type":"video","stream_index":0,"pts_time":"0.033","flags":"__"}]}`))
	require.NoError(t, err)
	require.Len(t, pkts, 3)
	require.Equal(t, map[string]float64{"video": 0.033, "audio": 0.010}, FirstPTS(pkts))
	require.InDelta(t, 0.033, pkts[2].DTS, 1e-9)

	require.Zero(t, ParseRational("1/0"))
	require.Equal(t, 25.0, ParseRational("25"))
}

func TestMissingFailsUnderCIAndSkipsElsewhere(t *testing.T) {
	for _, ci := range []bool{true, false} {
		ft := &fakeTB{TB: t}
		func() {
			defer func() { _ = recover() }()
			missing(ft, ci, "no-such-program-golive")
		}()
		require.Equal(t, ci, ft.failed, "CI=%v fails", ci)
		require.Equal(t, !ci, ft.skipped, "CI=%v skips", ci)
	}
	require.NotEmpty(t, RequireTool(t, "no-such-program-golive", "sh"), "the first installed name wins")
}

// fakeTB records how a test was stopped; like testing.T it does not return
// from Fatalf or Skipf.
type fakeTB struct {
	testing.TB
	skipped, failed bool
}

func (f *fakeTB) Helper() {}
func (f *fakeTB) Skipf(string, ...any) {
	f.skipped = true
	panic("skip")
}
func (f *fakeTB) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}

func TestReadFLV(t *testing.T) {
	src := MakeTestFile(t, TestSource{Duration: time.Second, Width: 160, Height: 120, FPS: 25})
	f := ReadFLV(t, src)
	require.NotEmpty(t, f.Video.Config)
	require.Equal(t, 160, f.Video.Width)
	require.Equal(t, 25.0, f.Video.FPS)
	require.NotNil(t, f.Audio)
	require.Equal(t, 48000, f.Audio.SampleRate)
	require.Equal(t, 2, f.Audio.Channels)
	var v, a int
	for _, p := range f.Packets {
		if p.Codec == media.CodecH264 {
			if v == 0 {
				require.True(t, p.Keyframe)
			}
			v++
			require.GreaterOrEqual(t, p.PTS, p.DTS)
		} else {
			a++
		}
	}
	require.Equal(t, 25, v)
	require.InDelta(t, 48000/1024, a, 2)
}

// TestReadFLVProgress: a test file read whole and cut short counts its
// complete video tags.
func TestReadFLVProgress(t *testing.T) {
	file := MakeTestFile(t, TestSource{Width: 160, Height: 120, FPS: 10, Duration: 2 * time.Second})
	whole, err := ReadFLVProgress(file)
	require.NoError(t, err)
	require.Equal(t, 20, whole.Frames)
	require.Equal(t, 1900*time.Millisecond, whole.Last)

	data, err := os.ReadFile(file)
	require.NoError(t, err)
	cut := filepath.Join(t.TempDir(), "cut.flv")
	require.NoError(t, os.WriteFile(cut, data[:len(data)/2], 0o644))
	half, err := ReadFLVProgress(cut)
	require.NoError(t, err)
	require.Greater(t, half.Frames, 0)
	require.Less(t, half.Frames, 20)

	none, err := ReadFLVProgress(filepath.Join(t.TempDir(), "missing.flv"))
	require.NoError(t, err)
	require.Zero(t, none.Frames)
}
