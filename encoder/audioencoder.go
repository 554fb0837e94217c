package encoder

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/asticode/go-astiav"

	"golive/media"
)

// resyncThreshold is how far an input frame's PTS may stray from the
// timeline implied by the samples already received before the output
// timeline is re-anchored on it (a gap or a clock jump in capture).
const resyncThreshold = 200 * time.Millisecond

// audioCodec describes what an audioEncoder opens: the FFmpeg encoder,
// the sample format it takes, its options, and its fixed frame size (0:
// the encoder's own).
type audioCodec struct {
	name         string
	codec        media.Codec
	format       astiav.SampleFormat
	options      map[string]string
	frameSize    int
	globalHeader bool
}

// audioEncoder is the engine of the AAC and Opus encoders: it takes
// interleaved s16 PCM at any rate and channel count, resamples it to the
// encoder's rate, channels and sample format, buffers it to the encoder's
// frame size, and stamps the packets on the input's timeline: the first
// packet carries the first frame's PTS and each next one a frame more (the
// encoder's priming delay is not subtracted), re-anchored when the input
// jumps by more than 200 ms. Encode, Flush and Close belong to one
// goroutine; Stats may be called from any.
type audioEncoder struct {
	mu        sync.Mutex
	cc        *astiav.CodecContext
	frame     *astiav.Frame
	pkt       *astiav.Packet
	rs        *resampler
	rate      int
	frameSize int
	codec     media.Codec
	params    media.CodecParams
	anchor    time.Duration // PTS of output sample 0
	anchored  bool
	inSamples int64 // input samples (at rs.inRate) since the anchor
	inBase    int64 // output samples queued when the anchor's input began
	sent      int64 // output samples handed to the encoder
	emitted   int64 // output samples covered by returned packets
	lastPTS   time.Duration
	havePTS   bool
	flushed   bool
	closed    bool
	log       *slog.Logger
	what      string // "aac", "opus": the operation names in errors

	statsMu sync.Mutex
	stats   AudioStats
}

// AudioStats is a snapshot of an audio encoder's counters.
type AudioStats struct {
	// FramesIn counts input frames accepted; PacketsOut packets produced.
	FramesIn, PacketsOut int64
	// Bytes is the total size of produced packets.
	Bytes int64
	// Skipped counts input frames refused.
	Skipped int64
	// Resyncs counts timeline re-anchorings after input gaps or jumps.
	Resyncs int64
	// InputRate and InputChannels describe the last input format.
	InputRate, InputChannels int
}

// open opens the encoder at rate Hz, channels and bitrate.
func (a *audioEncoder) open(ac audioCodec, rate, channels, bitrate int, log *slog.Logger) (err error) {
	if a.cc != nil || a.closed {
		return fmt.Errorf("%w: already initialized or closed", ErrBadConfig)
	}
	a.what, a.log, a.codec = ac.name, log, ac.codec
	codec := astiav.FindEncoderByName(ac.name)
	if codec == nil {
		return fmt.Errorf("%w: %s", ErrEncoderNotFound, ac.name)
	}
	cc := astiav.AllocCodecContext(codec)
	if cc == nil {
		return fmt.Errorf("%w: avcodec_alloc_context3 failed", ErrOpen)
	}
	defer func() {
		if err != nil {
			cc.Free()
		}
	}()
	layout := astiav.ChannelLayoutStereo
	if channels == 1 {
		layout = astiav.ChannelLayoutMono
	}
	cc.SetSampleFormat(ac.format)
	cc.SetSampleRate(rate)
	cc.SetChannelLayout(layout)
	cc.SetBitRate(int64(bitrate))
	cc.SetTimeBase(astiav.NewRational(1, rate))
	if ac.globalHeader {
		cc.SetFlags(cc.Flags().Add(astiav.CodecContextFlagGlobalHeader))
	}
	dict := astiav.NewDictionary()
	defer dict.Free()
	for k, v := range ac.options {
		if err := dict.Set(k, v, 0); err != nil {
			return fmt.Errorf("%w: option %s: %w", ErrOpen, k, err)
		}
	}
	if err := cc.Open(codec, dict); err != nil {
		return fmt.Errorf("%w: avcodec_open2: %w", ErrOpen, err)
	}
	frameSize := ac.frameSize
	if frameSize <= 0 {
		frameSize = cc.FrameSize()
	}
	if frameSize <= 0 {
		frameSize = 1024
	}
	frame := astiav.AllocFrame()
	if frame == nil {
		return fmt.Errorf("%w: av_frame_alloc failed", ErrOpen)
	}
	defer func() {
		if err != nil {
			frame.Free()
		}
	}()
	frame.SetSampleFormat(ac.format)
	frame.SetChannelLayout(layout)
	frame.SetSampleRate(rate)
	frame.SetNbSamples(frameSize)
	if err := frame.AllocBuffer(0); err != nil {
		return fmt.Errorf("%w: av_frame_get_buffer: %w", ErrOpen, err)
	}
	rs, err := newResampler(rate, channels, ac.format)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrOpen, err)
	}
	pkt := astiav.AllocPacket()
	if pkt == nil {
		rs.close()
		return fmt.Errorf("%w: av_packet_alloc failed", ErrOpen)
	}
	a.cc, a.frame, a.pkt, a.rs, a.frameSize, a.rate = cc, frame, pkt, rs, frameSize, rate
	a.params = media.CodecParams{
		Codec: ac.codec, Config: cc.ExtraData(), Bitrate: bitrate,
		SampleRate: rate, Channels: channels,
	}
	return nil
}

