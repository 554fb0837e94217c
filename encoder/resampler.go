package encoder

// go-astiav v0.16.0 has no libswresample binding: resampler wraps a
// SwrContext (interleaved s16 at any rate/channel count → planar float at
// the encoder's rate) and an AVAudioFifo that buffers the converted
// samples until a whole encoder frame is available. All buffers are C
// memory owned by the C struct; Go samples are only passed as arguments.

/*
#cgo pkg-config: libavutil libswresample
#include <stdlib.h>
#include <stdint.h>
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libavutil/frame.h>
#include <libavutil/samplefmt.h>
#include <libavutil/mem.h>
#include <libswresample/swresample.h>

typedef struct {
	SwrContext *swr;
	AVAudioFifo *fifo;
	uint8_t **tmp;   // planar conversion buffer
	int tmp_cap;     // its capacity in samples per channel
	int out_ch;
} golive_resampler;

static void golive_resampler_free(golive_resampler *r) {
	if (r == NULL) return;
	swr_free(&r->swr);
	if (r->fifo) av_audio_fifo_free(r->fifo);
	if (r->tmp) {
		av_freep(&r->tmp[0]);
		av_freep(&r->tmp);
	}
	free(r);
}

static golive_resampler *golive_resampler_new(int in_rate, int in_ch, int out_rate, int out_ch, int *err) {
	golive_resampler *r = calloc(1, sizeof(*r));
	if (r == NULL) { *err = AVERROR(ENOMEM); return NULL; }
	r->out_ch = out_ch;
	AVChannelLayout in_l, out_l;
	av_channel_layout_default(&in_l, in_ch);
	av_channel_layout_default(&out_l, out_ch);
	int ret = swr_alloc_set_opts2(&r->swr, &out_l, AV_SAMPLE_FMT_FLTP, out_rate,
	                              &in_l, AV_SAMPLE_FMT_S16, in_rate, 0, NULL);
	av_channel_layout_uninit(&in_l);
	av_channel_layout_uninit(&out_l);
	if (ret >= 0) ret = swr_init(r->swr);
	if (ret < 0) { *err = ret; golive_resampler_free(r); return NULL; }
	r->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_FLTP, out_ch, 4096);
	if (r->fifo == NULL) { *err = AVERROR(ENOMEM); golive_resampler_free(r); return NULL; }
	*err = 0;
	return r;
}

// convert runs swr_convert on n interleaved input samples (in may be NULL
// with n 0 to drain) and appends the output to the fifo.
static int golive_resampler_convert(golive_resampler *r, const int16_t *in, int n) {
	int need = swr_get_out_samples(r->swr, n);
	if (need < 0) return need;
	if (need == 0) return 0;
	if (need > r->tmp_cap) {
		if (r->tmp) {
			av_freep(&r->tmp[0]);
			av_freep(&r->tmp);
		}
		r->tmp_cap = 0;
		int ret = av_samples_alloc_array_and_samples(&r->tmp, NULL, r->out_ch, need, AV_SAMPLE_FMT_FLTP, 0);
		if (ret < 0) return ret;
		r->tmp_cap = need;
	}
	const uint8_t *ins[1] = { (const uint8_t *)in };
	int got = swr_convert(r->swr, r->tmp, r->tmp_cap, in ? ins : NULL, n);
	if (got < 0) return got;
	if (got > 0) {
		int ret = av_audio_fifo_write(r->fifo, (void **)r->tmp, got);
		if (ret < 0) return ret;
	}
	return got;
}

static int golive_resampler_size(golive_resampler *r) { return av_audio_fifo_size(r->fifo); }

// read moves n samples from the fifo into f (planar, allocated), setting
// f->nb_samples.
static int golive_resampler_read(golive_resampler *r, AVFrame *f, int n) {
	int ret = av_audio_fifo_read(r->fifo, (void **)f->data, n);
	if (ret >= 0) f->nb_samples = ret;
	return ret;
}

// move_fifo hands src's buffered samples to dst (same output format).
static int golive_resampler_move_fifo(golive_resampler *dst, golive_resampler *src) {
	int n = av_audio_fifo_size(src->fifo);
	if (n == 0) return 0;
	if (src->tmp_cap < n) {
		if (src->tmp) {
			av_freep(&src->tmp[0]);
			av_freep(&src->tmp);
		}
		src->tmp_cap = 0;
		int ret = av_samples_alloc_array_and_samples(&src->tmp, NULL, src->out_ch, n, AV_SAMPLE_FMT_FLTP, 0);
		if (ret < 0) return ret;
		src->tmp_cap = n;
	}
	int got = av_audio_fifo_read(src->fifo, (void **)src->tmp, n);
	if (got < 0) return got;
	return av_audio_fifo_write(dst->fifo, (void **)src->tmp, got);
}
*/
import "C"

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// resampler converts interleaved s16 at one input format into planar
// float at the output format and buffers it; one owner goroutine.
type resampler struct {
	r              *C.golive_resampler
	inRate, inCh   int
	outRate, outCh int
}

// newResampler allocates a resampler; free it with close.
func newResampler(inRate, inCh, outRate, outCh int) (*resampler, error) {
	var cerr C.int
	r := C.golive_resampler_new(C.int(inRate), C.int(inCh), C.int(outRate), C.int(outCh), &cerr)
	if r == nil {
		return nil, fmt.Errorf("%w: swr_init %d Hz/%d ch → %d Hz/%d ch: %w", ErrCodec, inRate, inCh, outRate, outCh, astiav.Error(cerr))
	}
	return &resampler{r: r, inRate: inRate, inCh: inCh, outRate: outRate, outCh: outCh}, nil
}

// push converts interleaved samples (len a multiple of inCh) into the fifo.
func (s *resampler) push(samples []int16) error {
	n := len(samples) / s.inCh
	if n == 0 {
		return nil
	}
	if ret := C.golive_resampler_convert(s.r, (*C.int16_t)(unsafe.Pointer(&samples[0])), C.int(n)); ret < 0 {
		return fmt.Errorf("%w: swr_convert: %w", ErrCodec, astiav.Error(ret))
	}
	return nil
}

// drain flushes the resampler's internal delay into the fifo.
func (s *resampler) drain() error {
	if ret := C.golive_resampler_convert(s.r, nil, 0); ret < 0 {
		return fmt.Errorf("%w: swr_convert drain: %w", ErrCodec, astiav.Error(ret))
	}
	return nil
}

// buffered returns the number of samples per channel in the fifo.
func (s *resampler) buffered() int { return int(C.golive_resampler_size(s.r)) }

// read moves up to n samples into f, which must be an allocated, writable
// planar frame of at least n samples; it returns how many were moved.
func (s *resampler) read(f *astiav.Frame, n int) (int, error) {
	ret := C.golive_resampler_read(s.r, avFrame(f), C.int(n))
	if ret < 0 {
		return 0, fmt.Errorf("%w: av_audio_fifo_read: %w", ErrCodec, astiav.Error(ret))
	}
	return int(ret), nil
}

// takeFifo moves old's buffered output into s (same output format).
func (s *resampler) takeFifo(old *resampler) error {
	if ret := C.golive_resampler_move_fifo(s.r, old.r); ret < 0 {
		return fmt.Errorf("%w: moving audio fifo: %w", ErrCodec, astiav.Error(ret))
	}
	return nil
}

// close frees the C state; it is idempotent.
func (s *resampler) close() {
	if s != nil && s.r != nil {
		C.golive_resampler_free(s.r)
		s.r = nil
	}
}
