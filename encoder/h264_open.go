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
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return fmt.Errorf("%w: %s: avcodec_alloc_context3 failed", ErrOpen, name)
	}
	defer func() {
		if err != nil {
			cc.Free()
		}
	}()
	cc.SetWidth(e.Width)
	cc.SetHeight(e.Height)
	cc.SetTimeBase(astiav.NewRational(1, videoTimeBase))
	cc.SetFramerate(astiav.NewRational(e.FPS, 1))
	cc.SetSampleAspectRatio(astiav.NewRational(1, 1))
	cc.SetPixelFormat(set.PixFmt)
	cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	if set.Device != astiav.HardwareDeviceTypeNone {
		hdc, herr := astiav.CreateHardwareDeviceContext(set.Device, set.DeviceName, nil)
		if herr != nil {
			return fmt.Errorf("%w: %s: creating %s device %q: %w", ErrOpen, name, set.Device, set.DeviceName, herr)
		}
		cc.SetHardwareDeviceContext(hdc) // cc owns it from here
		if set.HWFrames {
			cc.SetPixelFormat(astiav.PixelFormatVaapi)
			if herr := attachHWFrames(cc, set.PixFmt, e.Width, e.Height); herr != nil {
				return fmt.Errorf("%w: %s: %w", ErrOpen, name, herr)
			}
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
	for en := dict.Get("", nil, astiav.NewDictionaryFlags(astiav.DictionaryFlagIgnoreSuffix)); en != nil; en = dict.Get("", en, astiav.NewDictionaryFlags(astiav.DictionaryFlagIgnoreSuffix)) {
		e.log.Warn("encoder ignored option", "encoder", name, "option", en.Key(), "value", en.Value())
	}
	config, err := avcConfigFromExtradata(cc.ExtraData())
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrOpen, name, err)
	}

	frame := astiav.AllocFrame()
	if frame == nil {
		return fmt.Errorf("%w: %s: av_frame_alloc failed", ErrOpen, name)
	}
	defer func() {
		if err != nil {
			frame.Free()
		}
	}()
	frame.SetWidth(e.Width)
	frame.SetHeight(e.Height)
	frame.SetPixelFormat(set.PixFmt)
	if ferr := frame.AllocBuffer(0); ferr != nil {
		return fmt.Errorf("%w: %s: av_frame_get_buffer: %w", ErrOpen, name, ferr)
	}
	var hwFrame *astiav.Frame
	if set.HWFrames {
		if hwFrame = astiav.AllocFrame(); hwFrame == nil {
			return fmt.Errorf("%w: %s: av_frame_alloc failed", ErrOpen, name)
		}
		defer func() {
			if err != nil {
				hwFrame.Free()
			}
		}()
	}
	pkt := astiav.AllocPacket()
	if pkt == nil {
		return fmt.Errorf("%w: %s: av_packet_alloc failed", ErrOpen, name)
	}
	if _, err = codecContextPointer(cc); err != nil {
		pkt.Free()
		return err
	}

	e.cc, e.frame, e.hwFrame, e.pkt, e.set, e.name = cc, frame, hwFrame, pkt, set, name
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
