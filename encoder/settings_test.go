package encoder

import (
	"testing"
	"time"

	"github.com/asticode/go-astiav"
	"github.com/stretchr/testify/require"

	"golive/media"
)

// TestEncoderSettings checks the option dictionary built for every
// encoder GoLive knows, hardware ones included (they cannot open here).
func TestEncoderSettings(t *testing.T) {
	cfg := &H264{Width: 1280, Height: 720, FPS: 30, Bitrate: 2_500_000, KeyframeInterval: 2 * time.Second, Preset: "veryfast"}
	cases := []struct {
		name     string
		hardware bool
		pixFmt   astiav.PixelFormat
		device   astiav.HardwareDeviceType
		hwFrames bool
		want     map[string]string
	}{
		{"libx264", false, astiav.PixelFormatYuv420P, astiav.HardwareDeviceTypeNone, false, map[string]string{
			"preset": "veryfast", "tune": "zerolatency", "profile": "high", "bf": "0", "g": "60",
			"keyint_min": "60", "sc_threshold": "0", "forced-idr": "1",
			"b": "2500000", "maxrate": "2500000", "bufsize": "2500000"}},
		{"h264_nvenc", true, astiav.PixelFormatYuv420P, astiav.HardwareDeviceTypeNone, false, map[string]string{
			"rc": "cbr", "zerolatency": "1", "delay": "0", "no-scenecut": "1", "forced-idr": "1", "profile": "high",
			"bf": "0", "g": "60", "b": "2500000", "maxrate": "2500000", "bufsize": "2500000"}},
		{"h264_qsv", true, astiav.PixelFormatNv12, astiav.HardwareDeviceTypeNone, false, map[string]string{
			"async_depth": "1", "look_ahead": "0", "forced_idr": "1", "profile": "high",
			"bf": "0", "g": "60", "b": "2500000", "maxrate": "2500000"}},
		{"h264_vaapi", true, astiav.PixelFormatNv12, astiav.HardwareDeviceTypeVAAPI, true, map[string]string{
			"rc_mode": "CBR", "profile": "high", "bf": "0", "g": "60", "b": "2500000", "maxrate": "2500000"}},
		{"h264_videotoolbox", true, astiav.PixelFormatYuv420P, astiav.HardwareDeviceTypeNone, false, map[string]string{
			"realtime": "1", "allow_sw": "0", "profile": "high", "bf": "0", "g": "60", "b": "2500000"}},
		{"h264_amf", true, astiav.PixelFormatYuv420P, astiav.HardwareDeviceTypeNone, false, map[string]string{
			"usage": "ultralowlatency", "rc": "cbr", "bf": "0", "g": "60", "b": "2500000"}},
		{"h264_mf", true, astiav.PixelFormatYuv420P, astiav.HardwareDeviceTypeNone, false, map[string]string{
			"rate_control": "cbr", "scenario": "live_streaming", "hw_encoding": "1", "g": "60", "b": "2500000"}},
		{"h264_unknown", false, astiav.PixelFormatYuv420P, astiav.HardwareDeviceTypeNone, false, map[string]string{
			"g": "60", "bf": "0", "b": "2500000"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := encoderSettings(tc.name, cfg)
			require.Equal(t, tc.hardware, s.Hardware)
			require.Equal(t, tc.pixFmt, s.PixFmt)
			require.Equal(t, tc.device, s.Device)
			require.Equal(t, tc.hwFrames, s.HWFrames)
			for k, v := range tc.want {
				got, ok := s.Option(k)
				require.True(t, ok, "option %s missing", k)
				require.Equal(t, v, got, "option %s", k)
			}
			seen := map[string]bool{}
			for _, kv := range s.Options {
				require.False(t, seen[kv[0]], "option %s set twice", kv[0])
				seen[kv[0]] = true
			}
			_, ok := s.Option("threads")
			require.False(t, ok)
			// Where this FFmpeg has the encoder, it must take every option.
			pf := s.PixFmt
			if s.HWFrames {
				pf = astiav.PixelFormatVaapi
			}
			if refused, known := refusedOptions(t, tc.name, pf, s.Options); known {
				require.Empty(t, refused, "%s does not take these options (unknown or bad value)", tc.name)
			}
		})
	}
	// The option check can fail.
	refused, known := refusedOptions(t, "libx264", astiav.PixelFormatYuv420P, [][2]string{{"g", "60"}, {"no_such_option", "1"}})
	require.True(t, known)
	require.Equal(t, []string{"no_such_option"}, refused)
	_, known = refusedOptions(t, "h264_no_such_encoder", astiav.PixelFormatYuv420P, [][2]string{{"b", "1"}})
	require.False(t, known)
	// Threads and keyframe interval feed through.
	s := encoderSettings("libx264", &H264{FPS: 25, Bitrate: 1, KeyframeInterval: time.Second, Threads: 3})
	g, _ := s.Option("g")
	require.Equal(t, "25", g)
	th, _ := s.Option("threads")
	require.Equal(t, "3", th)
}

func TestAVCConfigFromExtradata(t *testing.T) {
	sps := []byte{0x67, 0x64, 0x00, 0x1f, 0xac, 0xd9, 0x40, 0x50, 0x05, 0xbb, 0x01, 0x10, 0x00, 0x00, 0x03, 0x00, 0x10, 0x00, 0x00, 0x03, 0x03, 0xc0, 0xf1, 0x83, 0x19, 0x60}
	pps := []byte{0x68, 0xeb, 0xe3, 0xcb, 0x22, 0xc0}
	sei := []byte{0x06, 0x05, 0x01, 0xff, 0x80}
	annexB := append(append(append(append(append([]byte{0, 0, 0, 1}, sps...), 0, 0, 1), pps...), 0, 0, 0, 1), sei...)
	rec, err := avcConfigFromExtradata(annexB)
	require.NoError(t, err)
	var c1 media.AVCConfig
	require.NoError(t, c1.Unmarshal(rec))
	require.Equal(t, [][]byte{sps}, c1.SPS)
	require.Equal(t, [][]byte{pps}, c1.PPS)
	// An avcC record passes through.
	rec2, err := avcConfigFromExtradata(rec)
	require.NoError(t, err)
	require.Equal(t, rec, rec2)
	for _, bad := range [][]byte{nil, {0, 0, 0, 1, 0x06, 0x05}, {1, 2}} {
		_, err := avcConfigFromExtradata(bad)
		require.Error(t, err)
	}
}

// refusedOptions opens encoder name for frames of pixel format pf with
// opts and returns the options it did not take, unknown or with a bad
// value (avcodec_open2 applies options before it initialises the encoder,
// so a hardware encoder that then fails to open here still answers);
// known is false when this FFmpeg lacks the encoder.
func refusedOptions(t *testing.T, name string, pf astiav.PixelFormat, opts [][2]string) (refused []string, known bool) {
	t.Helper()
	codec := astiav.FindEncoderByName(name)
	if codec == nil {
		return nil, false
	}
	cc := astiav.AllocCodecContext(codec)
	require.NotNil(t, cc)
	defer cc.Free()
	cc.SetWidth(64)
	cc.SetHeight(64)
	cc.SetPixelFormat(pf)
	cc.SetTimeBase(astiav.NewRational(1, 30))
	d := astiav.NewDictionary()
	defer d.Free()
	for _, kv := range opts {
		require.NoError(t, d.Set(kv[0], kv[1], 0))
	}
	_ = cc.Open(codec, d)
	for _, kv := range dictEntries(d) {
		refused = append(refused, kv[0])
	}
	return refused, true
}
