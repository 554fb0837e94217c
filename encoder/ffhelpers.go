package encoder

// This file holds the small cgo helpers go-astiav v0.16.0 lacks: copying Go
// planes into an AVFrame and out of it, and reaching the AVCodecContext
// fields (rate control, hw_frames_ctx) it has no setter for. No Go pointer
// is ever stored in C memory: Go slices are only passed as call arguments.

/*
#cgo pkg-config: libavcodec libavutil
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <libavcodec/avcodec.h>
#include <libavutil/frame.h>
#include <libavutil/opt.h>

// golive_frame_writable makes f's buffers writable (reallocating them if
// the encoder still holds a reference) and returns an AVERROR or 0.
static int golive_frame_writable(AVFrame *f) {
	return av_frame_make_writable(f);
}

// golive_copy_plane_in copies rows of width bytes from src (stride
// srcStride) into plane p of f.
static void golive_copy_plane_in(AVFrame *f, int p, const uint8_t *src, int srcStride, int width, int height) {
	uint8_t *dst = f->data[p];
	int dstStride = f->linesize[p];
	for (int y = 0; y < height; y++) {
		memcpy(dst + (size_t)y * dstStride, src + (size_t)y * srcStride, width);
	}
}

// golive_copy_uv_in interleaves the U and V planes into plane 1 of f (NV12).
static void golive_copy_uv_in(AVFrame *f, const uint8_t *u, int su, const uint8_t *v, int sv, int cw, int ch) {
	uint8_t *dst = f->data[1];
	int ds = f->linesize[1];
	for (int y = 0; y < ch; y++) {
		uint8_t *d = dst + (size_t)y * ds;
		const uint8_t *pu = u + (size_t)y * su;
		const uint8_t *pv = v + (size_t)y * sv;
		for (int x = 0; x < cw; x++) {
			d[2 * x] = pu[x];
			d[2 * x + 1] = pv[x];
		}
	}
}

// golive_copy_plane_out copies plane p of f into dst (stride dstStride).
static void golive_copy_plane_out(const AVFrame *f, int p, uint8_t *dst, int dstStride, int width, int height) {
	const uint8_t *src = f->data[p];
	int srcStride = f->linesize[p];
	for (int y = 0; y < height; y++) {
		memcpy(dst + (size_t)y * dstStride, src + (size_t)y * srcStride, width);
	}
}

// golive_copy_frame copies the yuv420p frame src (w×h, even) into dst,
// which is yuv420p or (nv12 set) nv12 and at least as large.
static void golive_copy_frame(AVFrame *dst, const AVFrame *src, int nv12, int w, int h) {
	golive_copy_plane_in(dst, 0, src->data[0], src->linesize[0], w, h);
	if (nv12) {
		golive_copy_uv_in(dst, src->data[1], src->linesize[1], src->data[2], src->linesize[2], w / 2, h / 2);
		return;
	}
	golive_copy_plane_in(dst, 1, src->data[1], src->linesize[1], w / 2, h / 2);
	golive_copy_plane_in(dst, 2, src->data[2], src->linesize[2], w / 2, h / 2);
}

// golive_ctx_check reports whether c really is an AVCodecContext of the
// given size (guards the pointer taken from go-astiav's struct).
static int golive_ctx_check(const AVCodecContext *c, int width, int height, int codec_id) {
	if (c == NULL || c->av_class != avcodec_get_class()) return 0;
	return c->width == width && c->height == height && (int)c->codec_id == codec_id;
}

// golive_ctx_set_rate sets bit_rate, rc_max_rate and rc_buffer_size.
static void golive_ctx_set_rate(AVCodecContext *c, int64_t rate, int64_t maxrate, int bufsize) {
	c->bit_rate = rate;
	c->rc_max_rate = maxrate;
	c->rc_buffer_size = bufsize;
}

// golive_encoder_has_option reports whether encoder name accepts option
// opt, as a generic AVCodecContext option or a private one: -1 when the
// encoder is not in this build.
static int golive_encoder_has_option(const char *name, const char *opt) {
	const AVCodec *codec = avcodec_find_encoder_by_name(name);
	if (codec == NULL) return -1;
	const AVClass *generic = avcodec_get_class();
	if (av_opt_find((void *)&generic, opt, NULL, 0, AV_OPT_SEARCH_FAKE_OBJ) != NULL) return 1;
	if (codec->priv_class != NULL &&
	    av_opt_find((void *)&codec->priv_class, opt, NULL, 0, AV_OPT_SEARCH_FAKE_OBJ) != NULL) return 1;
	return 0;
}

static int64_t golive_ctx_max_rate(const AVCodecContext *c) { return c->rc_max_rate; }
static int golive_ctx_buffer_size(const AVCodecContext *c) { return c->rc_buffer_size; }
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// ErrInternal is returned when a go-astiav object does not look the way
// this package expects (a version mismatch): the operation is refused
// rather than risking memory corruption.
var ErrInternal = errors.New("encoder: internal FFmpeg binding mismatch")

// codecContextPointer returns the AVCodecContext owned by cc. go-astiav
// v0.16.0 keeps it as the first field of CodecContext and exposes no
// accessor; the pointer is checked against the context's AVClass, size and
// codec before use.
func codecContextPointer(cc *astiav.CodecContext) (*C.AVCodecContext, error) {
	if cc == nil {
		return nil, fmt.Errorf("%w: nil codec context", ErrInternal)
	}
	p := *(**C.AVCodecContext)(unsafe.Pointer(cc))
	if C.golive_ctx_check(p, C.int(cc.Width()), C.int(cc.Height()), C.int(cc.CodecID())) == 0 {
		return nil, fmt.Errorf("%w: AVCodecContext pointer check failed", ErrInternal)
	}
	return p, nil
}

// avFrame returns f's AVFrame.
func avFrame(f *astiav.Frame) *C.AVFrame { return (*C.AVFrame)(f.UnsafePointer()) }

// makeWritable makes f's buffers writable before they are filled.
func makeWritable(f *astiav.Frame) error {
	if ret := C.golive_frame_writable(avFrame(f)); ret < 0 {
		return fmt.Errorf("av_frame_make_writable: %w", astiav.Error(ret))
	}
	return nil
}

// copyPlaneIn copies a w×h plane from Go memory into plane p of f.
func copyPlaneIn(f *astiav.Frame, p int, src []byte, stride, w, h int) {
	if w <= 0 || h <= 0 {
		return
	}
	C.golive_copy_plane_in(avFrame(f), C.int(p), (*C.uint8_t)(unsafe.Pointer(&src[0])), C.int(stride), C.int(w), C.int(h))
}

// copyVideoFrameIn fills the allocated, writable frame f (yuv420p or nv12)
// from src, whose size the caller has checked.
func copyVideoFrameIn(f *astiav.Frame, src *media.VideoFrame, nv12 bool) {
	cw, ch := src.ChromaSize()
	copyPlaneIn(f, 0, src.Y, src.StrideY, src.Width, src.Height)
	if nv12 {
		C.golive_copy_uv_in(avFrame(f),
			(*C.uint8_t)(unsafe.Pointer(&src.U[0])), C.int(src.StrideU),
			(*C.uint8_t)(unsafe.Pointer(&src.V[0])), C.int(src.StrideV), C.int(cw), C.int(ch))
		return
	}
	copyPlaneIn(f, 1, src.U, src.StrideU, cw, ch)
	copyPlaneIn(f, 2, src.V, src.StrideV, cw, ch)
}

// copyFrame fills the allocated, writable frame dst (yuv420p or nv12)
// from the yuv420p frame src of the same, even, size (checked by the caller).
func copyFrame(dst, src *astiav.Frame, nv12 bool) {
	C.golive_copy_frame(avFrame(dst), avFrame(src), boolInt(nv12), C.int(src.Width()), C.int(src.Height()))
}

func boolInt(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// copyVideoFrameOut copies the yuv420p frame f into a new packed
// media.VideoFrame.
func copyVideoFrameOut(f *astiav.Frame) *media.VideoFrame {
	out := media.NewVideoFrame(f.Width(), f.Height())
	cw, ch := out.ChromaSize()
	af := avFrame(f)
	for i, p := range []struct {
		dst          []byte
		stride, w, h int
	}{{out.Y, out.StrideY, out.Width, out.Height}, {out.U, out.StrideU, cw, ch}, {out.V, out.StrideV, cw, ch}} {
		C.golive_copy_plane_out(af, C.int(i), (*C.uint8_t)(unsafe.Pointer(&p.dst[0])), C.int(p.stride), C.int(p.w), C.int(p.h))
	}
	return out
}

// setRate sets the context's bitrate, maxrate and VBV buffer size; libx264
// in FFmpeg 5.1 reconfigures itself when they change between frames.
func setRate(c *C.AVCodecContext, bitrate, maxrate, bufsize int) {
	C.golive_ctx_set_rate(c, C.int64_t(bitrate), C.int64_t(maxrate), C.int(bufsize))
}

// contextRate returns rc_max_rate and rc_buffer_size, for tests.
func contextRate(c *C.AVCodecContext) (maxrate, bufsize int) {
	return int(C.golive_ctx_max_rate(c)), int(C.golive_ctx_buffer_size(c))
}

// encoderHasOption reports whether encoder name (when compiled in: known)
// accepts the AVOption opt, generic or private.
func encoderHasOption(name, opt string) (has, known bool) {
	cn, co := C.CString(name), C.CString(opt)
	defer C.free(unsafe.Pointer(cn))
	defer C.free(unsafe.Pointer(co))
	r := C.golive_encoder_has_option(cn, co)
	return r == 1, r >= 0
}
