package encoder

import (
	"fmt"
	"unsafe"

	"github.com/asticode/go-astiav"
)

// resampler converts interleaved s16 PCM into planar float at the output
// rate and channel count (libswresample) and buffers the result in an
// audio FIFO until the encoder takes whole frames. The input format may
// change between pushes: the old converter is drained into the FIFO
// first, so no converted sample is lost. One owner goroutine; close frees
// everything.
type resampler struct {
	outRate, outCh int
	// inRate and inCh are the current input format, 0 before setInput.
	inRate, inCh int

	swr     *astiav.SoftwareResampleContext // nil before setInput
	fed     bool                            // swr has had input since it was made
	fifo    *astiav.AudioFifo
	in, out *astiav.Frame // reused with Unref
}

// newResampler allocates a resampler to outRate Hz and outCh channels
// (planar float); call setInput before push, and close when done.
func newResampler(outRate, outCh int) (r *resampler, err error) {
	r = &resampler{outRate: outRate, outCh: outCh}
	defer func() {
		if err != nil {
			r.close()
		}
	}()
	if r.fifo = astiav.AllocAudioFifo(astiav.SampleFormatFltp, outCh, 4096); r.fifo == nil {
		return nil, fmt.Errorf("%w: av_audio_fifo_alloc failed", ErrCodec)
	}
	if r.in = astiav.AllocFrame(); r.in == nil {
		return nil, fmt.Errorf("%w: av_frame_alloc failed", ErrCodec)
	}
	if r.out = astiav.AllocFrame(); r.out == nil {
		return nil, fmt.Errorf("%w: av_frame_alloc failed", ErrCodec)
	}
	return r, nil
}

// setInput switches the input to rate Hz and ch interleaved channels,
// draining what the previous converter still holds into the FIFO.
func (r *resampler) setInput(rate, ch int) error {
	if err := r.drain(); err != nil {
		return err
	}
	swr := astiav.AllocSoftwareResampleContext()
	if swr == nil {
		return fmt.Errorf("%w: swr_alloc failed", ErrCodec)
	}
	if r.swr != nil {
		r.swr.Free()
	}
	r.swr, r.fed, r.inRate, r.inCh = swr, false, rate, ch
	return nil
}

// push converts interleaved samples (len a multiple of inCh) into the
// FIFO. The converter configures itself from the first frames it sees.
func (r *resampler) push(samples []int16) error {
	n := len(samples) / r.inCh
	if n == 0 {
		return nil
	}
	r.in.Unref()
	r.in.SetSampleFormat(astiav.SampleFormatS16)
	r.in.SetChannelLayout(defaultChannelLayout(r.inCh))
	r.in.SetSampleRate(r.inRate)
	r.in.SetNbSamples(n)
	if err := r.in.AllocBuffer(0); err != nil {
		return fmt.Errorf("%w: av_frame_get_buffer: %w", ErrCodec, err)
	}
	// s16 is native-endian int16: hand the samples over as their bytes.
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(samples))), n*r.inCh*2)
	if err := r.in.Data().SetBytes(b, 1); err != nil {
		return fmt.Errorf("%w: filling audio frame: %w", ErrCodec, err)
	}
	r.fed = true
	return r.convert(r.in)
}

// drain flushes the converter's internal delay into the FIFO.
func (r *resampler) drain() error {
	if r.swr == nil || !r.fed {
		return nil
	}
	return r.convert(nil)
}

// convert runs swr_convert_frame on in (nil drains), letting it size the
// output frame, and appends the output to the FIFO.
func (r *resampler) convert(in *astiav.Frame) error {
	r.out.Unref()
	r.out.SetSampleFormat(astiav.SampleFormatFltp)
	r.out.SetChannelLayout(defaultChannelLayout(r.outCh))
	r.out.SetSampleRate(r.outRate)
	if err := r.swr.ConvertFrame(in, r.out); err != nil {
		return fmt.Errorf("%w: swr_convert_frame %d Hz/%d ch → %d Hz/%d ch: %w", ErrCodec, r.inRate, r.inCh, r.outRate, r.outCh, err)
	}
	if r.out.NbSamples() == 0 {
		return nil
	}
	if _, err := r.fifo.Write(r.out); err != nil {
		return fmt.Errorf("%w: av_audio_fifo_write: %w", ErrCodec, err)
	}
	return nil
}

// buffered returns the number of samples per channel in the FIFO.
func (r *resampler) buffered() int { return r.fifo.Size() }

// read moves up to n samples into f, an allocated, writable planar frame
// of at least n samples, setting its sample count to what was moved.
func (r *resampler) read(f *astiav.Frame, n int) (int, error) {
	f.SetNbSamples(n)
	got, err := r.fifo.Read(f)
	if err != nil {
		return 0, fmt.Errorf("%w: av_audio_fifo_read: %w", ErrCodec, err)
	}
	f.SetNbSamples(got)
	return got, nil
}

// close frees everything; it is idempotent.
func (r *resampler) close() {
	if r == nil {
		return
	}
	if r.swr != nil {
		r.swr.Free()
		r.swr = nil
	}
	if r.fifo != nil {
		r.fifo.Free()
		r.fifo = nil
	}
	for _, f := range []**astiav.Frame{&r.in, &r.out} {
		if *f != nil {
			(*f).Free()
			*f = nil
		}
	}
}

// defaultChannelLayout returns FFmpeg's default layout for n channels
// (what av_channel_layout_default picks), n in 1..8.
func defaultChannelLayout(n int) astiav.ChannelLayout {
	switch n {
	case 1:
		return astiav.ChannelLayoutMono
	case 3:
		return astiav.ChannelLayout2Point1
	case 4:
		return astiav.ChannelLayout4Point0
	case 5:
		return astiav.ChannelLayout5Point0Back
	case 6:
		return astiav.ChannelLayout5Point1Back
	case 7:
		return astiav.ChannelLayout6Point1
	case 8:
		return astiav.ChannelLayout7Point1
	default:
		return astiav.ChannelLayoutStereo
	}
}