// Encode queues one frame of PCM and returns the packets ready (often none
// or one: the encoder consumes one frame of samples per packet).
func (a *audioEncoder) Encode(f *media.AudioFrame) ([]*media.Packet, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usable(); err != nil {
		a.skip()
		return nil, fmt.Errorf("%s encode: %w", a.what, err)
	}
	if err := f.Validate(); err != nil {
		a.skip()
		return nil, fmt.Errorf("%s encode: %w", a.what, err)
	}
	if err := a.ensureResampler(f); err != nil {
		a.skip()
		return nil, fmt.Errorf("%s encode: %w", a.what, err)
	}
	a.retime(f)
	if err := a.rs.push(f.Samples); err != nil {
		a.skip()
		return nil, fmt.Errorf("%s encode: %w", a.what, err)
	}
	a.inSamples += int64(f.NumSamples())
	a.statsMu.Lock()
	a.stats.FramesIn++
	a.stats.InputRate, a.stats.InputChannels = f.SampleRate, f.Channels
	a.statsMu.Unlock()
	var out []*media.Packet
	for a.rs.buffered() >= a.frameSize {
		pkts, err := a.sendFrame(a.frameSize)
		out = append(out, pkts...)
		if err != nil {
			return out, fmt.Errorf("%s encode: %w", a.what, err)
		}
	}
	return out, nil
}

// ensureResampler switches the resampler to f's input format when it
// changes, keeping already converted samples.
func (a *audioEncoder) ensureResampler(f *media.AudioFrame) error {
	if a.rs.inRate == f.SampleRate && a.rs.inCh == f.Channels {
		return nil
	}
	first := a.rs.inRate == 0
	if err := a.rs.setInput(f.SampleRate, f.Channels); err != nil {
		return err
	}
	if !first {
		a.log.Debug("audio input format changed", "rate", f.SampleRate, "channels", f.Channels)
		a.anchored = false // re-anchor on this frame, keeping what is queued
	}
	return nil
}

// retime anchors the output timeline on f.PTS at the first frame and when
// the input strays from the timeline by more than resyncThreshold.
func (a *audioEncoder) retime(f *media.AudioFrame) {
	queued := a.sent + int64(a.rs.buffered())
	if a.anchored {
		expected := a.anchor + media.FromTicks(a.inBase, int64(a.rate)) +
			media.FromTicks(a.inSamples, int64(a.rs.inRate))
		drift := f.PTS - expected
		if drift <= resyncThreshold && drift >= -resyncThreshold {
			return
		}
		a.log.Debug("audio timeline re-anchored", "drift", drift)
		a.statsMu.Lock()
		a.stats.Resyncs++
		a.statsMu.Unlock()
	}
	// Output sample `queued` is the first sample of f.
	a.anchor = f.PTS - media.FromTicks(queued, int64(a.rate))
	a.inBase, a.inSamples, a.anchored = queued, 0, true
}

