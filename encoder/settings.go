package encoder

import (
	"strconv"

	"github.com/asticode/go-astiav"
)

// settings is everything needed to open one H.264 encoder by name: the
// AVOptions passed to avcodec_open2, the input pixel format and the
// hardware plumbing. It is built by encoderSettings, a pure function.
type settings struct {
	// Options are passed in order to avcodec_open2 (generic and private).
	Options [][2]string
	// PixFmt is the format frames are handed to the encoder in (for VAAPI
	// the software format uploaded into hardware surfaces).
	PixFmt astiav.PixelFormat
	// Device is the hardware device to create, HardwareDeviceTypeNone for none.
	Device astiav.HardwareDeviceType
	// DeviceName is passed to av_hwdevice_ctx_create ("" = FFmpeg's default).
	DeviceName string
	// HWFrames means frames are uploaded into a hardware frames context.
	HWFrames bool
	// Hardware reports whether the encoder runs on dedicated hardware.
	Hardware bool
	// Needs says what the encoder needs on the machine, for error messages.
	Needs string
}

// Option returns the value of the named option and whether it is set.
func (s settings) Option(key string) (string, bool) {
	for _, kv := range s.Options {
		if kv[0] == key {
			return kv[1], true
		}
	}
	return "", false
}

// encoderSettings returns the settings for encoder name with the given
// configuration (already defaulted): CBR-ish rate control with
// bitrate = maxrate and a one-second buffer, no B-frames, a fixed GOP of
// keyint frames with no scene-cut keyframes, low latency, and forced
// keyframes as IDR.
func encoderSettings(name string, c *H264) settings {
	keyint := c.keyintFrames()
	br := strconv.Itoa(c.Bitrate)
	common := [][2]string{
		{"b", br}, {"maxrate", br}, {"bufsize", br},
		{"g", strconv.Itoa(keyint)}, {"bf", "0"},
	}
	s := settings{PixFmt: astiav.PixelFormatYuv420P, Device: astiav.HardwareDeviceTypeNone, Hardware: true}
	switch name {
	case "libx264":
		s.Hardware = false
		s.Options = append(common,
			[2]string{"preset", c.Preset},
			[2]string{"tune", "zerolatency"},
			[2]string{"profile", "high"},
			[2]string{"keyint_min", strconv.Itoa(keyint)},
			[2]string{"sc_threshold", "0"},
			[2]string{"forced-idr", "1"},
		)
	case "h264_nvenc":
		s.Needs = "an NVIDIA GPU with its driver, libcuda.so.1"
		s.Options = append(common,
			[2]string{"preset", "p4"},
			[2]string{"tune", "ll"},
			[2]string{"rc", "cbr"},
			[2]string{"profile", "high"},
			[2]string{"zerolatency", "1"},
			[2]string{"delay", "0"},
			[2]string{"no-scenecut", "1"},
			[2]string{"forced-idr", "1"},
		)
	case "h264_qsv":
		s.Needs = "an Intel GPU with the Media SDK/oneVPL runtime"
		s.PixFmt = astiav.PixelFormatNv12
		s.Options = append(common,
			[2]string{"preset", "veryfast"},
			[2]string{"profile", "high"},
			[2]string{"async_depth", "1"},
			[2]string{"look_ahead", "0"},
			[2]string{"forced_idr", "1"},
		)
	case "h264_vaapi":
		s.Needs = "a VAAPI device at /dev/dri/renderD128 with its driver"
		s.PixFmt = astiav.PixelFormatNv12
		s.Device = astiav.HardwareDeviceTypeVAAPI
		s.DeviceName = "/dev/dri/renderD128"
		s.HWFrames = true
		s.Options = append(common,
			[2]string{"rc_mode", "CBR"},
			[2]string{"profile", "high"},
			[2]string{"idr_interval", "0"},
		)
	case "h264_videotoolbox":
		s.Needs = "macOS VideoToolbox hardware encoding"
		s.Options = append(common,
			[2]string{"realtime", "1"},
			[2]string{"profile", "high"},
			[2]string{"allow_sw", "0"},
		)
	case "h264_amf":
		s.Needs = "an AMD GPU and its AMF runtime"
		s.Options = append(common,
			[2]string{"usage", "ultralowlatency"},
			[2]string{"quality", "speed"},
			[2]string{"rc", "cbr"},
			[2]string{"profile", "high"},
		)
	case "h264_mf":
		s.Needs = "a Windows Media Foundation hardware H.264 encoder"
		s.Options = append(common,
			[2]string{"rate_control", "cbr"},
			[2]string{"scenario", "live_streaming"},
			[2]string{"hw_encoding", "1"},
		)
	default:
		// An encoder we have no tuning for: generic options only.
		s.Hardware = false
		s.Options = common
	}
	if c.Threads > 0 {
		s.Options = append(s.Options, [2]string{"threads", strconv.Itoa(c.Threads)})
	}
	return s
}
