package encoder

// Hardware frames for encoders that only take frames in GPU surfaces
// (h264_vaapi). go-astiav v0.16.0 has HardwareDeviceContext but no
// hardware frames context nor av_hwframe_get_buffer; these helpers fill
// the gap. The frames context is owned by the codec context (it holds the
// only reference), so freeing the codec context frees it.

/*
#cgo pkg-config: libavcodec libavutil
#include <libavcodec/avcodec.h>
#include <libavutil/hwcontext.h>
#include <libavutil/frame.h>

// golive_hwframes_init creates a hardware frames context on c's device
// with software format sw_format and attaches it to c. c->hw_device_ctx
// must be set. Returns 0 or an AVERROR.
static int golive_hwframes_init(AVCodecContext *c, int sw_format, int width, int height, int pool) {
	if (c->hw_device_ctx == NULL) return AVERROR(EINVAL);
	AVBufferRef *ref = av_hwframe_ctx_alloc(c->hw_device_ctx);
	if (ref == NULL) return AVERROR(ENOMEM);
	AVHWFramesContext *fc = (AVHWFramesContext *)ref->data;
	fc->format = c->pix_fmt;
	fc->sw_format = (enum AVPixelFormat)sw_format;
	fc->width = width;
	fc->height = height;
	fc->initial_pool_size = pool;
	int ret = av_hwframe_ctx_init(ref);
	if (ret < 0) {
		av_buffer_unref(&ref);
		return ret;
	}
	av_buffer_unref(&c->hw_frames_ctx);
	c->hw_frames_ctx = ref; // c owns the only reference now
	return 0;
}

// golive_hwframe_upload fills hw with a surface from c's frames context
// holding a copy of sw, carrying over pts and picture type.
static int golive_hwframe_upload(AVCodecContext *c, AVFrame *hw, const AVFrame *sw) {
	if (c->hw_frames_ctx == NULL) return AVERROR(EINVAL);
	av_frame_unref(hw);
	int ret = av_hwframe_get_buffer(c->hw_frames_ctx, hw, 0);
	if (ret < 0) return ret;
	ret = av_hwframe_transfer_data(hw, sw, 0);
	if (ret < 0) {
		av_frame_unref(hw);
		return ret;
	}
	hw->pts = sw->pts;
	hw->pict_type = sw->pict_type;
	return 0;
}
*/
import "C"

import (
	"fmt"

	"github.com/asticode/go-astiav"
)

// attachHWFrames creates the hardware frames context for cc (which must
// have its hardware device and hardware pixel format set) with frames of
// swFormat, before the encoder is opened.
func attachHWFrames(cc *astiav.CodecContext, swFormat astiav.PixelFormat, width, height int) error {
	p, err := codecContextPointer(cc)
	if err != nil {
		return err
	}
	if ret := C.golive_hwframes_init(p, C.int(swFormat), C.int(width), C.int(height), 20); ret < 0 {
		return fmt.Errorf("av_hwframe_ctx_init: %w", astiav.Error(ret))
	}
	return nil
}

// uploadHWFrame copies the software frame sw into a surface of cc's frames
// context, referenced by hw.
func uploadHWFrame(cc *astiav.CodecContext, hw, sw *astiav.Frame) error {
	p, err := codecContextPointer(cc)
	if err != nil {
		return err
	}
	if ret := C.golive_hwframe_upload(p, avFrame(hw), avFrame(sw)); ret < 0 {
		return fmt.Errorf("av_hwframe_transfer_data: %w", astiav.Error(ret))
	}
	return nil
}