// sendFrame moves n buffered samples into the encoder and collects packets.
func (a *audioEncoder) sendFrame(n int) ([]*media.Packet, error) {
	if err := a.frame.MakeWritable(); err != nil {
		return nil, fmt.Errorf("%w: av_frame_make_writable: %w", ErrCodec, err)
	}
	got, err := a.rs.read(a.frame, n)
	if err != nil {
		return nil, err
	}
	a.frame.SetPts(a.sent)
	a.sent += int64(got)
	if err := a.cc.SendFrame(a.frame); err != nil {
		return nil, fmt.Errorf("%w: avcodec_send_frame: %w", ErrCodec, err)
	}
	a.frame.SetNbSamples(a.frameSize)
	return a.receive()
}

// receive collects the packets the encoder has ready.
func (a *audioEncoder) receive() ([]*media.Packet, error) {
	receive := func() error { return a.cc.ReceivePacket(a.pkt) }
	return drain(receive, "avcodec_receive_packet", a.take, a.pkt.Unref)
}

// take turns the received packet into a media.Packet, stamped from the
// samples emitted so far.
func (a *audioEncoder) take() (*media.Packet, error) {
	data := a.pkt.Data()
	dur := a.pkt.Duration()
	if dur <= 0 {
		dur = int64(a.frameSize)
	}
	pts := a.anchor + media.FromTicks(a.emitted, int64(a.rate))
	if a.havePTS && pts <= a.lastPTS { // a backwards re-anchor: stay monotonic
		pts = a.lastPTS + media.FromTicks(1, int64(a.rate))
	}
	a.havePTS, a.lastPTS = true, pts
	a.emitted += dur
	a.statsMu.Lock()
	a.stats.PacketsOut++
	a.stats.Bytes += int64(len(data))
	a.statsMu.Unlock()
	return &media.Packet{Codec: a.codec, Data: data, PTS: pts, DTS: pts, Keyframe: true}, nil
}

// Flush encodes the buffered remainder and drains the encoder; Encode
// fails afterwards.
func (a *audioEncoder) Flush() ([]*media.Packet, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.usable(); err != nil {
		return nil, fmt.Errorf("%s flush: %w", a.what, err)
	}
	a.flushed = true
	var out []*media.Packet
	if err := a.rs.drain(); err != nil {
		return nil, fmt.Errorf("%s flush: %w", a.what, err)
	}
	for a.rs.buffered() > 0 {
		pkts, err := a.sendFrame(min(a.frameSize, a.rs.buffered()))
		out = append(out, pkts...)
		if err != nil {
			return out, fmt.Errorf("%s flush: %w", a.what, err)
		}
	}
	if err := a.cc.SendFrame(nil); err != nil {
		return out, fmt.Errorf("%s flush: %w: %w", a.what, ErrCodec, err)
	}
	pkts, err := a.receive()
	out = append(out, pkts...)
	if err != nil {
		return out, fmt.Errorf("%s flush: %w", a.what, err)
	}
	return out, nil
}

func (a *audioEncoder) usable() error {
	switch {
	case a.closed:
		return ErrClosed
	case a.cc == nil:
		return ErrNotInitialized
	case a.flushed:
		return fmt.Errorf("%w: flushed", ErrClosed)
	}
	return nil
}

func (a *audioEncoder) skip() {
	a.statsMu.Lock()
	a.stats.Skipped++
	a.statsMu.Unlock()
}

// Params returns the stream's parameters (Config: the encoder's extradata,
// the AudioSpecificConfig for AAC). Valid after Initialize.
func (a *audioEncoder) Params() media.CodecParams {
	a.mu.Lock()
	defer a.mu.Unlock()
	p := a.params
	p.Config = append([]byte(nil), a.params.Config...)
	return p
}

// Stats returns a snapshot of the counters.
func (a *audioEncoder) Stats() AudioStats {
	a.statsMu.Lock()
	defer a.statsMu.Unlock()
	return a.stats
}

// Close frees the encoder; it is idempotent.
func (a *audioEncoder) Close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	a.closed = true
	a.rs.close()
	a.rs = nil
	if a.pkt != nil {
		a.pkt.Free()
		a.pkt = nil
	}
	if a.frame != nil {
		a.frame.Free()
		a.frame = nil
	}
	if a.cc != nil {
		a.cc.Free()
		a.cc = nil
	}
}
