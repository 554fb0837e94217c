package encoder

import (
	"fmt"
	"time"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// open opens encoder name and checks it with no frame encoded; on failure
// everything allocated is freed.
func (e *H264) open(name string) (err error) {
	codec := astiav.FindEncoderByName(name)
	if codec == nil {
		return fmt.Errorf("%w: %q is not in this FFmpeg build", ErrEncoderNotFound, name)
	}
	set := encoderSettings(name, e)
	defer func() {
		if err != nil {
			e.free()
		}
	}()
	if e.cc = astiav.AllocCodecContext(codec); e.cc == nil {
		return fmt.Errorf("%w: %s: avcodec_alloc_context3 failed", ErrOpen, name)
	}
	cc := e.cc
	cc.SetWidth(e.Width)
	cc.SetHeight(e.Height)
	cc.SetTimeBase(astiav.NewRational(1, videoTimeBase))
	cc.SetFramerate(astiav.NewRational(e.FPS, 1))
	cc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	cc.SetPixelFormat(set.PixFmt)
	cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	if set.Device != astiav.HardwareDeviceTypeNone {
		if herr := e.attachHardware(set); herr != nil {
			return fmt.Errorf("%w: %s: %w", ErrOpen, name, herr)
		}
	}
	dict := astiav.NewDictionary()
	defer dict.Free()
	for _, kv := range set.Options {
		if derr := dict.Set(kv[0], kv[1], 0); derr != nil {
			return fmt.Errorf("%w: %s: option %s=%s: %w", ErrOpen, name, kv[0], kv[1], derr)
		}
	}
	if oerr := cc.Open(codec, dict); oerr != nil {
		return fmt.Errorf("%w: %s: avcodec_open2: %w", ErrOpen, name, oerr)
	}
	for _, kv := range dictEntries(dict) {
		e.log.Warn("encoder ignored option", "encoder", name, "option", kv[0], "value", kv[1])
	}
	config, err := avcConfigFromExtradata(cc.ExtraData())
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrOpen, name, err)
	}

	if e.frame, err = allocVideoFrame(e.Width, e.Height, set.PixFmt); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrOpen, name, err)
	}
	if set.PixFmt != astiav.PixelFormatYuv420P {
		if e.staging, err = allocVideoFrame(e.Width, e.Height, astiav.PixelFormatYuv420P); err != nil {
			return fmt.Errorf("%w: %s: %w", ErrOpen, name, err)
		}
	}
	if set.HWFrames {
		if e.hwFrame = astiav.AllocFrame(); e.hwFrame == nil {
			return fmt.Errorf("%w: %s: av_frame_alloc failed", ErrOpen, name)
		}
	}
	if e.pkt = astiav.AllocPacket(); e.pkt == nil {
		return fmt.Errorf("%w: %s: av_packet_alloc failed", ErrOpen, name)
	}

	e.set, e.name = set, name
	e.ptsMap = make(map[int64]time.Duration)
	e.curBitrate = e.Bitrate
	e.wantBitrate.Store(int64(e.Bitrate))
	e.params = media.CodecParams{
		Codec: media.CodecH264, Config: config, Bitrate: e.Bitrate,
		Width: e.Width, Height: e.Height, FPS: float64(e.FPS),
	}
	e.statsMu.Lock()
	e.stats.Encoder, e.stats.Hardware, e.stats.Bitrate = name, set.Hardware, e.Bitrate
	e.statsMu.Unlock()
	return nil
}

// attachHardware creates the hardware device set names on e.cc and, for
// an encoder that takes GPU surfaces (h264_vaapi, the only one here), the
// frames context frames are uploaded into. e.cc and the frames context
// hold their own references to the device; e keeps one to the frames
// context for uploads.
func (e *H264) attachHardware(set settings) error {
	hdc, err := astiav.CreateHardwareDeviceContext(set.Device, set.DeviceName, nil, 0)
	if err != nil {
		return fmt.Errorf("creating %s device %q: %w", set.Device, set.DeviceName, err)
	}
	defer hdc.Free()
	e.cc.SetHardwareDeviceContext(hdc)
	if !set.HWFrames {
		return nil
	}
	if e.hwFrames = astiav.AllocHardwareFramesContext(hdc); e.hwFrames == nil {
		return fmt.Errorf("%w: av_hwframe_ctx_alloc failed", ErrCodec)
	}
	e.hwFrames.SetHardwarePixelFormat(astiav.PixelFormatVaapi)
	e.hwFrames.SetSoftwarePixelFormat(set.PixFmt)
	e.hwFrames.SetWidth(e.Width)
	e.hwFrames.SetHeight(e.Height)
	e.hwFrames.SetInitialPoolSize(20)
	if err := e.hwFrames.Initialize(); err != nil {
		return fmt.Errorf("av_hwframe_ctx_init: %w", err)
	}
	e.cc.SetPixelFormat(astiav.PixelFormatVaapi)
	e.cc.SetHardwareFramesContext(e.hwFrames)
	return nil
}

// dictEntries returns every key/value pair left in d, in order.
func dictEntries(d *astiav.Dictionary) [][2]string {
	var out [][2]string
	flags := astiav.NewDictionaryFlags(astiav.DictionaryFlagIgnoreSuffix)
	for en := d.Get("", nil, flags); en != nil; en = d.Get("", en, flags) {
		out = append(out, [2]string{en.Key(), en.Value()})
	}
	return out
}
