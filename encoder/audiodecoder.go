package encoder

import (
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unsafe"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// AudioDecoder decodes AAC (as FLV and MP4 carry it: raw frames and an
// AudioSpecificConfig) or Opus (one packet per frame, as RTP carries it)
// into interleaved s16 PCM at the stream's rate and channel count, with
// FFmpeg's native decoders. Frames carry their packet's PTS. Decode and
// Close belong to one goroutine.
type AudioDecoder struct {
	// Params describe the stream: CodecAAC with the AudioSpecificConfig in
	// Config, or CodecOpus with Channels (1 or 2; default 2) at 48 kHz.
	Params media.CodecParams
	// Logger receives the stage's logs. Default slog.Default().
	Logger *slog.Logger

	mu     sync.Mutex
	cc     *astiav.CodecContext
	pkt    *astiav.Packet
	frame  *astiav.Frame
	s16    *astiav.Frame
	swr    *astiav.SoftwareResampleContext
	rate   int
	next   time.Duration // the PTS the next frame would have without one
	closed bool
	log    *slog.Logger
}

// Initialize opens the decoder.
func (d *AudioDecoder) Initialize() (err error) {
	if d.cc != nil || d.closed {
		return fmt.Errorf("audio decoder initialize: %w: already initialized or closed", ErrBadConfig)
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	d.log = d.Logger.With("codec", d.Params.Codec.String(), "role", "decoder")
	var id astiav.CodecID
	switch d.Params.Codec {
	case media.CodecAAC:
		if len(d.Params.Config) < 2 {
			return fmt.Errorf("audio decoder initialize: %w: AAC without an AudioSpecificConfig", ErrBadConfig)
		}
		id = astiav.CodecIDAac
	case media.CodecOpus:
		if d.Params.Channels == 0 {
			d.Params.Channels = 2
		}
		if d.Params.Channels != 1 && d.Params.Channels != 2 {
			return fmt.Errorf("audio decoder initialize: %w: Opus with %d channels", ErrBadConfig, d.Params.Channels)
		}
		d.Params.SampleRate = OpusSampleRate
		id = astiav.CodecIDOpus
	default:
		return fmt.Errorf("audio decoder initialize: %w: codec %s", ErrBadConfig, d.Params.Codec)
	}
	codec := astiav.FindDecoder(id)
	if codec == nil {
		return fmt.Errorf("audio decoder initialize: %w: %s decoder", ErrEncoderNotFound, d.Params.Codec)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return fmt.Errorf("audio decoder initialize: %w: avcodec_alloc_context3 failed", ErrOpen)
	}
	defer func() {
		if err != nil {
			cc.Free()
		}
	}()
	if len(d.Params.Config) > 0 {
		if err := cc.SetExtraData(d.Params.Config); err != nil {
			return fmt.Errorf("audio decoder initialize: %w: extradata: %w", ErrOpen, err)
		}
	}
	if d.Params.SampleRate > 0 {
		cc.SetSampleRate(d.Params.SampleRate)
	}
	if d.Params.Channels > 0 {
		cc.SetChannelLayout(defaultChannelLayout(d.Params.Channels))
	}
	if err := cc.Open(codec, nil); err != nil {
		return fmt.Errorf("audio decoder initialize: %w: avcodec_open2: %w", ErrOpen, err)
	}
	d.cc = cc
	if d.pkt = astiav.AllocPacket(); d.pkt == nil {
		d.free()
		return fmt.Errorf("audio decoder initialize: %w: av_packet_alloc failed", ErrOpen)
	}
	if d.frame = astiav.AllocFrame(); d.frame == nil {
		d.free()
		return fmt.Errorf("audio decoder initialize: %w: av_frame_alloc failed", ErrOpen)
	}
	if d.s16 = astiav.AllocFrame(); d.s16 == nil {
		d.free()
		return fmt.Errorf("audio decoder initialize: %w: av_frame_alloc failed", ErrOpen)
	}
	if d.swr = astiav.AllocSoftwareResampleContext(); d.swr == nil {
		d.free()
		return fmt.Errorf("audio decoder initialize: %w: swr_alloc failed", ErrOpen)
	}
	return nil
}

// Decode decodes one packet and returns the PCM it holds (usually one
// frame; none while a decoder primes). A packet the decoder rejects is an
// error wrapping ErrCodec; the next ones decode as usual.
func (d *AudioDecoder) Decode(p *media.Packet) ([]*media.AudioFrame, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return nil, fmt.Errorf("audio decode: %w", ErrClosed)
	case d.cc == nil:
		return nil, fmt.Errorf("audio decode: %w", ErrNotInitialized)
	case len(p.Data) == 0:
		return nil, nil
	}
	if err := d.pkt.FromData(p.Data); err != nil {
		return nil, fmt.Errorf("audio decode: %w: %w", ErrCodec, err)
	}
	d.pkt.SetPts(p.PTS.Microseconds())
	d.pkt.SetDts(p.PTS.Microseconds())
	err := d.cc.SendPacket(d.pkt)
	d.pkt.Unref()
	if err != nil {
		return nil, fmt.Errorf("audio decode: %w: avcodec_send_packet: %w", ErrCodec, err)
	}
	receive := func() error { return d.cc.ReceiveFrame(d.frame) }
	out, err := drain(receive, "avcodec_receive_frame", d.convert, d.frame.Unref)
	if err != nil {
		return out, fmt.Errorf("audio decode: %w", err)
	}
	return out, nil
}

// convert turns the decoded frame into interleaved s16.
func (d *AudioDecoder) convert() (*media.AudioFrame, error) {
	rate, ch := d.frame.SampleRate(), d.frame.ChannelLayout().Channels()
	if rate <= 0 || ch <= 0 || ch > 8 {
		return nil, fmt.Errorf("%w: decoded %d Hz, %d channels", ErrCodec, rate, ch)
	}
	d.s16.Unref()
	d.s16.SetSampleFormat(astiav.SampleFormatS16)
	d.s16.SetChannelLayout(d.frame.ChannelLayout())
	d.s16.SetSampleRate(rate)
	if err := d.swr.ConvertFrame(d.frame, d.s16); err != nil {
		return nil, fmt.Errorf("%w: swr_convert_frame: %w", ErrCodec, err)
	}
	n := d.s16.NbSamples()
	samples := make([]int16, n*ch)
	if n > 0 {
		b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(samples))), len(samples)*2)
		if _, err := d.s16.SamplesCopyToBuffer(b, 1); err != nil {
			return nil, fmt.Errorf("%w: copying samples: %w", ErrCodec, err)
		}
	}
	pts := d.next
	if ts := d.frame.Pts(); ts != astiav.NoPtsValue {
		pts = time.Duration(ts) * time.Microsecond
	}
	d.next = pts + media.FromTicks(int64(n), int64(rate))
	return &media.AudioFrame{SampleRate: rate, Channels: ch, Samples: samples, PTS: pts}, nil
}

// free frees what Initialize allocated.
func (d *AudioDecoder) free() {
	if d.swr != nil {
		d.swr.Free()
		d.swr = nil
	}
	for _, f := range []**astiav.Frame{&d.frame, &d.s16} {
		if *f != nil {
			(*f).Free()
			*f = nil
		}
	}
	if d.pkt != nil {
		d.pkt.Free()
		d.pkt = nil
	}
	if d.cc != nil {
		d.cc.Free()
		d.cc = nil
	}
}

// Close frees the decoder; it is idempotent.
func (d *AudioDecoder) Close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return
	}
	d.closed = true
	d.free()
}
